"""kpi_report through the real AnsibleModule: argument checking, and every typed error reported once, through
_kpi_postgres.run_module, with the secrets it knows (options and *_file contents) redacted.

Rendering, delivery and the data sources run against real PostgreSQL, SMTP and Slack/Grafana emulators in
tests/integration/test_kpi_report.py; here nothing gets as far as rendering.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_report as kr
from kpi_pg_fake import SECRET, Args, pg_error, run

DASHBOARD = str(Path(__file__).resolve().parents[4] / "files" / "grafana-dashboard.json")
DATABASE = dict(login_host="127.0.0.1", login_port=5432, login_db="kpi", login_user="kpi_reader", login_password=SECRET)


def args(tmp_path, **kw):
    base = dict(report="daily", date="2026-11-29", output_dir=str(tmp_path), dashboard_path=DASHBOARD, database=dict(DATABASE), deliver=False)
    base.update(kw)
    return Args(base, base={})


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(report=None), "missing required arguments: report"),
        (dict(output_dir=None), "missing required arguments: output_dir"),
        (dict(report="hourly"), "value of report must be one of: daily, weekly, monthly, got: hourly"),
        (dict(database=None), "one of the following is required: database, grafana"),
        (
            dict(grafana=dict(url="http://grafana.invalid", datasource_uid="kpi")),
            "parameters are mutually exclusive: database|grafana",
        ),
        (dict(database=dict(login_db="kpi")), "missing required arguments: login_user found in database"),
        (
            dict(email=dict(host="smtp.invalid", sender="a@example.test", to=["b@example.test"], security="ssl")),
            "value of security must be one of: starttls, tls, none, got: ssl found in email",
        ),
    ],
)
def test_ansible_argument_checking(tmp_path, monkeypatch, change, message):
    result = run(kr, args(tmp_path, **change), None, monkeypatch)
    assert result["failed"] is True and result["msg"] == message
    assert os.listdir(tmp_path) == []


def test_no_log_options_are_masked_in_the_invocation(tmp_path, monkeypatch):
    result = run(kr, args(tmp_path, report="yearly"), None, monkeypatch)
    assert result["failed"] is True
    assert result["invocation"]["module_args"]["database"]["login_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_input_error_is_prefixed_with_the_report(tmp_path, monkeypatch):
    result = run(kr, args(tmp_path, dashboard_path=None), None, monkeypatch)
    assert result == dict(result, failed=True, msg="kpi_report daily: dashboard_path is required unless grafana.dashboard_uid is set")
    result = run(kr, args(tmp_path, date="29.11.2026"), None, monkeypatch)
    assert result["msg"] == "kpi_report daily: date must be YYYY-MM-DD, got '29.11.2026'"


def test_connection_error_is_one_message_without_the_password(tmp_path, monkeypatch):
    error = pg_error('connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed (%s)' % SECRET)
    result = run(kr, args(tmp_path), error, monkeypatch)
    assert result["failed"] is True
    assert result["msg"].startswith("kpi_report daily: could not connect to PostgreSQL as kpi_reader@127.0.0.1:5432/kpi: ")
    assert "password authentication failed (********)" in result["msg"]
    assert not any(name.endswith(".pdf") for name in os.listdir(tmp_path))


def test_password_read_from_a_file_is_redacted_too(tmp_path, monkeypatch):
    secret_file = tmp_path / "db-password"
    secret_file.write_text(SECRET + "\n")
    database = dict(DATABASE, login_password=None, login_password_file=str(secret_file))
    error = pg_error("FATAL:  password %s is wrong" % SECRET)
    result = run(kr, args(tmp_path, database=database), error, monkeypatch)
    assert result["msg"].endswith("FATAL:  password ******** is wrong")


def test_unreadable_secret_file_names_the_file(tmp_path, monkeypatch):
    database = dict(DATABASE, login_password=None, login_password_file=str(tmp_path / "missing"))
    result = run(kr, args(tmp_path, database=database), None, monkeypatch)
    assert result["msg"] == "kpi_report daily: cannot read database password from %s: No such file or directory" % (tmp_path / "missing")

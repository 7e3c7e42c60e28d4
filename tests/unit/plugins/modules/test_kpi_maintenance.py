"""Unit tests of kpi_maintenance: option validation and the state check mode plans from the listed actions."""

from __future__ import annotations

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_maintenance as km
from kpi_pg_fake import SECRET, Args, FakeConnection, assert_password_masked, pg_error, run


def params(**kw):
    p = dict(keep_months=0, months_ahead=3, retention_action="archive", archive_schema="kpi_archive", budget_rollover=True)
    p.update(kw)
    return p


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(keep_months=-1), "keep_months must be >= 0"),
        (dict(months_ahead=25), "months_ahead must be between 0 and 24"),
        (dict(months_ahead=-1), "months_ahead must be between 0 and 24"),
        (dict(archive_schema="Archive"), "archive_schema 'Archive' is not a lower-case SQL identifier"),
        (dict(archive_schema="a;drop"), "is not a lower-case SQL identifier"),
    ],
)
def test_validate_rejects_bad_options(override, message):
    with pytest.raises(ValueError, match=message):
        km.validate(params(**override))


def test_validate_accepts_defaults_and_limits():
    km.validate(params())
    km.validate(params(keep_months=120, months_ahead=24, archive_schema="old_tokens"))


def test_planned_state_applies_each_action():
    before = dict(
        partitions=["token_usage_p202607", "token_usage_p202611", "token_usage_default"],
        budgets={"Monthly": "2026-10-01..2026-10-31", "Daily": "2026-11-30..2026-11-30"},
    )
    actions = [
        dict(action="create partition", object="token_usage_p202612", detail="recorded_at from ..."),
        dict(action="create partition", object="token_usage_p202606", detail="..., moving 3 rows out of ..."),
        dict(action="archive partition", object="token_usage_p202607", detail="..., 10 rows, moved to schema a"),
        dict(action="drop partition", object="token_usage_p202606", detail="..., 3 rows"),
        dict(action="roll over budget", object="Monthly", detail="monthly: 2026-10-01..2026-10-31 -> 2026-11-01..2026-11-30"),
    ]
    after = km.planned_state(before, actions)
    assert after == dict(
        partitions=["token_usage_p202611", "token_usage_p202612", "token_usage_default"],
        budgets={"Monthly": "2026-11-01..2026-11-30", "Daily": "2026-11-30..2026-11-30"},
    )
    assert before["partitions"][0] == "token_usage_p202607"  # input untouched


# ------------------------------------------------------------- argument checking and error mapping (AnsibleModule)


def present(flag):
    return FakeConnection([("to_regprocedure", [dict(present=flag)])])


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(retention_action="delete"), "value of retention_action must be one of: archive, drop, got: delete"),
        (dict(login_db=None), "missing required arguments: login_db"),
    ],
)
def test_ansible_argument_checking(monkeypatch, args, message):
    result = run(km, args, None, monkeypatch)
    assert result["failed"] is True and result["msg"] == message
    assert_password_masked(result)


def test_bad_option_fails_before_connecting(monkeypatch):
    result = run(km, dict(keep_months=-1), None, monkeypatch)
    assert result["msg"] == "kpi_maintenance: keep_months must be >= 0 (0 keeps every row), got -1"


def test_missing_function_fails_naming_the_database(monkeypatch):
    conn = present(False)
    result = run(km, dict(), conn, monkeypatch)
    assert result["failed"] is True and result["msg"].startswith("kpi_maintenance: function kpi_run_maintenance() is missing in database kpi; ")
    assert conn.committed == 0 and conn.rolled_back == 1 and conn.closed == 1


def test_missing_function_in_check_mode_plans_nothing(monkeypatch):
    conn = present(False)
    result = run(km, Args({}, check_mode=True), conn, monkeypatch)
    assert result["changed"] is False and result["actions"] == [] and result["queries"] == []
    assert "does not exist yet" in str(result["warnings"])
    assert conn.executed == ["SELECT to_regprocedure('kpi_run_maintenance(integer, integer, text, text, boolean, boolean)') IS NOT NULL AS present"]


def test_sql_error_names_the_call_without_the_password(monkeypatch):
    conn = present(True)
    conn.fail_on, conn.error = "kpi_token_partitions", pg_error("server closed the connection; password=%s" % SECRET)
    result = run(km, dict(), conn, monkeypatch)
    assert result["msg"] == "could not run the KPI maintenance (kpi_run_maintenance): server closed the connection; password=********"
    assert result["queries"] == [] and conn.committed == 0 and conn.closed == 1

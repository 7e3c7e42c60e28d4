"""Role kpi_grafana end to end: the Grafana emulator + real PostgreSQL with the demo data.

* first run creates everything (changed), the second run and a check-mode run change nothing;
* the verification runs every panel through Grafana's /api/ds/query against the real database and
  finds no panel with an error or without data; its table is printed;
* a broken view (no rows / renamed column) makes the verification fail naming exactly those panels;
* preflight fails before any API call on a missing secret, and on basic auth against Grafana Cloud;
* basic auth with the optional service account, the PDC flag on the datasource;
* every run is at -vvv and the planted secrets (DB reader password, Grafana password/token, Slack
  webhook) never appear in the output (the ``ansible`` fixture).
"""

from __future__ import annotations

import json
import os
import re
import stat

import pytest
import yaml

from conftest import PLANTED, REPO

from kpi_grafana_support import load_kpi_database

ROLE_PLAY = [
    {
        "name": "kpi_grafana under test",
        "hosts": "localhost",
        "gather_facts": False,
        "roles": [{"role": "cx_catalyst.kpi_dashboard.kpi_grafana"}],
    }
]

PANEL_TITLES = [p["title"] for p in json.loads((REPO / "files" / "grafana-dashboard.json").read_text())["panels"] if p["type"] != "row"]


@pytest.fixture
def kpi_db(pg_server, pg_db):
    load_kpi_database(pg_server, pg_db, reader_password=PLANTED["reader_password"])
    return pg_db


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "kpi_grafana.yml"
    path.write_text(yaml.safe_dump(ROLE_PLAY))
    return path


def _vars(emulator, pg_server, dbname, **overrides):
    values = {
        "kpi_grafana_url": emulator.url,
        "kpi_grafana_auth": "basic",
        "kpi_grafana_username": emulator.admin_user,
        "kpi_grafana_password": emulator.admin_password,
        "kpi_grafana_datasource_host": pg_server.host,
        "kpi_grafana_datasource_port": pg_server.port,
        "kpi_grafana_datasource_database": dbname,
        "kpi_grafana_datasource_password": PLANTED["reader_password"],
        "kpi_grafana_datasource_sslmode": "disable",
        "kpi_grafana_alert_slack_webhook_url": PLANTED["slack_webhook"],
        "kpi_grafana_alert_email_addresses": ["team-lead@example.com"],
    }
    values.update(overrides)
    return values


def _token_vars(emulator, ansible, pg_server, dbname, **overrides):
    token = emulator.create_token(role="Admin")
    ansible.add_secret(token)
    values = _vars(emulator, pg_server, dbname, kpi_grafana_auth="token", kpi_grafana_token=token, kpi_grafana_username="", kpi_grafana_password="")
    values.update(overrides)
    return values


def _run(ansible, playbook, extra, expect_rc=0, **kwargs):
    """Run the role; keep the full -vvv output next to the test's files for a failing run's reader."""
    res = ansible.playbook(playbook, extra_vars=extra, expect_rc=None, **kwargs)
    log = ansible.workdir / ("run-%d.log" % len(list(ansible.workdir.glob("run-*.log"))))
    log.write_text(res.output)
    assert res.rc == expect_rc, "rc=%s (full output in %s)\n%s" % (res.rc, log, _failures(res.output))
    return res


def _failures(output: str) -> str:
    return "\n".join(m.group(0)[:1500] for m in re.finditer(r"(fatal|failed): \[localhost\].*?(?=\n\S)", output, re.S))


def _recap(output: str) -> dict:
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def _verification_table(output: str) -> list:
    """The lines of the role's verification table (the debug task's JSON result)."""
    idx = output.rfind("TASK [cx_catalyst.kpi_dashboard.kpi_grafana : Verify | Print the verification table]")
    assert idx >= 0, "verification table not printed"
    start = output.index("ok: [localhost] => ", idx) + len("ok: [localhost] => ")
    result = json.JSONDecoder().raw_decode(output[start:])[0]
    return result["msg"]


def _status_by_title(table: list) -> dict:
    statuses = {}
    for line in table[1:-1]:
        status_word, _rows, rest = line.split(None, 2)
        title = next(t for t in sorted(PANEL_TITLES, key=len, reverse=True) if rest.startswith(t))
        statuses[title] = status_word
    return statuses


def _admin_get(emulator, path):
    status, body, _headers = emulator.api("GET", path, auth=(emulator.admin_user, emulator.admin_password))
    return status, body


def _writes(emulator) -> list:
    return [
        r
        for r in emulator.request_log()
        if r.get("method") in ("POST", "PUT", "PATCH", "DELETE") and not str(r.get("path", "")).startswith(("/__emulator", "/api/ds/query"))
    ]


# ------------------------------------------------------------------------------------------ tests


@pytest.mark.grafana_profiles()  # every supported profile: legacy /api (10.4, 11.6) and /apis (12.4, 13.3)
def test_converge_idempotent_and_verified(grafana_emulator, ansible, pg_server, kpi_db, playbook):
    extra = _token_vars(grafana_emulator, ansible, pg_server, kpi_db)

    first = _run(ansible, playbook, extra, diff=True)
    assert _recap(first.output)["changed"] >= 4, first.output[-4000:]

    # What Grafana now holds.
    status, ds = _admin_get(grafana_emulator, "/api/datasources/uid/support-postgres")
    assert status == 200
    assert ds["name"] == "Support Database" and ds["user"] == "kpi_grafana_reader"
    assert ds["url"] == "%s:%d" % (pg_server.host, pg_server.port)
    assert ds["secureJsonFields"].get("password") is True
    status, dash = _admin_get(grafana_emulator, "/api/dashboards/uid/cx-catalyst-kpi")
    assert status == 200
    assert dash["meta"]["folderUid"] == "support-dashboards"
    body = json.dumps(dash["dashboard"])
    assert "${DS_SUPPORT_DB}" not in body.replace('"name": "DS_SUPPORT_DB"', "")
    assert '"uid": "support-postgres"' in body

    table = _verification_table(first.output)
    assert table[0].split()[:3] == ["STATUS", "ROWS", "PANEL"]
    assert _status_by_title(table) == {title: "ok" for title in PANEL_TITLES}
    for line in table[1:-1]:
        assert int(line.split()[1]) > 0, line
    assert table[-1] == "%d ok, 0 no data, 0 errors, 0 skipped" % len(PANEL_TITLES)

    second = _run(ansible, playbook, extra)
    assert _recap(second.output)["changed"] == 0, "second run changed something:\n" + second.output[-6000:]

    grafana_emulator.reset_request_log()
    check = _run(ansible, playbook, extra, check=True, diff=True)
    assert _recap(check.output)["changed"] == 0
    assert _writes(grafana_emulator) == []


@pytest.mark.grafana_profiles()  # every supported profile: legacy /api (10.4, 11.6) and /apis (12.4, 13.3)
def test_broken_views_are_named_by_the_verification(grafana_emulator, ansible, pg_server, kpi_db, playbook):
    extra = _token_vars(grafana_emulator, ansible, pg_server, kpi_db)
    _run(ansible, playbook, extra)

    # No rows: the view keeps its columns but returns nothing.
    viewdef = pg_server.execute("SELECT pg_get_viewdef('v_kb_coverage_gaps'::regclass)", dbname=kpi_db)[0][0]
    pg_server.execute("CREATE OR REPLACE VIEW v_kb_coverage_gaps AS SELECT * FROM (%s) AS s WHERE false" % viewdef.rstrip().rstrip(";"), dbname=kpi_db)
    # A renamed column: the Cost Comparison query fails in PostgreSQL.
    pg_server.execute("ALTER VIEW v_cost_comparison_daily RENAME COLUMN net_savings_usd TO net_savings", dbname=kpi_db)

    broken = _run(ansible, playbook, extra, expect_rc=2)
    table = _verification_table(broken.output)
    by_title = _status_by_title(table)
    assert set(by_title) == set(PANEL_TITLES)
    assert by_title["KB Coverage Gaps"] == "no_data"
    assert by_title["Cost Comparison"] == "error"
    assert all(s == "ok" for t, s in by_title.items() if t not in ("KB Coverage Gaps", "Cost Comparison")), by_title
    failure = broken.output[broken.output.rfind("Verify | Fail on panels") :]
    assert "2 panel(s)" in failure
    assert "KB Coverage Gaps (no_data" in failure
    assert "Cost Comparison (error" in failure and "net_savings_usd" in failure


def test_preflight_fails_fast_on_missing_secret(grafana_emulator, ansible, pg_server, kpi_db, playbook):
    extra = _token_vars(grafana_emulator, ansible, pg_server, kpi_db, kpi_grafana_datasource_password="")
    grafana_emulator.reset_request_log()
    res = _run(ansible, playbook, extra, expect_rc=2)
    assert "kpi_grafana_datasource_password" in res.output
    assert grafana_emulator.request_log() == [] or _writes(grafana_emulator) == []
    assert not [r for r in grafana_emulator.request_log() if not str(r.get("path", "")).startswith("/__emulator")]

    extra = _vars(grafana_emulator, pg_server, kpi_db, kpi_grafana_alert_slack_webhook_url="")
    res = _run(ansible, playbook, extra, expect_rc=2)
    assert "kpi_grafana_alert_slack_webhook_url" in res.output


def test_grafana_cloud_requires_a_token(ansible, pg_server, kpi_db, playbook, grafana_emulator):
    extra = _vars(grafana_emulator, pg_server, kpi_db, kpi_grafana_url="https://cx-catalyst.grafana.net")
    res = _run(ansible, playbook, extra, expect_rc=2)
    assert "Grafana Cloud" in res.output and "kpi_grafana_auth" in res.output


@pytest.mark.grafana_profiles()  # every supported profile: legacy /api (10.4, 11.6) and /apis (12.4, 13.3)
def test_basic_auth_service_account_and_pdc_flag(grafana_emulator, ansible, pg_server, kpi_db, playbook, tmp_path):
    token_file = tmp_path / "sa-token"
    extra = _vars(
        grafana_emulator,
        pg_server,
        kpi_db,
        kpi_grafana_service_account_enabled=True,
        kpi_grafana_service_account_token_file=str(token_file),
        kpi_grafana_datasource_pdc_enabled=True,
        kpi_grafana_datasource_pdc_network="cx-private",
        # PDC routes the datasource through the Cloud agent; the emulator has none, so no health
        # check and no verification here (they need a direct connection).
        kpi_grafana_datasource_health_check=False,
        kpi_grafana_verify_enabled=False,
        kpi_grafana_alerting_enabled=False,
    )
    first = _run(ansible, playbook, extra)
    assert _recap(first.output)["changed"] >= 4

    key = token_file.read_text().strip()
    ansible.add_secret(key)
    assert key.startswith("glsa_")
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    # The token works: it reads the dashboard the role deployed.
    status = grafana_emulator.api("GET", "/api/dashboards/uid/cx-catalyst-kpi", token=key)[0]
    assert status == 200

    status, ds = _admin_get(grafana_emulator, "/api/datasources/uid/support-postgres")
    assert ds["jsonData"]["enableSecureSocksProxy"] is True
    assert ds["jsonData"]["secureSocksProxyUsername"] == "cx-private"

    second = _run(ansible, playbook, extra)
    assert _recap(second.output)["changed"] == 0, second.output[-5000:]
    assert token_file.read_text().strip() == key  # the existing token is kept, not replaced

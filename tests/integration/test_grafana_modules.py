"""Every grafana_* module against the Grafana emulator (and real PostgreSQL), through real ansible-playbook -vvv.

Each lifecycle: create -> re-run changed=false (and only reads) -> update -> check mode sends no write
(asserted on the emulator's request log) -> delete. The ``ansible`` fixture fails a test when a planted
secret shows up in ansible's output.
"""

import copy
import json

import pytest

from conftest import PLANTED
from grafana_emulator.profiles import Profile

NS = "cx_catalyst.kpi_dashboard."
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# Every lifecycle below runs on every supported profile: 10.4 and 11.6 (legacy /api), 12.4 (/apis v1beta1) and 13.3
# (/apis v1) (docs/grafana-behaviour.md §9, §13).
pytestmark = pytest.mark.grafana_profiles()


def conn(emu, **extra):
    args = {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password, "timeout": 10, "retries": 2}
    args.update(extra)
    return args


def run(ansible, emu, module, args, expect_failed=False, check=False, diff=False):
    full = conn(emu)
    full.update(args)
    res = ansible.module(NS + module, full, check=check, diff=diff)
    result = res.results[0]
    if expect_failed:
        assert result.get("failed"), json.dumps(result)[:2000]
    else:
        assert not result.get("failed"), result.get("msg")
    return result


def api_log(emu):
    """Requests the modules made (the test's own helper requests are excluded by resetting around them)."""
    return [(r["method"], r["path"]) for r in emu.request_log()]


def writes(emu):
    return [r for r in api_log(emu) if r[0] in WRITES]


def test_folder_lifecycle(ansible, grafana_emulator):
    emu = grafana_emulator
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"})
    assert r["changed"] is True
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"})
    assert r["changed"] is False
    assert api_log(emu) == [("GET", "/apis"), ("GET", Profile(emu.version).apis_path("folder", "cx-kpi") or "/api/folders/cx-kpi")]
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX-Catalyst KPIs"}, diff=True)
    assert r["changed"] is True and r["diff"]["before"]["title"] == "CX KPIs"
    assert emu.api("GET", "/api/folders/cx-kpi")[1]["title"] == "CX-Catalyst KPIs"
    nested = {"uid": "cx-kpi-alerts", "title": "Alerts", "parent_uid": "cx-kpi"}
    if not Profile(emu.version).nested_folders:
        # Grafana 10 without the nestedFolders toggle: a clear error, and the root folder it made is taken back
        r = run(ansible, emu, "grafana_folder", nested, expect_failed=True)
        assert "does not nest folders" in r["msg"] and "nestedFolders" in r["msg"], r["msg"]
        assert emu.api("GET", "/api/folders/cx-kpi-alerts")[0] == 404
        # an existing root folder is not moved, and not renamed either
        run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "title": "Alerts"})
        r = run(ansible, emu, "grafana_folder", dict(nested, title="Alerts (nested)"), expect_failed=True)
        assert "failed to move folder 'cx-kpi-alerts': this Grafana does not nest folders" in r["msg"], r["msg"]
        assert emu.api("GET", "/api/folders/cx-kpi-alerts")[1]["title"] == "Alerts"
    else:
        run(ansible, emu, "grafana_folder", nested)
        assert emu.api("GET", "/api/folders/cx-kpi-alerts")[1].get("parentUid") == "cx-kpi"
        # a rename and a move at once (the legacy routes move first, then rename with the moved version)
        run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "title": "Alerts (root)"})
        run(ansible, emu, "grafana_folder", nested)
        stored = emu.api("GET", "/api/folders/cx-kpi-alerts")[1]
        assert (stored["title"], stored.get("parentUid")) == ("Alerts", "cx-kpi")
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "Check only"}, check=True)
    assert r["changed"] is True and writes(emu) == []
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "state": "absent"})
    assert r["changed"] is True
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "state": "absent"})
    assert r["changed"] is True and emu.api("GET", "/api/folders/cx-kpi")[0] == 404
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "state": "absent"})
    assert r["changed"] is False
    r = run(ansible, emu, "grafana_folder", {"uid": "child", "title": "Child", "parent_uid": "missing"}, expect_failed=True)
    assert "parent folder 'missing' not found" in r["msg"]


def pg_args(pg_server, pg_db, password=None):
    return {
        "name": "Support Database",
        "uid": "support-postgres",
        "host": pg_server.host,
        "port": pg_server.port,
        "database": pg_db,
        "user": pg_server.superuser,
        "password": password if password is not None else PLANTED["db_password"],
        "sslmode": "disable",
        "max_open_conns": 10,
        "max_idle_conns": 2,
        "conn_max_lifetime": 14400,
        "postgres_version": 1500,
        "timescaledb": False,
    }


def test_datasource_lifecycle_with_real_postgres(ansible, grafana_emulator, pg_server, pg_db):
    emu = grafana_emulator
    args = dict(pg_args(pg_server, pg_db), health_check=True)
    r = run(ansible, emu, "grafana_datasource", args, diff=True)
    assert r["changed"] is True and r["secret_changed"] is True
    assert r["health"]["status"] == "OK"
    stored = emu.api("GET", "/api/datasources/uid/support-postgres")[1]
    assert stored["secureJsonFields"] == {"password": True} and stored["jsonData"]["database"] == pg_db

    emu.reset_request_log()
    r = run(ansible, emu, "grafana_datasource", pg_args(pg_server, pg_db))
    assert r["changed"] is False and r["secret_changed"] is False
    assert api_log(emu) == [("GET", "/api/datasources/uid/support-postgres")]

    # the alias type compares equal
    r = run(ansible, emu, "grafana_datasource", dict(pg_args(pg_server, pg_db), type="postgres"))
    assert r["changed"] is False

    # non-secret update keeps the stored password (health still OK), version sent
    r = run(ansible, emu, "grafana_datasource", dict(pg_args(pg_server, pg_db), max_open_conns=20, health_check=True), diff=True)
    assert r["changed"] is True and r["secret_changed"] is False and r["health"]["status"] == "OK"
    assert r["diff"]["after"]["jsonData"]["maxOpenConns"] == 20

    # a wrong password is detected as a change, sent, and the real health check fails clearly
    wrong = "Wrong-" + PLANTED["reader_password"]
    ansible.add_secret(wrong)
    r = run(ansible, emu, "grafana_datasource", dict(pg_args(pg_server, pg_db, wrong), max_open_conns=20, health_check=True), expect_failed=True)
    assert "health check" in r["msg"]

    # check mode: a changed secret is reported, nothing is written
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_datasource", dict(pg_args(pg_server, pg_db), max_open_conns=20), check=True, diff=True)
    assert r["changed"] is True and r["secret_changed"] is True and writes(emu) == []

    r = run(ansible, emu, "grafana_datasource", dict(pg_args(pg_server, pg_db), max_open_conns=20, health_check=True))
    assert r["changed"] is True and r["health"]["status"] == "OK"

    r = run(ansible, emu, "grafana_datasource", {"uid": "support-postgres", "state": "absent"})
    assert r["changed"] is True
    assert emu.api("GET", "/api/datasources/uid/support-postgres")[0] == 404
    r = run(ansible, emu, "grafana_datasource", {"uid": "support-postgres", "state": "absent"})
    assert r["changed"] is False


def test_datasource_unknown_type_nothing_written(ansible, grafana_emulator):
    emu = grafana_emulator
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_datasource", {"name": "x", "uid": "x", "type": "no-such-plugin", "datasource_url": "http://127.0.0.1:1"}, expect_failed=True)
    assert "unknown datasource type 'no-such-plugin'" in r["msg"]
    assert writes(emu) == []
    assert emu.api("GET", "/api/datasources")[1] == []


DASHBOARD = {
    "__inputs": [{"name": "DS_SUPPORT_DB", "label": "Support DB", "type": "datasource", "pluginId": "grafana-postgresql-datasource"}],
    "__requires": [{"type": "datasource", "id": "grafana-postgresql-datasource"}],
    "id": None,
    "uid": "cx-kpi-overview",
    "title": "CX KPIs",
    "version": 1,
    "schemaVersion": 39,
    "time": {"from": "now-7d", "to": "now"},
    "panels": [
        {
            "id": 1,
            "type": "stat",
            "title": "Cases",
            "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0},
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
            "targets": [
                {
                    "refId": "A",
                    "format": "table",
                    "rawQuery": True,
                    "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
                    "rawSql": "SELECT count(*) AS cases FROM cases",
                }
            ],
        },
    ],
}


def make_folder_and_ds(emu):
    status = emu.api("POST", "/api/folders", {"uid": "cx-kpi", "title": "CX KPIs"})[0]
    assert status == 200


def test_dashboard_lifecycle_and_no_lost_edit(ansible, grafana_emulator, tmp_path):
    emu = grafana_emulator
    make_folder_and_ds(emu)
    # grafana_dashboard checks that datasource_uid exists before it writes the dashboard
    status = emu.api(
        "POST",
        "/api/datasources",
        {"name": "Support DB", "uid": "support-postgres", "access": "proxy", "type": "grafana-postgresql-datasource", "url": "127.0.0.1:5432"},
    )[0]
    assert status == 200
    args = {"content": DASHBOARD, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres", "commit_message": "first deploy"}
    r = run(ansible, emu, "grafana_dashboard", args)
    assert r["changed"] is True and r["version"] == 1
    stored = emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[1]
    assert stored["meta"]["folderUid"] == "cx-kpi"
    assert stored["dashboard"]["panels"][0]["datasource"]["uid"] == "support-postgres"
    assert "__inputs" not in stored["dashboard"]

    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", args)
    # /apis discovery (404 before Grafana 12) + one read (dashboard.grafana.app on 13, the legacy route before)
    read = Profile(emu.version).apis_path("dashboard", "cx-kpi-overview") or "/api/dashboards/uid/cx-kpi-overview"
    assert r["changed"] is False and api_log(emu) == [("GET", "/apis"), ("GET", read)]

    # a change in the source is deployed (the module's own deployment is not an "edit")
    newer = copy.deepcopy(DASHBOARD)
    newer["panels"][0]["title"] = "Cases (all)"
    path = tmp_path / "dash.json"
    path.write_text(json.dumps(newer))
    file_args = dict(args, content=None, path=str(path))
    del file_args["content"]
    r = run(ansible, emu, "grafana_dashboard", file_args, diff=True)
    assert r["changed"] is True and r["out_of_band_edit"] is False and r["version"] == 2

    # someone edits the dashboard in Grafana
    edited = emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[1]["dashboard"]
    edited["panels"][0]["title"] = "Edited in the UI"
    assert emu.api("POST", "/api/dashboards/db", {"dashboard": edited, "folderUid": "cx-kpi", "overwrite": False})[0] == 200
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", file_args, expect_failed=True)
    assert "was changed in Grafana" in r["msg"] and writes(emu) == []
    assert emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[1]["dashboard"]["panels"][0]["title"] == "Edited in the UI"
    r = run(ansible, emu, "grafana_dashboard", dict(file_args, overwrite=True))
    assert r["changed"] is True and r["out_of_band_edit"] is True
    assert emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[1]["dashboard"]["panels"][0]["title"] == "Cases (all)"

    # check mode: change reported, no write
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", args, check=True)
    assert r["changed"] is True and writes(emu) == []

    # bad input: invalid JSON, unknown folder -> clear error, nothing written
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", dict(args, content='{"title": "broken", "panels": [}'), expect_failed=True)
    assert "not valid JSON" in r["msg"]
    r = run(ansible, emu, "grafana_dashboard", dict(args, folder_uid="no-such-folder"), expect_failed=True)
    assert "folder 'no-such-folder' not found" in r["msg"]
    assert writes(emu) == []

    r = run(ansible, emu, "grafana_dashboard", {"uid": "cx-kpi-overview", "state": "absent"})
    assert r["changed"] is True and emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[0] == 404
    r = run(ansible, emu, "grafana_dashboard", {"uid": "cx-kpi-overview", "state": "absent"})
    assert r["changed"] is False


def test_contact_point_lifecycle(ansible, grafana_emulator):
    emu = grafana_emulator
    args = {"name": "support-alerts-slack", "uid": "cx-slack", "type": "slack", "slack_url": PLANTED["slack_webhook"], "slack_recipient": "#support-alerts"}
    r = run(ansible, emu, "grafana_contact_point", args, diff=True)
    assert r["changed"] is True and r["secret_changed"] is True
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_contact_point", args)
    assert r["changed"] is False
    assert api_log(emu) == [("GET", "/api/v1/provisioning/contact-points")]
    other_hook = PLANTED["slack_webhook"] + "-rotated"
    ansible.add_secret(other_hook)
    r = run(ansible, emu, "grafana_contact_point", dict(args, slack_url=other_hook), diff=True)
    assert r["changed"] is True and r["secret_changed"] is True
    r = run(ansible, emu, "grafana_contact_point", dict(args, slack_url=other_hook))
    assert r["changed"] is False
    r = run(ansible, emu, "grafana_contact_point", dict(args, slack_url=other_hook, slack_recipient="#kpi"))
    assert r["changed"] is True and r["secret_changed"] is False
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_contact_point", args, check=True, diff=True)
    assert r["changed"] is True and writes(emu) == []
    mail = {"name": "team-lead-email", "uid": "cx-email", "type": "email", "email_addresses": ["lead@example.com"]}
    assert run(ansible, emu, "grafana_contact_point", mail)["changed"] is True
    assert run(ansible, emu, "grafana_contact_point", mail)["changed"] is False
    r = run(ansible, emu, "grafana_contact_point", dict(args, state="absent"))
    assert r["changed"] is True
    r = run(ansible, emu, "grafana_contact_point", dict(args, state="absent"))
    assert r["changed"] is False


RULE = {
    "uid": "cx-budget-warning",
    "title": "Token budget above 80%",
    "condition": "C",
    "for": "5m",
    "labels": {"channel": "slack"},
    "annotations": {"summary": "Token budget utilisation above 80 %"},
    "data": [
        {
            "refId": "A",
            "datasourceUid": "support-postgres",
            "relativeTimeRange": {"from": 600, "to": 0},
            "model": {
                "refId": "A",
                "format": "table",
                "rawQuery": True,
                "editorMode": "code",
                "rawSql": "SELECT now() AS time, max(token_utilization_pct) AS value FROM v_budget_utilization",
            },
        },
        {
            "refId": "B",
            "datasourceUid": "__expr__",
            "relativeTimeRange": {"from": 0, "to": 0},
            "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last", "datasource": {"type": "__expr__", "uid": "__expr__"}},
        },
        {
            "refId": "C",
            "datasourceUid": "__expr__",
            "relativeTimeRange": {"from": 0, "to": 0},
            "model": {
                "refId": "C",
                "type": "threshold",
                "expression": "B",
                "conditions": [{"evaluator": {"type": "gt", "params": [80]}}],
                "datasource": {"type": "__expr__", "uid": "__expr__"},
            },
        },
    ],
}


def test_alert_rule_group_lifecycle(ansible, grafana_emulator, pg_server, pg_db):
    emu = grafana_emulator
    make_folder_and_ds(emu)
    run(ansible, emu, "grafana_datasource", pg_args(pg_server, pg_db))
    args = {"folder_uid": "cx-kpi", "name": "kpi-alerts", "interval": "5m", "rules": [RULE]}
    r = run(ansible, emu, "grafana_alert_rule_group", args)
    assert r["changed"] is True and r["rule_uids"] == ["cx-budget-warning"]
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_alert_rule_group", args)
    assert r["changed"] is False, r.get("diff")
    assert len(api_log(emu)) == 1
    rule = copy.deepcopy(RULE)
    del rule["uid"]  # matched by title, keeps its uid
    rule["data"][2]["model"]["conditions"][0]["evaluator"]["params"] = [90]
    r = run(ansible, emu, "grafana_alert_rule_group", dict(args, rules=[rule]), diff=True)
    assert r["changed"] is True and r["rule_uids"] == ["cx-budget-warning"]
    r = run(ansible, emu, "grafana_alert_rule_group", dict(args, rules=[rule]))
    assert r["changed"] is False
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_alert_rule_group", dict(args, interval="1m"), check=True)
    assert r["changed"] is True and writes(emu) == []
    bad = copy.deepcopy(RULE)
    bad["condition"] = "Z"
    r = run(ansible, emu, "grafana_alert_rule_group", dict(args, rules=[bad]), expect_failed=True)
    assert "condition 'Z'" in r["msg"] and writes(emu) == []
    r = run(ansible, emu, "grafana_alert_rule_group", dict(args, folder_uid="nope"), expect_failed=True)
    assert "folder 'nope' not found" in r["msg"] and writes(emu) == []
    r = run(ansible, emu, "grafana_alert_rule_group", {"folder_uid": "cx-kpi", "name": "kpi-alerts", "state": "absent"})
    assert r["changed"] is True
    r = run(ansible, emu, "grafana_alert_rule_group", {"folder_uid": "cx-kpi", "name": "kpi-alerts", "state": "absent"})
    assert r["changed"] is False


def test_notification_policy_lifecycle(ansible, grafana_emulator):
    emu = grafana_emulator
    run(ansible, emu, "grafana_contact_point", {"name": "support-alerts-slack", "uid": "cx-slack", "slack_url": PLANTED["slack_webhook"]})
    run(ansible, emu, "grafana_contact_point", {"name": "team-lead-email", "uid": "cx-email", "type": "email", "email_addresses": ["lead@example.com"]})
    args = {
        "receiver": "team-lead-email",
        "group_by": ["grafana_folder", "alertname"],
        "repeat_interval": "4h",
        "routes": [{"receiver": "support-alerts-slack", "matchers": ["channel=slack"]}],
    }
    r = run(ansible, emu, "grafana_notification_policy", args)
    assert r["changed"] is True
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_notification_policy", args)
    assert r["changed"] is False and api_log(emu) == [("GET", "/api/v1/provisioning/policies")]
    critical = {"receiver": "team-lead-email", "object_matchers": [["severity", "=", "critical"]]}
    args2 = dict(args, routes=args["routes"] + [critical])
    r = run(ansible, emu, "grafana_notification_policy", args2, diff=True)
    assert r["changed"] is True
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_notification_policy", args, check=True)
    assert r["changed"] is True and writes(emu) == []
    r = run(ansible, emu, "grafana_notification_policy", {"state": "absent"})
    assert r["changed"] is True
    r = run(ansible, emu, "grafana_notification_policy", {"state": "absent"})
    assert r["changed"] is False


def test_service_account_token_once_never_logged(ansible, grafana_emulator, tmp_path):
    emu = grafana_emulator
    out = tmp_path / "token.txt"
    playbook = tmp_path / "sa.yml"
    task = dict(conn(emu), name="cx-kpi-automation", role="Editor", token_name="ansible")
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "service account", NS + "grafana_service_account": task, "register": "sa", "no_log": True},
                        {
                            "name": "keep token",
                            "ansible.builtin.copy": {"content": "{{ sa.token | default('') }}", "dest": str(out), "mode": "0600"},
                            "no_log": True,
                        },
                        {
                            "name": "facts",
                            "ansible.builtin.copy": {
                                "content": "{{ {'changed': sa.changed, 'created': sa.token_created, 'has_token': 'token' in sa} | to_json }}",
                                "dest": str(out) + ".json",
                            },
                        },
                    ],
                }
            ]
        )
    )
    res = ansible.playbook(playbook)
    key = out.read_text()
    assert key.startswith("glsa_")
    ansible.add_secret(key)
    ansible.check_no_secret(res.output)
    facts = json.loads((tmp_path / "token.txt.json").read_text())
    assert facts == {"changed": True, "created": True, "has_token": True}
    # the key works as a Bearer token against the emulator
    status = emu.api("GET", "/api/user", token=key)[0]
    assert status == 200
    res = ansible.playbook(playbook)
    assert out.read_text() == ""
    facts = json.loads((tmp_path / "token.txt.json").read_text())
    assert facts == {"changed": False, "created": False, "has_token": False}
    r = run(ansible, emu, "grafana_service_account", {"name": "cx-kpi-automation", "role": "Viewer"}, diff=True)
    assert r["changed"] is True
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_service_account", {"name": "cx-kpi-automation", "role": "Admin", "token_name": "second"}, check=True)
    assert r["changed"] is True and "token" not in r and writes(emu) == []
    r = run(ansible, emu, "grafana_service_account", {"name": "cx-kpi-automation", "state": "absent"})
    assert r["changed"] is True
    r = run(ansible, emu, "grafana_service_account", {"name": "cx-kpi-automation", "state": "absent"})
    assert r["changed"] is False


def test_dashboard_verify_against_real_postgres(ansible, grafana_emulator, pg_server, pg_db):
    emu = grafana_emulator
    pg_server.execute(
        "CREATE TABLE cases (case_id int, created_at timestamptz); "
        "INSERT INTO cases VALUES (1, now()), (2, now() - interval '1 day'), (3, now() - interval '30 days');"
        "CREATE TABLE empty_t (x int);",
        dbname=pg_db,
    )
    run(ansible, emu, "grafana_datasource", pg_args(pg_server, pg_db))
    dash = {
        "uid": "verify-me",
        "title": "Verify me",
        "templating": {"list": [{"name": "DS", "type": "datasource", "query": "grafana-postgresql-datasource", "current": {}}]},
        "panels": [
            {
                "id": 1,
                "type": "stat",
                "title": "Recent cases",
                "datasource": {"uid": "${DS}"},
                "targets": [{"refId": "A", "format": "table", "rawSql": "SELECT case_id FROM cases WHERE $__timeFilter(created_at)"}],
            },
            {
                "id": 2,
                "type": "row",
                "title": "More",
                "collapsed": True,
                "panels": [
                    {
                        "id": 3,
                        "type": "table",
                        "title": "Empty",
                        "datasource": {"uid": "support-postgres"},
                        "targets": [{"refId": "A", "format": "table", "rawSql": "SELECT x FROM empty_t"}],
                    },
                    {
                        "id": 4,
                        "type": "table",
                        "title": "Broken",
                        "datasource": {"uid": "support-postgres"},
                        "targets": [{"refId": "A", "format": "table", "rawSql": "SELECT nope FROM v_missing"}],
                    },
                ],
            },
        ],
    }
    assert emu.api("POST", "/api/dashboards/db", {"dashboard": dash})[0] == 200
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard_verify", {"uid": "verify-me", "fail_on": "never"}, check=True)
    assert r["changed"] is False
    table = {p["id"]: p for p in r["panels"]}
    assert table[1]["status"] == "ok" and table[1]["rows"] == 2  # 30-day-old case outside now-7d
    assert table[3]["status"] == "no_data" and table[3]["row"] == "More"
    assert table[4]["status"] == "error" and "v_missing" in table[4]["message"]
    assert writes(emu) == [("POST", "/api/ds/query")] * 3  # read-only queries only
    r = run(ansible, emu, "grafana_dashboard_verify", {"uid": "verify-me", "from": "now-60d"}, expect_failed=True)
    assert {p["id"]: p["rows"] for p in r["panels"]}[1] == 3
    assert "panel 4 'Broken' error" in r["msg"]
    r = run(ansible, emu, "grafana_dashboard_verify", {"uid": "verify-me", "fail_on": "no_data"}, expect_failed=True)
    assert "panel 3 'Empty' no_data" in r["msg"]


@pytest.mark.parametrize("version", ["9.5.3", "10.2.2"])
def test_older_grafana_versions(ansible, grafana_emulator_factory, pg_server, pg_db, version):
    """postgres plugin id before the rename, no group DELETE before 11: same playbook, still idempotent."""
    emu = grafana_emulator_factory(version=version)
    args = pg_args(pg_server, pg_db)
    assert run(ansible, emu, "grafana_datasource", args)["changed"] is True
    assert run(ansible, emu, "grafana_datasource", args)["changed"] is False
    assert run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "KPIs"})["changed"] is True
    group = {"folder_uid": "cx-kpi", "name": "kpi-alerts", "interval": "5m", "rules": [RULE]}
    assert run(ansible, emu, "grafana_alert_rule_group", group)["changed"] is True
    assert run(ansible, emu, "grafana_alert_rule_group", group)["changed"] is False
    r = run(ansible, emu, "grafana_alert_rule_group", dict(group, state="absent"))
    assert r["changed"] is True
    assert run(ansible, emu, "grafana_alert_rule_group", dict(group, state="absent"))["changed"] is False

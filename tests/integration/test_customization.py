"""The spec's Customization section on the demo data, through the Grafana emulator and the real PostgreSQL.

* the three example queries of the spec run as written through /api/ds/query with the data source Grafana
  uses (the read-only role) and return rows; a query on a column outside the contract is denied; with the
  views-only setting the base-table queries are denied and the view query still answers;
* the round trip of a panel made in Grafana: deploy (role kpi_grafana) -> a user adds a panel through the API
  -> export (playbooks/export_dashboard.yml) -> adopt + regenerate (tools/build_dashboard.py --adopt) ->
  redeploy: the panel is there, the deployment after that changes nothing, grafana_dashboard_verify reports the
  panel with rows, and a later change of the source deploys without tripping the edit protection.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil

import pytest
import yaml

from conftest import PLANTED, REPO
from kpi_grafana_support import READER, SQL_DIR, load_kpi_database

NS = "cx_catalyst.kpi_dashboard."
DS_UID = "support-postgres"
DASHBOARD_UID = "cx-catalyst-kpi"

# The spec's "Example Queries", verbatim.
CASES_BY_HOUR = """SELECT
    DATE_TRUNC('hour', created_at) as time,
    COUNT(*) as cases
FROM cases
WHERE created_at >= CURRENT_DATE
GROUP BY DATE_TRUNC('hour', created_at)
ORDER BY time"""
TOKENS_BY_WORKFLOW = """SELECT
    workflow_name,
    SUM(total_tokens) as tokens,
    SUM(cost_usd) as cost
FROM token_usage
WHERE recorded_at >= CURRENT_DATE - INTERVAL '7 days'
GROUP BY workflow_name
ORDER BY tokens DESC"""
SELF_SERVICE_TREND = """SELECT
    metric_date as time,
    self_service_rate
FROM v_daily_kpi
WHERE metric_date >= $__timeFrom()::date
ORDER BY metric_date"""
EXAMPLES = {"Cases by Hour (Today)": CASES_BY_HOUR, "Token Usage by Workflow": TOKENS_BY_WORKFLOW, "Self-Service Rate Trend": SELF_SERVICE_TREND}


@pytest.fixture
def kpi_db(pg_server, pg_db):
    load_kpi_database(pg_server, pg_db, reader_password=PLANTED["reader_password"], cases_per_day=40, days=35)
    return pg_db


def reader_datasource(emu, pg_server, dbname):
    status, body, _headers = emu.api(
        "POST",
        "/api/datasources",
        {
            "name": "Support Database",
            "uid": DS_UID,
            "type": "grafana-postgresql-datasource",
            "access": "proxy",
            "url": "%s:%d" % (pg_server.host, pg_server.port),
            "user": READER,
            "jsonData": {"database": dbname, "sslmode": "disable"},
            "secureJsonData": {"password": PLANTED["reader_password"]},
        },
    )
    assert status == 200, body


def ds_query(emu, sql, fmt="table"):
    """POST /api/ds/query as the dashboard does (last 7 days); (status, result of ref A)."""
    status, body, _headers = emu.api(
        "POST",
        "/api/ds/query",
        {
            "from": "now-7d",
            "to": "now",
            "queries": [{"refId": "A", "datasource": {"type": "grafana-postgresql-datasource", "uid": DS_UID}, "rawSql": sql, "format": fmt, "rawQuery": True}],
        },
    )
    return status, body["results"]["A"]


def rows(result):
    frames = result.get("frames") or []
    return len(frames[0]["data"]["values"][0]) if frames and frames[0]["data"]["values"] else 0


def regrant(pg_server, dbname, contract_columns):
    conn = pg_server.connect(dbname)
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('kpi.reader_role', %s, true)", (READER,))
                cur.execute("SELECT set_config('kpi.reader_contract_columns', %s, true)", ("true" if contract_columns else "false",))
                cur.execute((SQL_DIR / "grafana-reader.sql").read_text(encoding="utf-8"))
    finally:
        conn.close()


def test_spec_example_queries_run_as_the_grafana_role(grafana_emulator, pg_server, kpi_db):
    emu = grafana_emulator
    reader_datasource(emu, pg_server, kpi_db)
    for title, sql in EXAMPLES.items():
        status, result = ds_query(emu, sql)
        assert status == 200, (title, result)
        assert rows(result) > 0, (title, result)
    # the values are the database's own: today's cases by hour add up to today's cases
    status, result = ds_query(emu, CASES_BY_HOUR)
    status2, today = ds_query(emu, "SELECT cases_today FROM v_executive_summary")
    assert sum(result["frames"][0]["data"]["values"][1]) == today["frames"][0]["data"]["values"][0][0]
    # a column outside the contract (free text of the support system) is denied
    for sql in ("SELECT subject FROM cases LIMIT 5", "SELECT * FROM cases LIMIT 5", "SELECT config_value FROM baseline_config"):
        status, result = ds_query(emu, sql)
        assert status == 400 and "permission denied" in result["error"], (sql, result)

    # views only (kpi_database_reader_contract_columns: false): the base tables are denied, views still answer
    regrant(pg_server, kpi_db, contract_columns=False)
    for sql in (CASES_BY_HOUR, TOKENS_BY_WORKFLOW):
        status, result = ds_query(emu, sql)
        assert status == 400 and "permission denied for table" in result["error"], result
    status, result = ds_query(emu, SELF_SERVICE_TREND)
    assert status == 200 and rows(result) > 0


# ----------------------------------------------------------------------------------------------- round trip

ROLE_PLAY = [{"name": "kpi_grafana", "hosts": "kpi_control", "gather_facts": False, "roles": [{"role": NS + "kpi_grafana"}]}]


def _generator():
    spec = importlib.util.spec_from_file_location("build_dashboard_roundtrip", REPO / "tools" / "build_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recap(output):
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def _task_result(output, task):
    """The JSON result ansible printed for the (last) task named ``task``."""
    idx = output.rfind(task)
    assert idx >= 0, "task %r not in the output" % task
    start = output.index("[localhost] => ", idx) + len("[localhost] => ")
    return json.JSONDecoder().raw_decode(output[start:])[0]


def add_panel_as_a_user(emu):
    """What Grafana's UI sends when a user adds a panel and saves: the whole model with the version it loaded."""
    status, current, _headers = emu.api("GET", "/api/dashboards/uid/%s" % DASHBOARD_UID)
    assert status == 200
    dash = current["dashboard"]
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    ds = {"type": "grafana-postgresql-datasource", "uid": DS_UID}
    dash["panels"].append(
        {
            "id": max(p["id"] for p in dash["panels"]) + 1,
            "type": "timeseries",
            "title": "Cases by Hour (Today)",
            "gridPos": {"h": 8, "w": 24, "x": 0, "y": bottom},
            "datasource": ds,
            "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
            "targets": [{"refId": "A", "datasource": ds, "editorMode": "code", "format": "time_series", "rawQuery": True, "rawSql": CASES_BY_HOUR}],
        }
    )
    status, saved, _headers = emu.api(
        "POST", "/api/dashboards/db", {"dashboard": dash, "folderUid": current["meta"]["folderUid"], "message": "Cases by hour", "overwrite": False}
    )
    assert status == 200, saved
    return saved["version"]


def test_panel_added_in_grafana_comes_home(grafana_emulator, ansible, pg_server, kpi_db, tmp_path):
    emu = grafana_emulator
    work = tmp_path / "files"
    work.mkdir()
    dashboard_file, custom_file, rules_file = (work / "grafana-dashboard.json", work / "grafana-dashboard.custom.yml", work / "rule-groups.yml")
    shutil.copy(REPO / "files" / "grafana-dashboard.json", dashboard_file)
    generator = _generator()
    gen_args = ["--output", str(dashboard_file), "--rules-output", str(rules_file), "--custom", str(custom_file)]
    assert generator.main(gen_args) == 0 and not custom_file.exists()

    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[kpi_control]\nlocalhost ansible_connection=local\n")
    extra = {
        "kpi_grafana_url": emu.url,
        "kpi_grafana_auth": "basic",
        "kpi_grafana_username": emu.admin_user,
        "kpi_grafana_password": emu.admin_password,
        "kpi_grafana_datasource_host": pg_server.host,
        "kpi_grafana_datasource_port": pg_server.port,
        "kpi_grafana_datasource_database": kpi_db,
        "kpi_grafana_datasource_user": READER,
        "kpi_grafana_datasource_password": PLANTED["reader_password"],
        "kpi_grafana_datasource_sslmode": "disable",
        "kpi_grafana_alerting_enabled": False,
        "kpi_grafana_dashboard_file": str(dashboard_file),
    }
    play = tmp_path / "kpi_grafana.yml"
    play.write_text(yaml.safe_dump(ROLE_PLAY))

    # 1. deploy
    res = ansible.playbook(play, extra_vars=extra, inventory=str(inventory))
    assert _recap(res.output)["failed"] == 0

    # 2. a user adds the spec's "Cases by Hour (Today)" panel in Grafana and saves
    add_panel_as_a_user(emu)

    # the unchanged source cannot be deployed over it: the edit protection refuses (nothing is lost)
    res = ansible.playbook(play, extra_vars=extra, inventory=str(inventory), expect_rc=2)
    assert "was changed in Grafana since it was deployed" in res.output

    # 3. export into the dashboard file (check mode first: reports the change, writes nothing)
    before = dashboard_file.read_text()
    export_play = REPO / "playbooks" / "export_dashboard.yml"
    res = ansible.playbook(export_play, extra_vars=extra, inventory=str(inventory), check=True, diff=True)
    assert _recap(res.output)["changed"] == 1 and dashboard_file.read_text() == before
    # the diff shows the new panel and nothing of the generated ones (their lines keep their order)
    assert '+      "title": "Cases by Hour (Today)",' in res.output and res.output.count("\n@@ ") == 1
    res = ansible.playbook(export_play, extra_vars=extra, inventory=str(inventory))
    assert _recap(res.output)["changed"] == 1
    exported = json.loads(dashboard_file.read_text())
    panel = next(p for p in exported["panels"] if p["title"] == "Cases by Hour (Today)")
    assert panel["datasource"] == {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"}
    assert not {"id", "version", "cxDeployedHash"} & set(exported)
    assert exported["__inputs"][0]["name"] == "DS_SUPPORT_DB"
    # the export only adds the panel: every generated line keeps its place
    before_panels = json.loads(before)["panels"]
    assert exported["panels"][: len(before_panels)] == before_panels
    # exporting again writes the same bytes
    res = ansible.playbook(export_play, extra_vars=extra, inventory=str(inventory))
    assert _recap(res.output)["changed"] == 0

    # 4. adopt and regenerate: the panel goes to the custom file, the generator reproduces the export exactly
    assert generator.main(["--adopt", str(dashboard_file)] + gen_args) == 0
    custom = yaml.safe_load(custom_file.read_text())
    assert [p["title"] for p in custom["panels"]] == ["Cases by Hour (Today)"]
    assert generator.main(["--check"] + gen_args) == 0
    dashboard_file.write_text("{}")  # regenerate from scratch: the user's panel survives
    assert generator.main(gen_args) == 0
    assert "Cases by Hour (Today)" in [p["title"] for p in json.loads(dashboard_file.read_text())["panels"]]

    # 5. redeploy: the content equals Grafana's, the module records it (adopted); then nothing changes
    res = ansible.playbook(play, extra_vars=extra, inventory=str(inventory))
    deployed = _task_result(res.output, "kpi_grafana : Dashboard | Put the KPI dashboard in place")
    assert deployed["changed"] is True and deployed["adopted"] is True and deployed["out_of_band_edit"] is False
    status, live, _headers = emu.api("GET", "/api/dashboards/uid/%s" % DASHBOARD_UID)
    assert "Cases by Hour (Today)" in [p["title"] for p in live["dashboard"]["panels"]]
    emu.reset_request_log()
    res = ansible.playbook(play, extra_vars=extra, inventory=str(inventory))
    assert _recap(res.output)["changed"] == 0, res.output[-3000:]
    writes = [r for r in emu.request_log() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]
    assert {r["path"] for r in writes} <= {"/api/ds/query"}, writes

    # grafana_dashboard_verify reports the new panel with rows (its query runs as the read-only role)
    res = ansible.module(
        NS + "grafana_dashboard_verify",
        {
            "url": emu.url,
            "url_username": emu.admin_user,
            "url_password": emu.admin_password,
            "uid": DASHBOARD_UID,
            "time_from": "now-7d",
            "datasource_uid": DS_UID,
            "fail_on": "error",
        },
    )
    verify = res.results[0]
    mine = next(p for p in verify["panels"] if p["title"] == "Cases by Hour (Today)")
    assert mine["status"] == "ok" and mine["rows"] > 0, mine
    assert verify["summary"]["error"] == 0, verify["table"]

    # 6. a later change of the source (here: the refresh, through the custom file) deploys without overwrite
    custom.setdefault("dashboard", {})["refresh"] = "1m"
    custom_file.write_text(yaml.safe_dump(custom, sort_keys=False))
    assert generator.main(gen_args) == 0
    res = ansible.playbook(play, extra_vars=extra, inventory=str(inventory))
    deployed = _task_result(res.output, "kpi_grafana : Dashboard | Put the KPI dashboard in place")
    assert deployed["changed"] is True and deployed["out_of_band_edit"] is False and deployed["adopted"] is False
    status, live, _headers = emu.api("GET", "/api/dashboards/uid/%s" % DASHBOARD_UID)
    assert live["dashboard"]["refresh"] == "1m"
    assert "Cases by Hour (Today)" in [p["title"] for p in live["dashboard"]["panels"]]

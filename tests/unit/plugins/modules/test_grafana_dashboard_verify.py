"""grafana_dashboard_verify: which queries run against which data source, row counting, statuses, fail_on."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_dashboard_verify  # noqa: E402

DASH = {
    "uid": "cx-kpi",
    "title": "CX KPIs",
    "templating": {
        "list": [
            {"name": "DS", "type": "datasource", "query": "grafana-postgresql-datasource", "current": {}},
            {"name": "category", "type": "custom", "current": {"value": "billing"}},
        ]
    },
    "panels": [
        {
            "id": 1,
            "type": "stat",
            "title": "Today",
            "datasource": {"uid": "${DS}"},
            "targets": [{"refId": "A", "rawSql": "SELECT 1 FROM v_executive_summary", "format": "table"}],
        },
        {"id": 2, "type": "text", "title": "Notes"},
        {
            "id": 3,
            "type": "row",
            "title": "Details",
            "collapsed": True,
            "panels": [
                {
                    "id": 4,
                    "type": "table",
                    "title": "By category",
                    "datasource": {"type": "grafana-postgresql-datasource", "uid": "support-postgres"},
                    "targets": [{"refId": "A", "rawSql": "SELECT * FROM v_daily_kpi_by_category WHERE category = '$category'", "format": "table"}],
                },
                {
                    "id": 5,
                    "type": "timeseries",
                    "title": "Broken",
                    "datasource": {"type": "grafana-postgresql-datasource", "uid": "support-postgres"},
                    "targets": [{"refId": "A", "rawSql": "SELECT nope FROM v_nothing"}],
                },
            ],
        },
    ],
}
DATASOURCES = [{"uid": "support-postgres", "name": "Support Database", "type": "grafana-postgresql-datasource", "isDefault": True}]


def frames(rows):
    return [{"schema": {"fields": [{"name": "x", "type": "number"}]}, "data": {"values": [list(range(rows))]}}]


def script(panel5_status=400):
    return [
        ("GET", "/api/dashboards/uid/cx-kpi", 200, {"dashboard": DASH, "meta": {}}),
        ("GET", "/api/datasources", 200, DATASOURCES),
        ("POST", "/api/ds/query", 200, {"results": {"A": {"frames": frames(1)}}}),
        ("POST", "/api/ds/query", 200, {"results": {"A": {"frames": []}}}),
        ("POST", "/api/ds/query", panel5_status, {"results": {"A": {"error": 'db query error: relation "v_nothing" does not exist', "frames": []}}}),
    ]


def test_per_panel_table_and_queries_sent():
    result, fake = run_module(grafana_dashboard_verify, {"uid": "cx-kpi", "fail_on": "never"}, script())
    assert result["changed"] is False
    table = {p["id"]: p for p in result["panels"]}
    assert sorted(table) == [1, 4, 5]  # text and row panels have no queries
    assert table[1]["status"] == "ok" and table[1]["rows"] == 1
    assert table[4]["status"] == "no_data" and table[4]["row"] == "Details"
    assert table[5]["status"] == "error" and "v_nothing" in table[5]["message"]
    assert result["summary"] == {"ok": 1, "no_data": 1, "error": 1, "skipped": 0}
    first = fake.calls[2].json
    assert first["from"] == "now-7d" and first["to"] == "now"
    assert first["queries"][0]["datasource"]["uid"] == "support-postgres"  # ${DS} -> first postgres DS
    assert fake.calls[3].json["queries"][0]["rawSql"].endswith("category = 'billing'")


def test_fail_on_error_fails_with_panel_names():
    result, dummy = run_module(grafana_dashboard_verify, {"uid": "cx-kpi"}, script())
    assert result["failed"] is True
    assert "panel 5 'Broken' error" in result["msg"] and "1 of 3 panels" in result["msg"]
    assert result["panels"]  # table still returned


def test_fail_on_no_data():
    result, dummy = run_module(grafana_dashboard_verify, {"uid": "cx-kpi", "fail_on": "no_data"}, script())
    assert result["failed"] is True and "panel 4 'By category' no_data" in result["msg"]


def test_runs_in_check_mode_and_never_changes():
    result, fake = run_module(grafana_dashboard_verify, {"uid": "cx-kpi", "fail_on": "never"}, script(), check=True)
    assert result["changed"] is False and len(fake.calls) == 5


def test_variable_override_and_time_range():
    args = {"uid": "cx-kpi", "fail_on": "never", "variables": {"DS": "other-pg", "category": "shipping"}, "from": "now-30d", "to": "now-1d"}
    steps = script()
    steps[1] = ("GET", "/api/datasources", 200, DATASOURCES + [{"uid": "other-pg", "name": "Other", "type": "postgres"}])
    dummy, fake = run_module(grafana_dashboard_verify, args, steps)
    assert fake.calls[2].json["queries"][0]["datasource"]["uid"] == "other-pg"
    assert fake.calls[2].json["from"] == "now-30d" and fake.calls[2].json["to"] == "now-1d"
    assert "shipping" in fake.calls[3].json["queries"][0]["rawSql"]


def test_unknown_dashboard_is_clear():
    result, dummy = run_module(grafana_dashboard_verify, {"uid": "nope"}, [("GET", "/api/dashboards/uid/nope", 404, {"message": "Dashboard not found"})])
    assert result["failed"] is True and "dashboard 'nope' not found" in result["msg"]


def test_content_with_placeholders():
    content = {
        "title": "x",
        "__inputs": [{"name": "DS_PG", "type": "datasource", "pluginId": "postgres"}],
        "panels": [{"id": 1, "title": "p", "datasource": "${DS_PG}", "targets": [{"rawSql": "SELECT 1"}]}],
    }
    result, fake = run_module(
        grafana_dashboard_verify,
        {"content": content, "datasource_uid": "support-postgres"},
        [
            ("POST", "/api/ds/query", 200, {"results": {"A": {"frames": frames(3)}}}),
        ],
    )
    assert result["panels"][0]["rows"] == 3
    assert fake.calls[0].json["queries"][0]["datasource"] == {"type": "postgres", "uid": "support-postgres"}

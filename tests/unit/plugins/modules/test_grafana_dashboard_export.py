"""grafana_dashboard_export: only GETs, a normalised file that deploys again as a no-op, stable bytes."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_dashboard  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_dashboard_export  # noqa: E402

SOURCE = {
    "__inputs": [
        {
            "name": "DS_SUPPORT_DB",
            "label": "Support Database",
            "description": "the KPI views",
            "type": "datasource",
            "pluginId": "postgres",
            "pluginName": "PostgreSQL",
        }
    ],
    "__requires": [
        {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
        {"type": "datasource", "id": "postgres", "name": "PostgreSQL", "version": "1.0.0"},
        {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
    ],
    "title": "CX KPIs",
    "uid": "cx-kpi-overview",
    "schemaVersion": 36,
    "templating": {
        "list": [{"type": "datasource", "name": "DS_SUPPORT_DB", "query": "postgres", "current": {"text": "Support Database", "value": "support-postgres"}}]
    },
    "panels": [
        {
            "id": 1,
            "type": "stat",
            "title": "Resolution rate",
            "gridPos": {"h": 5, "w": 4, "x": 0, "y": 0},
            "datasource": {"type": "postgres", "uid": "${DS_SUPPORT_DB}"},
            "targets": [
                {"refId": "A", "datasource": {"type": "postgres", "uid": "${DS_SUPPORT_DB}"}, "rawSql": "SELECT resolution_rate_today FROM v_executive_summary"}
            ],
        },
    ],
}
DEPLOY = {"folder_uid": "cx-kpi", "datasource_uid": "support-postgres"}
# Grafana before 12 has no /apis: grafana_dashboard's discovery answers 404 and it uses the legacy routes
APIS_404 = ("GET", "/apis", 404, "404 page not found")


def live_after_deploy():
    """GET /api/dashboards/uid as Grafana answers after grafana_dashboard deployed SOURCE."""
    want = grafana_dashboard.desired_dashboard({"path": None, "content": SOURCE, "uid": None, "datasource_uid": "support-postgres", "datasource_map": None})
    dash = dict(want, id=12, version=4)
    dash[grafana_dashboard.MARKER] = grafana_dashboard.content_hash(want)
    return {"dashboard": dash, "meta": {"folderUid": "cx-kpi", "url": "/d/cx-kpi-overview/cx-kpis"}}


def live_with_user_panel():
    """The user added a bar gauge in Grafana (the data source picked in the editor: type of Grafana >= 10.2)."""
    current = live_after_deploy()
    dash = current["dashboard"]
    dash["version"] = 5
    dash["panels"].append(
        {
            "type": "bargauge",
            "title": "Cases by Hour (Today)",
            "id": 2,
            "gridPos": {"h": 8, "w": 12, "x": 0, "y": 5},
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "support-postgres"},
            "targets": [
                {
                    "refId": "A",
                    "format": "table",
                    "rawQuery": True,
                    "datasource": {"type": "grafana-postgresql-datasource", "uid": "support-postgres"},
                    "rawSql": "SELECT DATE_TRUNC('hour', created_at) AS time, COUNT(*) AS cases FROM cases",
                }
            ],
        }
    )
    return current


def export(tmp_path, live, dest=None, check=False, diff=False, **args):
    dest = dest or tmp_path / "dashboard.json"
    full = dict({"uid": "cx-kpi-overview", "dest": str(dest), "datasource_uid": "support-postgres"}, **args)
    return run_module(
        grafana_dashboard_export,
        full,
        [APIS_404, ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, live)]
        + ([] if dest.exists() else [("GET", "/api/health", 200, {"database": "ok", "version": "11.3.0"})]),
        check=check,
        diff=diff,
    )


def test_export_of_a_deployed_dashboard_equals_the_source(tmp_path):
    dest = tmp_path / "dashboard.json"
    dest.write_text(json.dumps(SOURCE, indent=2) + "\n")
    result, fake = export(tmp_path, live_after_deploy())
    # same content; Grafana's id/version/hash are not in the file, the uid is the input again
    assert json.loads(dest.read_text()) == SOURCE
    assert dest.read_text() == json.dumps(SOURCE, indent=2) + "\n"  # key order of the file kept
    assert result["changed"] is False and fake.writes == []
    assert result["inputs"] == ["DS_SUPPORT_DB"] and result["version"] == 4


def test_user_panel_exported_and_redeploy_is_a_no_op(tmp_path):
    dest = tmp_path / "dashboard.json"
    dest.write_text(json.dumps(SOURCE, indent=2) + "\n")
    live = live_with_user_panel()
    result, fake = export(tmp_path, live, diff=True)
    assert result["changed"] is True and [c.method for c in fake.calls] == ["GET", "GET"]
    data = json.loads(dest.read_text())
    panel = data["panels"][1]
    assert panel["datasource"] == {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"}
    assert panel["targets"][0]["datasource"]["uid"] == "${DS_SUPPORT_DB}"
    for key in ("id", "version", "iteration", grafana_dashboard.MARKER):
        assert key not in data
    assert data["__inputs"] == SOURCE["__inputs"]
    assert {"type": "panel", "id": "bargauge", "name": "bargauge", "version": ""} in data["__requires"]
    # the diff shows the new panel; existing lines keep their order
    assert '"Cases by Hour (Today)"' in result["diff"]["after"] and result["diff"]["before"] == json.dumps(SOURCE, indent=2) + "\n"
    # the template variable's literal uid is not a data source reference and stays
    assert data["templating"] == SOURCE["templating"]
    # deploying the exported file: the content equals Grafana's, only the hash is recorded (adopted)
    result, fake = run_module(
        grafana_dashboard,
        dict(DEPLOY, path=str(dest)),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, live),
            ("POST", "/api/dashboards/db", 200, {"id": 12, "uid": "cx-kpi-overview", "version": 6}),
        ],
    )
    assert result["changed"] is True and result["adopted"] is True and result["out_of_band_edit"] is False
    saved = fake.calls[2].json["dashboard"]
    assert grafana_dashboard.normalise(saved) == grafana_dashboard.normalise(live["dashboard"])
    # after that save the deployment is one GET, no change
    live["dashboard"] = dict(saved, version=6)
    result, fake = run_module(grafana_dashboard, dict(DEPLOY, path=str(dest)), [APIS_404, ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, live)])
    assert result["changed"] is False and len(fake.calls) == 2  # /apis discovery + one read


def test_second_export_same_bytes_and_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "dashboard.json"
    dest.write_text(json.dumps(SOURCE, indent=2) + "\n")
    result, dummy = export(tmp_path, live_with_user_panel(), check=True)
    assert result["changed"] is True
    assert dest.read_text() == json.dumps(SOURCE, indent=2) + "\n"
    export(tmp_path, live_with_user_panel())
    first = dest.read_text()
    result, fake = export(tmp_path, live_with_user_panel())
    assert result["changed"] is False and dest.read_text() == first and fake.writes == []


def test_new_file_has_sorted_keys_and_grafana_version(tmp_path):
    dest = tmp_path / "new.json"
    result, fake = export(tmp_path, live_with_user_panel(), dest=dest)
    assert result["changed"] is True and [c.path for c in fake.calls][-1] == "/api/health"
    data = json.loads(dest.read_text())
    assert list(data) == sorted(data) and list(data)[:2] == ["__inputs", "__requires"]
    assert data["__requires"][0] == {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "11.3.0"}
    assert data["__inputs"][0]["name"] == "DS_SUPPORT_DB" and data["__inputs"][0]["pluginId"] == "postgres"
    panel_keys = list(data["panels"][1])
    assert panel_keys == sorted(panel_keys)


def test_key_order_sorted_option(tmp_path):
    dest = tmp_path / "dashboard.json"
    dest.write_text(json.dumps(SOURCE, indent=2) + "\n")
    export(tmp_path, live_after_deploy(), key_order="sorted")
    data = json.loads(dest.read_text())
    assert data == SOURCE and list(data) == sorted(data)


def test_datasource_map_and_unmapped_uid_left_alone(tmp_path):
    live = live_with_user_panel()
    live["dashboard"]["panels"][1]["datasource"] = {"type": "prometheus", "uid": "prom-main"}
    dest = tmp_path / "dashboard.json"
    dest.write_text(json.dumps(SOURCE, indent=2) + "\n")
    export(tmp_path, live, datasource_uid=None, datasource_map={"${DS_SUPPORT_DB}": "support-postgres"})
    data = json.loads(dest.read_text())
    assert data["panels"][0]["datasource"]["uid"] == "${DS_SUPPORT_DB}"
    assert data["panels"][1]["datasource"] == {"type": "prometheus", "uid": "prom-main"}


def test_missing_dashboard_is_a_clear_error(tmp_path):
    result, fake = run_module(
        grafana_dashboard_export,
        {"uid": "nope", "dest": str(tmp_path / "x.json")},
        [APIS_404, ("GET", "/api/dashboards/uid/nope", 404, {"message": "Dashboard not found"})],
    )
    assert result["failed"] is True and "cannot export dashboard 'nope': not found" in result["msg"]
    assert not (tmp_path / "x.json").exists()


def test_bad_inputs_fail_before_any_request(tmp_path):
    result, fake = run_module(grafana_dashboard_export, {"uid": "a/b", "dest": str(tmp_path / "x.json")}, [])
    assert result["failed"] is True and "uid 'a/b' is invalid" in result["msg"]
    result, fake = run_module(
        grafana_dashboard_export, {"uid": "cx", "dest": str(tmp_path / "x.json"), "datasource_uid": "pg", "datasource_map": {"DS_OTHER": "pg"}}, []
    )
    assert result["failed"] is True and "mapped to two inputs" in result["msg"] and fake.calls == []
    result, fake = run_module(
        grafana_dashboard_export,
        {"uid": "cx", "dest": str(tmp_path / "missing-dir" / "x.json"), "datasource_uid": "pg"},
        [APIS_404, ("GET", "/api/dashboards/uid/cx", 200, live_after_deploy()), ("GET", "/api/health", 200, {"version": "11.3.0"})],
    )
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_collapsed_row_panels_are_listed():
    assert grafana_dashboard_export.panel_titles([{"title": "Row", "panels": [{"title": "Inner"}]}, {"title": "Outer"}]) == ["Row", "Inner", "Outer"]


# ---------------------------------------------------------------------------------------------- /apis (12+)
APIS_BASE = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
DISCOVERY = {"kind": "APIGroupList", "groups": [{"name": "dashboard.grafana.app", "versions": [{"version": "v1"}, {"version": "v1beta1"}]}]}


def k8s_dashboard(live, stored=None):
    """The /apis answer for the same dashboard: spec without id/uid/version, the version as metadata.generation."""
    spec = dict((k, v) for k, v in live["dashboard"].items() if k not in ("id", "uid", "version"))
    meta = {"name": live["dashboard"]["uid"], "resourceVersion": "77", "generation": live["dashboard"]["version"]}
    meta["annotations"] = {"grafana.app/folder": "cx-kpi"}
    status = {"conversion": {"failed": False, "storedVersion": stored}} if stored else {}
    return {"kind": "Dashboard", "apiVersion": "dashboard.grafana.app/v1", "metadata": meta, "spec": spec, "status": status}


def test_apis_export_writes_the_same_bytes_as_the_legacy_route(tmp_path):
    """docs/grafana-behaviour.md §13.2: read through dashboard.grafana.app where GET /apis offers it; the file is the
    one the legacy route gives, and a re-export is a no-op with two GETs."""
    for key_order in ("dest", "sorted"):
        legacy_dest, apis_dest = tmp_path / ("legacy-%s.json" % key_order), tmp_path / ("apis-%s.json" % key_order)
        for path in (legacy_dest, apis_dest):
            path.write_text(json.dumps(SOURCE, indent=2) + "\n")
        export(tmp_path, live_with_user_panel(), dest=legacy_dest, key_order=key_order)
        args = {"uid": "cx-kpi-overview", "dest": str(apis_dest), "datasource_uid": "support-postgres", "key_order": key_order}
        script = [("GET", "/apis", 200, DISCOVERY), ("GET", APIS_BASE + "/cx-kpi-overview", 200, k8s_dashboard(live_with_user_panel()))]
        result, fake = run_module(grafana_dashboard_export, args, list(script))
        assert result["changed"] is True and result["version"] == 5 and fake.writes == []
        assert apis_dest.read_text() == legacy_dest.read_text()
        result, fake = run_module(grafana_dashboard_export, args, list(script))
        assert result["changed"] is False and len(fake.calls) == 2


def test_apis_schema_v2_dashboard_is_refused_and_nothing_written(tmp_path):
    dest = tmp_path / "dashboard.json"
    dest.write_text(json.dumps(SOURCE, indent=2) + "\n")
    result, fake = run_module(
        grafana_dashboard_export,
        {"uid": "cx-kpi-overview", "dest": str(dest), "datasource_uid": "support-postgres"},
        [("GET", "/apis", 200, DISCOVERY), ("GET", APIS_BASE + "/cx-kpi-overview", 200, k8s_dashboard(live_after_deploy(), stored="v2"))],
    )
    assert result["failed"] is True and "stored in Grafana as schema v2" in result["msg"]
    assert dest.read_text() == json.dumps(SOURCE, indent=2) + "\n"

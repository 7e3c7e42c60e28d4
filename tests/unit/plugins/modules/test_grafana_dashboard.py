"""grafana_dashboard: exact HTTP calls, datasource mapping, normalised compare, no lost edit."""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_dashboard  # noqa: E402

EXPORTED = {
    "__inputs": [{"name": "DS_SUPPORT_DB", "label": "Support DB", "type": "datasource", "pluginId": "grafana-postgresql-datasource"}],
    "__requires": [{"type": "datasource", "id": "grafana-postgresql-datasource"}],
    "id": None,
    "uid": "cx-kpi-overview",
    "title": "CX KPIs",
    "version": 3,
    "schemaVersion": 39,
    "panels": [
        {
            "id": 1,
            "type": "stat",
            "title": "Resolution rate",
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
            "targets": [{"refId": "A", "rawSql": "SELECT resolution_rate_today FROM v_executive_summary", "datasource": "${DS_SUPPORT_DB}"}],
        },
    ],
}


def deployed():
    """What Grafana holds after the module deployed EXPORTED (as GET /api/dashboards/uid returns it)."""
    want = grafana_dashboard.desired_dashboard({"path": None, "content": EXPORTED, "uid": None, "datasource_uid": "support-postgres", "datasource_map": None})
    dash = dict(want, id=12, version=4)
    dash[grafana_dashboard.MARKER] = grafana_dashboard.content_hash(want)
    return {"dashboard": dash, "meta": {"folderUid": "cx-kpi", "url": "/d/cx-kpi-overview/cx-kpis"}}


ARGS = {"content": EXPORTED, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres", "commit_message": "release 1"}
SAVED = {"id": 12, "uid": "cx-kpi-overview", "url": "/d/cx-kpi-overview/cx-kpis", "status": "success", "version": 5}
NOT_FOUND = {"message": "Dashboard not found"}
# Grafana before 12 has no /apis: discovery answers 404 and the module uses the legacy routes
APIS_404 = ("GET", "/apis", 404, "404 page not found")
DS = {"uid": "support-postgres", "name": "Support DB", "type": "grafana-postgresql-datasource"}


def test_create_maps_datasources_and_posts_once():
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi", "title": "KPIs"}),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
    )
    assert result["changed"] is True and result["version"] == 5
    body = fake.calls[4].json
    assert body["folderUid"] == "cx-kpi" and body["message"] == "release 1" and body["overwrite"] is False
    dash = body["dashboard"]
    assert "__inputs" not in dash and "__requires" not in dash
    assert dash["panels"][0]["datasource"] == {"type": "grafana-postgresql-datasource", "uid": "support-postgres"}
    assert dash["panels"][0]["targets"][0]["datasource"] == {"type": "grafana-postgresql-datasource", "uid": "support-postgres"}
    assert "${DS_" not in json.dumps(dash)
    assert dash["id"] is None and "version" not in dash
    assert dash[grafana_dashboard.MARKER]


def test_rerun_is_one_get():
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, deployed()),
        ],
    )
    assert result["changed"] is False and result["out_of_band_edit"] is False
    assert len(fake.calls) == 2  # /apis discovery + one read


def test_source_change_updates_with_current_version():
    newer = copy.deepcopy(EXPORTED)
    newer["panels"][0]["title"] = "Resolution rate (today)"
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, content=newer),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, deployed()),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
        diff=True,
    )
    assert result["changed"] is True and result["out_of_band_edit"] is False
    body = fake.calls[3].json
    assert body["dashboard"]["version"] == 4 and body["dashboard"]["id"] == 12 and body["overwrite"] is False
    assert result["diff"]["after"]["panels"][0]["title"] == "Resolution rate (today)"


def edited_in_grafana():
    current = deployed()
    current["dashboard"]["panels"][0]["title"] = "Edited in the UI"
    return current


def test_out_of_band_edit_fails_without_overwrite_and_writes_nothing():
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, edited_in_grafana()),
        ],
    )
    assert result["failed"] is True
    assert "was changed in Grafana" in result["msg"] and "overwrite" in result["msg"]
    assert fake.writes == []


def test_out_of_band_edit_replaced_with_overwrite():
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, overwrite=True),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, edited_in_grafana()),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
    )
    assert result["changed"] is True and result["out_of_band_edit"] is True
    assert fake.calls[3].json["overwrite"] is True
    assert fake.calls[3].json["dashboard"]["panels"][0]["title"] == "Resolution rate"


def test_folder_move_only():
    dummy, fake = run_module(
        grafana_dashboard,
        dict(ARGS, folder_uid="other"),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, deployed()),
            ("GET", "/api/folders/other", 200, {"uid": "other"}),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
    )
    assert fake.calls[3].json["folderUid"] == "other"


def test_check_mode_sends_no_write():
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi"}),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
        ],
        check=True,
    )
    assert result["changed"] is True and fake.writes == []


def test_invalid_json_fails_before_any_request():
    result, fake = run_module(grafana_dashboard, dict(ARGS, content='{"title": "x", "panels": [}'), [])
    assert result["failed"] is True and "not valid JSON" in result["msg"]
    assert fake.calls == []


def test_missing_mapping_fails_before_any_request():
    args = dict(ARGS)
    del args["datasource_uid"]
    result, fake = run_module(grafana_dashboard, args, [])
    assert result["failed"] is True and "DS_SUPPORT_DB" in result["msg"] and "no mapping" in result["msg"]
    assert fake.calls == []


def test_datasource_map_by_name():
    args = dict(ARGS, datasource_map={"${DS_SUPPORT_DB}": "pg-two"})
    del args["datasource_uid"]
    dummy, fake = run_module(
        grafana_dashboard,
        args,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi"}),
            ("GET", "/api/datasources/uid/pg-two", 200, dict(DS, uid="pg-two")),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
    )
    assert fake.calls[4].json["dashboard"]["panels"][0]["datasource"]["uid"] == "pg-two"


def test_unknown_folder_is_clear_error():
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 404, {"message": "folder not found"}),
        ],
    )
    assert result["failed"] is True and "folder 'cx-kpi' not found" in result["msg"]
    assert fake.writes == []


def test_name_exists_412_is_clear():
    result, dummy = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi"}),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", "/api/dashboards/db", 412, {"status": "name-exists", "message": "A dashboard with the same name in the folder already exists"}),
        ],
    )
    assert result["failed"] is True and "already exists" in result["msg"]


def test_delete():
    result, fake = run_module(
        grafana_dashboard,
        {"uid": "cx-kpi-overview", "state": "absent"},
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, deployed()),
            ("DELETE", "/api/dashboards/uid/cx-kpi-overview", 200, {"title": "CX KPIs", "message": "deleted", "id": 12}),
        ],
    )
    assert result["changed"] is True
    result, fake = run_module(
        grafana_dashboard,
        {"uid": "cx-kpi-overview", "state": "absent"},
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
        ],
    )
    assert result["changed"] is False


def test_path_and_export_wrapper(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"dashboard": EXPORTED, "meta": {"folderUid": "x"}}))
    args = dict(ARGS)
    del args["content"]
    args["path"] = str(f)
    result, dummy = run_module(
        grafana_dashboard,
        args,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, deployed()),
        ],
    )
    assert result["changed"] is False


def test_invalid_uid_in_the_json_fails_before_any_request():
    result, fake = run_module(grafana_dashboard, dict(ARGS, content=dict(EXPORTED, uid="x" * 41)), [])
    assert result["failed"] is True
    assert "Invalid dashboard: dashboard uid '%s' is invalid" % ("x" * 41) in result["msg"]
    assert fake.calls == []


def test_unknown_datasource_uid_is_clear_error_and_nothing_written():
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi"}),
            ("GET", "/api/datasources/uid/support-postgres", 404, {"message": "Data source not found"}),
        ],
    )
    assert result["failed"] is True
    assert "datasource_uid 'support-postgres' is not a datasource in Grafana" in result["msg"], result["msg"]
    assert fake.writes == []


def test_check_mode_on_an_empty_grafana_reports_the_create_with_warnings():
    """Before the first deployment the folder and datasource come from earlier tasks of the same run."""
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 404, NOT_FOUND),
            ("GET", "/api/folders/cx-kpi", 404, {"message": "folder not found"}),
            ("GET", "/api/datasources/uid/support-postgres", 404, {"message": "Data source not found"}),
        ],
        check=True,
    )
    assert result.get("failed") is not True, result
    assert result["changed"] is True and fake.writes == []
    warnings = json.dumps(result["warnings"])  # ansible-core 2.19 returns warning summaries as dicts
    assert "folder 'cx-kpi' does not exist (yet)" in warnings and "datasource 'support-postgres'" in warnings


def test_edit_brought_home_is_adopted_once():
    """The edit made in Grafana is now the desired content (exported and committed): no refusal, one save that
    records the new hash, and the run after it is a single GET."""
    current = edited_in_grafana()
    source = copy.deepcopy(EXPORTED)
    source["panels"][0]["title"] = "Edited in the UI"
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, content=source),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, current),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
    )
    assert result["changed"] is True and result["adopted"] is True and result["out_of_band_edit"] is False
    body = fake.calls[2].json
    assert body["overwrite"] is False and body["dashboard"]["version"] == 4
    saved = body["dashboard"]
    assert saved[grafana_dashboard.MARKER] == grafana_dashboard.content_hash(grafana_dashboard.normalise(saved))
    # Grafana now holds the recorded hash: the next run changes nothing
    current["dashboard"][grafana_dashboard.MARKER] = saved[grafana_dashboard.MARKER]
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, content=source),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, current),
        ],
    )
    assert result["changed"] is False and result["adopted"] is False and len(fake.calls) == 2


def test_edit_brought_home_check_mode_writes_nothing():
    source = copy.deepcopy(EXPORTED)
    source["panels"][0]["title"] = "Edited in the UI"
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, content=source),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, edited_in_grafana()),
        ],
        check=True,
    )
    assert result["changed"] is True and result["adopted"] is True and fake.writes == []


# ---------------------------------------------------------------- /apis (Grafana 12+) and schema v2
APIS_13 = (
    "GET",
    "/apis",
    200,
    {
        "kind": "APIGroupList",
        "groups": [
            {"name": "dashboard.grafana.app", "versions": [{"version": "v1"}, {"version": "v1beta1"}, {"version": "v2"}]},
            {"name": "folder.grafana.app", "versions": [{"version": "v1"}]},
        ],
    },
)
BASE = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
FOLDER13 = "/apis/folder.grafana.app/v1/namespaces/default/folders"


def k8s_folder(uid="cx-kpi"):
    return {"kind": "Folder", "apiVersion": "folder.grafana.app/v1", "metadata": {"name": uid, "generation": 1}, "spec": {"title": "KPIs"}}


def apis_object(stored="v1"):
    legacy = deployed()
    spec = dict((k, v) for k, v in legacy["dashboard"].items() if k not in ("id", "uid", "version"))
    obj = {
        "kind": "Dashboard",
        "apiVersion": "dashboard.grafana.app/v1",
        "spec": spec,
        "status": {},
        "metadata": {
            "name": "cx-kpi-overview",
            "namespace": "default",
            "resourceVersion": "77",
            "generation": 4,
            "annotations": {"grafana.app/folder": "cx-kpi"},
        },
    }
    if stored != "v1":
        obj["status"] = {"conversion": {"failed": False, "storedVersion": stored}}
    return obj


def test_apis_rerun_is_discovery_plus_one_get():
    result, fake = run_module(grafana_dashboard, ARGS, [APIS_13, ("GET", BASE + "/cx-kpi-overview", 200, apis_object())])
    assert result["changed"] is False and result["version"] == 4 and result["url"] == "/d/cx-kpi-overview/cx-kpis"


def test_apis_update_sends_resource_version_and_409_is_clear():
    newer = copy.deepcopy(EXPORTED)
    newer["panels"][0]["title"] = "Resolution rate (today)"
    conflict = {"kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409, "message": "modified"}
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, content=newer),
        [
            APIS_13,
            ("GET", BASE + "/cx-kpi-overview", 200, apis_object()),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("PUT", BASE + "/cx-kpi-overview", 409, conflict),
        ],
    )
    sent = fake.calls[3].json
    assert sent["metadata"]["resourceVersion"] == "77" and sent["metadata"]["annotations"]["grafana.app/folder"] == "cx-kpi"
    assert "id" not in sent["spec"] and "uid" not in sent["spec"] and sent["spec"]["panels"][0]["title"].endswith("(today)")
    assert result["failed"] and "changed by someone else while this module ran" in result["msg"]


def test_apis_create_posts_object():
    created = apis_object()
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_13,
            ("GET", BASE + "/cx-kpi-overview", 404, {"kind": "Status", "code": 404}),
            ("GET", FOLDER13 + "/cx-kpi", 200, k8s_folder()),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", BASE, 201, dict(created, metadata=dict(created["metadata"], generation=1))),
        ],
    )
    assert result["changed"] is True and result["version"] == 1
    assert fake.calls[4].json["metadata"]["name"] == "cx-kpi-overview"


def test_apis_namespace_refused_falls_back_to_legacy():
    forbidden = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403, "message": "forbidden"}
    result, fake = run_module(
        grafana_dashboard, ARGS, [APIS_13, ("GET", BASE + "/cx-kpi-overview", 403, forbidden), ("GET", "/api/dashboards/uid/cx-kpi-overview", 200, deployed())]
    )
    assert result["changed"] is False


def test_schema_v2_on_apis_refused_without_overwrite():
    result, fake = run_module(grafana_dashboard, ARGS, [APIS_13, ("GET", BASE + "/cx-kpi-overview", 200, apis_object(stored="v2"))])
    assert result["failed"] and "stored in Grafana as schema v2" in result["msg"] and fake.writes == []


def test_schema_v2_on_apis_replaced_with_overwrite():
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, overwrite=True),
        [
            APIS_13,
            ("GET", BASE + "/cx-kpi-overview", 200, apis_object(stored="v2beta1")),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("PUT", BASE + "/cx-kpi-overview", 200, apis_object()),
        ],
    )
    assert result["changed"] is True and result["out_of_band_edit"] is True


def test_legacy_406_is_schema_v2_not_a_crash():
    """Grafana 12.1 answers 406 to the legacy read of a schema-v2 dashboard (docs §13.2)."""
    refused = {"message": "dashboard api version not supported, use /apis/dashboard.grafana.app/v2alpha1/..."}
    result, fake = run_module(grafana_dashboard, ARGS, [APIS_404, ("GET", "/api/dashboards/uid/cx-kpi-overview", 406, refused)])
    assert result["failed"] and "schema v2" in result["msg"] and fake.writes == []
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, overwrite=True),
        [
            APIS_404,
            ("GET", "/api/dashboards/uid/cx-kpi-overview", 406, refused),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi", "title": "KPIs"}),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", "/api/dashboards/db", 200, SAVED),
        ],
    )
    assert result["changed"] is True and fake.calls[4].json["overwrite"] is True


def test_apis_folder_check_goes_through_apis_without_second_discovery():
    """The folder check reads folder.grafana.app where /apis offers it, with the run's one discovery."""
    result, fake = run_module(
        grafana_dashboard,
        dict(ARGS, folder_uid="elsewhere"),
        [
            APIS_13,
            ("GET", BASE + "/cx-kpi-overview", 200, apis_object()),
            ("GET", FOLDER13 + "/elsewhere", 200, k8s_folder("elsewhere")),
            ("PUT", BASE + "/cx-kpi-overview", 200, apis_object()),
        ],
    )
    assert result["changed"] is True and [c.path for c in fake.calls].count("/apis") == 1
    assert fake.calls[3].json["metadata"]["annotations"]["grafana.app/folder"] == "elsewhere"


def test_apis_missing_folder_same_message_and_check_mode_warning():
    missing = [
        APIS_13,
        ("GET", BASE + "/cx-kpi-overview", 404, {"kind": "Status", "code": 404}),
        ("GET", FOLDER13 + "/cx-kpi", 404, {"kind": "Status", "code": 404}),
    ]
    result, fake = run_module(grafana_dashboard, ARGS, list(missing))
    assert result["failed"] and "folder 'cx-kpi' not found; create it first (grafana_folder) or fix folder_uid" in result["msg"] and fake.writes == []
    result, fake = run_module(grafana_dashboard, ARGS, missing + [("GET", "/api/datasources/uid/support-postgres", 200, DS)], check=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is True and fake.writes == []
    assert "check mode: folder 'cx-kpi' does not exist (yet)" in json.dumps(result["warnings"])


def test_apis_folder_refused_falls_back_to_legacy_folder_route():
    forbidden = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403, "message": "forbidden"}
    result, fake = run_module(
        grafana_dashboard,
        ARGS,
        [
            APIS_13,
            ("GET", BASE + "/cx-kpi-overview", 404, {"kind": "Status", "code": 404}),
            ("GET", FOLDER13 + "/cx-kpi", 403, forbidden),
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi", "title": "KPIs"}),
            ("GET", "/api/datasources/uid/support-postgres", 200, DS),
            ("POST", BASE, 201, apis_object()),
        ],
    )
    assert result["changed"] is True

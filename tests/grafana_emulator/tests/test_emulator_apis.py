"""The /apis generation on 12.x and 13.x (docs/grafana-behaviour.md §13.1-§13.3), schema-v2 dashboards on the
legacy routes (§13.2, §14.12)."""

import pytest

from emu_client import Client

V2_SPEC = {
    "title": "New editor",
    "tags": ["kpi"],
    "description": "made with tabs",
    "timeSettings": {"from": "now-24h", "to": "now"},
    "variables": [],
    "annotations": [],
    "links": [],
    "elements": {
        "panel-1": {
            "kind": "Panel",
            "spec": {
                "id": 1,
                "title": "Cases",
                "description": "",
                "data": {
                    "kind": "QueryGroup",
                    "spec": {
                        "queries": [
                            {
                                "kind": "PanelQuery",
                                "spec": {
                                    "refId": "A",
                                    "query": {
                                        "kind": "DataQuery",
                                        "group": "grafana-postgresql-datasource",
                                        "version": "v0",
                                        "datasource": {"name": "pg"},
                                        "spec": {"rawSql": "SELECT 1"},
                                    },
                                },
                            }
                        ]
                    },
                },
                "vizConfig": {"kind": "VizConfig", "group": "stat", "spec": {}},
            },
        }
    },
    "layout": {
        "kind": "TabsLayout",
        "spec": {
            "tabs": [
                {
                    "kind": "TabsLayoutTab",
                    "spec": {
                        "title": "Overview",
                        "layout": {
                            "kind": "GridLayout",
                            "spec": {
                                "items": [
                                    {
                                        "kind": "GridLayoutItem",
                                        "spec": {"x": 0, "y": 0, "width": 12, "height": 6, "element": {"kind": "ElementReference", "name": "panel-1"}},
                                    }
                                ]
                            },
                        },
                    },
                }
            ]
        },
    },
}


def _base(version):
    return "/apis/dashboard.grafana.app/%s/namespaces/default/dashboards" % version


@pytest.mark.parametrize(
    "version,dash,folder", [("12.4.0", ["v1beta1", "v2beta1"], ["v1beta1"]), ("13.3.0", ["v1", "v1beta1", "v2", "v2beta1"], ["v1", "v1beta1"])]
)
def test_discovery(grafana_emulator_factory, version, dash, folder):
    """§13.1-§13.3: GET /apis lists dashboard.grafana.app and folder.grafana.app with the served versions."""
    emu = grafana_emulator_factory(version=version)
    api = Client(emu)
    got = api.get("/apis").json
    assert got["kind"] == "APIGroupList"
    groups = {g["name"]: [v["version"] for v in g["versions"]] for g in got["groups"]}
    assert groups == {"dashboard.grafana.app": dash, "folder.grafana.app": folder}
    preferred = {g["name"]: g["preferredVersion"]["version"] for g in got["groups"]}
    assert preferred["dashboard.grafana.app"] == dash[0]
    res = api.get("/apis/dashboard.grafana.app/%s" % dash[0]).json
    assert res["resources"][0]["name"] == "dashboards" and res["resources"][0]["namespaced"] is True
    assert api.get("/apis/dashboard.grafana.app/v0alpha9").status == 404
    assert Client(emu, auth=("admin", "wrong")).get("/apis").status == 401


@pytest.mark.parametrize("version", ["10.4.19", "11.6.3"])
def test_no_apis_before_12(grafana_emulator_factory, version):
    """§13.1: the /apis generation starts with 12.0."""
    api = Client(grafana_emulator_factory(version=version))
    assert api.get("/apis").status == 404
    assert api.get(_base("v1beta1")).status == 404


@pytest.mark.parametrize("version,ver", [("12.4.0", "v1beta1"), ("13.3.0", "v1")])
def test_dashboard_crud_resource_version(grafana_emulator_factory, version, ver):
    """§13.1/§13.2: create 201 (metadata.name = uid, folder annotation), name clash 409, stale resourceVersion 409,
    unconditional PUT without it, the same row on the legacy routes, delete 200 Status."""
    api = Client(grafana_emulator_factory(version=version))
    assert api.post("/api/folders", {"uid": "kpi", "title": "KPI"}).status == 200
    body = {
        "metadata": {"name": "d1", "annotations": {"grafana.app/folder": "kpi"}},
        "spec": {"title": "One", "tags": ["a"], "panels": [], "schemaVersion": 41},
    }
    r = api.post(_base(ver), body)
    assert r.status == 201 and r.json["kind"] == "Dashboard" and r.json["apiVersion"] == "dashboard.grafana.app/" + ver
    meta = r.json["metadata"]
    assert meta["name"] == "d1" and meta["namespace"] == "default" and meta["uid"] != "d1"
    assert meta["annotations"]["grafana.app/folder"] == "kpi" and meta["labels"]["grafana.app/deprecatedInternalID"]
    assert r.json["spec"]["title"] == "One" and "uid" not in r.json["spec"]
    rv1 = meta["resourceVersion"]
    dup = api.post(_base(ver), body)
    assert dup.status == 409 and dup.json["reason"] == "AlreadyExists" and dup.json["kind"] == "Status"
    legacy = api.get("/api/dashboards/uid/d1").json
    assert legacy["dashboard"]["title"] == "One" and legacy["meta"]["folderUid"] == "kpi"
    assert legacy["dashboard"]["version"] == 1
    body["metadata"]["resourceVersion"] = rv1
    body["spec"]["title"] = "One v2"
    r = api.put(_base(ver) + "/d1", body)
    assert r.status == 200 and r.json["metadata"]["resourceVersion"] != rv1
    stale = api.put(_base(ver) + "/d1", body)
    assert stale.status == 409 and stale.json["reason"] == "Conflict"
    # a legacy save moves the resourceVersion as well
    api.post("/api/dashboards/db", {"dashboard": dict(legacy["dashboard"], version=2, title="Legacy"), "folderUid": "kpi"})
    got = api.get(_base(ver) + "/d1").json
    assert got["spec"]["title"] == "Legacy" and got["metadata"]["resourceVersion"] != r.json["metadata"]["resourceVersion"]
    del body["metadata"]["resourceVersion"]
    assert api.put(_base(ver) + "/d1", body).status == 200  # no resourceVersion: unconditional
    listed = api.get(_base(ver), params={"limit": 1}).json
    assert listed["kind"] == "DashboardList" and [i["metadata"]["name"] for i in listed["items"]] == ["d1"]
    r = api.delete(_base(ver) + "/d1")
    assert r.status == 200 and r.json["status"] == "Success" and r.json["details"]["name"] == "d1"
    assert api.get(_base(ver) + "/d1").status == 404
    assert api.get("/api/dashboards/uid/d1").status == 404


def test_generate_name_namespace_and_paging(grafana_emulator_factory):
    """§13.1: generateName lets the server pick metadata.name; org 2 is namespace org-2; another org's namespace is
    refused; lists page with limit/continue."""
    emu = grafana_emulator_factory(version="13.3.0")
    api = Client(emu)
    for _i in range(3):
        r = api.post(_base("v1"), {"metadata": {"generateName": "kpi-"}, "spec": {"title": "T%d" % _i}})
        assert r.status == 201 and r.json["metadata"]["name"].startswith("kpi-")
    first = api.get(_base("v1"), params={"limit": 2}).json
    assert len(first["items"]) == 2 and first["metadata"]["continue"]
    rest = api.get(_base("v1"), params={"limit": 2, "continue": first["metadata"]["continue"]}).json
    assert len(rest["items"]) == 1 and "continue" not in rest["metadata"]
    org = api.post("/api/orgs", {"name": "Two"}).json["orgId"]
    two = Client(emu, org_id=org)
    ns2 = "/apis/dashboard.grafana.app/v1/namespaces/org-%d/dashboards" % org
    assert two.post(ns2, {"metadata": {"name": "o2"}, "spec": {"title": "Org two"}}).status == 201
    assert two.get(_base("v1")).status == 403
    assert [i["metadata"]["name"] for i in two.get(ns2).json["items"]] == ["o2"]


@pytest.mark.parametrize("version,ver", [("12.4.0", "v1beta1"), ("13.3.0", "v1")])
def test_folders(grafana_emulator_factory, version, ver):
    """§13.3/§14.10: folder CRUD through folder.grafana.app; parent in grafana.app/folder; name clash 409;
    duplicate title under one parent 409; the legacy route sees the same folder."""
    api = Client(grafana_emulator_factory(version=version))
    base = "/apis/folder.grafana.app/%s/namespaces/default/folders" % ver
    r = api.post(base, {"metadata": {"name": "top"}, "spec": {"title": "Top"}})
    assert r.status == 201 and r.json["spec"] == {"title": "Top"}
    child = {"metadata": {"name": "kid", "annotations": {"grafana.app/folder": "top"}}, "spec": {"title": "Kid"}}
    assert api.post(base, child).status == 201
    assert api.post(base, child).status == 409
    clash = api.post(base, {"metadata": {"name": "kid2", "annotations": {"grafana.app/folder": "top"}}, "spec": {"title": "Kid"}})
    assert clash.status == 409
    assert api.get("/api/folders/kid").json["parentUid"] == "top"
    got = api.get(base + "/kid").json
    rv = got["metadata"]["resourceVersion"]
    got["spec"]["title"] = "Kid renamed"
    assert api.put(base + "/kid", got).status == 200
    assert api.put(base + "/kid", got).status == 409  # the resourceVersion it carries is stale now
    assert api.get("/api/folders/kid").json["title"] == "Kid renamed" and rv
    assert api.delete(base + "/top").status == 200
    assert api.get("/api/folders/kid").status == 404


def test_v2_dashboard_legacy_get_406_on_12(grafana_emulator_factory):
    """§13.2/§14.12: a dashboard stored as schema v2 -> 406 on the legacy GET (12.x, seen on 12.1), naming the
    /apis route; the v1beta1 /apis GET reports the stored version in status.conversion."""
    api = Client(grafana_emulator_factory(version="12.4.0"))
    r = api.post(_base("v2beta1"), {"metadata": {"name": "v2d"}, "spec": V2_SPEC})
    assert r.status == 201 and r.json["spec"]["layout"]["kind"] == "TabsLayout"
    legacy = api.get("/api/dashboards/uid/v2d")
    assert legacy.status == 406
    assert legacy.json["message"].startswith("dashboard api version not supported, use /apis/dashboard.grafana.app/")
    v1 = api.get(_base("v1beta1") + "/v2d").json
    assert v1["status"]["conversion"]["storedVersion"] == "v2beta1"
    assert v1["spec"]["title"] == "New editor"
    hits = api.get("/api/search", params={"query": "New editor"}).json
    assert [h["uid"] for h in hits] == ["v2d"]


def test_v2_dashboard_lossy_conversion_on_13(grafana_emulator_factory):
    """§13.2: on 13 the legacy GET answers, down-converted with loss: panels and queries kept, tabs dropped."""
    api = Client(grafana_emulator_factory(version="13.3.0"))
    assert api.post(_base("v2"), {"metadata": {"name": "v2d"}, "spec": V2_SPEC}).status == 201
    r = api.get("/api/dashboards/uid/v2d")
    assert r.status == 200
    dash = r.json["dashboard"]
    assert dash["title"] == "New editor" and dash["schemaVersion"] == 42 and dash["tags"] == ["kpi"]
    assert [(p["type"], p["title"], p["targets"][0]["rawSql"]) for p in dash["panels"]] == [("stat", "Cases", "SELECT 1")]
    assert "layout" not in dash and "elements" not in dash
    # a classic save over it (overwrite) replaces it: the legacy GET is exact again, /apis v2 converts up
    saved = api.post("/api/dashboards/db", {"dashboard": {"uid": "v2d", "title": "Classic", "panels": []}, "overwrite": True})
    assert saved.status == 200
    assert api.get("/api/dashboards/uid/v2d").json["dashboard"]["title"] == "Classic"
    up = api.get(_base("v2") + "/v2d").json
    assert up["status"]["conversion"]["storedVersion"] == "v1" and up["spec"]["layout"]["kind"] == "GridLayout"


def test_v1_api_refuses_v2_spec(grafana_emulator_factory):
    """A v2 spec sent to a v1 version (or a classic one to v2) is refused with 400 (chosen)."""
    api = Client(grafana_emulator_factory(version="13.3.0"))
    assert api.post(_base("v1"), {"metadata": {"name": "x"}, "spec": V2_SPEC}).status == 400
    assert api.post(_base("v2"), {"metadata": {"name": "x"}, "spec": {"title": "classic"}}).status == 400
    assert api.get(_base("v1")).json["items"] == []


def test_viewer_token_cannot_write(grafana_emulator_factory):
    """RBAC on /apis: a Viewer token reads but cannot create (403 Status)."""
    emu = grafana_emulator_factory(version="13.3.0")
    viewer = Client(emu, token=emu.create_token("Viewer"))
    assert viewer.get(_base("v1")).status == 200
    r = viewer.post(_base("v1"), {"metadata": {"name": "v"}, "spec": {"title": "V"}})
    assert r.status == 403 and r.json["reason"] == "Forbidden"


@pytest.mark.parametrize("version,ver", [("12.4.0", "v1beta1"), ("13.3.0", "v1"), ("13.3.0", "v1beta1")])
def test_folder_move_resource_version_and_legacy_view(grafana_emulator_factory, version, ver):
    """§13.1/§13.3 (what grafana_folder relies on): a folder made on the legacy route reads through /apis with its id
    in grafana.app/deprecatedInternalID; one PUT renames and moves it (grafana.app/folder), dropping the annotation
    moves it to the root; every write moves resourceVersion on; a missing folder is a 404 Status; another org's
    namespace is refused with 403; a folder holding alert rules is not deleted (400)."""
    emu = grafana_emulator_factory(version=version)
    api = Client(emu)
    base = "/apis/folder.grafana.app/%s/namespaces/default/folders" % ver
    legacy = api.post("/api/folders", {"uid": "kid", "title": "Kid"}).json
    assert api.post("/api/folders", {"uid": "top", "title": "Top"}).status == 200
    got = api.get(base + "/kid").json
    assert got["metadata"]["labels"]["grafana.app/deprecatedInternalID"] == str(legacy["id"])
    assert "grafana.app/folder" not in got["metadata"]["annotations"] and got["spec"] == {"title": "Kid"}
    rv = got["metadata"]["resourceVersion"]
    got["metadata"]["annotations"]["grafana.app/folder"] = "top"
    got["spec"]["title"] = "Kid moved"
    moved = api.put(base + "/kid", got)
    assert moved.status == 200 and moved.json["metadata"]["annotations"]["grafana.app/folder"] == "top"
    assert moved.json["metadata"]["resourceVersion"] != rv
    view = api.get("/api/folders/kid").json
    assert view["parentUid"] == "top" and view["title"] == "Kid moved"
    back = moved.json
    del back["metadata"]["annotations"]["grafana.app/folder"]
    assert api.put(base + "/kid", back).status == 200
    assert not api.get("/api/folders/kid").json.get("parentUid")
    assert api.put(base + "/kid", back).status == 409  # the resourceVersion it carries is stale now
    missing = api.get(base + "/nope")
    assert missing.status == 404 and missing.json["kind"] == "Status" and missing.json["reason"] == "NotFound"
    org = api.post("/api/orgs", {"name": "Two"}).json["orgId"]
    assert Client(emu, org_id=org).get(base + "/kid").status == 403
    rule = {
        "uid": "r1",
        "title": "R",
        "folderUID": "kid",
        "ruleGroup": "g",
        "condition": "A",
        "for": "5m",
        "noDataState": "OK",
        "execErrState": "OK",
        "data": [{"refId": "A", "datasourceUid": "__expr__", "model": {"type": "math", "expression": "1"}, "relativeTimeRange": {"from": 600, "to": 0}}],
    }
    assert api.post("/api/v1/provisioning/alert-rules", rule).status == 201
    assert api.delete(base + "/kid").status == 400
    assert api.delete("/api/folders/kid", params={"forceDeleteRules": "true"}).status == 200
    assert api.get(base + "/kid").status == 404

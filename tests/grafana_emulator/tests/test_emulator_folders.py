"""Folders (docs §3)."""

import pytest

from emu_client import Client
from grafana_emulator.profiles import Profile

NOT_FOUND = {"status": "not-found", "message": "folder not found"}
MISMATCH = {"status": "version-mismatch", "message": "the folder has been changed by someone else"}


def nesting(grafana_emulator, grafana_emulator_factory):
    """A Client on an emulator that nests folders: the profile's own, or on 10.x (nesting off by default, §3) the same
    version with the ``nestedFolders`` feature toggle on."""
    if Profile(grafana_emulator.version).nested_folders:
        return Client(grafana_emulator)
    return Client(grafana_emulator_factory(version=grafana_emulator.version, env={"GF_FEATURE_TOGGLES_ENABLE": "nestedFolders"}))


def test_create_full_folder_object(grafana_emulator):
    """docs §3 POST: 200 with the full folder object (url /dashboards/f/<uid>/<slug>, version 1)."""
    r = Client(grafana_emulator).post("/api/folders", {"uid": "kpi", "title": "KPI Dashboards"})
    assert r.status == 200
    assert r.json["url"] == "/dashboards/f/kpi/kpi-dashboards" and r.json["version"] == 1
    for key in ("id", "uid", "title", "hasAcl", "canSave", "canEdit", "canAdmin", "canDelete", "createdBy", "created", "updatedBy", "updated"):
        assert key in r.json


def test_title_rules(grafana_emulator):
    """docs §3: empty title -> 400 folder title cannot be empty; "General" -> 400; bad uid -> 400."""
    api = Client(grafana_emulator)
    assert api.post("/api/folders", {"title": ""}).json["message"] == "folder title cannot be empty"
    r = api.post("/api/folders", {"title": "general"})
    assert r.status == 400 and r.json["message"] == "A folder with that name already exists"
    assert api.post("/api/folders", {"title": "x", "uid": "a b"}).json["message"] == "uid contains illegal characters"
    assert api.post("/api/folders", {"title": "x", "uid": "a" * 41}).json["message"] == "uid too long, max 40 characters"
    assert api.get("/api/folders").json == []


@pytest.mark.parametrize("version,status,body", [("10.4.19", 412, MISMATCH), ("11.6.3", 412, {}), ("12.4.0", 412, {}), ("13.3.0", 412, {})])
def test_repost_existing_uid(grafana_emulator_factory, version, status, body):
    """docs §3/§14.10: re-POSTing an existing folder uid on the legacy route: 412 version-mismatch (10.x), 412 {}
    from 11 (seen on 11.4; later releases chosen, grafana.grafana's Cloud test relies on it)."""
    api = Client(grafana_emulator_factory(version=version))
    api.post("/api/folders", {"uid": "f", "title": "F"})
    r = api.post("/api/folders", {"uid": "f", "title": "F"})
    assert r.status == status and r.json == body
    assert len(api.get("/api/folders").json) == 1


def test_not_found_body(grafana_emulator):
    """docs §3: GET/PUT/DELETE unknown -> 404 {"status":"not-found","message":"folder not found"}."""
    api = Client(grafana_emulator)
    for method in ("GET", "PUT", "DELETE"):
        r = api.call(method, "/api/folders/missing", {"title": "x", "version": 1} if method == "PUT" else None)
        assert r.status == 404 and r.json == NOT_FOUND, method


def test_put_version_rules(grafana_emulator):
    """docs §3 PUT: stale/omitted version without overwrite -> 412; overwrite skips; success bumps version."""
    api = Client(grafana_emulator)
    api.post("/api/folders", {"uid": "f", "title": "F"})
    r = api.put("/api/folders/f", {"title": "F2"})
    assert r.status == 412 and r.json == MISMATCH
    r = api.put("/api/folders/f", {"title": "F2", "version": 1})
    assert r.status == 200 and r.json["version"] == 2 and r.json["title"] == "F2"
    assert api.put("/api/folders/f", {"title": "F3", "version": 1}).status == 412
    r = api.put("/api/folders/f", {"title": "F3", "overwrite": True})
    assert r.status == 200 and r.json["version"] == 3


def test_nested_list_direct_children(grafana_emulator, grafana_emulator_factory):
    """docs §3 (11.x nested GA): GET /api/folders?parentUid lists only direct children; root when omitted."""
    api = nesting(grafana_emulator, grafana_emulator_factory)
    api.post("/api/folders", {"uid": "a", "title": "A"})
    r = api.post("/api/folders", {"uid": "b", "title": "B", "parentUid": "a"})
    assert r.json["parentUid"] == "a" and [p["uid"] for p in r.json["parents"]] == ["a"]
    api.post("/api/folders", {"uid": "c", "title": "C", "parentUid": "b"})
    assert [f["uid"] for f in api.get("/api/folders").json] == ["a"]
    assert api.get("/api/folders", params={"parentUid": "a"}).json == [{"id": 2, "uid": "b", "title": "B", "parentUid": "a"}]


def test_flat_list_without_nested_folders(grafana_emulator_factory):
    """docs §3: with nestedFolders off (10.x default) the list is flat and parentUid is ignored."""
    api = Client(grafana_emulator_factory(version="10.4.0"))
    api.post("/api/folders", {"uid": "a", "title": "A"})
    r = api.post("/api/folders", {"uid": "b", "title": "B", "parentUid": "a"})
    assert "parentUid" not in r.json
    assert [f["uid"] for f in api.get("/api/folders").json] == ["a", "b"]


def test_max_depth_4(grafana_emulator, grafana_emulator_factory):
    """docs §3: nesting deeper than 4 -> 400 errutil folder.maximum-depth-reached."""
    api = nesting(grafana_emulator, grafana_emulator_factory)
    parent = ""
    for level in range(1, 5):
        r = api.post("/api/folders", {"uid": "l%d" % level, "title": "L%d" % level, "parentUid": parent})
        assert r.status == 200, r
        parent = "l%d" % level
    r = api.post("/api/folders", {"uid": "l5", "title": "L5", "parentUid": parent})
    assert r.status == 400
    assert r.json["messageId"] == "folder.maximum-depth-reached"
    assert r.json["message"] == "Maximum nested folder depth reached"


@pytest.mark.parametrize("version,sibling_dup,cross_parent_dup", [("10.3.0", 409, None), ("11.3.0", 409, 200)])
def test_duplicate_titles_by_version(grafana_emulator_factory, version, sibling_dup, cross_parent_dup):
    """docs §3: <=10.3 duplicate title -> 409 "a folder or dashboard in the general folder with the same name
    already exists"; >=10.4 same title allowed under different parents, same parent still rejected."""
    api = Client(grafana_emulator_factory(version=version))
    api.post("/api/folders", {"uid": "p1", "title": "Team"})
    r = api.post("/api/folders", {"title": "Team"})
    assert r.status == sibling_dup
    if version == "10.3.0":
        assert r.json["message"] == "a folder or dashboard in the general folder with the same name already exists"
    if cross_parent_dup:
        api.post("/api/folders", {"uid": "p2", "title": "Other"})
        assert api.post("/api/folders", {"title": "Team", "parentUid": "p2"}).status == cross_parent_dup


def test_delete_and_alert_rules(grafana_emulator):
    """docs §3 DELETE: 11.x body {"message":"Folder deleted"}; with alert rules -> 400 unless forceDeleteRules;
    contained dashboards are deleted too."""
    api = Client(grafana_emulator)
    fid = api.post("/api/folders", {"uid": "f", "title": "F"}).json["id"]
    api.post("/api/dashboards/db", {"dashboard": {"title": "D", "uid": "d"}, "folderUid": "f"})
    rule = {
        "folderUID": "f",
        "ruleGroup": "g",
        "title": "r",
        "condition": "A",
        "for": "5m",
        "noDataState": "NoData",
        "execErrState": "Error",
        "data": [
            {"refId": "A", "datasourceUid": "__expr__", "relativeTimeRange": {"from": 0, "to": 0}, "model": {"refId": "A", "type": "math", "expression": "1"}}
        ],
    }
    assert api.post("/api/v1/provisioning/alert-rules", rule).status == 201
    r = api.delete("/api/folders/f")
    assert r.status == 400 and r.json["message"] == "folder contains alert rules"
    r = api.delete("/api/folders/f", params={"forceDeleteRules": "true"})
    deleted = {"message": "Folder deleted"}
    if Profile(grafana_emulator.version).folder_delete_has_id:  # 10.x body (test_delete_body_with_id_before_11)
        deleted = {"title": "F", "message": "Folder F deleted", "id": fid}
    assert r.status == 200 and r.json == deleted
    assert api.get("/api/dashboards/uid/d").status == 404
    assert api.get("/api/v1/provisioning/alert-rules").json == []


def test_delete_body_with_id_before_11(grafana_emulator_factory):
    """docs §3 DELETE: docs (10.x) body {"message":"Folder deleted","id":N} (with title)."""
    api = Client(grafana_emulator_factory(version="10.4.0"))
    fid = api.post("/api/folders", {"uid": "f", "title": "F"}).json["id"]
    assert api.delete("/api/folders/f").json == {"title": "F", "message": "Folder F deleted", "id": fid}


def test_folder_counts(grafana_emulator, grafana_emulator_factory):
    """docs §3: GET /api/folders/:uid/counts (11.x) counts what the folder holds, subfolders included."""
    api = nesting(grafana_emulator, grafana_emulator_factory)
    api.post("/api/folders", {"uid": "a", "title": "A"})
    api.post("/api/folders", {"uid": "b", "title": "B", "parentUid": "a"})
    api.post("/api/dashboards/db", {"dashboard": {"title": "D"}, "folderUid": "b"})
    r = api.get("/api/folders/a/counts")
    if Profile(grafana_emulator.version).v < (11, 0, 0):  # served from 11.x (§3); before, the path is unknown
        assert r.status == 404
        return
    assert r.status == 200 and r.json == {"folder": 1, "dashboard": 1, "librarypanel": 0, "alertrule": 0}
    assert api.get("/api/folders/zz/counts").status == 404

"""grafana_folder: exact HTTP calls for create, no-op, update, move, delete, check mode and API errors."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_folder  # noqa: E402

FOLDER = {"id": 7, "uid": "cx-kpi", "title": "CX KPIs", "version": 1, "url": "/dashboards/f/cx-kpi/cx-kpis"}
NOT_FOUND = {"status": "not-found", "message": "folder not found"}
# Grafana before 12 has no /apis: the discovery answers 404 and the module uses the legacy routes
APIS_404 = ("GET", "/apis", 404, "404 page not found")


def test_create_sends_one_post():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
            ("POST", "/api/folders", 200, FOLDER),
        ],
    )
    assert result["changed"] is True
    assert fake.calls[2].json == {"uid": "cx-kpi", "title": "CX KPIs"}
    assert fake.calls[0].headers["X-Grafana-Org-Id"] == "1"
    assert fake.calls[0].headers["Authorization"].startswith("Bearer ")
    assert result["folder"]["id"] == 7


def test_rerun_is_two_gets_and_unchanged():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
        ],
    )
    assert result["changed"] is False
    assert len(fake.calls) == 2  # discovery + the folder


def test_rename_sends_put_with_version():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Renamed"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("PUT", "/api/folders/cx-kpi", 200, dict(FOLDER, title="Renamed", version=2)),
            ("GET", "/api/folders/cx-kpi", 200, dict(FOLDER, title="Renamed", version=2)),
        ],
        diff=True,
    )
    assert result["changed"] is True
    assert fake.calls[2].json == {"title": "Renamed", "version": 1, "overwrite": False}
    assert result["diff"]["before"]["title"] == "CX KPIs" and result["diff"]["after"]["title"] == "Renamed"


def test_move_checks_parent_then_moves():
    dummy, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs", "parent_uid": "top"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("GET", "/api/folders/top", 200, {"uid": "top", "title": "Top"}),
            ("POST", "/api/folders/cx-kpi/move", 200, dict(FOLDER, parentUid="top")),
            ("GET", "/api/folders/cx-kpi", 200, dict(FOLDER, parentUid="top")),
        ],
    )
    assert fake.calls[3].json == {"parentUid": "top"}


def test_rename_and_move_moves_first_and_renames_with_the_moved_version():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Renamed", "parent_uid": "top"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("GET", "/api/folders/top", 200, {"uid": "top", "title": "Top"}),
            ("POST", "/api/folders/cx-kpi/move", 200, dict(FOLDER, parentUid="top", version=2)),
            ("PUT", "/api/folders/cx-kpi", 200, dict(FOLDER, parentUid="top", title="Renamed", version=3)),
            ("GET", "/api/folders/cx-kpi", 200, dict(FOLDER, parentUid="top", title="Renamed", version=3)),
        ],
    )
    assert result["changed"] is True and result["folder"]["version"] == 3
    assert fake.calls[4].json == {"title": "Renamed", "version": 2, "overwrite": False}


# Grafana 10 without the nestedFolders toggle (docs/grafana-behaviour.md §3)
NO_NESTING_404 = {"message": "To use this service, you need to activate nested folder feature."}


def test_move_where_folders_do_not_nest_is_a_clear_error_before_any_rename():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Renamed", "parent_uid": "top"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("GET", "/api/folders/top", 200, {"uid": "top", "title": "Top"}),
            ("POST", "/api/folders/cx-kpi/move", 404, NO_NESTING_404),
        ],
    )
    assert result["failed"] is True
    assert "failed to move folder 'cx-kpi': this Grafana does not nest folders" in result["msg"]
    assert "Grafana 11" in result["msg"] and "nestedFolders" in result["msg"]
    assert [c.method for c in fake.calls].count("PUT") == 0  # the title was not changed either


def test_create_under_a_parent_where_folders_do_not_nest_is_taken_back():
    """Grafana 10 without nesting creates the folder at the root and its reply has no parentUid."""
    result, fake = run_module(
        grafana_folder,
        {"uid": "child", "title": "Child", "parent_uid": "top"},
        [
            APIS_404,
            ("GET", "/api/folders/child", 404, NOT_FOUND),
            ("GET", "/api/folders/top", 200, {"uid": "top", "title": "Top"}),
            ("POST", "/api/folders", 200, dict(FOLDER, uid="child", title="Child")),
            ("DELETE", "/api/folders/child", 200, {"message": "Folder Child deleted", "id": 7, "title": "Child"}),
        ],
    )
    assert result["failed"] is True
    assert "folder 'child' was created at the root and was removed again" in result["msg"]
    assert "nestedFolders" in result["msg"]
    assert fake.calls[3].json == {"uid": "child", "title": "Child", "parentUid": "top"}


def test_unknown_parent_is_clear_error_and_nothing_written():
    result, fake = run_module(
        grafana_folder,
        {"uid": "child", "title": "Child", "parent_uid": "nope"},
        [
            APIS_404,
            ("GET", "/api/folders/child", 404, NOT_FOUND),
            ("GET", "/api/folders/nope", 404, NOT_FOUND),
        ],
    )
    assert result["failed"] is True
    assert "parent folder 'nope' not found" in result["msg"]
    assert fake.writes == []


def test_unknown_parent_in_check_mode_is_a_warning():
    """An earlier task of the same run may create the parent: check mode warns and reports the create."""
    result, fake = run_module(
        grafana_folder,
        {"uid": "child", "title": "Child", "parent_uid": "nope"},
        [APIS_404, ("GET", "/api/folders/child", 404, NOT_FOUND), ("GET", "/api/folders/nope", 404, NOT_FOUND)],
        check=True,
    )
    assert result.get("failed") is not True and result["changed"] is True and fake.writes == []
    assert "check mode: parent folder 'nope' does not exist (yet)" in json.dumps(result["warnings"])


def test_check_mode_sends_no_write():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
        ],
        check=True,
    )
    assert result["changed"] is True
    assert fake.writes == []
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Other"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
        ],
        check=True,
    )
    assert result["changed"] is True and fake.writes == []


def test_delete_and_delete_absent():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "state": "absent", "force_delete_rules": True},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("DELETE", "/api/folders/cx-kpi", 200, {"message": "Folder deleted"}),
        ],
    )
    assert result["changed"] is True
    assert fake.calls[2].params == {"forceDeleteRules": "true"}
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "state": "absent"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
        ],
    )
    assert result["changed"] is False


def test_412_on_update_is_clear_error():
    result, dummy = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "New"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("PUT", "/api/folders/cx-kpi", 412, {"status": "version-mismatch", "message": "the folder has been changed by someone else"}),
        ],
    )
    assert result["failed"] is True
    assert "changed by someone else" in result["msg"] and "412" in result["msg"]


def test_post_412_means_it_exists_and_is_reread():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
            ("POST", "/api/folders", 412, {"status": "version-mismatch", "message": "the folder has been changed"}),
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
        ],
    )
    assert result["changed"] is True and "failed" not in result


def test_403_names_action_object_status_and_message():
    result, dummy = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
            (
                "POST",
                "/api/folders",
                403,
                {"message": "You'll need additional permissions to perform this action. Permissions needed: folders:create", "title": "Access denied"},
            ),
        ],
    )
    assert result["failed"] is True
    msg = result["msg"]
    assert "create folder 'cx-kpi'" in msg and "HTTP 403" in msg and "folders:create" in msg


def test_invalid_uid_fails_before_any_request():
    result, fake = run_module(grafana_folder, {"uid": "bad uid!", "title": "x"}, [])
    assert result["failed"] is True and "uid 'bad uid!' is invalid" in result["msg"]
    assert fake.calls == []


# ---------------------------------------------------------------------------------------------- /apis (12+)
# docs/grafana-behaviour.md §13.1/§13.3: folder.grafana.app, metadata.name = uid, parent in grafana.app/folder,
# resourceVersion conflicts 409, create 201, name clash 409.
BASE13 = "/apis/folder.grafana.app/v1/namespaces/default/folders"
DISCOVERY13 = {
    "kind": "APIGroupList",
    "groups": [
        {"name": "folder.grafana.app", "versions": [{"groupVersion": "folder.grafana.app/v1", "version": "v1"}, {"version": "v1beta1"}]},
        {"name": "dashboard.grafana.app", "versions": [{"version": "v1"}]},
    ],
}
DISCOVERY12 = {"kind": "APIGroupList", "groups": [{"name": "folder.grafana.app", "versions": [{"version": "v1beta1"}]}]}
APIS_13 = ("GET", "/apis", 200, DISCOVERY13)


def k8s_folder(uid="cx-kpi", title="CX KPIs", parent="", rv="41", generation=1):
    meta = {
        "name": uid,
        "namespace": "default",
        "uid": "k8s-" + uid,
        "resourceVersion": rv,
        "generation": generation,
        "labels": {"grafana.app/deprecatedInternalID": "7"},
    }
    meta["annotations"] = {"grafana.app/updatedBy": "user:admin"}
    if parent:
        meta["annotations"]["grafana.app/folder"] = parent
    return {"kind": "Folder", "apiVersion": "folder.grafana.app/v1", "metadata": meta, "spec": {"title": title}, "status": {}}


def k8s_status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


K8S_404 = k8s_status(404, "NotFound", 'folders.folder.grafana.app "cx-kpi" not found')


def test_apis_create_and_rerun():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs", "parent_uid": "top"},
        [
            APIS_13,
            ("GET", BASE13 + "/cx-kpi", 404, K8S_404),
            ("GET", BASE13 + "/top", 200, k8s_folder("top", "Top")),
            ("POST", BASE13, 201, k8s_folder(parent="top")),
        ],
        diff=True,
    )
    assert result["changed"] is True
    assert fake.calls[3].json == {"metadata": {"name": "cx-kpi", "annotations": {"grafana.app/folder": "top"}}, "spec": {"title": "CX KPIs"}}
    assert result["folder"] == {"uid": "cx-kpi", "title": "CX KPIs", "parentUid": "top", "id": 7, "version": 1, "url": "/dashboards/f/cx-kpi/cx-kpis"}
    assert result["diff"] == {"before": {}, "after": {"uid": "cx-kpi", "title": "CX KPIs", "parent_uid": "top"}}
    result, fake = run_module(
        grafana_folder, {"uid": "cx-kpi", "title": "CX KPIs", "parent_uid": "top"}, [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder(parent="top"))]
    )
    assert result["changed"] is False and fake.writes == [] and len(fake.calls) == 2


def test_apis_v1beta1_on_12_and_org_namespace():
    base = "/apis/folder.grafana.app/v1beta1/namespaces/org-3/folders"
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs", "org_id": 3},
        [("GET", "/apis", 200, DISCOVERY12), ("GET", base + "/cx-kpi", 200, k8s_folder())],
    )
    assert result["changed"] is False and fake.calls[1].headers["X-Grafana-Org-Id"] == "3"


def test_apis_rename_and_move_is_one_put_with_resource_version():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Renamed", "parent_uid": "top"},
        [
            APIS_13,
            ("GET", BASE13 + "/cx-kpi", 200, k8s_folder()),
            ("GET", BASE13 + "/top", 200, k8s_folder("top", "Top")),
            ("PUT", BASE13 + "/cx-kpi", 200, k8s_folder(title="Renamed", parent="top", rv="42", generation=2)),
        ],
    )
    assert result["changed"] is True
    body = fake.calls[3].json
    assert body["metadata"]["resourceVersion"] == "41" and body["metadata"]["name"] == "cx-kpi"
    assert body["metadata"]["annotations"]["grafana.app/folder"] == "top" and body["spec"] == {"title": "Renamed"}
    assert result["folder"]["title"] == "Renamed" and result["folder"]["parentUid"] == "top" and result["folder"]["version"] == 2


def test_apis_move_to_root_drops_the_parent_annotation():
    dummy, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder(parent="top")), ("PUT", BASE13 + "/cx-kpi", 200, k8s_folder(rv="42"))],
    )
    assert "grafana.app/folder" not in fake.calls[2].json["metadata"]["annotations"]


def test_apis_409_resource_version_conflict_is_clear():
    conflict = k8s_status(
        409,
        "Conflict",
        'Operation cannot be fulfilled on folders.folder.grafana.app "cx-kpi": the object has been modified; '
        "please apply your changes to the latest version and try again",
    )
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "New"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder()), ("PUT", BASE13 + "/cx-kpi", 409, conflict)],
    )
    assert result["failed"] is True and "changed by someone else" in result["msg"] and "409" in result["msg"]
    # a title clash is also 409, with Grafana's own message
    clash = k8s_status(409, "Conflict", "a folder with the same name already exists in the current location")
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Taken"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder()), ("PUT", BASE13 + "/cx-kpi", 409, clash)],
    )
    assert result["failed"] is True and "same name already exists" in result["msg"]


def test_apis_create_409_means_it_exists_and_is_reread():
    exists = k8s_status(409, "AlreadyExists", 'folders.folder.grafana.app "cx-kpi" already exists')
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 404, K8S_404), ("POST", BASE13, 409, exists), ("GET", BASE13 + "/cx-kpi", 200, k8s_folder())],
    )
    assert result["changed"] is True and "failed" not in result


def test_apis_delete_and_force_delete_rules_uses_the_legacy_route():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "state": "absent"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder()), ("DELETE", BASE13 + "/cx-kpi", 200, {"kind": "Status", "status": "Success"})],
    )
    assert result["changed"] is True and fake.calls[2].params is None
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "state": "absent", "force_delete_rules": True},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder()), ("DELETE", "/api/folders/cx-kpi", 200, {"message": "Folder deleted"})],
    )
    assert result["changed"] is True and fake.calls[2].params == {"forceDeleteRules": "true"}


def test_apis_check_mode_sends_no_write():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Other", "parent_uid": "new-parent"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 200, k8s_folder()), ("GET", BASE13 + "/new-parent", 404, K8S_404)],
        check=True,
    )
    assert result["changed"] is True and fake.writes == [] and result["folder"]["title"] == "Other"


def test_apis_refused_namespace_falls_back_to_the_legacy_routes():
    refused = k8s_status(403, "Forbidden", 'folders.folder.grafana.app is forbidden: namespace "default" is not the caller\'s organization')
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [APIS_13, ("GET", BASE13 + "/cx-kpi", 403, refused), ("GET", "/api/folders/cx-kpi", 200, FOLDER)],
    )
    assert result["changed"] is False and fake.writes == []

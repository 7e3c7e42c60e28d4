"""grafana_folder: exact HTTP calls for create, no-op, update, move, delete, check mode and API errors."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_folder  # noqa: E402

FOLDER = {"id": 7, "uid": "cx-kpi", "title": "CX KPIs", "version": 1, "url": "/dashboards/f/cx-kpi/cx-kpis"}
NOT_FOUND = {"status": "not-found", "message": "folder not found"}


def test_create_sends_one_post():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
            ("POST", "/api/folders", 200, FOLDER),
        ],
    )
    assert result["changed"] is True
    assert fake.calls[1].json == {"uid": "cx-kpi", "title": "CX KPIs"}
    assert fake.calls[0].headers["X-Grafana-Org-Id"] == "1"
    assert fake.calls[0].headers["Authorization"].startswith("Bearer ")
    assert result["folder"]["id"] == 7


def test_rerun_is_one_get_and_unchanged():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
        ],
    )
    assert result["changed"] is False
    assert len(fake.calls) == 1


def test_rename_sends_put_with_version():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "Renamed"},
        [
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("PUT", "/api/folders/cx-kpi", 200, dict(FOLDER, title="Renamed", version=2)),
            ("GET", "/api/folders/cx-kpi", 200, dict(FOLDER, title="Renamed", version=2)),
        ],
        diff=True,
    )
    assert result["changed"] is True
    assert fake.calls[1].json == {"title": "Renamed", "version": 1, "overwrite": False}
    assert result["diff"]["before"]["title"] == "CX KPIs" and result["diff"]["after"]["title"] == "Renamed"


def test_move_checks_parent_then_moves():
    dummy, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs", "parent_uid": "top"},
        [
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("GET", "/api/folders/top", 200, {"uid": "top", "title": "Top"}),
            ("POST", "/api/folders/cx-kpi/move", 200, dict(FOLDER, parentUid="top")),
            ("GET", "/api/folders/cx-kpi", 200, dict(FOLDER, parentUid="top")),
        ],
    )
    assert fake.calls[2].json == {"parentUid": "top"}


def test_unknown_parent_is_clear_error_and_nothing_written():
    result, fake = run_module(
        grafana_folder,
        {"uid": "child", "title": "Child", "parent_uid": "nope"},
        [
            ("GET", "/api/folders/child", 404, NOT_FOUND),
            ("GET", "/api/folders/nope", 404, NOT_FOUND),
        ],
    )
    assert result["failed"] is True
    assert "parent folder 'nope' not found" in result["msg"]
    assert fake.writes == []


def test_check_mode_sends_no_write():
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "CX KPIs"},
        [
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
            ("GET", "/api/folders/cx-kpi", 200, FOLDER),
            ("DELETE", "/api/folders/cx-kpi", 200, {"message": "Folder deleted"}),
        ],
    )
    assert result["changed"] is True
    assert fake.calls[1].params == {"forceDeleteRules": "true"}
    result, fake = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "state": "absent"},
        [
            ("GET", "/api/folders/cx-kpi", 404, NOT_FOUND),
        ],
    )
    assert result["changed"] is False


def test_412_on_update_is_clear_error():
    result, dummy = run_module(
        grafana_folder,
        {"uid": "cx-kpi", "title": "New"},
        [
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

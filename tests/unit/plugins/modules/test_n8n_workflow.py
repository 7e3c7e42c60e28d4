"""n8n_workflow: exact HTTP calls, above all the older 2.x API (activate/deactivate) and its discovery."""

import copy
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from n8n_fake import API, OPENAPI_ACTIVATE_ONLY, OPENAPI_PUBLISH, run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import n8n_workflow  # noqa: E402

NAME = "Log Token Usage"
NODES = [
    {"name": "Trigger", "type": "n8n-nodes-base.executeWorkflowTrigger", "typeVersion": 1.1, "position": [0, 0], "parameters": {"inputSource": "passthrough"}},
    {
        "name": "Insert",
        "type": "n8n-nodes-base.postgres",
        "typeVersion": 2.5,
        "position": [200, 0],
        "parameters": {"operation": "executeQuery", "query": "SELECT 1"},
        "credentials": {"postgres": {"id": "otherInstance", "name": "KPI PostgreSQL"}},
    },
]
CONNECTIONS = {"Trigger": {"main": [[{"node": "Insert", "type": "main", "index": 0}]]}}
CONTENT = {"nodes": NODES, "connections": CONNECTIONS, "settings": {"executionOrder": "v1"}}
LIST = API + "/workflows"
CREDS = {
    "data": [{"id": "c1", "name": "KPI PostgreSQL", "type": "postgres"}, {"id": "c2", "name": "KPI PostgreSQL", "type": "httpHeaderAuth"}],
    "nextCursor": None,
}


def server_wf(active=False, code="SELECT 1", **extra):
    """A workflow as an early 2.x server returns it (``active``, no ``activeVersionId``)."""
    nodes = copy.deepcopy(NODES)
    nodes[0]["id"] = "n-trigger"
    nodes[1]["id"] = "n-insert"
    nodes[1]["parameters"]["query"] = code
    nodes[1]["credentials"]["postgres"]["id"] = "c1"
    wf = {
        "id": "w1",
        "name": NAME,
        "active": active,
        "nodes": nodes,
        "connections": CONNECTIONS,
        "settings": {"executionOrder": "v1", "saveManualExecutions": True},
        "versionId": "v1",
        "createdAt": "2026-11-01T00:00:00.000Z",
        "updatedAt": "2026-11-01T00:00:00.000Z",
    }
    wf.update(extra)
    return wf


def listed(*wfs):
    return {"data": list(wfs), "nextCursor": None}


def args(**kw):
    out = {"name": NAME, "content": CONTENT, "published": True}
    out.update(kw)
    return out


def test_create_and_activate_on_an_older_2x_api():
    result, fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed()),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 200, OPENAPI_ACTIVATE_ONLY),
            ("POST", LIST, 200, server_wf()),
            ("POST", LIST + "/w1/activate", 200, server_wf(active=True)),
        ],
    )
    assert result["changed"] is True and result["actions"] == ["create", "publish"]
    assert result["publish_api"] == "activate" and result["published"] is True and result["workflow_id"] == "w1"
    assert fake.calls[0].params == {"name": NAME, "excludePinnedData": "true", "limit": 250}
    create = fake.calls[3].json
    assert set(create) == {"name", "nodes", "connections", "settings"}  # no read-only keys
    assert create["nodes"][1]["credentials"] == {"postgres": {"id": "c1", "name": "KPI PostgreSQL"}}
    assert fake.calls[4].json is None  # /activate takes no body
    assert all(c.headers["X-N8N-API-KEY"] for c in fake.calls)


def test_publish_endpoints_when_the_server_lists_them():
    result, fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed()),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 200, OPENAPI_PUBLISH),
            ("POST", LIST, 200, server_wf(activeVersionId=None)),
            ("POST", LIST + "/w1/publish", 200, server_wf(active=True, activeVersionId="v1")),
        ],
    )
    assert result["publish_api"] == "publish" and result["published"] is True
    assert fake.calls[4].json == {}


def test_without_a_served_description_a_404_on_publish_selects_activate():
    result, fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed(server_wf())),
            ("GET", LIST + "/w1", 200, server_wf()),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 500, {"message": "Internal server error"}),
            ("POST", LIST + "/w1/publish", 404, {"message": "not found"}),
            ("POST", LIST + "/w1/activate", 200, server_wf(active=True)),
        ],
    )
    assert result["changed"] is True and result["actions"] == ["publish"] and result["publish_api"] == "activate"


def test_rerun_on_an_active_workflow_reads_only():
    result, fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed(server_wf(active=True))),
            ("GET", LIST + "/w1", 200, server_wf(active=True)),
            ("GET", API + "/credentials", 200, CREDS),
        ],
        diff=True,
    )
    assert result["changed"] is False and result["actions"] == [] and fake.writes == []
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["version_id"] == "v1"


def test_update_of_an_active_workflow_relies_on_the_server_reactivating_it():
    changed = copy.deepcopy(CONTENT)
    changed["nodes"][1]["parameters"]["query"] = "SELECT 2"
    result, fake = run_module(
        n8n_workflow,
        args(content=changed),
        [
            ("GET", LIST, 200, listed(server_wf(active=True))),
            ("GET", LIST + "/w1", 200, server_wf(active=True)),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 200, OPENAPI_ACTIVATE_ONLY),
            ("PUT", LIST + "/w1", 200, server_wf(active=True, code="SELECT 2", versionId="v2")),
            ("GET", LIST + "/w1", 200, server_wf(active=True, code="SELECT 2", versionId="v2")),
        ],
    )
    assert result["actions"] == ["update", "republish"] and result["version_id"] == "v2"
    put = fake.calls[4].json
    # node ids of the server are kept; unmanaged settings are sent back unchanged
    assert [n["id"] for n in put["nodes"]] == ["n-trigger", "n-insert"]
    assert put["settings"] == {"executionOrder": "v1", "saveManualExecutions": True}
    assert fake.calls[4].params is None


def test_update_reactivates_when_the_server_did_not():
    changed = copy.deepcopy(CONTENT)
    changed["nodes"][1]["parameters"]["query"] = "SELECT 2"
    result, fake = run_module(
        n8n_workflow,
        args(content=changed),
        [
            ("GET", LIST, 200, listed(server_wf(active=True))),
            ("GET", LIST + "/w1", 200, server_wf(active=True)),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 200, OPENAPI_ACTIVATE_ONLY),
            ("PUT", LIST + "/w1", 200, server_wf(active=False, code="SELECT 2")),
            ("GET", LIST + "/w1", 200, server_wf(active=False, code="SELECT 2")),
            ("POST", LIST + "/w1/activate", 200, server_wf(active=True, code="SELECT 2")),
        ],
    )
    assert result["published"] is True


def test_deactivate_then_delete_on_the_older_api():
    result, fake = run_module(
        n8n_workflow,
        {"name": NAME, "state": "absent"},
        [
            ("GET", LIST, 200, listed(server_wf(active=True))),
            ("GET", LIST + "/w1", 200, server_wf(active=True)),
            ("GET", API + "/openapi.yml", 200, OPENAPI_ACTIVATE_ONLY),
            ("POST", LIST + "/w1/deactivate", 200, server_wf()),
            ("DELETE", LIST + "/w1", 200, server_wf()),
        ],
    )
    assert result["changed"] is True and result["actions"] == ["delete"]


def test_unpublish_only_on_the_older_api():
    result, fake = run_module(
        n8n_workflow,
        args(published=False),
        [
            ("GET", LIST, 200, listed(server_wf(active=True))),
            ("GET", LIST + "/w1", 200, server_wf(active=True)),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 200, OPENAPI_ACTIVATE_ONLY),
            ("POST", LIST + "/w1/deactivate", 200, server_wf()),
        ],
    )
    assert result["actions"] == ["unpublish"] and result["published"] is False


def test_check_mode_sends_no_write():
    changed = copy.deepcopy(CONTENT)
    changed["nodes"][1]["parameters"]["query"] = "SELECT 3"
    result, fake = run_module(
        n8n_workflow,
        args(content=changed),
        [
            ("GET", LIST, 200, listed(server_wf(active=True))),
            ("GET", LIST + "/w1", 200, server_wf(active=True)),
            ("GET", API + "/credentials", 200, CREDS),
        ],
        check=True,
        diff=True,
    )
    assert result["changed"] is True and fake.writes == []
    assert result["diff"]["after"]["nodes"]["Insert"]["parameters"]["query"] == "SELECT 3"


def test_archived_and_substring_matches_are_ignored():
    result, fake = run_module(
        n8n_workflow,
        args(published=None),
        [
            ("GET", LIST, 200, listed(server_wf(id="old", isArchived=True), server_wf(id="x", name=NAME + " v2"))),
            ("GET", API + "/credentials", 200, CREDS),
            ("POST", LIST, 200, server_wf()),
        ],
    )
    assert result["actions"] == ["create"]


def test_two_workflows_with_the_name_fail_clearly():
    result, _fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed(server_wf(id="a"), server_wf(id="b"))),
        ],
    )
    assert result["failed"] is True and "2 workflows are named 'Log Token Usage'" in result["msg"]


def test_reads_are_retried_on_503_and_posts_are_not():
    result, fake = run_module(
        n8n_workflow,
        args(retries=2),
        [
            ("GET", LIST, 503, {"message": "busy"}),
            ("GET", LIST, 200, listed()),
            ("GET", API + "/credentials", 200, CREDS),
            ("GET", API + "/openapi.yml", 200, OPENAPI_ACTIVATE_ONLY),
            ("POST", LIST, 503, {"message": "busy"}),
        ],
    )
    assert result["failed"] is True
    assert result["msg"] == "n8n: failed to create workflow 'Log Token Usage': HTTP 503: busy"


def test_paging_follows_next_cursor():
    result, fake = run_module(
        n8n_workflow,
        args(published=None),
        [
            ("GET", LIST, 200, {"data": [server_wf(id="z", name="other")], "nextCursor": "c2"}),
            ("GET", LIST, 200, listed(server_wf())),
            ("GET", LIST + "/w1", 200, server_wf()),
            ("GET", API + "/credentials", 200, CREDS),
        ],
    )
    assert result["changed"] is False and fake.calls[1].params["cursor"] == "c2"


def test_bad_input_fails_before_any_request():
    bad = copy.deepcopy(CONTENT)
    bad["connections"] = {"Nope": {}}
    result, fake = run_module(n8n_workflow, args(content=bad), [])
    assert result["failed"] is True and "connections start at nodes that do not exist: Nope" in result["msg"]
    assert fake.calls == []


def test_delete_waits_while_n8n_finishes_the_unpublish():
    wf = server_wf(active=True, activeVersionId="v1")
    result, fake = run_module(
        n8n_workflow,
        {"name": NAME, "state": "absent"},
        [
            ("GET", LIST, 200, listed(wf)),
            ("GET", LIST + "/w1", 200, wf),
            ("GET", API + "/openapi.yml", 200, OPENAPI_PUBLISH),
            ("POST", LIST + "/w1/unpublish", 200, server_wf()),
            ("DELETE", LIST + "/w1", 409, {"message": "Workflow is still being unpublished. Please try again in a few moments."}),
            ("DELETE", LIST + "/w1", 200, server_wf()),
        ],
    )
    assert result["changed"] is True and result["publish_api"] == "publish"


def test_delete_conflict_for_another_reason_is_reported():
    result, fake = run_module(
        n8n_workflow,
        {"name": NAME, "state": "absent"},
        [
            ("GET", LIST, 200, listed(server_wf())),
            ("GET", LIST + "/w1", 200, server_wf()),
            ("DELETE", LIST + "/w1", 409, {"message": "Workflow is locked by a review"}),
        ],
    )
    assert result["failed"] is True
    assert result["msg"] == "n8n: failed to delete workflow 'Log Token Usage': HTTP 409: Workflow is locked by a review"


def test_check_mode_before_the_credential_exists_warns_and_reports_the_create():
    """Before the first deployment the credential comes from an earlier n8n_credential task of the same run."""
    result, fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed()),
            ("GET", API + "/credentials", 200, {"data": [], "nextCursor": None}),
        ],
        check=True,
    )
    assert result.get("failed") is not True, result
    assert result["changed"] is True and fake.writes == []
    assert "'KPI PostgreSQL' (type postgres" in str(result["warnings"])


def test_missing_credential_fails_a_real_run_before_any_write():
    result, fake = run_module(
        n8n_workflow,
        args(),
        [
            ("GET", LIST, 200, listed()),
            ("GET", API + "/credentials", 200, {"data": [], "nextCursor": None}),
        ],
    )
    assert result["failed"] is True and "credentials not found on the server" in result["msg"]
    assert fake.writes == []

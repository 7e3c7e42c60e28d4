"""n8n_workflow on a real n8n (2.41.1 on Node 24, PostgreSQL): create, no-op re-run with zero writes, update,
publish/unpublish, credential mapping, check and diff mode, API errors, delete; no secret in any -vvv output."""

import copy
import json
import time

import pytest

from conftest import PLANTED

MODULE = "cx_catalyst.kpi_dashboard.n8n_workflow"


def sub_workflow(code="return [{json: {ok: true}}];", cred_name=None):
    nodes = [
        {
            "name": "When Executed by Another Workflow",
            "type": "n8n-nodes-base.executeWorkflowTrigger",
            "typeVersion": 1.1,
            "position": [0, 0],
            "parameters": {"inputSource": "passthrough"},
        },
        {"name": "Answer", "type": "n8n-nodes-base.code", "typeVersion": 2, "position": [220, 0], "parameters": {"mode": "runOnceForAllItems", "jsCode": code}},
    ]
    connections = {"When Executed by Another Workflow": {"main": [[{"node": "Answer", "type": "main", "index": 0}]]}}
    if cred_name:
        nodes.append(
            {
                "name": "Insert",
                "type": "n8n-nodes-base.postgres",
                "typeVersion": 2.5,
                "position": [440, 0],
                "parameters": {"operation": "executeQuery", "query": "SELECT $1", "options": {}},
                "credentials": {"postgres": {"id": "from-another-instance", "name": cred_name}},
            }
        )
        connections["Answer"] = {"main": [[{"node": "Insert", "type": "main", "index": 0}]]}
    return {
        "name": "ignored, the module's name wins",
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1", "callerPolicy": "workflowsFromSameOwner"},
        "id": "exportedId123",
        "active": True,
        "tags": [],
        "pinData": {},
    }


def args(server, name, **kw):
    out = {"url": server.url, "api_key": server.api_key, "name": name, "retries": 0}
    out.update(kw)
    return out


def unique(prefix):
    return "%s %d" % (prefix, time.monotonic_ns())


def result_of(res):
    return res.results[0]


@pytest.fixture
def pg_credential(n8n_server):
    name = unique("KPI PostgreSQL")
    cred = n8n_server.api(
        "POST",
        "/credentials",
        {
            "name": name,
            "type": "postgres",
            "data": {
                "host": "127.0.0.1",
                "database": "kpi",
                "user": "n8n_writer",
                "password": PLANTED["db_password"],
                "port": 5432,
                "ssl": "disable",
                "allowUnauthorizedCerts": False,
                "maxConnections": 5,
                "sshTunnel": False,
            },
        },
    )
    yield cred
    n8n_server.api("DELETE", "/credentials/%s" % cred["id"], expect=(200, 404))


def test_create_rerun_update_publish_unpublish_delete(n8n_server, n8n_recorder, n8n_ansible, tmp_path):
    name = unique("Log Token Usage test")
    src = tmp_path / "wf.json"
    src.write_text(json.dumps(sub_workflow()))
    via_proxy = {"url": n8n_recorder.url, "api_key": n8n_server.api_key, "name": name, "retries": 0}

    # check mode on a missing workflow: reports the creation, writes nothing
    res = n8n_ansible.module(MODULE, dict(via_proxy, src=str(src), published=True), check=True, diff=True)
    r = result_of(res)
    assert r["changed"] is True and r["actions"] == ["create", "publish"]
    assert n8n_recorder.writes() == [] and n8n_server.workflow_by_name(name) is None
    assert r["diff"]["before"] == {} and set(r["diff"]["after"]["nodes"]) == {"When Executed by Another Workflow", "Answer"}

    # create + publish
    n8n_recorder.reset()
    r = result_of(n8n_ansible.module(MODULE, dict(via_proxy, src=str(src), published=True)))
    assert r["changed"] is True and r["actions"] == ["create", "publish"] and r["published"] is True, r
    assert r["publish_api"] == "publish"
    wf = n8n_server.api("GET", "/workflows/%s" % r["workflow_id"])
    assert wf["name"] == name and wf["activeVersionId"] == wf["versionId"]
    assert wf["id"] != "exportedId123"
    assert [n["name"] for n in wf["nodes"]] == ["When Executed by Another Workflow", "Answer"]
    assert [m for m, _path in n8n_recorder.writes()] == ["POST", "POST"]
    assert n8n_recorder.writes()[1][1] == "/api/v1/workflows/%s/publish" % wf["id"]

    # re-run: nothing changes and not a single write reaches n8n
    n8n_recorder.reset()
    r2 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, src=str(src), published=True), diff=True))
    assert r2["changed"] is False and r2["actions"] == [] and r2["workflow_id"] == r["workflow_id"]
    assert n8n_recorder.writes() == []
    assert n8n_recorder.calls and all(m == "GET" for m, _path in n8n_recorder.calls)
    assert r2["diff"]["before"] == r2["diff"]["after"]

    # update (changed code): a PUT, and the published version follows the saved one
    src.write_text(json.dumps(sub_workflow(code="return [{json: {ok: 2}}];")))
    n8n_recorder.reset()
    r3 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, src=str(src), published=True), diff=True))
    assert r3["changed"] is True and r3["actions"] == ["update", "republish"]
    assert ("PUT", "/api/v1/workflows/%s" % r["workflow_id"]) in n8n_recorder.writes()
    assert r3["diff"]["before"]["nodes"]["Answer"]["parameters"]["jsCode"] == "return [{json: {ok: true}}];"
    assert r3["diff"]["after"]["nodes"]["Answer"]["parameters"]["jsCode"] == "return [{json: {ok: 2}}];"
    wf = n8n_server.api("GET", "/workflows/%s" % r["workflow_id"])
    code = [n for n in wf["nodes"] if n["name"] == "Answer"][0]["parameters"]["jsCode"]
    assert code == "return [{json: {ok: 2}}];"
    assert wf["activeVersionId"] == wf["versionId"] and r3["version_id"] == wf["versionId"]
    # node ids are kept across the update
    assert r3["workflow_id"] == r["workflow_id"]

    # unpublish, then a re-run with published=false is a no-op
    n8n_recorder.reset()
    r4 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, src=str(src), published=False)))
    assert r4["changed"] is True and r4["actions"] == ["unpublish"] and r4["published"] is False
    assert n8n_recorder.writes() == [("POST", "/api/v1/workflows/%s/unpublish" % r["workflow_id"])]
    assert not n8n_server.api("GET", "/workflows/%s" % r["workflow_id"])["activeVersionId"]
    n8n_recorder.reset()
    r5 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, src=str(src), published=False)))
    assert r5["changed"] is False and n8n_recorder.writes() == []

    # published omitted: leaves it unpublished, content the same -> no change
    r6 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, src=str(src))))
    assert r6["changed"] is False and r6["published"] is False

    # delete: check mode first, then for real, then idempotent
    n8n_recorder.reset()
    r7 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, state="absent"), check=True))
    assert r7["changed"] is True and n8n_recorder.writes() == []
    r8 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, state="absent")))
    assert r8["changed"] is True and n8n_server.workflow_by_name(name) is None
    n8n_recorder.reset()
    r9 = result_of(n8n_ansible.module(MODULE, dict(via_proxy, state="absent")))
    assert r9["changed"] is False and n8n_recorder.writes() == []


def test_editor_draft_is_published_again(n8n_server, n8n_ansible):
    """A published workflow whose saved draft differs from the published version is republished."""
    name = unique("draft drift")
    content = sub_workflow()
    r = result_of(n8n_ansible.module(MODULE, args(n8n_server, name, content=content, published=True)))
    wf = n8n_server.api("GET", "/workflows/%s" % r["workflow_id"])
    # someone saves a draft with other code without publishing it
    body = {k: wf[k] for k in ("name", "nodes", "connections", "settings")}
    body["nodes"] = copy.deepcopy(body["nodes"])
    body["nodes"][1]["parameters"]["jsCode"] = "return [{json: {drifted: true}}];"
    n8n_server.api("PUT", "/workflows/%s" % wf["id"], body, params={"publishIfActive": "false"})
    drafted = n8n_server.api("GET", "/workflows/%s" % wf["id"])
    assert drafted["activeVersionId"] != drafted["versionId"]
    r2 = result_of(n8n_ansible.module(MODULE, args(n8n_server, name, content=content, published=True)))
    assert r2["changed"] is True and r2["actions"] == ["update", "republish"]
    final = n8n_server.api("GET", "/workflows/%s" % wf["id"])
    assert final["activeVersionId"] == final["versionId"]
    assert [n for n in final["nodes"] if n["name"] == "Answer"][0]["parameters"]["jsCode"] == content["nodes"][1]["parameters"]["jsCode"]
    n8n_server.delete_workflow(wf["id"])


def test_credentials_are_mapped_by_name_and_type(n8n_server, n8n_ansible, pg_credential):
    name = unique("with credential")
    content = sub_workflow(cred_name="KPI DB in the file")
    r = result_of(n8n_ansible.module(MODULE, args(n8n_server, name, content=content, credentials={"KPI DB in the file": pg_credential["name"]})))
    wf = n8n_server.api("GET", "/workflows/%s" % r["workflow_id"])
    insert = [n for n in wf["nodes"] if n["name"] == "Insert"][0]
    assert insert["credentials"]["postgres"] == {"id": pg_credential["id"], "name": pg_credential["name"]}
    # re-run is a no-op even though the file carries another instance's id
    r2 = result_of(n8n_ansible.module(MODULE, args(n8n_server, name, content=content, credentials={"KPI DB in the file": pg_credential["name"]})))
    assert r2["changed"] is False
    n8n_server.delete_workflow(wf["id"])


def test_missing_credential_fails_before_any_write(n8n_server, n8n_recorder, n8n_ansible):
    name = unique("missing credential")
    res = n8n_ansible.module(
        MODULE,
        {"url": n8n_recorder.url, "api_key": n8n_server.api_key, "name": name, "content": sub_workflow(cred_name="No Such Credential"), "retries": 0},
        expect_rc=None,
    )
    r = result_of(res)
    assert r["failed"] is True
    assert "No Such Credential" in r["msg"] and "postgres" in r["msg"] and "Insert" in r["msg"]
    assert n8n_recorder.writes() == [] and n8n_server.workflow_by_name(name) is None


def test_api_errors_name_action_and_object_without_the_key(n8n_server, n8n_ansible):
    wrong_key = "n8n_api_PlantedWrongKey0123456789abcdef"
    n8n_ansible.add_secret(wrong_key)
    r = result_of(
        n8n_ansible.module(MODULE, {"url": n8n_server.url, "api_key": wrong_key, "name": "x", "content": sub_workflow(), "retries": 0}, expect_rc=None)
    )
    assert r["failed"] is True
    assert "HTTP 401" in r["msg"] and "workflows named 'x'" in r["msg"] and "api_key" in r["msg"]

    # n8n rejects an invalid node list (400) -> the module says which workflow and what n8n said
    bad = sub_workflow()
    bad["nodes"][0]["typeVersion"] = "not-a-number"
    name = unique("rejected")
    r = result_of(n8n_ansible.module(MODULE, args(n8n_server, name, content=bad), expect_rc=None))
    assert r["failed"] is True and "failed to create workflow '%s': HTTP 400" % name in r["msg"]
    assert n8n_server.workflow_by_name(name) is None

    # input errors are caught before any request
    r = result_of(n8n_ansible.module(MODULE, args(n8n_server, "y", content={"nodes": "nope"}), expect_rc=None))
    assert r["failed"] is True and "needs a list 'nodes'" in r["msg"]

    # nothing listens: connection error, not a traceback
    r = result_of(
        n8n_ansible.module(MODULE, {"url": "http://127.0.0.1:9", "api_key": n8n_server.api_key, "name": "z", "state": "absent", "retries": 0}, expect_rc=None)
    )
    assert r["failed"] is True and "cannot connect" in r["msg"]

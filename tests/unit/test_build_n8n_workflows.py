"""files/n8n/*.json are what tools/build_n8n_workflows.py generates, and agree with the kpi_n8n role."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("build_n8n_workflows", REPO / "tools" / "build_n8n_workflows.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def load(name):
    return json.loads((REPO / "files" / "n8n" / name).read_text())


def test_committed_files_are_current():
    assert build.main(["--check"]) == 0


def test_log_workflow_shape():
    wf = load("log-token-usage-workflow.json")
    types = [n["type"] for n in wf["nodes"]]
    assert types[0] == "n8n-nodes-base.executeWorkflowTrigger" and types.count("n8n-nodes-base.postgres") == 1
    declared = [v["name"] for v in wf["nodes"][0]["parameters"]["workflowInputs"]["values"]]
    # the spec's Code-node example fields plus the optional cache counts
    for field in (
        "workflow_name",
        "case_id",
        "provider",
        "model",
        "operation_type",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "success",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ):
        assert field in declared
    insert = [n for n in wf["nodes"] if n["type"] == "n8n-nodes-base.postgres"][0]["parameters"]
    assert insert["query"].count("$") == 11 and "{{" not in insert["query"]
    assert "cost_usd" not in insert["query"].split("RETURNING")[0]  # the database prices the row
    assert insert["options"]["queryBatching"] == "transaction"


def test_every_connection_points_at_a_node():
    for name in build.FILES:
        wf = load(name)
        names = {n["name"] for n in wf["nodes"]}
        assert len(names) == len(wf["nodes"])
        for src, outputs in wf["connections"].items():
            assert src in names
            for output in outputs["main"]:
                for link in output:
                    assert link["node"] in names


def test_role_matches_the_files():
    role_vars = yaml.safe_load((REPO / "roles" / "kpi_n8n" / "vars" / "main.yml").read_text())
    referenced = {ref["name"] for name in build.FILES for n in load(name)["nodes"] for ref in (n.get("credentials") or {}).values()}
    assert referenced == set(role_vars["__kpi_n8n_credential_map"])
    tracker = load("token-tracking-workflow.json")
    settings = {n["name"]: {a["name"] for a in n["parameters"]["assignments"]["assignments"]} for n in tracker["nodes"] if n["type"] == "n8n-nodes-base.set"}
    assert {k: set(v) for k, v in role_vars["__kpi_n8n_tracker_settings"].items()} == settings


SECRET_SHAPES = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"hooks\.slack(\.com)?[^\"]*/services/"),  # Slack incoming-webhook URLs (the path is the secret)
    re.compile(r"sk-ant-[A-Za-z0-9-]+"),  # Anthropic keys
    re.compile(r"sk-(admin|proj)?-?[A-Za-z0-9]{16,}"),  # OpenAI keys
    re.compile(r"Bearer [A-Za-z0-9._-]{8,}"),  # a literal bearer token
    re.compile(r"glsa_[A-Za-z0-9_]{16,}"),  # Grafana service-account tokens
    re.compile(r"postgres(ql)?://[^\s\"]*:[^\s\"@]+@"),  # a connection string with a password
]


def walk(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, "%s.%s" % (path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, "%s[%d]" % (path, i))
    else:
        yield path, value


def test_no_secret_in_the_files():
    """No secret, planted or secret-shaped, in any committed workflow file; every secret is a credential."""
    from conftest import PLANTED

    for path in sorted((REPO / "files" / "n8n").glob("*.json")):
        text = path.read_text()
        for key, value in PLANTED.items():
            assert value not in text, "%s: planted %s" % (path.name, key)
        for shape in SECRET_SHAPES:
            assert not shape.search(text), "%s: %s looks like a secret" % (path.name, shape.pattern)
        wf = json.loads(text)
        for n in wf["nodes"]:
            for ref in (n.get("credentials") or {}).values():
                assert set(ref) == {"name"}  # ids are resolved at deploy time
            for where, value in walk(n.get("parameters") or {}):
                name = where.rsplit(".", 1)[-1].lower()
                if any(word in name for word in ("password", "token", "secret", "apikey", "api_key", "webhook")):
                    assert value in ("", None, False, True) or str(value).startswith("="), "%s: %s %s=%r" % (path.name, n["name"], where, value)


def test_http_nodes_authenticate_through_credentials():
    """No HTTP Request node sends a hand-made auth header; those that need auth use a credential."""
    for name in build.FILES:
        for n in load(name)["nodes"]:
            if n["type"] != "n8n-nodes-base.httpRequest":
                continue
            params = n["parameters"]
            headers = [h["name"].lower() for h in (params.get("headerParameters") or {}).get("parameters", [])]
            assert not {"authorization", "x-api-key"} & set(headers), n["name"]
            assert params.get("authentication") in ("genericCredentialType", "predefinedCredentialType"), n["name"]
            ctype = params.get("genericAuthType") or params.get("nodeCredentialType")
            assert set(n["credentials"]) == {ctype}, n["name"]


def test_slack_alert_posts_with_the_slack_credential():
    tracker = load("token-tracking-workflow.json")
    nodes = {n["name"]: n for n in tracker["nodes"]}
    post = nodes["Post to Slack"]
    assert post["parameters"]["authentication"] == "predefinedCredentialType" and post["parameters"]["nodeCredentialType"] == "slackApi"
    assert post["credentials"] == {"slackApi": {"name": build.SLACK_CREDENTIAL}}
    assert "slack_api_url" in post["parameters"]["url"] and post["parameters"]["url"].endswith("/chat.postMessage' }}")
    settings = {a["name"]: a["value"] for a in nodes["Alert Settings"]["parameters"]["assignments"]["assignments"]}
    assert settings == {"alerts_enabled": True, "slack_api_url": "https://slack.com/api", "slack_channel": "", "dashboard_url": ""}
    # Slack answers its errors with HTTP 200 and ok=false: only ok=true marks the alert sent; every other way
    # (ok=false, or the node's error output after its tries) releases the claim and fails the execution
    conn = tracker["connections"]
    assert conn["Post to Slack"]["main"][0] == [{"node": "Slack Accepted?", "type": "main", "index": 0}]
    assert conn["Post to Slack"]["main"][1] == [{"node": "Release Claim", "type": "main", "index": 0}]
    assert conn["Slack Accepted?"]["main"] == [
        [{"node": "Mark Sent", "type": "main", "index": 0}],
        [{"node": "Release Claim", "type": "main", "index": 0}],
    ]
    assert conn["Release Claim"]["main"][0] == [{"node": "Slack Post Failed", "type": "main", "index": 0}]
    assert "$json.ok === true" in nodes["Slack Accepted?"]["parameters"]["conditions"]["conditions"][0]["leftValue"]

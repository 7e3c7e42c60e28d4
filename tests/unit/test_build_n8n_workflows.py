"""files/n8n/*.json are what tools/build_n8n_workflows.py generates, and agree with the kpi_n8n role."""

from __future__ import annotations

import importlib.util
import json
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


def test_no_secret_in_the_files():
    for name in build.FILES:
        text = (REPO / "files" / "n8n" / name).read_text()
        assert "sk-ant-admin" not in text and "sk-admin-" not in text and "hooks.slack.com" not in text
        wf = json.loads(text)
        for n in wf["nodes"]:
            for ref in (n.get("credentials") or {}).values():
                assert set(ref) == {"name"}  # ids are resolved at deploy time

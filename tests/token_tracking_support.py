"""Deploy the token-tracking workflows (files/n8n/) into a real n8n for the tests and bench.

What the ``kpi_n8n`` role does with the ``n8n_*`` modules, done here directly through n8n's public API so the
workflow tests do not depend on Ansible: credentials (PostgreSQL as n8n's least-privilege role, the provider admin
keys), credential references resolved by name to ids, the settings nodes overridden, workflows created and
published. For tests the tracker's two schedule triggers can be swapped for webhook triggers (same downstream
nodes), so a test runs each branch on demand instead of waiting for the clock.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
N8N_DIR = REPO / "files" / "n8n"
LOG_FILE = N8N_DIR / "log-token-usage-workflow.json"
TRACKER_FILE = N8N_DIR / "token-tracking-workflow.json"


class N8nApi:
    """Minimal public-API client (the tests' own; the collection's is plugins/module_utils/_n8n_client.py)."""

    def __init__(self, url, api_key):
        self.url = url.rstrip("/")
        self._key = api_key

    def __repr__(self):
        return "N8nApi(%r)" % self.url

    def call(self, method, path, body=None, params=None, expect=(200,)):
        resp = requests.request(
            method, self.url + "/api/v1" + path, json=body, params=params, timeout=60, headers={"X-N8N-API-KEY": self._key, "Accept": "application/json"}
        )
        if expect and resp.status_code not in expect:
            raise AssertionError("%s %s -> HTTP %s %s" % (method, path, resp.status_code, resp.text[:800]))
        return resp.json() if resp.content else None


def load(path):
    return json.loads(Path(path).read_text())


def override_settings(workflow, node_name, values):
    """Set the values of a Set node's assignments (the settings nodes of the tracker)."""
    for node in workflow["nodes"]:
        if node["name"] == node_name:
            for item in node["parameters"]["assignments"]["assignments"]:
                if item["name"] in values:
                    item["value"] = values[item["name"]]
            return workflow
    raise KeyError(node_name)


def resolve_credentials(workflow, ids_by_name):
    for node in workflow["nodes"]:
        for ctype, ref in (node.get("credentials") or {}).items():
            ref["id"] = ids_by_name[ref["name"]]
    return workflow


def webhook_node(name, path, position):
    return {
        "parameters": {"httpMethod": "POST", "path": path, "responseMode": "lastNode", "responseData": "allEntries", "options": {}},
        "id": str(uuid.uuid4()),
        "name": name,
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": position,
        "webhookId": str(uuid.uuid4()),
    }


def with_webhook_triggers(workflow, paths):
    """Replace trigger nodes by webhook triggers of the same name: {trigger node name: webhook path}."""
    for i, node in enumerate(workflow["nodes"]):
        if node["name"] in paths:
            workflow["nodes"][i] = webhook_node(node["name"], paths[node["name"]], node["position"])
    return workflow


class TrackingDeployment:
    """Credentials + both workflows on one n8n, for one test database. Names carry a unique suffix, so tests
    sharing the session's n8n never see each other's objects."""

    def __init__(self, api: N8nApi, pg_host, pg_port, dbname, writer_role, writer_password):
        self.api = api
        self.suffix = uuid.uuid4().hex[:8]
        self.pg = dict(host=pg_host, port=pg_port, database=dbname, user=writer_role, password=writer_password)
        self.credential_ids = {}
        self.workflow_ids = {}
        self.paths = {}

    def name(self, base):
        return "%s [%s]" % (base, self.suffix)

    def credential(self, name, ctype, data):
        created = self.api.call("POST", "/credentials", {"name": self.name(name), "type": ctype, "data": data})
        self.credential_ids[name] = created["id"]
        return created["id"]

    def postgres_credential(self, name="KPI PostgreSQL (n8n writer)", password=None):
        return self.credential(
            name,
            "postgres",
            {
                "host": self.pg["host"],
                "port": self.pg["port"],
                "database": self.pg["database"],
                "user": self.pg["user"],
                "password": password or self.pg["password"],
                "ssl": "disable",
                "allowUnauthorizedCerts": False,
                "maxConnections": 10,
            },
        )

    def provider_credentials(self, anthropic_key, openai_key):
        self.credential("Anthropic Admin API", "httpHeaderAuth", {"name": "x-api-key", "value": anthropic_key})
        self.credential("OpenAI Admin API", "httpBearerAuth", {"token": openai_key})

    def slack_credential(self, bot_token, allowed_host=None):
        """The Slack bot token as n8n's slackApi credential (what the role creates), optionally allowed to reach
        one host only (n8n's Allowed HTTP Request Domains)."""
        data = {"accessToken": bot_token}
        if allowed_host:
            data.update(allowedHttpRequestDomains="domains", allowedDomains=allowed_host)
        return self.credential("Slack Budget Alerts", "slackApi", data)

    def create(self, workflow, publish=True):
        body = {k: workflow[k] for k in ("nodes", "connections", "settings")}
        body["name"] = self.name(workflow["name"])
        created = self.api.call("POST", "/workflows", body)
        self.workflow_ids[workflow["name"]] = created["id"]
        if publish:
            self.api.call("POST", "/workflows/%s/publish" % created["id"], {})
        return created["id"]

    def deploy_log_workflow(self):
        wf = resolve_credentials(load(LOG_FILE), self.credential_ids)
        return self.create(wf)

    def deploy_tracker(self, usage_settings, alert_settings, webhooks=True):
        wf = load(TRACKER_FILE)
        override_settings(wf, "Usage Settings", usage_settings)
        override_settings(wf, "Alert Settings", alert_settings)
        if "Slack Budget Alerts" not in self.credential_ids:  # alerts off: as the role, drop the reference
            for node in wf["nodes"]:
                if "slackApi" in (node.get("credentials") or {}):
                    node.pop("credentials")
                    node["disabled"] = True
        resolve_credentials(wf, self.credential_ids)
        if webhooks:
            self.paths = {"Every Hour": "kpi-poll-" + self.suffix, "Every 5 Minutes": "kpi-budget-" + self.suffix}
            with_webhook_triggers(wf, self.paths)
        return self.create(wf)

    def deploy_caller(self, log_workflow_id, path=None):
        """A caller shaped like the spec's example: trigger -> Code node preparing the data -> Execute Workflow
        calling Log Token Usage with its declared inputs."""
        path = path or "kpi-caller-" + self.suffix
        self.paths["caller"] = path
        inputs = [
            ("workflow_name", "string"),
            ("case_id", "number"),
            ("provider", "string"),
            ("model", "string"),
            ("operation_type", "string"),
            ("input_tokens", "number"),
            ("output_tokens", "number"),
            ("cache_creation_input_tokens", "number"),
            ("cache_read_input_tokens", "number"),
            ("latency_ms", "number"),
            ("success", "boolean"),
        ]
        prepare = (
            "// In a Code node, prepare the data (the spec's example, plus the cache-token counts)\n"
            "const req = $json.body || {};\n"
            "const started = Date.now();\n"
            "return {\n"
            "  json: {\n"
            "    workflow_name: 'workflow-1-intake',\n"
            "    case_id: req.case_id,\n"
            "    provider: req.provider ?? 'anthropic',\n"
            "    model: req.model ?? 'claude-sonnet-4',\n"
            "    operation_type: 'triage',\n"
            "    input_tokens: req.response?.usage?.input_tokens ?? 0,\n"
            "    output_tokens: req.response?.usage?.output_tokens ?? 0,\n"
            "    cache_creation_input_tokens: req.response?.usage?.cache_creation_input_tokens ?? 0,\n"
            "    cache_read_input_tokens: req.response?.usage?.cache_read_input_tokens ?? 0,\n"
            "    latency_ms: req.response_time_ms ?? (Date.now() - started),\n"
            "    success: req.success ?? true,\n"
            "  }\n"
            "};\n"
        )
        wf = {
            "name": "Caller",
            "nodes": [
                webhook_node("Webhook", path, [0, 0]),
                {
                    "parameters": {"mode": "runOnceForEachItem", "jsCode": prepare},
                    "id": str(uuid.uuid4()),
                    "name": "Prepare Token Usage",
                    "type": "n8n-nodes-base.code",
                    "typeVersion": 2,
                    "position": [220, 0],
                },
                {
                    "parameters": {
                        "workflowId": {"__rl": True, "mode": "id", "value": log_workflow_id},
                        "workflowInputs": {
                            "mappingMode": "defineBelow",
                            "value": {n: "={{ $json.%s }}" % n for n, _type in inputs},
                            "matchingColumns": [],
                            "schema": [
                                {"id": n, "displayName": n, "required": False, "defaultMatch": False, "display": True, "canBeUsedToMatch": True, "type": t}
                                for n, t in inputs
                            ],
                            "attemptToConvertTypes": False,
                            "convertFieldsToString": True,
                        },
                        "mode": "once",
                        "options": {"waitForSubWorkflow": True},
                    },
                    "id": str(uuid.uuid4()),
                    "name": "Log Token Usage",
                    "type": "n8n-nodes-base.executeWorkflow",
                    "typeVersion": 1.2,
                    "position": [440, 0],
                },
            ],
            "connections": {
                "Webhook": {"main": [[{"node": "Prepare Token Usage", "type": "main", "index": 0}]]},
                "Prepare Token Usage": {"main": [[{"node": "Log Token Usage", "type": "main", "index": 0}]]},
            },
            "settings": {"executionOrder": "v1"},
        }
        return self.create(wf)

    # ------------------------------------------------------------------ running
    def hook(self, key, body=None, timeout=300):
        """POST to a webhook trigger. n8n registers a published workflow's webhooks a moment after the publish
        call returns, so a 404 "not registered" is retried for a few seconds."""
        path = self.paths[key]
        deadline = time.monotonic() + 20
        while True:
            resp = requests.post(self.api.url + "/webhook/" + path, json=body or {}, timeout=timeout)
            if resp.status_code != 404 or "not registered" not in resp.text or time.monotonic() > deadline:
                return resp
            time.sleep(0.3)

    def executions(self, workflow, status=None, include_data=False):
        params = {"workflowId": self.workflow_ids[workflow], "limit": 100}
        if status:
            params["status"] = status
        if include_data:
            params["includeData"] = "true"
        return self.api.call("GET", "/executions", params=params)["data"]

    def last_execution(self, workflow, wait=30.0):
        """The newest finished execution of ``workflow`` with its data (waits for n8n to save it)."""
        deadline = time.monotonic() + wait
        while True:
            runs = [e for e in self.executions(workflow, include_data=True) if e.get("finished") or e.get("status") in ("success", "error", "crashed")]
            if runs or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert runs, "no finished execution of %s" % workflow
        return max(runs, key=lambda e: int(e["id"]))


def execution_error(execution) -> str:
    """The error message of a failed execution (from its saved run data)."""
    data = execution.get("data") or {}
    result = data.get("resultData") or {}
    err = result.get("error") or {}
    parts = [err.get("message") or "", err.get("description") or ""]
    for runs in (result.get("runData") or {}).values():
        for run in runs:
            if run.get("error"):
                parts.append(run["error"].get("message") or "")
                parts.append(run["error"].get("description") or "")
    return " | ".join(p for p in parts if p)


def node_output(execution, node_name):
    runs = ((execution.get("data") or {}).get("resultData") or {}).get("runData", {}).get(node_name) or []
    items = []
    for run in runs:
        for output in (run.get("data") or {}).get("main") or []:
            items.extend(i["json"] for i in output or [])
    return items

"""Role kpi_n8n against a real n8n: credentials + both workflows deployed and published, a re-run sends no write,
check mode writes nothing, the preflight fails before any request on a missing secret, no planted secret
(n8n API key, database password, admin keys, Slack bot token) appears in any -vvv output, and none is in the
workflows as n8n stores them (every secret is in a credential)."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml

from conftest import PLANTED, free_tcp_port

SECRETS = ("n8n_writer_password", "anthropic_admin_key", "openai_admin_key", "slack_bot_token", "slack_webhook")

PLAY = [{"name": "kpi_n8n under test", "hosts": "localhost", "gather_facts": False, "roles": [{"role": "cx_catalyst.kpi_dashboard.kpi_n8n"}]}]


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "kpi_n8n.yml"
    path.write_text(yaml.safe_dump(PLAY))
    return path


def role_vars(url, api_key, suffix, **overrides):
    values = {
        "kpi_n8n_url": url,
        "kpi_n8n_api_key": api_key,
        "kpi_n8n_db_credential_name": "KPI PostgreSQL %s" % suffix,
        "kpi_n8n_anthropic_credential_name": "Anthropic Admin %s" % suffix,
        "kpi_n8n_openai_credential_name": "OpenAI Admin %s" % suffix,
        "kpi_n8n_slack_credential_name": "Slack Alerts %s" % suffix,
        "kpi_n8n_log_workflow_name": "Log Token Usage %s" % suffix,
        "kpi_n8n_tracker_workflow_name": "Token Tracking %s" % suffix,
        "kpi_n8n_db_host": "127.0.0.1",
        "kpi_n8n_db_port": 5432,
        "kpi_n8n_db_password": PLANTED["n8n_writer_password"],
        "kpi_n8n_db_ssl": "disable",
        "kpi_n8n_anthropic_admin_key": PLANTED["anthropic_admin_key"],
        "kpi_n8n_openai_admin_key": PLANTED["openai_admin_key"],
        "kpi_n8n_anthropic_base_url": "http://127.0.0.1:9/anthropic",
        "kpi_n8n_openai_base_url": "http://127.0.0.1:9/openai",
        "kpi_n8n_slack_bot_token": PLANTED["slack_bot_token"],
        "kpi_n8n_slack_channel": "C0KPIALERTS",
        "kpi_n8n_slack_api_url": "http://127.0.0.1:9/slack/api",
        "kpi_n8n_dashboard_url": "https://grafana.example.test/d/cx-catalyst-kpi",
        "kpi_n8n_lookback_hours": 72,
    }
    values.update(overrides)
    return values


def recap(result):
    return [line for line in result.stdout.splitlines() if line.startswith("localhost")][-1]


def test_role_deploys_publishes_and_rerun_sends_nothing(n8n_server, n8n_recorder, n8n_ansible, playbook):
    suffix = uuid.uuid4().hex[:8]
    extra = role_vars(n8n_recorder.url, n8n_server.api_key, suffix)
    first = n8n_ansible.playbook(playbook, extra_vars=extra, diff=True)
    assert "failed=0" in recap(first)

    log = n8n_server.workflow_by_name("Log Token Usage %s" % suffix)
    tracker = n8n_server.workflow_by_name("Token Tracking %s" % suffix)
    assert log["active"] is True and tracker["active"] is True
    creds = {c["name"]: c["type"] for c in n8n_server.list_all("/credentials")}
    assert creds["KPI PostgreSQL %s" % suffix] == "postgres"
    assert creds["Anthropic Admin %s" % suffix] == "httpHeaderAuth"
    assert creds["OpenAI Admin %s" % suffix] == "httpBearerAuth"
    assert creds["Slack Alerts %s" % suffix] == "slackApi"
    # credential references resolved to the renamed credentials, settings nodes carry the role's values
    ids = {c["name"]: c["id"] for c in n8n_server.list_all("/credentials")}
    for node in tracker["nodes"]:
        for ref in (node.get("credentials") or {}).values():
            assert ids[ref["name"]] == ref["id"]
            assert ref["name"].endswith(suffix)
    settings = {
        n["name"]: {a["name"]: a["value"] for a in n["parameters"]["assignments"]["assignments"]} for n in tracker["nodes"] if n["type"] == "n8n-nodes-base.set"
    }
    assert settings["Usage Settings"] == {
        "anthropic_enabled": True,
        "anthropic_base_url": "http://127.0.0.1:9/anthropic",
        "openai_enabled": True,
        "openai_base_url": "http://127.0.0.1:9/openai",
        "lookback_hours": 72,
        "cost_lookback_days": 3,
    }
    assert settings["Alert Settings"] == {
        "alerts_enabled": True,
        "slack_api_url": "http://127.0.0.1:9/slack/api",
        "slack_channel": "C0KPIALERTS",
        "dashboard_url": "https://grafana.example.test/d/cx-catalyst-kpi",
    }
    [post] = [n for n in tracker["nodes"] if n["name"] == "Post to Slack"]
    assert post["parameters"]["authentication"] == "predefinedCredentialType" and post["parameters"]["nodeCredentialType"] == "slackApi"
    assert post["credentials"]["slackApi"] == {"id": ids["Slack Alerts %s" % suffix], "name": "Slack Alerts %s" % suffix}
    assert not post.get("disabled")
    # no secret in either workflow as n8n stores (and would export) it
    for workflow in (log, tracker):
        text = json.dumps(workflow)
        for key in SECRETS:
            assert PLANTED[key] not in text, key

    n8n_recorder.reset()
    second = n8n_ansible.playbook(playbook, extra_vars=extra, diff=True)
    assert "changed=0" in recap(second) and "failed=0" in recap(second)
    assert n8n_recorder.writes() == []

    # a changed setting updates the tracker only
    n8n_recorder.reset()
    third = n8n_ansible.playbook(playbook, extra_vars=dict(extra, kpi_n8n_lookback_hours=24), diff=True)
    assert "changed=1" in recap(third)
    assert {path.split("?")[0] for method, path in n8n_recorder.writes()} <= {
        "/api/v1/workflows/%s" % tracker["id"],
        "/api/v1/workflows/%s/publish" % tracker["id"],
    }


def test_check_mode_writes_nothing(n8n_server, n8n_recorder, n8n_ansible, playbook):
    suffix = uuid.uuid4().hex[:8]
    res = n8n_ansible.playbook(playbook, extra_vars=role_vars(n8n_recorder.url, n8n_server.api_key, suffix), check=True, diff=True)
    assert "failed=0" in recap(res)
    assert n8n_recorder.writes() == []
    assert n8n_server.workflow_by_name("Log Token Usage %s" % suffix) is None


@pytest.mark.parametrize(
    "missing, named",
    [
        ({"kpi_n8n_anthropic_admin_key": ""}, "kpi_n8n_anthropic_admin_key"),
        ({"kpi_n8n_db_password": ""}, "kpi_n8n_db_password"),
        ({"kpi_n8n_api_key": ""}, "kpi_n8n_api_key"),
        ({"kpi_n8n_slack_bot_token": ""}, "kpi_n8n_slack_bot_token (kpi_n8n_slack_alerts_enabled is true)"),
        ({"kpi_n8n_slack_channel": " "}, "kpi_n8n_slack_channel set when"),
        ({"kpi_n8n_slack_api_url": "slack.com/api"}, "kpi_n8n_slack_api_url http(s) URLs"),
        ({"kpi_n8n_slack_webhook_url": PLANTED["slack_webhook"]}, "kpi_n8n_slack_webhook_url is no longer used"),
    ],
)
def test_preflight_fails_before_any_request(n8n_server, n8n_recorder, n8n_ansible, playbook, missing, named):
    extra = role_vars(n8n_recorder.url, n8n_server.api_key, uuid.uuid4().hex[:8], **missing)
    res = n8n_ansible.playbook(playbook, extra_vars=extra, expect_rc=2)
    assert named in res.output
    assert n8n_recorder.calls == []


def test_provider_disabled_needs_no_key(n8n_server, n8n_recorder, n8n_ansible, playbook):
    suffix = uuid.uuid4().hex[:8]
    extra = role_vars(
        n8n_recorder.url,
        n8n_server.api_key,
        suffix,
        kpi_n8n_openai_enabled=False,
        kpi_n8n_openai_admin_key="",
        kpi_n8n_slack_alerts_enabled=False,
        kpi_n8n_slack_bot_token="",
        kpi_n8n_slack_channel="",
    )
    n8n_ansible.playbook(playbook, extra_vars=extra)
    names = {c["name"] for c in n8n_server.list_all("/credentials")}
    assert "OpenAI Admin %s" % suffix not in names and "Anthropic Admin %s" % suffix in names
    assert "Slack Alerts %s" % suffix not in names
    tracker = n8n_server.workflow_by_name("Token Tracking %s" % suffix)
    nodes = {n["name"]: n for n in tracker["nodes"]}
    assert nodes["Post to Slack"]["disabled"] is True and "credentials" not in nodes["Post to Slack"]
    assert nodes["OpenAI Usage"]["disabled"] is True
    settings = {a["name"]: a["value"] for a in nodes["Alert Settings"]["parameters"]["assignments"]["assignments"]}
    assert settings["alerts_enabled"] is False


def test_unreachable_n8n_fails_with_the_modules_message(ansible, playbook):
    """The credential tasks hide their output (they carry the secrets); when one fails, the rescue of the
    secret-carrying task pattern re-raises the module's own message instead of "the output has been hidden".
    Nothing listens on the port, so no n8n is needed.

    Ansible masks every value of a no_log option wherever it appears in the module's output, the credential's
    non-secret ones too (host 127.0.0.1, port 5432, maxConnections 10), so the port checked for must not
    contain one of them: a port such as 41067 reads "4********67"."""
    masked = ("10", "5432", "127.0.0.1")
    free_port = free_tcp_port()
    while any(value in str(free_port) for value in masked):
        free_port = free_tcp_port()
    res = ansible.playbook(playbook, extra_vars=role_vars("http://127.0.0.1:%d" % free_port, PLANTED["n8n_credential_secret"], "x"), expect_rc=2)
    # -vvv prints each failure as indented JSON: the message follows the last "fatal:" (the rescue's)
    last_failure = res.output.rsplit("fatal:", 1)[-1]
    assert "Credentials | PostgreSQL as n8n's own role:" in last_failure, last_failure[:2000]
    # the module's own cause (the host is masked: it equals the no_log database host 127.0.0.1)
    assert "cannot connect to" in last_failure and ":%d" % free_port in last_failure, last_failure[:2000]
    assert "rescued=1" in recap(res)

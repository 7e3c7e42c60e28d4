"""End to end on a real n8n (2.41.1, Node 24, on PostgreSQL): the two token-tracking workflows of files/n8n/.

* A caller shaped like the spec's example (webhook -> Code node -> Execute Workflow "Log Token Usage") logs a row
  that lands in token_usage priced by the database, and shows on the dashboard's reconciliation panel through the
  Grafana emulator's /api/ds/query.
* The tracker (its schedule triggers swapped for webhook triggers, the rest as shipped) polls the usage/cost API
  emulator: a second run changes nothing, a revised bucket is updated, paging is followed, a budget crossing
  posts exactly one Slack message (chat.postMessage through n8n's slackApi credential, on the Slack emulator) per
  budget, period and threshold, a refused or failed post is released and retried by the next run, and a bad
  admin key fails the run clearly with nothing written and no Slack post. The bot token is never in the workflow
  or the saved executions.

n8n connects to PostgreSQL as the least-privilege role of files/sql/n8n-writer.sql.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from conftest import PLANTED, REPO
from slack_emulator.fixture import SlackEmulator
from kpi_sql import N8N_ROLE, READER_ROLE, apply_all, ensure_n8n_role, ensure_reader_role, schema_files
from token_tracking_support import N8nApi, TrackingDeployment, execution_error, node_output
from usage_api_emulator import CostRecord, UsageRecord

D = Decimal
UTC = dt.timezone.utc
LOG = "Log Token Usage"
TRACKER = "Token Tracking"
CHANNEL = "C0KPIALERTS"
DASHBOARD = "https://grafana.example.test/d/cx-kpi"


@pytest.fixture
def kpi_db(pg_server, pg_db):
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    ensure_n8n_role(pg_server, PLANTED["n8n_writer_password"])
    conn = pg_server.connect(pg_db)
    conn.autocommit = True
    apply_all(conn, schema_files(n8n_writer=True))
    try:
        yield conn
    finally:
        conn.close()


def q(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


@pytest.fixture
def deployment(n8n_server, pg_server, pg_db, kpi_db):
    dep = TrackingDeployment(N8nApi(n8n_server.url, n8n_server.api_key), pg_server.host, pg_server.port, pg_db, N8N_ROLE, PLANTED["n8n_writer_password"])
    dep.postgres_credential()
    return dep


@pytest.fixture
def slack():
    """Slack's Web API (emulator) knowing the planted bot token and the alert channel."""
    emu = SlackEmulator(PLANTED["slack_bot_token"], channels=(CHANNEL,))
    try:
        yield emu
    finally:
        emu.stop()


def alert_settings(slack):
    return {"alerts_enabled": True, "slack_api_url": slack.api_url, "slack_channel": CHANNEL, "dashboard_url": DASHBOARD}


@pytest.fixture
def tracker(deployment, usage_api, slack):
    deployment.provider_credentials(PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"])
    deployment.slack_credential(PLANTED["slack_bot_token"], allowed_host="127.0.0.1")
    deployment.deploy_tracker(
        {"anthropic_base_url": usage_api.anthropic_url, "openai_base_url": usage_api.openai_url, "lookback_hours": 48, "cost_lookback_days": 3},
        alert_settings(slack),
    )
    return deployment


def post_requests(slack):
    return [r for r in slack.state()["requests"] if r["path"] == "/api/chat.postMessage"]


# --------------------------------------------------------------------------------------------- Log Token Usage
def test_caller_logs_row_priced_by_database_and_shown_on_panel(deployment, kpi_db, grafana_emulator, pg_server, pg_db):
    log_id = deployment.deploy_log_workflow()
    deployment.deploy_caller(log_id)
    usage = {"input_tokens": 1200, "output_tokens": 300, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 8000}
    resp = deployment.hook("caller", {"case_id": 4711, "response": {"usage": usage}, "response_time_ms": 930})
    assert resp.status_code == 200, resp.text
    [result] = resp.json()
    rows = q(
        kpi_db,
        "SELECT usage_id, workflow_name, case_id, provider, model, operation_type, input_tokens, "
        "cache_write_tokens, cache_read_tokens, output_tokens, total_tokens, latency_ms, success, cost_usd "
        "FROM token_usage",
    )
    assert len(rows) == 1
    row = rows[0]
    assert row[:13] == (result["usage_id"], "workflow-1-intake", 4711, "anthropic", "claude-sonnet-4", "triage", 1200, 2000, 8000, 300, 11500, 930, True)
    # the database priced it: the api_pricing row in effect, cache classes at the input price (no cache price set)
    [(inp, out)] = q(
        kpi_db,
        "SELECT input_price_per_million, output_price_per_million FROM api_pricing WHERE provider = 'anthropic' AND model = 'claude-sonnet-4' AND is_current",
    )
    expected = ((1200 + 2000 + 8000) * inp + 300 * out) / 1000000
    assert row[13] == expected.quantize(D("0.000001"))
    assert D(str(result["cost_usd"])) == row[13] and result["logged"] is True

    # on the dashboard: the reconciliation panel's own query through Grafana (emulator) as the read-only role
    board = json.loads((REPO / "files" / "grafana-dashboard.json").read_text())
    [panel] = [p for p in board["panels"] if p.get("title") == "Token Reconciliation"]
    status, _body, _headers = grafana_emulator.api(
        "POST",
        "/api/datasources",
        {
            "name": "KPI",
            "uid": "kpi-pg",
            "type": "grafana-postgresql-datasource",
            "access": "proxy",
            "url": "%s:%d" % (pg_server.host, pg_server.port),
            "user": READER_ROLE,
            "jsonData": {"database": pg_db, "sslmode": "disable"},
            "secureJsonData": {"password": PLANTED["reader_password"]},
        },
    )
    assert status == 200
    target = dict(panel["targets"][0], datasource={"uid": "kpi-pg", "type": "grafana-postgresql-datasource"})
    query = {"from": "now-2d", "to": "now", "queries": [target]}
    status, data, _headers = grafana_emulator.api("POST", "/api/ds/query", query)
    assert status == 200, data
    frame = data["results"]["A"]["frames"][0]
    names = [f["name"] for f in frame["schema"]["fields"]]
    table = [dict(zip(names, vals)) for vals in zip(*frame["data"]["values"])]
    assert [(r["Provider"], r["Model"], r["Logged requests"], r["Logged tokens"], r["Provider tokens"]) for r in table] == [
        ("anthropic", "claude-sonnet-4", 1, 11500, 0)
    ]


def test_bad_input_fails_clearly_and_writes_nothing(deployment, kpi_db):
    log_id = deployment.deploy_log_workflow()
    deployment.deploy_caller(log_id)
    resp = deployment.hook("caller", {"provider": "", "response": {"usage": {"input_tokens": -5, "output_tokens": 1.5}}})
    assert resp.status_code == 500
    execution = deployment.last_execution("Caller")
    assert execution["status"] == "error"
    message = execution_error(execution)
    for part in (
        "Log Token Usage: invalid input, nothing was logged",
        "provider is required",
        "input_tokens must be a non-negative integer, got -5",
        "output_tokens must be a non-negative integer, got 1.5",
    ):
        assert part in message, message
    assert q(kpi_db, "SELECT count(*) FROM token_usage") == [(0,)]
    # a valid call afterwards still works (nothing stuck)
    assert deployment.hook("caller", {"response": {"usage": {"input_tokens": 1, "output_tokens": 1}}}).status_code == 200
    assert q(kpi_db, "SELECT count(*) FROM token_usage") == [(1,)]


def test_log_workflow_is_published_sub_workflow(deployment, n8n_server):
    log_id = deployment.deploy_log_workflow()
    wf = deployment.api.call("GET", "/workflows/%s" % log_id)
    assert wf["active"] is True
    trigger = [n for n in wf["nodes"] if n["type"] == "n8n-nodes-base.executeWorkflowTrigger"][0]
    declared = [v["name"] for v in trigger["parameters"]["workflowInputs"]["values"]]
    assert declared[:11] == [
        "workflow_name",
        "case_id",
        "provider",
        "model",
        "operation_type",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "latency_ms",
        "success",
    ]
    insert = [n for n in wf["nodes"] if n["type"] == "n8n-nodes-base.postgres"][0]["parameters"]
    # parameterised: placeholders only, the values come from queryReplacement
    assert "$1" in insert["query"] and "{{" not in insert["query"]


# --------------------------------------------------------------------------------------------- Token Tracking
def seed(usage_api, hours=30, now=None):
    now = now or dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for h in range(hours):
        t = now - dt.timedelta(hours=h)
        usage_api.put_usage(
            UsageRecord(
                "anthropic",
                t,
                "claude-sonnet-4",
                "wrkspc_1",
                uncached_input_tokens=100 + h,
                cache_write_5m_tokens=10,
                cache_write_1h_tokens=1,
                cache_read_tokens=1000,
                output_tokens=50,
            ),
            UsageRecord("anthropic", t, "claude-haiku-3-5", None, uncached_input_tokens=7, output_tokens=3),
            UsageRecord("openai", t, "gpt-4o", "proj_1", uncached_input_tokens=200, cache_read_tokens=300, output_tokens=40, requests=4),
        )
    usage_api.put_cost(
        CostRecord("anthropic", now.date(), D("123.456"), model="claude-sonnet-4", token_type="output_tokens"),
        CostRecord("openai", now.date(), D("1.25"), line_item="gpt-4o, input", workspace_id="proj_1"),
    )
    return now


def provider_rows(conn):
    return q(
        conn,
        "SELECT provider, bucket_width, bucket_start, model, workspace_id, service_tier, "
        "uncached_input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, "
        "output_tokens, requests FROM provider_usage ORDER BY 1, 3, 4, 5",
    )


def test_tracker_upserts_without_duplicates_and_updates_revisions(tracker, usage_api, kpi_db):
    now = seed(usage_api)
    first = tracker.hook("Every Hour")
    assert first.status_code == 200, first.text
    assert first.json() == [
        {"usage_inserted": "90", "usage_updated": "0", "usage_unchanged": "0", "cost_inserted": "2", "cost_updated": "0", "cost_unchanged": "0"}
    ]
    rows = provider_rows(kpi_db)
    assert len(rows) == 90
    by_key = {(r[0], r[2], r[3]): r for r in rows}
    a = by_key[("anthropic", now, "claude-sonnet-4")]
    assert a[4:] == ("wrkspc_1", "standard", 100, 10, 1, 1000, 50, None)
    o = by_key[("openai", now, "gpt-4o")]
    assert o[4:] == ("proj_1", "standard", 200, 0, 0, 300, 40, 4)  # input_tokens 500 include 300 cached
    assert q(kpi_db, "SELECT provider, amount_usd FROM provider_cost ORDER BY 1") == [("anthropic", D("1.234560")), ("openai", D("1.250000"))]

    # second run, same data: the same rows, nothing written
    second = tracker.hook("Every Hour")
    assert second.json()[0]["usage_unchanged"] == "90" and second.json()[0]["usage_inserted"] == "0"
    assert provider_rows(kpi_db) == rows

    # late data revises a bucket already read: updated in place, no new row
    usage_api.put_usage(UsageRecord("anthropic", now - dt.timedelta(hours=3), "claude-sonnet-4", "wrkspc_1", uncached_input_tokens=5000, output_tokens=900))
    third = tracker.hook("Every Hour")
    assert third.json()[0]["usage_updated"] == "1" and third.json()[0]["usage_inserted"] == "0"
    assert q(kpi_db, "SELECT count(*), sum(uncached_input_tokens) FROM provider_usage") == [(90, sum(r[6] for r in rows) - (100 + 3) + 5000)]
    assert q(
        kpi_db,
        "SELECT uncached_input_tokens, cache_read_tokens, output_tokens FROM provider_usage "
        "WHERE provider = 'anthropic' AND model = 'claude-sonnet-4' AND bucket_start = %s",
        (now - dt.timedelta(hours=3),),
    ) == [(5000, 0, 900)]


def test_tracker_follows_pagination(deployment, usage_api, kpi_db):
    deployment.provider_credentials(PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"])
    deployment.deploy_tracker(
        {"anthropic_base_url": usage_api.anthropic_url, "openai_base_url": usage_api.openai_url, "lookback_hours": 400}, {"alerts_enabled": False}
    )
    seed(usage_api, hours=400)
    resp = deployment.hook("Every Hour")
    assert resp.status_code == 200, resp.text
    for provider, path in (("anthropic", "/messages"), ("openai", "/completions")):
        pages = [r for r in usage_api.requests(provider) if r[2].endswith(path)]
        # 401 hourly buckets at most 168 per page: three requests, the later two with the cursor
        assert len(pages) == 3, pages
        assert "page" not in pages[0][3] and all(p[3].get("page") for p in pages[1:])
    assert q(kpi_db, "SELECT count(*) FROM provider_usage") == [(3 * 400,)]


def test_budget_crossing_posts_exactly_one_slack_message(tracker, slack, kpi_db):
    q(
        kpi_db,
        "INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, period_start, period_end, "
        "alert_threshold_pct) VALUES ('Anthropic Monthly', 'anthropic', 'monthly', 10000, "
        "date_trunc('month', CURRENT_DATE)::date, (date_trunc('month', CURRENT_DATE) + interval '1 month - 1 day')::date, 80)",
    )
    q(kpi_db, "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) VALUES ('wf', 'anthropic', 'claude-sonnet-4', 5000, 0)")
    assert tracker.hook("Every 5 Minutes").status_code == 200
    assert slack.messages() == []  # 50 % < 80 %
    q(
        kpi_db, "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) VALUES ('wf', 'anthropic', 'claude-sonnet-4', 3500, 0)"
    )  # 85 %
    for _run in range(3):  # three checks, one post
        assert tracker.hook("Every 5 Minutes").status_code == 200
    [message] = slack.messages()
    assert message["channel"] == CHANNEL
    text = message["text"]
    [(projected,)] = q(kpi_db, "SELECT projected_exhaustion_date::text FROM v_budget_utilization")
    for part in (
        "Anthropic Monthly",
        "alert threshold of 80 %",
        "85 % used",
        "Tokens: 8,500 of 10,000",
        "Projected exhaustion: " + projected,
        "https://grafana.example.test/d/cx-kpi",
    ):
        assert part in text, text
    q(
        kpi_db, "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) VALUES ('wf', 'anthropic', 'claude-sonnet-4', 2000, 0)"
    )  # 105 %
    tracker.hook("Every 5 Minutes")
    tracker.hook("Every 5 Minutes")
    messages = slack.messages()
    assert len(messages) == 2 and "is used up: 105 % used" in messages[1]["text"]
    assert len(post_requests(slack)) == 2  # one request per alert: nothing refused, nothing retried
    assert all(r["authorization"] == "Bearer" for r in post_requests(slack))  # the credential's header
    assert q(kpi_db, "SELECT threshold_pct, sent_at IS NOT NULL FROM token_budget_alerts ORDER BY 1") == [(D("80.00"), True), (D("100.00"), True)]
    # the bot token is in n8n's credential only: not in the workflow, not in any saved execution
    workflow = tracker.api.call("GET", "/workflows/%s" % tracker.workflow_ids[TRACKER])
    assert PLANTED["slack_bot_token"] not in json.dumps(workflow)
    assert PLANTED["slack_bot_token"] not in json.dumps(tracker.executions(TRACKER, include_data=True))


def daily_budget_at_90_pct(kpi_db):
    q(
        kpi_db,
        "INSERT INTO token_budgets (budget_name, budget_type, token_limit, period_start, period_end) VALUES "
        "('All Daily', 'daily', 100, CURRENT_DATE, CURRENT_DATE)",
    )
    q(kpi_db, "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) VALUES ('wf', 'openai', 'gpt-4o', 90, 0)")


def test_failed_slack_post_is_retried_not_lost(tracker, slack, kpi_db):
    daily_budget_at_90_pct(kpi_db)
    slack.fail("chat.postMessage", count=3, error="internal_error", status=500)  # every try of the node
    assert tracker.hook("Every 5 Minutes").status_code == 500  # the execution fails: visible in n8n
    execution = tracker.last_execution(TRACKER)
    assert execution["status"] == "error" and "posting a budget alert to Slack failed" in execution_error(execution)
    assert slack.messages() == [] and len(post_requests(slack)) == 3
    assert q(kpi_db, "SELECT sent_at IS NULL, claimed_at IS NULL FROM token_budget_alerts") == [(True, True)]
    assert tracker.hook("Every 5 Minutes").status_code == 200
    assert len(slack.messages()) == 1
    assert tracker.hook("Every 5 Minutes").status_code == 200
    assert len(slack.messages()) == 1


def test_slack_error_answer_releases_claim_and_names_the_error(tracker, slack, kpi_db):
    """Slack's Web API answers errors with HTTP 200 and ok=false: the node succeeds, the workflow must not."""
    daily_budget_at_90_pct(kpi_db)
    # n8n's node retry also retries an answer whose first item carries an "error" field (n8n-core
    # workflow-execute.js, checkFailure), so ok=false is tried 3 times before the claim is released
    slack.fail("chat.postMessage", count=3, error="not_in_channel")
    assert tracker.hook("Every 5 Minutes").status_code == 500
    execution = tracker.last_execution(TRACKER)
    message = execution_error(execution)
    assert execution["status"] == "error" and "not_in_channel" in message, message
    assert len(post_requests(slack)) == 3 and slack.messages() == []
    assert q(kpi_db, "SELECT sent_at IS NULL, claimed_at IS NULL FROM token_budget_alerts") == [(True, True)]
    assert tracker.hook("Every 5 Minutes").status_code == 200
    assert len(slack.messages()) == 1


def test_slack_error_answer_once_is_retried_and_posted_once(tracker, slack, kpi_db):
    daily_budget_at_90_pct(kpi_db)
    slack.fail("chat.postMessage", count=1, error="internal_error")
    assert tracker.hook("Every 5 Minutes").status_code == 200
    assert len(post_requests(slack)) == 2 and len(slack.messages()) == 1
    assert q(kpi_db, "SELECT sent_at IS NOT NULL FROM token_budget_alerts") == [(True,)]


def test_slack_rate_limit_is_retried_once_posted(tracker, slack, kpi_db):
    daily_budget_at_90_pct(kpi_db)
    slack.fail("chat.postMessage", count=1, error="ratelimited", status=429, retry_after=1)
    assert tracker.hook("Every 5 Minutes").status_code == 200
    assert len(post_requests(slack)) == 2 and len(slack.messages()) == 1
    assert q(kpi_db, "SELECT sent_at IS NOT NULL FROM token_budget_alerts") == [(True,)]


def test_slack_credential_restricted_to_another_domain_sends_nothing(deployment, usage_api, slack, kpi_db):
    """n8n's Allowed HTTP Request Domains on the credential: a token meant for slack.com never goes elsewhere."""
    deployment.provider_credentials(PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"])
    deployment.slack_credential(PLANTED["slack_bot_token"], allowed_host="slack.com")
    deployment.deploy_tracker({"anthropic_enabled": False, "openai_enabled": False}, alert_settings(slack))
    daily_budget_at_90_pct(kpi_db)
    assert deployment.hook("Every 5 Minutes").status_code == 500
    assert post_requests(slack) == []
    assert q(kpi_db, "SELECT sent_at IS NULL, claimed_at IS NULL FROM token_budget_alerts") == [(True, True)]


def test_bad_admin_key_fails_clearly_nothing_written_no_slack(deployment, usage_api, slack, kpi_db):
    deployment.provider_credentials(PLANTED["anthropic_admin_key"], "sk-admin-wrong-key-for-the-test")
    deployment.slack_credential(PLANTED["slack_bot_token"])
    deployment.deploy_tracker({"anthropic_base_url": usage_api.anthropic_url, "openai_base_url": usage_api.openai_url}, alert_settings(slack))
    seed(usage_api)
    resp = deployment.hook("Every Hour")
    assert resp.status_code == 500
    execution = deployment.last_execution(TRACKER)
    assert execution["status"] == "error"
    message = execution_error(execution)
    assert "401" in message or "Incorrect API key" in message or "Authorization failed" in message, message
    # Anthropic's pages were read, but nothing was written: the upsert runs only after every provider answered
    assert node_output(execution, "Anthropic Usage") and not node_output(execution, "Upsert Provider Usage")
    assert q(kpi_db, "SELECT count(*) FROM provider_usage") == [(0,)]
    assert q(kpi_db, "SELECT count(*) FROM provider_cost") == [(0,)]
    assert slack.messages() == [] and post_requests(slack) == []
    # the key never shows in the saved execution
    assert "sk-admin-wrong-key-for-the-test" not in json.dumps(execution)
    assert PLANTED["anthropic_admin_key"] not in json.dumps(execution)


def test_rate_limit_is_retried(tracker, usage_api, kpi_db):
    seed(usage_api, hours=2)
    usage_api.inject_fault("openai", 429, count=1, retry_after=1)
    resp = tracker.hook("Every Hour")
    assert resp.status_code == 200, resp.text
    assert q(kpi_db, "SELECT count(*) FROM provider_usage WHERE provider = 'openai'") == [(2,)]


def test_provider_can_be_disabled(deployment, usage_api, kpi_db):
    deployment.provider_credentials(PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"])
    deployment.deploy_tracker(
        {"anthropic_base_url": usage_api.anthropic_url, "openai_enabled": False, "openai_base_url": "http://127.0.0.1:9"}, {"alerts_enabled": False}
    )
    seed(usage_api, hours=1)
    assert deployment.hook("Every Hour").status_code == 200
    assert usage_api.requests("openai") == []
    assert q(kpi_db, "SELECT DISTINCT provider FROM provider_usage") == [("anthropic",)]

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the two n8n workflows of the token tracking (``files/n8n/*.json``) from code.

* ``log-token-usage-workflow.json`` - "Log Token Usage": a sub-workflow (trigger "When Executed by Another
  Workflow" with declared inputs) that validates one or more usage records, inserts them into ``token_usage`` with
  one parameterised query per record in one transaction (the database stamps and prices them) and returns
  ``usage_id`` and ``cost_usd``. Invalid input fails the call with a message naming every bad field; nothing is
  written then.
* ``token-tracking-workflow.json`` - "Token Tracking": (a) every hour, polls the Anthropic and OpenAI organisation
  usage and cost APIs (each optional), following pagination, over a trailing window (late and revised data), and
  upserts the buckets with ``kpi_upsert_provider_usage()`` / ``kpi_upsert_provider_cost()`` in ONE statement after
  every page was read (so a failing provider writes nothing); (b) every 5 minutes, claims due budget alerts with
  ``kpi_claim_budget_alerts()`` (once per budget, period and threshold), posts each with Slack's
  ``chat.postMessage`` through the ``slackApi`` credential (bot token) and marks it sent, or releases the claim and
  fails the execution when Slack did not accept the post.

The files are what the ``kpi_n8n`` role deploys and what a user imports by hand; the role overrides the values
of the "Usage Settings" and "Alert Settings" nodes. Design and facts: docs/token-tracking.md.

Usage::

    .venv/bin/python tools/build_n8n_workflows.py            # rewrite files/n8n/*.json
    .venv/bin/python tools/build_n8n_workflows.py --check    # exit 1 if a committed file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "files" / "n8n"

LOG_WORKFLOW_NAME = "Log Token Usage"
TRACKER_WORKFLOW_NAME = "Token Tracking"
# Credential names the workflows reference (resolved to ids by name at deploy time: n8n_workflow).
PG_CREDENTIAL = "KPI PostgreSQL (n8n writer)"
ANTHROPIC_CREDENTIAL = "Anthropic Admin API"
OPENAI_CREDENTIAL = "OpenAI Admin API"
# n8n credential type slackApi (field accessToken: a bot token xoxb-...); no secret is in any workflow node.
SLACK_CREDENTIAL = "Slack Budget Alerts"

# Declared inputs of Log Token Usage: the spec's Code-node example plus the optional cache-token counts.
LOG_INPUTS = [
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

# Tracker settings (node "Usage Settings"): name -> (n8n type, default). The role overrides them.
USAGE_SETTINGS = {
    "anthropic_enabled": ("boolean", True),
    "anthropic_base_url": ("string", "https://api.anthropic.com"),
    "openai_enabled": ("boolean", True),
    "openai_base_url": ("string", "https://api.openai.com"),
    "lookback_hours": ("number", 48),
    "cost_lookback_days": ("number", 3),
}
# Node "Alert Settings": nothing secret (the bot token is in the Slack credential). slack_api_url is Slack's Web
# API base (tests point it at the Slack emulator); slack_channel a channel id the bot is a member of.
ALERT_SETTINGS = {
    "alerts_enabled": ("boolean", True),
    "slack_api_url": ("string", "https://slack.com/api"),
    "slack_channel": ("string", ""),
    "dashboard_url": ("string", ""),
}


def node_id(workflow: str, name: str) -> str:
    """Stable node ids (so a rebuilt file is byte-identical)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cx-kpi-n8n/%s/%s" % (workflow, name)))


def node(wf, name, ntype, version, position, parameters, **extra):
    out = {"parameters": parameters, "id": node_id(wf, name), "name": name, "type": ntype, "typeVersion": version, "position": list(position)}
    out.update(extra)
    return out


def pg_credentials():
    return {"postgres": {"name": PG_CREDENTIAL}}


def connect(*pairs):
    """connections from (source, target) or (source, target, output index)."""
    out: dict = {}
    for pair in pairs:
        src, dst = pair[0], pair[1]
        index = pair[2] if len(pair) > 2 else 0
        outputs = out.setdefault(src, {"main": []})["main"]
        while len(outputs) <= index:
            outputs.append([])
        outputs[index].append({"node": dst, "type": "main", "index": 0})
    return out


def set_node(wf, name, position, values):
    return node(
        wf,
        name,
        "n8n-nodes-base.set",
        3.4,
        position,
        {
            "assignments": {
                "assignments": [{"id": node_id(wf, name + "/" + key), "name": key, "value": default, "type": vtype} for key, (vtype, default) in values.items()]
            },
            "options": {},
        },
    )


def if_true(wf, name, position, expression):
    return node(
        wf,
        name,
        "n8n-nodes-base.if",
        2.2,
        position,
        {
            "conditions": {
                "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2},
                "conditions": [
                    {
                        "id": node_id(wf, name + "/condition"),
                        "leftValue": expression,
                        "rightValue": "",
                        "operator": {"type": "boolean", "operation": "true", "singleValue": True},
                    }
                ],
                "combinator": "and",
            },
            "options": {},
        },
    )


def code_node(wf, name, position, js, mode="runOnceForAllItems", **extra):
    params = {"jsCode": js.strip() + "\n"}
    if mode != "runOnceForAllItems":
        params["mode"] = mode
    return node(wf, name, "n8n-nodes-base.code", 2, position, params, **extra)


def postgres_query(wf, name, position, query, replacement, **extra):
    options = {"queryReplacement": replacement, "queryBatching": "transaction"}
    return node(
        wf,
        name,
        "n8n-nodes-base.postgres",
        2.5,
        position,
        {"operation": "executeQuery", "query": query.strip(), "options": options},
        credentials=pg_credentials(),
        **extra,
    )


# --------------------------------------------------------------------------------------------- Log Token Usage
VALIDATE_JS = r"""
// Log Token Usage: validate every item before anything is written. One bad item fails the whole call (the
// caller's Execute Workflow node gets this error) and nothing is logged, so a batch is never half-written.
const items = $input.all();
if (items.length === 0) {
  throw new Error('Log Token Usage: no input items');
}
const MAX_INT = 2147483647;
function count(j, name, required, problems, max) {
  let v = j[name];
  if (v === undefined || v === null || v === '') {
    if (required) problems.push(name + ' is required (a non-negative integer)');
    return null;
  }
  if (typeof v === 'string' && /^[0-9]+$/.test(v.trim())) v = Number(v.trim());
  if (!Number.isSafeInteger(v) || v < 0 || (max !== undefined && v > max)) {
    problems.push(name + ' must be a non-negative integer' + (max !== undefined ? ' up to ' + max : '') +
                  ', got ' + JSON.stringify(v));
    return null;
  }
  return v;
}
function text(j, name, required, problems) {
  const v = j[name];
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (required) problems.push(name + ' is required (a non-empty string)');
    return null;
  }
  if (typeof v !== 'string') {
    problems.push(name + ' must be a string, got ' + JSON.stringify(v));
    return null;
  }
  if (v.length > 200) {
    problems.push(name + ' is longer than 200 characters');
    return null;
  }
  return v.trim();
}
const out = [];
const errors = [];
items.forEach((item, i) => {
  const j = item.json || {};
  const p = [];
  const provider = text(j, 'provider', true, p);
  const params = [
    text(j, 'workflow_name', true, p),
    count(j, 'case_id', false, p),
    provider === null ? null : provider.toLowerCase(),
    text(j, 'model', true, p),
    text(j, 'operation_type', false, p),
    count(j, 'input_tokens', true, p),
    count(j, 'cache_creation_input_tokens', false, p) ?? 0,
    count(j, 'cache_read_input_tokens', false, p) ?? 0,
    count(j, 'output_tokens', true, p),
    count(j, 'latency_ms', false, p, MAX_INT),
    j.success,
  ];
  if (typeof j.success !== 'boolean') {
    p.push('success must be true or false, got ' + JSON.stringify(j.success === undefined ? null : j.success));
  }
  if (p.length) {
    errors.push((items.length > 1 ? 'item ' + i + ': ' : '') + p.join('; '));
  }
  out.push({ json: { params }, pairedItem: { item: i } });
});
if (errors.length) {
  throw new Error('Log Token Usage: invalid input, nothing was logged: ' + errors.join(' | '));
}
return out;
"""

INSERT_SQL = """
INSERT INTO token_usage (workflow_name, case_id, provider, model, operation_type, input_tokens,
                         cache_write_tokens, cache_read_tokens, output_tokens, latency_ms, success)
VALUES ($1, $2::bigint, $3, $4, $5, $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::integer, $11::boolean)
RETURNING usage_id, cost_usd
"""

RESULT_JS = r"""
// What the caller gets back: one item per logged record.
return $input.all().map((item, i) => ({
  json: {
    usage_id: Number(item.json.usage_id),
    cost_usd: item.json.cost_usd === null || item.json.cost_usd === undefined ? null : Number(item.json.cost_usd),
    logged: true,
  },
  pairedItem: { item: i },
}));
"""


def log_token_usage() -> dict:
    wf = "log-token-usage"
    nodes = [
        node(
            wf,
            "When Executed by Another Workflow",
            "n8n-nodes-base.executeWorkflowTrigger",
            1.1,
            (0, 0),
            {"inputSource": "workflowInputs", "workflowInputs": {"values": [{"name": n, "type": t} for n, t in LOG_INPUTS]}},
        ),
        code_node(wf, "Validate Input", (220, 0), VALIDATE_JS),
        postgres_query(wf, "Insert Usage Row", (440, 0), INSERT_SQL, "={{ $json.params }}"),
        code_node(wf, "Return Result", (660, 0), RESULT_JS),
    ]
    return {
        "name": LOG_WORKFLOW_NAME,
        "nodes": nodes,
        "connections": connect(
            ("When Executed by Another Workflow", "Validate Input"), ("Validate Input", "Insert Usage Row"), ("Insert Usage Row", "Return Result")
        ),
        "settings": {"executionOrder": "v1", "callerPolicy": "workflowsFromSameOwner", "saveDataSuccessExecution": "all", "saveDataErrorExecution": "all"},
    }


# --------------------------------------------------------------------------------------------- Token Tracking
WINDOW_JS = r"""
// The trailing window re-read on every run: provider data arrives hours late and is revised, and the upsert
// makes re-reading free of duplicates. Hourly usage buckets, daily cost buckets (the only cost width offered).
const s = $input.first().json;
function int(name, min, max) {
  const v = Number(s[name]);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Error('Token Tracking: setting ' + name + ' must be an integer from ' + min + ' to ' + max +
                    ', got ' + JSON.stringify(s[name]));
  }
  return v;
}
const lookbackHours = int('lookback_hours', 1, 2232);
const costDays = int('cost_lookback_days', 1, 93);
const bool = (v) => v === true || v === 'true';
const base = (name) => {
  const v = String(s[name] || '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s]+$/.test(v)) {
    throw new Error('Token Tracking: setting ' + name + ' must be an http(s) URL, got ' + JSON.stringify(s[name]));
  }
  return v;
};
const now = new Date();
const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours() + 1));
const start = new Date(end.getTime() - (lookbackHours + 1) * 3600e3);
const dayEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
const dayStart = new Date(dayEnd.getTime() - (costDays + 1) * 86400e3);
const iso = (t) => t.toISOString().replace('.000Z', 'Z');
const unix = (t) => String(Math.floor(t.getTime() / 1000));
const query = (pairs) => pairs.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
const out = {
  anthropic_enabled: bool(s.anthropic_enabled),
  openai_enabled: bool(s.openai_enabled),
  usage_start: iso(start), usage_end: iso(end), cost_start: iso(dayStart), cost_end: iso(dayEnd),
};
if (out.anthropic_enabled) {
  const a = base('anthropic_base_url');
  out.anthropic_usage_url = a + '/v1/organizations/usage_report/messages?' + query([
    ['starting_at', iso(start)], ['ending_at', iso(end)], ['bucket_width', '1h'], ['limit', '168'],
    ['group_by[]', 'model'], ['group_by[]', 'workspace_id'], ['group_by[]', 'service_tier']]);
  out.anthropic_cost_url = a + '/v1/organizations/cost_report?' + query([
    ['starting_at', iso(dayStart)], ['ending_at', iso(dayEnd)], ['limit', '31'],
    ['group_by[]', 'workspace_id'], ['group_by[]', 'description']]);
}
if (out.openai_enabled) {
  const o = base('openai_base_url');
  out.openai_usage_url = o + '/v1/organization/usage/completions?' + query([
    ['start_time', unix(start)], ['end_time', unix(end)], ['bucket_width', '1h'], ['limit', '168'],
    ['group_by', 'model'], ['group_by', 'project_id'], ['group_by', 'service_tier']]);
  out.openai_cost_url = o + '/v1/organization/costs?' + query([
    ['start_time', unix(dayStart)], ['end_time', unix(dayEnd)], ['bucket_width', '1d'], ['limit', '180'],
    ['group_by', 'line_item'], ['group_by', 'project_id']]);
}
return [{ json: out }];
"""

NORMALISE_JS = r"""
// Every page of every enabled provider is in; map them to provider_usage / provider_cost rows. Nothing has
// been written yet, so any surprise here fails the run with nothing half-written.
function pages(name) {
  return $(name).isExecuted ? $(name).all().map((i) => i.json) : [];
}
function buckets(page, what) {
  if (!page || !Array.isArray(page.data)) {
    throw new Error('Token Tracking: unexpected ' + what + ' response (no data array): ' +
                    JSON.stringify(page).slice(0, 300));
  }
  return page.data;
}
const n = (v) => (v === undefined || v === null ? 0 : Number(v));
const usage = [];
const cost = [];
for (const page of pages('Anthropic Usage')) {
  for (const b of buckets(page, 'Anthropic usage')) {
    for (const r of b.results || []) {
      const cc = r.cache_creation || {};
      usage.push({
        provider: 'anthropic', bucket_width: '1h', bucket_start: b.starting_at, bucket_end: b.ending_at,
        model: r.model, workspace_id: r.workspace_id, service_tier: r.service_tier,
        uncached_input_tokens: n(r.uncached_input_tokens), cache_write_5m_tokens: n(cc.ephemeral_5m_input_tokens),
        cache_write_1h_tokens: n(cc.ephemeral_1h_input_tokens), cache_read_tokens: n(r.cache_read_input_tokens),
        output_tokens: n(r.output_tokens), requests: null,
      });
    }
  }
}
for (const page of pages('Anthropic Cost')) {
  for (const b of buckets(page, 'Anthropic cost')) {
    for (const r of b.results || []) {
      if (r.currency && String(r.currency).toUpperCase() !== 'USD') {
        throw new Error('Token Tracking: Anthropic cost in ' + r.currency + ', only USD is supported');
      }
      cost.push({
        provider: 'anthropic', bucket_start: b.starting_at, bucket_end: b.ending_at, workspace_id: r.workspace_id,
        line_item: r.description, model: r.model, cost_type: r.cost_type, token_type: r.token_type,
        service_tier: r.service_tier, amount: String(r.amount), unit: 'usd_cents',
      });
    }
  }
}
const ts = (sec) => new Date(Number(sec) * 1000).toISOString();
for (const page of pages('OpenAI Usage')) {
  for (const b of buckets(page, 'OpenAI usage')) {
    for (const r of b.results || []) {
      const cached = n(r.input_cached_tokens);
      usage.push({
        provider: 'openai', bucket_width: '1h', bucket_start: ts(b.start_time), bucket_end: ts(b.end_time),
        model: r.model, workspace_id: r.project_id, service_tier: r.service_tier,
        uncached_input_tokens: Math.max(n(r.input_tokens) - cached, 0), cache_write_5m_tokens: 0,
        cache_write_1h_tokens: 0, cache_read_tokens: cached, output_tokens: n(r.output_tokens),
        requests: r.num_model_requests === undefined ? null : r.num_model_requests,
      });
    }
  }
}
for (const page of pages('OpenAI Cost')) {
  for (const b of buckets(page, 'OpenAI cost')) {
    for (const r of b.results || []) {
      const amount = r.amount || {};
      if (amount.currency && String(amount.currency).toLowerCase() !== 'usd') {
        throw new Error('Token Tracking: OpenAI cost in ' + amount.currency + ', only USD is supported');
      }
      cost.push({
        provider: 'openai', bucket_start: ts(b.start_time), bucket_end: ts(b.end_time), workspace_id: r.project_id,
        line_item: r.line_item, model: null, amount: amount.value, unit: 'usd',
      });
    }
  }
}
return [{ json: { usage_rows: usage, cost_rows: cost,
                  pages: { anthropic_usage: pages('Anthropic Usage').length, anthropic_cost: pages('Anthropic Cost').length,
                           openai_usage: pages('OpenAI Usage').length, openai_cost: pages('OpenAI Cost').length } } }];
"""

UPSERT_SQL = """
SELECT u.inserted AS usage_inserted, u.updated AS usage_updated, u.unchanged AS usage_unchanged,
       c.inserted AS cost_inserted, c.updated AS cost_updated, c.unchanged AS cost_unchanged
  FROM kpi_upsert_provider_usage($1::jsonb) AS u, kpi_upsert_provider_cost($2::jsonb) AS c
"""

CLAIM_SQL = """
SELECT budget_name, provider, budget_type, period_start::text AS period_start, period_end::text AS period_end,
       threshold_pct::text AS threshold_pct, utilization_pct::text AS utilization_pct,
       tokens_used::text AS tokens_used, token_limit::text AS token_limit, cost_used_usd::text AS cost_used_usd,
       cost_limit_usd::text AS cost_limit_usd, projected_exhaustion_date::text AS projected_exhaustion_date,
       days_remaining
  FROM kpi_claim_budget_alerts()
"""

FORMAT_JS = r"""
// One Slack message per claimed alert: utilisation, projected exhaustion and a link to the dashboard.
const settings = $('Alert Settings').first().json;
const dashboard = String(settings.dashboard_url || '').trim();
const channel = String(settings.slack_channel || '').trim();
const num = (v) => (v === null || v === undefined || v === '' ? null : Number(v));
const fmt = (v, digits) => (v === null ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));
const out = [];
$input.all().forEach((item, i) => {
  const a = item.json;
  if (!a.budget_name) return;  // the claim query returned no alert
  const full = num(a.threshold_pct) >= 100;
  const util = num(a.utilization_pct);
  const lines = [
    (full ? ':rotating_light: Token budget *' + a.budget_name + '* is used up: '
          : ':warning: Token budget *' + a.budget_name + '* crossed its alert threshold of ' + fmt(num(a.threshold_pct), 2) + ' %: ') +
      fmt(util, 2) + ' % used.',
    'Provider: ' + (a.provider || 'all') + ' | ' + a.budget_type + ' period ' + a.period_start + ' to ' + a.period_end,
    'Tokens: ' + fmt(num(a.tokens_used), 0) + ' of ' + fmt(num(a.token_limit), 0) +
      (a.cost_limit_usd ? ' | Cost: $' + fmt(num(a.cost_used_usd), 2) + ' of $' + fmt(num(a.cost_limit_usd), 2) : ''),
    'Projected exhaustion: ' + (a.projected_exhaustion_date
      ? a.projected_exhaustion_date + (a.days_remaining !== null ? ' (' + a.days_remaining + ' days)' : '')
      : 'not projected'),
  ];
  if (dashboard) lines.push('Dashboard: ' + dashboard);
  out.push({ json: { alert: a, slack: { channel, text: lines.join('\n'), unfurl_links: false } }, pairedItem: { item: i } });
});
return out;
"""

FINISH_SQL = "SELECT kpi_finish_budget_alert($1, $2::date, $3::numeric, {sent}) AS finished"
# The claim released, with what Slack answered (for the execution's error message).
RELEASE_SQL = "SELECT kpi_finish_budget_alert($1, $2::date, $3::numeric, false) AS finished, $4::text AS slack_error"
SLACK_URL = "={{ String($('Alert Settings').first().json.slack_api_url || '').trim().replace(/\\/+$/, '') + '/chat.postMessage' }}"
# What Slack said: Web API errors are HTTP 200 with ok=false and an error code; a transport error (HTTP 429 or 5xx
# after the node's tries, timeout) reaches the node's error output with n8n's message.
SLACK_ERROR = (
    "(typeof $json.error === 'string' ? $json.error : ($json.error && $json.error.message) || "
    "'no answer from Slack') + ($json.ok === false ? ' (Slack answered ok=false)' : '')"
)


def http_get(wf, name, position, url_expr, credential_type, credential_name, extra_headers=None):
    params = {
        "url": url_expr,
        "authentication": "genericCredentialType",
        "genericAuthType": credential_type,
        "options": {
            "pagination": {
                "pagination": {
                    "parameters": {"parameters": [{"type": "qs", "name": "page", "value": "={{ $response.body.next_page }}"}]},
                    "paginationCompleteWhen": "other",
                    "completeExpression": "={{ !$response.body.has_more }}",
                    "limitPagesFetched": True,
                    "maxRequests": 100,
                }
            },
            "timeout": 60000,
        },
    }
    if extra_headers:
        params["sendHeaders"] = True
        params["headerParameters"] = {"parameters": [{"name": k, "value": v} for k, v in extra_headers]}
    return node(
        wf,
        name,
        "n8n-nodes-base.httpRequest",
        4.2,
        position,
        params,
        credentials={credential_type: {"name": credential_name}},
        executeOnce=True,
        retryOnFail=True,
        maxTries=3,
        waitBetweenTries=3000,
    )


def token_tracking() -> dict:
    wf = "token-tracking"
    tw = "$('Time Window').first().json"
    nodes = [
        node(
            wf,
            "Every Hour",
            "n8n-nodes-base.scheduleTrigger",
            1.2,
            (0, 0),
            {"rule": {"interval": [{"field": "hours", "hoursInterval": 1, "triggerAtMinute": 7}]}},
        ),
        set_node(wf, "Usage Settings", (220, 0), USAGE_SETTINGS),
        code_node(wf, "Time Window", (440, 0), WINDOW_JS),
        if_true(wf, "Anthropic Enabled?", (660, 0), "={{ $json.anthropic_enabled }}"),
        http_get(
            wf,
            "Anthropic Usage",
            (880, -100),
            "={{ %s.anthropic_usage_url }}" % tw,
            "httpHeaderAuth",
            ANTHROPIC_CREDENTIAL,
            [("anthropic-version", "2023-06-01")],
        ),
        http_get(
            wf,
            "Anthropic Cost",
            (1100, -100),
            "={{ %s.anthropic_cost_url }}" % tw,
            "httpHeaderAuth",
            ANTHROPIC_CREDENTIAL,
            [("anthropic-version", "2023-06-01")],
        ),
        if_true(wf, "OpenAI Enabled?", (1320, 0), "={{ %s.openai_enabled }}" % tw),
        http_get(wf, "OpenAI Usage", (1540, -100), "={{ %s.openai_usage_url }}" % tw, "httpBearerAuth", OPENAI_CREDENTIAL),
        http_get(wf, "OpenAI Cost", (1760, -100), "={{ %s.openai_cost_url }}" % tw, "httpBearerAuth", OPENAI_CREDENTIAL),
        code_node(wf, "Normalise Usage", (1980, 0), NORMALISE_JS, executeOnce=True),
        postgres_query(wf, "Upsert Provider Usage", (2200, 0), UPSERT_SQL, "={{ [JSON.stringify($json.usage_rows), JSON.stringify($json.cost_rows)] }}"),
        node(wf, "Every 5 Minutes", "n8n-nodes-base.scheduleTrigger", 1.2, (0, 400), {"rule": {"interval": [{"field": "minutes", "minutesInterval": 5}]}}),
        set_node(wf, "Alert Settings", (220, 400), ALERT_SETTINGS),
        if_true(
            wf,
            "Slack Configured?",
            (440, 400),
            "={{ ($json.alerts_enabled === true || $json.alerts_enabled === 'true') && String($json.slack_channel || '').trim() !== '' }}",
        ),
        postgres_query(wf, "Claim Budget Alerts", (660, 400), CLAIM_SQL, "", executeOnce=True),
        code_node(wf, "Format Alert", (880, 400), FORMAT_JS),
        node(
            wf,
            "Post to Slack",
            "n8n-nodes-base.httpRequest",
            4.2,
            (1100, 400),
            {
                "method": "POST",
                "url": SLACK_URL,
                "authentication": "predefinedCredentialType",
                "nodeCredentialType": "slackApi",
                "sendBody": True,
                "specifyBody": "json",
                "jsonBody": "={{ JSON.stringify($json.slack) }}",
                "options": {"timeout": 30000},
            },
            credentials={"slackApi": {"name": SLACK_CREDENTIAL}},
            retryOnFail=True,
            maxTries=3,
            waitBetweenTries=2000,
            onError="continueErrorOutput",
        ),
        if_true(wf, "Slack Accepted?", (1320, 300), "={{ $json.ok === true }}"),
        postgres_query(
            wf,
            "Mark Sent",
            (1540, 200),
            FINISH_SQL.format(sent="true"),
            "={{ [$('Format Alert').item.json.alert.budget_name, $('Format Alert').item.json.alert.period_start, "
            "$('Format Alert').item.json.alert.threshold_pct] }}",
        ),
        postgres_query(
            wf,
            "Release Claim",
            (1540, 500),
            RELEASE_SQL,
            "={{ [$('Format Alert').item.json.alert.budget_name, $('Format Alert').item.json.alert.period_start, "
            "$('Format Alert').item.json.alert.threshold_pct, %s] }}" % SLACK_ERROR,
        ),
        node(
            wf,
            "Slack Post Failed",
            "n8n-nodes-base.stopAndError",
            1,
            (1760, 500),
            {
                "errorMessage": "={{ 'Token Tracking: posting a budget alert to Slack failed: ' + $json.slack_error + "
                "'; the alert stays due and is retried by the next run' }}"
            },
        ),
    ]
    connections = connect(
        ("Every Hour", "Usage Settings"),
        ("Usage Settings", "Time Window"),
        ("Time Window", "Anthropic Enabled?"),
        ("Anthropic Enabled?", "Anthropic Usage", 0),
        ("Anthropic Enabled?", "OpenAI Enabled?", 1),
        ("Anthropic Usage", "Anthropic Cost"),
        ("Anthropic Cost", "OpenAI Enabled?"),
        ("OpenAI Enabled?", "OpenAI Usage", 0),
        ("OpenAI Enabled?", "Normalise Usage", 1),
        ("OpenAI Usage", "OpenAI Cost"),
        ("OpenAI Cost", "Normalise Usage"),
        ("Normalise Usage", "Upsert Provider Usage"),
        ("Every 5 Minutes", "Alert Settings"),
        ("Alert Settings", "Slack Configured?"),
        ("Slack Configured?", "Claim Budget Alerts", 0),
        ("Claim Budget Alerts", "Format Alert"),
        ("Format Alert", "Post to Slack"),
        ("Post to Slack", "Slack Accepted?", 0),
        ("Post to Slack", "Release Claim", 1),
        ("Slack Accepted?", "Mark Sent", 0),
        ("Slack Accepted?", "Release Claim", 1),
        ("Release Claim", "Slack Post Failed"),
    )
    return {
        "name": TRACKER_WORKFLOW_NAME,
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1", "timezone": "UTC", "saveDataSuccessExecution": "all", "saveDataErrorExecution": "all"},
    }


FILES = {
    "log-token-usage-workflow.json": log_token_usage,
    "token-tracking-workflow.json": token_tracking,
}


def render(builder) -> str:
    return json.dumps(builder(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed file differs from the generator")
    args = parser.parse_args(argv)
    stale = []
    for name, builder in FILES.items():
        path = OUT / name
        text = render(builder)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(REPO)))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("stale (run tools/build_n8n_workflows.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

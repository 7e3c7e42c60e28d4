#!/usr/bin/env python
"""Scale benchmark of the KPI data model: dashboard query latency, result identity, token-logging throughput.

Starts its own PostgreSQL 15 (127.0.0.1, free port, stopped by PID), applies files/sql in order, loads
--scale x (50,000 cases/day on average x --days) cases plus ~2.1 token_usage rows per case with generate_series in SQL
(rollup triggers active), then:

1. batched token logging: --log-batches INSERTs of 1,000 rows (execute_values, one transaction each) with
   every trigger active (cost looked up from api_pricing per row, rollups updated per statement) -> rows/s;
   also single-row inserts (one per transaction, the n8n per-request style) and a 1,000-case UPDATE;
2. every view queried as the Grafana dashboard would (as the read-only role, windows last 24 h / 7 / 30 /
   90 days, --repeat times each) -> p50 / p95 ms;
3. each view result compared with a straightforward reference query on the base tables, both in one
   REPEATABLE READ snapshot -> IDENTICAL or a diff.

It prints measured numbers; it asserts no timings. Exit status 1 only if a result differs.

    .venv/bin/python bench/kpi_bench.py --scale 0.05
    .venv/bin/python bench/kpi_bench.py --scale 1.0 --repeat 20      # one year at 50k cases/day
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import signal
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql as psql
from psycopg2.extras import execute_values

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
import pgserver  # noqa: E402  (tests/pgserver.py: the throwaway PostgreSQL of tests, bench and demo)
from kpi_sql import schema_files  # noqa: E402  (the order roles/kpi_database applies files/sql in)
from kpi_schema_state import RELEASE_010  # noqa: E402  (release 0.1.0's SQL, kept as a test fixture)

REPO = Path(__file__).resolve().parent.parent

# Bulk-load friendly but query-realistic: work_mem stays at its default (what Grafana's sessions get).
SERVER_SETTINGS = {
    "shared_buffers": "2GB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "jit": "off",  # JIT compile time (100+ ms) dwarfs these queries; typical OLTP setting
}
SQL_DIR = REPO / "files" / "sql"
READER = "kpi_grafana_reader"
CASES_PER_DAY_FULL = 50_000  # on average over the week: Monday 1.15 ... Sunday 0.45 of a plain weekday
WEEKDAY_FACTORS = [1.15, 1.10, 1.05, 1.00, 0.95, 0.55, 0.45]  # ISO weekday 1..7 (Monday first), used by LOAD_CASES
WINDOWS = [1, 7, 30, 90]

# ------------------------------------------------------------------------------------------------- load

LOAD_CASES = """
INSERT INTO cases (created_at, resolved_at, status, resolution_path, category, first_contact_resolved,
                   ai_confidence, ai_outcome, csat_score, escalation_reason, handling_minutes)
SELECT created_at,
       CASE WHEN resolved_at <= now() THEN resolved_at END,
       CASE WHEN resolved_at > now() THEN (CASE path WHEN 'escalated' THEN 'escalated' ELSE 'open' END)
            WHEN r_status < 0.3 THEN 'closed' ELSE 'resolved' END,
       path, category,
       path = 'self_service' AND resolved_at <= now() AND r_fcr < 0.9,
       conf,
       CASE WHEN r_outcome < 0.03 THEN NULL
            WHEN r_outcome < conf THEN 'approved'
            WHEN r_outcome < conf + (1 - conf) * 0.6 THEN 'edited' ELSE 'rejected' END,
       CASE WHEN resolved_at <= now() AND r_csat < 0.7 THEN least(5, 1 + floor(r_csat2 * 5.6))::smallint END,
       CASE WHEN path = 'escalated'
            THEN (ARRAY['refund_over_limit','lost_package','identity_verification','bug_report','damaged_item',
                        'warranty_claim','legal_request','account_locked','disputed_charge','integration_error',
                        'gdpr_request','customs_hold'])[1 + floor(r_reason * r_reason * 12)::int] END,
       CASE path WHEN 'collaborative' THEN round((5 + r_handle * 12)::numeric, 2)
                 WHEN 'escalated' THEN round((20 + r_handle * 70)::numeric, 2) END
  FROM (
    SELECT created_at,
           created_at + make_interval(secs => CASE path WHEN 'self_service' THEN 120 + r_res * 600
                                                      WHEN 'collaborative' THEN 600 + r_res * 3000
                                                      ELSE 3600 + r_res * 120000 END) AS resolved_at,
           path, category, r_status, r_fcr, r_outcome, r_csat, r_csat2, r_reason, r_handle,
           round((CASE path WHEN 'self_service' THEN 0.70 + r_conf * 0.30
                            WHEN 'collaborative' THEN 0.40 + r_conf * 0.50
                            ELSE 0.10 + r_conf * 0.60 END)::numeric, 3) AS conf
      FROM (
        SELECT created_at, r_res, r_status, r_fcr, r_outcome, r_csat, r_csat2, r_reason, r_handle, r_conf,
               CASE WHEN r_path < 0.65 THEN 'self_service' WHEN r_path < 0.90 THEN 'collaborative'
                    ELSE 'escalated' END AS path,
               (ARRAY['billing','billing','shipping','shipping','account','technical','returns','product',
                      'compliance','billing'])[1 + floor(r_cat * 10)::int] AS category
          FROM (
            SELECT d.day + make_interval(secs => (random() * 86399)::int) AS created_at,
                   random() AS r_path, random() AS r_cat,
                   random() AS r_res, random() AS r_status, random() AS r_fcr, random() AS r_outcome,
                   random() AS r_csat, random() AS r_csat2, random() AS r_reason, random() AS r_handle,
                   random() AS r_conf
              FROM generate_series(%(d_from)s::date, %(d_to)s::date, interval '1 day') AS d(day)
             CROSS JOIN LATERAL generate_series(1, round(%(weekday_mean)s * (%(weekday_factors)s::numeric[])
                                                                       [extract(isodow FROM d.day)::int])::int) g
            OFFSET 0) x0
        OFFSET 0) x
    OFFSET 0) y
 WHERE created_at <= now()
RETURNING case_id, created_at, resolution_path
"""

# Bulk token rows: total_tokens and cost_usd computed in SQL exactly as the row trigger would (price in effect
# at recorded_at), so the per-row trigger's WHEN clause skips it; the rollup triggers stay active.
LOAD_TOKENS = """
INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model, operation_type, input_tokens,
                         output_tokens, total_tokens, cost_usd, latency_ms, success)
SELECT t.recorded_at, t.workflow_name, t.case_id, t.provider, t.model, t.op, t.input_tokens, t.output_tokens,
       t.input_tokens + t.output_tokens,
       round((t.input_tokens * p.input_price_per_million + t.output_tokens * p.output_price_per_million)
             / 1000000, 6),
       t.latency_ms, t.success
  FROM (
    SELECT c.case_id, c.created_at + s * interval '4 seconds' AS recorded_at,
           (ARRAY['workflow-1-intake', 'workflow-2-triage', 'workflow-4-escalation'])[s] AS workflow_name,
           CASE WHEN s = 2 AND c.case_id %% 5 = 0 THEN 'openai' ELSE 'anthropic' END AS provider,
           CASE s WHEN 1 THEN 'claude-haiku-3-5'
                  WHEN 2 THEN CASE WHEN c.case_id %% 5 = 0 THEN 'gpt-4o' ELSE 'claude-sonnet-4' END
                  ELSE 'claude-opus-4' END AS model,
           (ARRAY['intake', 'triage', 'escalation'])[s] AS op,
           (500 + (c.case_id * 7919 + s * 104729) %% 3000)::bigint AS input_tokens,
           (80 + (c.case_id * 6271 + s * 7) %% 700)::bigint AS output_tokens,
           (300 + (c.case_id * 31 + s) %% 5000)::int AS latency_ms,
           (c.case_id + s) %% 250 <> 0 AS success
      FROM new_cases c
     CROSS JOIN LATERAL generate_series(1, CASE WHEN c.resolution_path = 'escalated' THEN 3 ELSE 2 END) s
  ) t
  LEFT JOIN LATERAL (SELECT input_price_per_million, output_price_per_million FROM api_pricing ap
                      WHERE ap.provider = t.provider AND ap.model = t.model AND ap.effective_from <= t.recorded_at
                      ORDER BY ap.effective_from DESC LIMIT 1) p ON true
 WHERE t.recorded_at <= now()
"""

SETUP_EXTRA = """
INSERT INTO kb_articles (title, category, is_published)
SELECT format('%%s article %%s', c, g), c, g %% 4 <> 0
  FROM unnest(ARRAY['billing','shipping','account','technical','returns']) c, generate_series(1, 1 + length(c) %% 4) g;
INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, cost_limit_usd, period_start, period_end)
VALUES ('Anthropic Monthly', 'anthropic', 'monthly', %(monthly)s, %(monthly_cost)s,
        date_trunc('month', CURRENT_DATE)::date, (date_trunc('month', CURRENT_DATE) + interval '1 month - 1 day')::date),
       ('OpenAI Monthly', 'openai', 'monthly', %(monthly_openai)s, NULL,
        date_trunc('month', CURRENT_DATE)::date, (date_trunc('month', CURRENT_DATE) + interval '1 month - 1 day')::date),
       ('All Providers Daily', NULL, 'daily', %(daily)s, NULL, CURRENT_DATE, CURRENT_DATE),
       ('Anthropic Weekly', 'anthropic', 'weekly', %(weekly)s, NULL, CURRENT_DATE - 6, CURRENT_DATE);
"""

# ------------------------------------------------------------------------------------------------- queries
# Reference queries: straightforward SQL on the base tables (cases, token_usage, kb_articles, token_budgets,
# baseline_config), written independently of the rollups. {start} = first day of the dashboard window.

BASELINE = """baseline AS (
    SELECT coalesce(max(config_value) FILTER (WHERE config_key = 'manual_cost_per_case'), 25.00) AS manual_cost,
           coalesce(max(config_value) FILTER (WHERE config_key = 'hourly_support_cost'), 40.00) AS hourly,
           coalesce(max(config_value) FILTER (WHERE config_key = 'manual_minutes_per_case'), 30) AS manual_minutes,
           coalesce(max(config_value) FILTER (WHERE config_key = 'monthly_platform_cost'), 500.00) AS platform
      FROM baseline_config)"""

WINDOW_START = "(now() - interval '{days} days')::date"

DASHBOARD = {
    "daily_kpi": ("SELECT {cols} FROM v_daily_kpi WHERE metric_date >= {start} ORDER BY metric_date", "v_daily_kpi"),
    "daily_kpi_by_category": (
        "SELECT {cols} FROM v_daily_kpi_by_category WHERE metric_date >= {start} ORDER BY metric_date, category",
        "v_daily_kpi_by_category",
    ),
    "confidence_daily": ("SELECT {cols} FROM v_confidence_daily WHERE metric_date >= {start} ORDER BY metric_date, confidence_bucket", "v_confidence_daily"),
    "token_daily": ("SELECT {cols} FROM v_token_daily WHERE usage_date >= {start} ORDER BY usage_date, provider, model, workflow_name", "v_token_daily"),
    "cost_comparison_daily": ("SELECT {cols} FROM v_cost_comparison_daily WHERE metric_date >= {start} ORDER BY metric_date", "v_cost_comparison_daily"),
    "escalation_reasons_daily": (
        "SELECT {cols} FROM v_escalation_reasons_daily WHERE metric_date >= {start} ORDER BY metric_date, escalation_reason, category",
        "v_escalation_reasons_daily",
    ),
    "executive_summary": ("SELECT {cols} FROM v_executive_summary", "v_executive_summary"),
    "budget_utilization": ("SELECT {cols} FROM v_budget_utilization ORDER BY budget_name", "v_budget_utilization"),
    "top_escalation_reasons": ("SELECT {cols} FROM v_top_escalation_reasons ORDER BY rank", "v_top_escalation_reasons"),
    "kb_coverage_gaps": ("SELECT {cols} FROM v_kb_coverage_gaps ORDER BY category", "v_kb_coverage_gaps"),
    "low_confidence_categories": ("SELECT {cols} FROM v_low_confidence_categories ORDER BY category", "v_low_confidence_categories"),
    "recurring_issues": ("SELECT {cols} FROM v_recurring_issues ORDER BY category, escalation_reason", "v_recurring_issues"),
    "kpi_targets": ("SELECT {cols} FROM v_kpi_targets ORDER BY kpi_key", "v_kpi_targets"),
}
WINDOWED = {"daily_kpi", "daily_kpi_by_category", "confidence_daily", "token_daily", "cost_comparison_daily", "escalation_reasons_daily"}

CASE_DAY = """
    SELECT created_at::date AS d, count(*) AS n,
           count(*) FILTER (WHERE status IN ('resolved', 'closed')) AS resolved,
           count(*) FILTER (WHERE resolution_path = 'escalated') AS escalated,
           count(*) FILTER (WHERE resolution_path = 'collaborative') AS collaborative,
           count(*) FILTER (WHERE resolution_path = 'self_service') AS self_service,
           count(*) FILTER (WHERE first_contact_resolved) AS fcr,
           avg(extract(epoch FROM resolved_at - created_at))
               FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL) AS avg_res_s,
           avg(csat_score) AS csat,
           count(csat_score) AS csat_n, sum(csat_score) AS csat_sum,
           count(*) FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL) AS timed,
           sum(extract(epoch FROM resolved_at - created_at))
               FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL) AS res_s_sum,
           count(ai_outcome) AS reviewed,
           count(*) FILTER (WHERE ai_outcome = 'approved') AS approved,
           count(*) FILTER (WHERE ai_outcome = 'edited') AS edited,
           count(*) FILTER (WHERE ai_outcome = 'rejected') AS rejected,
           avg(ai_confidence) AS conf,
           sum(ai_confidence) FILTER (WHERE ai_outcome IS NOT NULL) AS calib_conf_sum,
           count(*) FILTER (WHERE ai_confidence IS NOT NULL AND ai_outcome = 'approved') AS calib_approved,
           count(*) FILTER (WHERE ai_confidence IS NOT NULL AND ai_outcome IS NOT NULL) AS calib_n,
           coalesce(sum(handling_minutes), 0) AS handling,
           count(*) FILTER (WHERE resolution_path IN ('collaborative', 'escalated')
                               OR ai_outcome IN ('edited', 'rejected')) AS human_n,
           count(*) FILTER (WHERE resolution_path = 'self_service'
                              AND ai_outcome IS DISTINCT FROM 'edited' AND ai_outcome IS DISTINCT FROM 'rejected') AS selfs
      FROM cases WHERE created_at >= {start}::timestamptz GROUP BY 1"""

# Every calendar day from the first day with cases or AI spend (base tables) to today.
SPAN = """span AS (
    SELECT least((SELECT min(created_at) FROM cases)::date, (SELECT min(recorded_at) FROM token_usage)::date) AS f,
           greatest(CURRENT_DATE, (SELECT max(created_at) FROM cases)::date,
                    (SELECT max(recorded_at) FROM token_usage)::date) AS l)"""
PLATFORM_DAY = "b.platform / extract(day FROM date_trunc('month', {d}) + interval '1 month - 1 day')"

REFERENCE = {
    "daily_kpi": f"""
WITH {BASELINE}, c AS ({CASE_DAY}),
t AS (SELECT recorded_at::date AS d, sum(cost_usd) AS ai FROM token_usage
       WHERE recorded_at >= {{start}}::timestamptz GROUP BY 1),
kb AS (SELECT created_at::date AS d, least(floor(ai_confidence * 10), 9) AS bucket, sum(ai_confidence) AS conf,
              count(*) FILTER (WHERE ai_outcome = 'approved') AS ok, count(*) AS n
         FROM cases WHERE created_at >= {{start}}::timestamptz AND ai_confidence IS NOT NULL AND ai_outcome IS NOT NULL
        GROUP BY 1, 2),
k AS (SELECT d, sum(abs(conf - ok)) AS gap, sum(n) AS n FROM kb GROUP BY d),
x AS (SELECT c.*, coalesce(t.ai, 0) AS ai, c.handling / 60 * b.hourly AS human, c.resolved * b.manual_cost AS manual,
             c.resolved * b.manual_minutes AS manual_min, k.gap AS ece_gap, k.n AS ece_n,
             {PLATFORM_DAY.format(d="c.d")} AS platform
        FROM c LEFT JOIN t USING (d) LEFT JOIN k USING (d) CROSS JOIN baseline b)
SELECT d, n, resolved, escalated, collaborative, self_service,
       round(100.0 * resolved / n, 2), round(100.0 * fcr / n, 2),
       round(100.0 * selfs / nullif(selfs + human_n, 0), 2), round(100.0 * human_n / nullif(selfs + human_n, 0), 2),
       round(100.0 * escalated / n, 2),
       round(avg_res_s / 60, 2), round(csat, 2),
       round(100.0 * approved / nullif(reviewed, 0), 2), round(100.0 * edited / nullif(reviewed, 0), 2),
       round(100.0 * rejected / nullif(reviewed, 0), 2), round(conf, 3),
       round(100 * ece_gap / nullif(ece_n, 0), 2),
       round((manual_min - handling) / 60, 2), round(manual, 2), round(ai, 2), round(human, 2),
       round(ai + human + platform, 2), round((ai + human + platform) / n, 2), round(ai / n, 2),
       round(manual - (ai + human + platform), 2),
       round(100 * (manual - (ai + human + platform)) / nullif(ai + platform, 0), 2),
       csat_n, csat_sum, timed, round(res_s_sum / 60, 4), fcr, reviewed, round(handling, 2)
  FROM x ORDER BY d""",
    # AI spend of token rows with a case_id goes to that case's category, the rest and the platform cost by
    # case share; a day without cases has one 'unassigned' row.
    "daily_kpi_by_category": f"""
WITH {BASELINE}, {SPAN},
days AS (SELECT g::date AS d FROM span, generate_series(greatest(span.f, {{start}}), span.l, interval '1 day') g),
c AS (SELECT created_at::date AS d, category, count(*) AS n,
             count(*) FILTER (WHERE status IN ('resolved', 'closed')) AS resolved,
             count(*) FILTER (WHERE resolution_path IN ('collaborative', 'escalated')
                                 OR ai_outcome IN ('edited', 'rejected')) AS human,
             count(*) FILTER (WHERE resolution_path = 'self_service' AND ai_outcome IS DISTINCT FROM 'edited'
                                AND ai_outcome IS DISTINCT FROM 'rejected') AS selfs,
             coalesce(sum(handling_minutes), 0) AS handling
        FROM cases WHERE created_at >= {{start}}::timestamptz GROUP BY 1, 2),
ct AS (SELECT tu.recorded_at::date AS d, c.category, coalesce(sum(tu.cost_usd), 0) AS carried
         FROM token_usage tu JOIN cases c ON c.case_id = tu.case_id
        WHERE tu.recorded_at >= {{start}}::timestamptz GROUP BY 1, 2),
t AS (SELECT recorded_at::date AS d, coalesce(sum(cost_usd), 0) AS ai FROM token_usage
       WHERE recorded_at >= {{start}}::timestamptz GROUP BY 1),
dn AS (SELECT d, sum(n) AS day_n FROM c GROUP BY d),
dc AS (SELECT d, sum(carried) AS day_carried FROM ct GROUP BY d),
keys AS (SELECT d, category FROM c UNION SELECT d, category FROM ct),
r AS (SELECT k.d, k.category, coalesce(c.n, 0) AS n, coalesce(c.resolved, 0) AS resolved, coalesce(c.human, 0) AS human,
             coalesce(c.selfs, 0) AS selfs, coalesce(c.handling, 0) AS handling,
             coalesce(ct.carried, 0) + CASE WHEN coalesce(dn.day_n, 0) > 0
                 THEN (coalesce(t.ai, 0) - coalesce(dc.day_carried, 0)) * coalesce(c.n, 0) / dn.day_n ELSE 0 END AS ai,
             CASE WHEN coalesce(dn.day_n, 0) > 0
                  THEN {PLATFORM_DAY.format(d="k.d")} * coalesce(c.n, 0) / dn.day_n ELSE 0 END AS pf
        FROM keys k LEFT JOIN c USING (d, category) LEFT JOIN ct USING (d, category) LEFT JOIN dn USING (d)
        LEFT JOIN dc USING (d) LEFT JOIN t USING (d) CROSS JOIN baseline b
      UNION ALL
      SELECT days.d, 'unassigned', 0, 0, 0, 0, 0, coalesce(t.ai, 0) - coalesce(dc.day_carried, 0),
             {PLATFORM_DAY.format(d="days.d")}
        FROM days LEFT JOIN t USING (d) LEFT JOIN dc USING (d) CROSS JOIN baseline b
       WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.d = days.d))
SELECT r.d, r.category, r.n, r.resolved, round(100.0 * r.selfs / nullif(r.selfs + r.human, 0), 2),
       round((r.resolved * b.manual_minutes - r.handling) / 60, 2), round(r.resolved * b.manual_cost, 2),
       round(r.ai + r.handling / 60 * b.hourly + r.pf, 2),
       round(r.resolved * b.manual_cost - (r.ai + r.handling / 60 * b.hourly + r.pf), 2)
  FROM r CROSS JOIN baseline b
 ORDER BY r.d, r.category""",
    "confidence_daily": """
SELECT created_at::date, (least(floor(ai_confidence * 10), 9) / 10)::numeric(2,1) AS b, count(*),
       count(*) FILTER (WHERE ai_outcome = 'approved'), count(*) FILTER (WHERE ai_outcome = 'edited'),
       count(*) FILTER (WHERE ai_outcome = 'rejected'), count(ai_outcome),
       coalesce(sum(ai_confidence) FILTER (WHERE ai_outcome IS NOT NULL), 0)
  FROM cases WHERE created_at >= {start}::timestamptz AND ai_confidence IS NOT NULL
 GROUP BY 1, 2 ORDER BY 1, 2""",
    "token_daily": """
SELECT recorded_at::date, provider, model, workflow_name, count(*), sum(input_tokens), sum(output_tokens),
       sum(total_tokens), round(coalesce(sum(cost_usd), 0), 2)
  FROM token_usage WHERE recorded_at >= {start}::timestamptz
 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""",
    "cost_comparison_daily": f"""
WITH {BASELINE}, {SPAN},
days AS (SELECT g::date AS d FROM span, generate_series(span.f, span.l, interval '1 day') g),
c AS (SELECT created_at::date AS d, count(*) FILTER (WHERE status IN ('resolved', 'closed')) AS resolved,
             coalesce(sum(handling_minutes), 0) AS handling FROM cases GROUP BY 1),
t AS (SELECT recorded_at::date AS d, sum(cost_usd) AS ai FROM token_usage GROUP BY 1),
x AS (SELECT days.d, coalesce(c.resolved, 0) * b.manual_cost AS manual,
             coalesce(t.ai, 0) + coalesce(c.handling, 0) / 60 * b.hourly + {PLATFORM_DAY.format(d="days.d")} AS actual
        FROM days LEFT JOIN c USING (d) LEFT JOIN t USING (d) CROSS JOIN baseline b),
y AS (SELECT d, manual, actual, sum(manual - actual) OVER (ORDER BY d) AS cum FROM x)
SELECT d, round(manual, 2), round(actual, 2), round(manual - actual, 2), round(cum, 2)
  FROM y WHERE d >= {{start}} ORDER BY d""",
    "escalation_reasons_daily": """
SELECT created_at::date, coalesce(escalation_reason, 'unspecified') AS r, category, count(*)
  FROM cases WHERE created_at >= {start}::timestamptz AND resolution_path = 'escalated'
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    "budget_utilization": """
WITH b AS (SELECT *, greatest(extract(epoch FROM least(now(), (period_end + 1)::timestamptz)
                                                - period_start::timestamptz) / 3600, 0) AS hours
             FROM token_budgets WHERE is_active),
u AS (SELECT b.budget_id, coalesce(sum(tu.total_tokens), 0) AS used, coalesce(sum(tu.cost_usd), 0) AS cost
        FROM b LEFT JOIN token_usage tu
          ON tu.recorded_at >= b.period_start::timestamptz AND tu.recorded_at < (b.period_end + 1)::timestamptz
         AND (b.provider IS NULL OR tu.provider = b.provider)
       GROUP BY b.budget_id),
daily AS (SELECT b.budget_id, tu.recorded_at::date AS d, sum(tu.total_tokens) AS tokens
            FROM b JOIN token_usage tu
              ON tu.recorded_at >= b.period_start::timestamptz AND tu.recorded_at < (b.period_end + 1)::timestamptz
             AND (b.provider IS NULL OR tu.provider = b.provider)
           GROUP BY 1, 2),
run AS (SELECT budget_id, d, sum(tokens) OVER (PARTITION BY budget_id ORDER BY d) AS cum FROM daily),
p AS (SELECT b.*, u.used, u.cost, u.used::numeric / nullif(b.hours, 0) AS per_hour,
             (SELECT min(r.d) FROM run r WHERE r.budget_id = b.budget_id AND r.cum >= b.token_limit) AS out_on
        FROM b JOIN u USING (budget_id)),
q AS (SELECT p.*, CASE WHEN used >= token_limit THEN out_on
                       WHEN CURRENT_DATE NOT BETWEEN period_start AND period_end OR coalesce(per_hour, 0) = 0 THEN NULL
                       ELSE (now() + (token_limit - used) / per_hour * interval '1 hour')::date END AS proj
        FROM p)
SELECT budget_name, provider, budget_type, period_start, period_end, token_limit, used,
       round(100.0 * used / token_limit, 2), round(cost_limit_usd, 2), round(cost, 2),
       round(100 * cost / cost_limit_usd, 2), round(per_hour * 24, 0), proj, proj - CURRENT_DATE,
       coalesce(proj <= period_end, false)
  FROM q ORDER BY budget_name""",
    "top_escalation_reasons": """
WITH e AS (SELECT coalesce(escalation_reason, 'unspecified') AS r, category, count(*) AS n FROM cases
            WHERE resolution_path = 'escalated' AND created_at >= (CURRENT_DATE - 29)::timestamptz
              AND created_at < (CURRENT_DATE + 1)::timestamptz GROUP BY 1, 2),
r AS (SELECT r, sum(n) AS n FROM e GROUP BY r)
SELECT r.r, r.n, round(100.0 * r.n / (SELECT sum(n) FROM r), 2),
       (SELECT category FROM e WHERE e.r = r.r ORDER BY n DESC, category LIMIT 1),
       row_number() OVER (ORDER BY r.n DESC, r.r)
  FROM r ORDER BY 5""",
    "kb_coverage_gaps": """
WITH c AS (SELECT category, count(*) AS n,
                  count(*) FILTER (WHERE resolution_path = 'self_service' AND ai_outcome IS DISTINCT FROM 'edited'
                                     AND ai_outcome IS DISTINCT FROM 'rejected') AS ss,
                  count(*) FILTER (WHERE resolution_path IN ('collaborative', 'escalated')
                                      OR ai_outcome IN ('edited', 'rejected')) AS hn
             FROM cases WHERE created_at >= (CURRENT_DATE - 29)::timestamptz
              AND created_at < (CURRENT_DATE + 1)::timestamptz GROUP BY 1),
e AS (SELECT category, coalesce(escalation_reason, 'unspecified') AS r, count(*) AS n FROM cases
       WHERE resolution_path = 'escalated' AND created_at >= (CURRENT_DATE - 29)::timestamptz
         AND created_at < (CURRENT_DATE + 1)::timestamptz GROUP BY 1, 2)
SELECT c.category, c.n, round(100.0 * c.ss / nullif(c.ss + c.hn, 0), 2),
       (SELECT count(*) FROM kb_articles k WHERE k.category = c.category AND k.is_published),
       round(c.hn::numeric
             / ((SELECT count(*) FROM kb_articles k WHERE k.category = c.category AND k.is_published) + 1), 2),
       coalesce(format('%s: how to resolve "%s" without an agent', initcap(replace(c.category, '_', ' ')),
                       replace((SELECT r FROM e WHERE e.category = c.category ORDER BY n DESC, r LIMIT 1), '_', ' ')),
                format('%s: self-service guide', initcap(replace(c.category, '_', ' '))))
  FROM c ORDER BY c.category""",
    "low_confidence_categories": """
SELECT category, count(*), round(avg(ai_confidence), 3),
       round(100.0 * count(*) FILTER (WHERE ai_outcome = 'approved') / nullif(count(ai_outcome), 0), 2),
       round(100.0 * count(*) FILTER (WHERE ai_outcome = 'rejected') / nullif(count(ai_outcome), 0), 2)
  FROM cases WHERE created_at >= (CURRENT_DATE - 29)::timestamptz AND created_at < (CURRENT_DATE + 1)::timestamptz
 GROUP BY category ORDER BY category""",
    "recurring_issues": """
SELECT category, coalesce(escalation_reason, 'unspecified') AS r, count(*), count(DISTINCT created_at::date),
       min(created_at::date), max(created_at::date)
  FROM cases WHERE resolution_path = 'escalated' AND created_at >= (CURRENT_DATE - 29)::timestamptz
   AND created_at < (CURRENT_DATE + 1)::timestamptz
 GROUP BY 1, 2 HAVING count(DISTINCT created_at::date) >= 2 ORDER BY 1, 2""",
    "kpi_targets": "SELECT kpi_key, display_name, comparator, target_value, unit FROM kpi_targets ORDER BY kpi_key",
    "executive_summary": f"""
WITH {BASELINE}, {SPAN},
lo AS (SELECT least(CURRENT_DATE - 29, date_trunc('month', CURRENT_DATE)::date) AS d),
days AS (SELECT g::date AS d FROM span, lo, generate_series(greatest(span.f, lo.d), CURRENT_DATE, interval '1 day') g),
c AS (SELECT created_at::date AS d, count(*) AS n, count(*) FILTER (WHERE status IN ('resolved', 'closed')) AS r,
             sum(csat_score) AS csat_sum, count(csat_score) AS csat_n, coalesce(sum(handling_minutes), 0) AS h
        FROM cases, lo
       WHERE created_at >= lo.d::timestamptz AND created_at < (CURRENT_DATE + 1)::timestamptz GROUP BY 1),
t AS (SELECT recorded_at::date AS d, sum(cost_usd) AS ai FROM token_usage, lo
       WHERE recorded_at >= lo.d::timestamptz AND recorded_at < (CURRENT_DATE + 1)::timestamptz GROUP BY 1),
x AS (SELECT days.d, coalesce(c.n, 0) AS n, coalesce(c.r, 0) AS r, c.csat_sum, c.csat_n,
             coalesce(c.r, 0) * b.manual_cost AS manual, coalesce(c.r, 0) * b.manual_minutes - coalesce(c.h, 0) AS saved_min,
             coalesce(t.ai, 0) AS ai, coalesce(c.h, 0) / 60 * b.hourly AS human,
             {PLATFORM_DAY.format(d="days.d")} AS pf
        FROM days LEFT JOIN c USING (d) LEFT JOIN t USING (d) CROSS JOIN baseline b),
bu AS (SELECT tb.budget_type,
              round(100.0 * coalesce((SELECT sum(total_tokens) FROM token_usage tu
                                       WHERE tu.recorded_at >= tb.period_start::timestamptz
                                         AND tu.recorded_at < (tb.period_end + 1)::timestamptz
                                         AND (tb.provider IS NULL OR tu.provider = tb.provider)), 0)
                    / tb.token_limit, 2) AS pct
         FROM token_budgets tb WHERE tb.is_active AND CURRENT_DATE BETWEEN tb.period_start AND tb.period_end)
SELECT coalesce(sum(n) FILTER (WHERE d = CURRENT_DATE), 0), coalesce(sum(r) FILTER (WHERE d = CURRENT_DATE), 0),
       round(100.0 * sum(r) FILTER (WHERE d = CURRENT_DATE) / nullif(sum(n) FILTER (WHERE d = CURRENT_DATE), 0), 2),
       round(sum(csat_sum) FILTER (WHERE d = CURRENT_DATE)::numeric
             / nullif(sum(csat_n) FILTER (WHERE d = CURRENT_DATE), 0), 2),
       round(coalesce(sum(manual - (ai + human + pf)) FILTER (WHERE d = CURRENT_DATE), 0), 2),
       round(coalesce(sum(manual - (ai + human + pf)) FILTER (WHERE d >= date_trunc('month', CURRENT_DATE)), 0), 2),
       coalesce((SELECT max(pct) FROM bu WHERE budget_type = 'monthly'), (SELECT max(pct) FROM bu)),
       round(coalesce(sum(saved_min) FILTER (WHERE d = CURRENT_DATE), 0) / 60, 2),
       round(100.0 * sum(r) FILTER (WHERE d >= CURRENT_DATE - 29) / nullif(sum(n) FILTER (WHERE d >= CURRENT_DATE - 29), 0), 2),
       round(sum(csat_sum) FILTER (WHERE d >= CURRENT_DATE - 29)::numeric
             / nullif(sum(csat_n) FILTER (WHERE d >= CURRENT_DATE - 29), 0), 2),
       round(sum(ai + human + pf) FILTER (WHERE d >= CURRENT_DATE - 29)
             / nullif(sum(n) FILTER (WHERE d >= CURRENT_DATE - 29), 0), 2),
       round(100 * sum(manual - (ai + human + pf)) FILTER (WHERE d >= CURRENT_DATE - 29)
             / nullif(sum(ai + pf) FILTER (WHERE d >= CURRENT_DATE - 29), 0), 2)
  FROM x""",
}


def contract_columns():
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from kpi_sql import contract_views

    return contract_views()


# ------------------------------------------------------------------------------------------------- helpers


def pct(values, q):
    """Nearest-rank percentile (p95 of 20 runs = the 19th fastest)."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def _terminate(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # runs the finally: the server is stopped by its PID


def backend_cpu_ms(pid):
    """CPU time (user+system) the server backend has used so far: contention-independent cost."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def loadavg():
    return "load average %.1f/%.1f/%.1f on %d CPUs" % (os.getloadavg() + (os.cpu_count(),))


def apply_sql(conn, name, reader=None, sql_dir=SQL_DIR):
    with conn, conn.cursor() as cur:
        if reader:
            cur.execute("SELECT set_config('kpi.reader_role', %s, true)", (reader,))
        cur.execute((sql_dir / name).read_text())


def upgrade(conn):
    """Apply what the kpi_database role applies to a 0.1.0 database (maintenance.sql, every numbered migration,
    views.sql), each file in one transaction as kpi_schema runs them; returns [(file, seconds)]."""
    timings = []
    for name in schema_files(core=False, reader=False)[1:]:
        t0 = time.perf_counter()
        apply_sql(conn, name)
        timings.append((name, time.perf_counter() - t0))
        log(f"  applied {name} in {timings[-1][1]:.1f} s")
    return timings


def log(msg):
    print(msg, flush=True)


def load(conn, scale, days, chunk_days):
    per_day = CASES_PER_DAY_FULL * scale
    weekday_mean = per_day * len(WEEKDAY_FACTORS) / sum(WEEKDAY_FACTORS)  # a plain weekday, so the week averages per_day
    today = dt.date.today()
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_DATE")
        today = cur.fetchone()[0]
        cur.execute("SELECT setseed(0.42)")
    first = today - dt.timedelta(days=days - 1)
    conn.commit()
    t0 = time.perf_counter()
    cases = tokens = 0
    d = first
    while d <= today:
        d_to = min(d + dt.timedelta(days=chunk_days - 1), today)
        with conn.cursor() as cur:
            # one statement: the cases CTE feeds the token rows (no re-read of cases)
            cur.execute(
                "WITH new_cases AS (" + LOAD_CASES + ")" + LOAD_TOKENS,
                {"d_from": d, "d_to": d_to, "weekday_mean": weekday_mean, "weekday_factors": WEEKDAY_FACTORS},
            )
            tokens += cur.rowcount
            cur.execute("SELECT count(*) FROM cases WHERE created_at >= %s::date AND created_at < %s::date + 1", (d, d_to))
            cases += cur.fetchone()[0]
        conn.commit()
        elapsed = time.perf_counter() - t0
        log(f"  loaded {d} .. {d_to}: {cases:,} cases, {tokens:,} token rows, {elapsed:.0f} s ({(cases + tokens) / elapsed:,.0f} rows/s)")
        d = d_to + dt.timedelta(days=1)
    load_s = time.perf_counter() - t0
    with conn.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(total_tokens), 0) FROM kpi_daily_token_stats WHERE usage_date >= date_trunc('month', CURRENT_DATE) AND provider = 'anthropic'"
        )
        month_tokens = int(cur.fetchone()[0])
        cur.execute(
            "SELECT coalesce(sum(total_tokens), 0) FROM kpi_daily_token_stats WHERE usage_date >= date_trunc('month', CURRENT_DATE) AND provider = 'openai'"
        )
        month_openai = int(cur.fetchone()[0])
        cur.execute(
            SETUP_EXTRA,
            {
                "monthly": max(month_tokens * 2, 1000),
                "monthly_cost": 100000,
                "monthly_openai": max(month_openai, 1000) + 1000,
                "daily": max(int(per_day * 5000), 1000),
                "weekly": max(int(per_day * 60000), 1000),
            },
        )
    conn.commit()
    t1 = time.perf_counter()
    old = conn.autocommit
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.autocommit = old
    return cases, tokens, load_s, time.perf_counter() - t1


def token_logging(conn, batches, batch_size=1000):
    """Batched per-request logging with every trigger active (no cost given: the trigger prices each row)."""
    models = [
        ("workflow-1-intake", "anthropic", "claude-haiku-3-5"),
        ("workflow-2-triage", "anthropic", "claude-sonnet-4"),
        ("workflow-2-triage", "openai", "gpt-4o"),
        ("workflow-4-escalation", "anthropic", "claude-opus-4"),
    ]
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    conn.commit()
    rows_total = 0
    cpu0 = backend_cpu_ms(pid)
    client0 = time.process_time()
    t0 = time.perf_counter()
    for b in range(batches):
        rows = []
        for i in range(batch_size):
            wf, prov, model = models[(b + i) % len(models)]
            rows.append((wf, b * batch_size + i, prov, model, "bench", 500 + i, 100 + i % 300, 400 + i, True))
        with conn.cursor() as cur:
            execute_values(
                cur,
                "INSERT INTO token_usage (workflow_name, case_id, provider, model, operation_type, input_tokens, output_tokens, latency_ms, success) VALUES %s",
                rows,
                page_size=batch_size,
            )
        conn.commit()
        rows_total += len(rows)
    batched = rows_total / (time.perf_counter() - t0)
    server_s = (backend_cpu_ms(pid) - cpu0) / 1000.0
    batched_cpu = rows_total / server_s
    # what one idle core each for client and server would sustain: the slower of the two sides
    batched_idle = rows_total / max(server_s, time.process_time() - client0)

    n_single = 1000
    t0 = time.perf_counter()
    for i in range(n_single):
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO token_usage (workflow_name, case_id, provider, model, operation_type, "
                "input_tokens, output_tokens, latency_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                ("workflow-1-intake", i, "anthropic", "claude-sonnet-4", "bench", 900, 120, 700),
            )
        conn.commit()
    single = n_single / (time.perf_counter() - t0)

    with conn.cursor() as cur:
        t0 = time.perf_counter()
        cur.execute("""UPDATE cases SET status = 'resolved', resolved_at = now(), csat_score = 4
                        WHERE case_id IN (SELECT case_id FROM cases WHERE resolved_at IS NULL
                                           ORDER BY created_at LIMIT 1000)""")
        n_upd = cur.rowcount
    conn.commit()
    upd_ms = (time.perf_counter() - t0) * 1000
    return rows_total, batched, batched_cpu, batched_idle, single, n_upd, upd_ms


def dashboard_panels(path=REPO / "files" / "grafana-dashboard.json"):
    """(title, rawSql) of every panel of the real dashboard whose macros we can expand."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    out = []

    def walk(panels):
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    for panel in walk(data.get("panels", [])):
        for target in panel.get("targets", []):
            sql = target.get("rawSql")
            if sql:
                out.append((panel.get("title", "?"), sql))
    return out


def expand_macros(sql, days):
    """Grafana's $__timeFilter(col) for the range [now - days, now] (what the datasource sends)."""
    sql = re.sub(r"\$__timeFilter\((\w+)\)", lambda m: f"{m.group(1)} BETWEEN now() - interval '{days} days' AND now()", sql)
    sql = sql.replace("$__timeFrom()", f"(now() - interval '{days} days')").replace("$__timeTo()", "now()")
    return None if "$" in sql else sql


def run_panels(reader, repeat):
    results = []
    with reader.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        for title, raw in dashboard_panels():
            windows = WINDOWS if "$__timeFilter" in raw else [None]
            for days in windows:
                sql = expand_macros(raw, days or 1)
                if sql is None:
                    continue
                times = []
                cpu0 = backend_cpu_ms(pid)
                for _run in range(repeat):
                    t0 = time.perf_counter()
                    cur.execute(sql)
                    rows = cur.fetchall()
                    times.append((time.perf_counter() - t0) * 1000)
                results.append(
                    {
                        "panel": title,
                        "window": f"{days}d" if days else "-",
                        "rows": len(rows),
                        "p50_ms": statistics.median(times),
                        "p95_ms": pct(times, 95),
                        "max_ms": max(times),
                        "server_cpu_ms": (backend_cpu_ms(pid) - cpu0) / repeat,
                    }
                )
    return results


def run_queries(admin, reader, contract, repeat, only=None):
    results, mismatches = [], 0
    with reader.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        reader_pid = cur.fetchone()[0]
    for name, (template, view) in DASHBOARD.items():
        if only and name not in only:
            continue
        cols = ", ".join(contract[view])
        windows = WINDOWS if name in WINDOWED else [None]
        for days in windows:
            start = WINDOW_START.format(days=days) if days else None
            dash_sql = template.format(cols=cols, start=start)
            ref_sql = REFERENCE[name].format(start=start)
            times = []
            with reader.cursor() as cur:
                cpu0 = backend_cpu_ms(reader_pid)
                for _run in range(repeat):
                    t0 = time.perf_counter()
                    cur.execute(dash_sql)
                    rows = cur.fetchall()
                    times.append((time.perf_counter() - t0) * 1000)
                cpu_ms = (backend_cpu_ms(reader_pid) - cpu0) / repeat
            # identity check: view and reference read one snapshot (same CURRENT_DATE, same rows)
            admin.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with admin.cursor() as cur:
                cur.execute(dash_sql)
                view_rows = cur.fetchall()
                t0 = time.perf_counter()
                cur.execute(ref_sql)
                ref_rows = cur.fetchall()
                ref_ms = (time.perf_counter() - t0) * 1000
            admin.rollback()
            admin.set_session(isolation_level="READ COMMITTED", readonly=False)
            same = view_rows == ref_rows
            if not same:
                mismatches += 1
                diff = [(a, b) for a, b in zip(view_rows, ref_rows) if a != b][:3]
                log(f"  MISMATCH {name} window={days}: view {len(view_rows)} rows, reference {len(ref_rows)} rows; first differences: {diff}")
            label = f"{days}d" if days else "-"
            results.append(
                {
                    "query": name,
                    "window": label,
                    "rows": len(rows),
                    "p50_ms": statistics.median(times),
                    "p95_ms": pct(times, 95),
                    "max_ms": max(times),
                    "server_cpu_ms": cpu_ms,
                    "reference_ms": ref_ms,
                    "identical": same,
                }
            )
    return results, mismatches


def fresh_load(cluster, args):
    """Create the database and the reader role, apply files/sql and load the dataset."""
    admin = psycopg2.connect(cluster.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE kpi_bench")
        cur.execute(psql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(psql.Identifier(READER)), (cluster.password,))
    admin.close()
    admin = psycopg2.connect(cluster.dsn("kpi_bench"))
    if args.upgrade:
        # the schema as release 0.1.0 installed it; the data goes into the unpartitioned token_usage
        for name in ("support-core.sql", "schema-additions.sql", "views.sql"):
            apply_sql(admin, name, sql_dir=RELEASE_010)
    else:
        for name in schema_files(reader=False):
            apply_sql(admin, name)
        # monthly token_usage partitions for the whole history (the role's maintenance creates them ahead;
        # a history loaded at once would otherwise land in the default partition)
        with admin, admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM kpi_ensure_token_partitions(CURRENT_DATE - %s, CURRENT_DATE)", (args.days,))
        apply_sql(admin, "grafana-reader.sql", reader=READER)
    with admin.cursor() as cur:
        cur.execute("SELECT kpi_rollup_timezone(), current_setting('TimeZone'), version()")
        tz, sess_tz, version = cur.fetchone()
    admin.commit()
    log(f"  {version.split(',')[0]}; rollup time zone {tz}, session time zone {sess_tz}")

    target = int(CASES_PER_DAY_FULL * args.scale * args.days)
    log(f"loading ~{target:,} cases over {args.days} days (scale {args.scale}) ...")
    cases, tokens, load_s, analyze_s = load(admin, args.scale, args.days, args.chunk_days)
    migrations = []
    if args.upgrade:
        log(f"upgrading the 0.1.0 database to the current schema ({loadavg()}) ...")
        migrations = upgrade(admin)
        apply_sql(admin, "grafana-reader.sql", reader=READER)
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FILTER (WHERE NOT is_default) FROM kpi_token_partitions()")
            n_parts = cur.fetchone()[0]
        admin.commit()
        log(
            f"  upgrade of {cases:,} cases + {tokens:,} token rows: {sum(t for _name, t in migrations):.1f} s "
            f"in total; token_usage now has {n_parts} monthly partitions"
        )
    admin.close()
    return cases, tokens, load_s, analyze_s, migrations


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--scale", type=float, default=0.01, help="1.0 = 50,000 cases/day on average (default 0.01)")
    ap.add_argument("--days", type=int, default=365, help="days of history up to today (default 365)")
    ap.add_argument("--repeat", type=int, default=20, help="runs of each dashboard query (default 20)")
    ap.add_argument("--chunk-days", type=int, default=10, help="days per load statement (default 10)")
    ap.add_argument("--log-batches", type=int, default=20, help="1,000-row token logging batches (default 20)")
    ap.add_argument(
        "--upgrade",
        action="store_true",
        help="load into the schema of release 0.1.0 (tests/integration/sql_fixtures/release-0.1.0), "
        "then time the upgrade to the current schema (maintenance.sql, every migration, e.g. "
        "0002 partitioning token_usage in bounded batches, views.sql) before measuring",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's files (server is stopped anyway)")
    ap.add_argument(
        "--cluster-dir",
        metavar="DIR",
        type=Path,
        help="keep the loaded cluster in DIR and reuse it on the next run with the same DIR: the load "
        "is skipped, views.sql and grafana-reader.sql are re-applied (to measure a view change "
        "without reloading); the server is stopped at the end either way",
    )
    args = ap.parse_args(argv)
    if args.cluster_dir:
        args.keep = True

    signal.signal(signal.SIGTERM, _terminate)
    contract = contract_columns()
    base = args.cluster_dir or Path(tempfile.mkdtemp(prefix="kpi-bench-pg-"))
    marker = base / "loaded.json"
    if (base / "data" / "PG_VERSION").exists() and not marker.exists():
        raise SystemExit(f"{base} holds a cluster whose load did not finish; remove the directory and run again")
    log(f"{'reusing' if marker.exists() else 'starting'} PostgreSQL in {base} ...")
    try:
        # the superuser password: random, kept (0600) in the cluster directory for a reuse
        cluster = pgserver.start(base, settings=SERVER_SETTINGS)
    except pgserver.PgServerError as exc:
        raise SystemExit(str(exc)) from None
    log(f"  pid {cluster.pid}, 127.0.0.1:{cluster.port}, settings: " + ", ".join(f"{k}={v}" for k, v in SERVER_SETTINGS.items()))
    try:
        if cluster.reused:
            loaded = json.loads(marker.read_text())
            if (loaded["scale"], loaded["days"]) != (args.scale, args.days):
                raise SystemExit(
                    f"{cluster.base} was loaded with --scale {loaded['scale']} --days {loaded['days']}; pass the same values or another --cluster-dir"
                )
            cases, tokens, load_s, analyze_s = loaded["cases"], loaded["tokens"], loaded["load_s"], loaded["analyze_s"]
            migrations = loaded.get("migrations", [])
            admin = psycopg2.connect(cluster.dsn("kpi_bench"))
            apply_sql(admin, "views.sql")
            apply_sql(admin, "grafana-reader.sql", reader=READER)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("ANALYZE")
            admin.autocommit = False
            log(f"  reused the data loaded on {loaded['loaded_on']}; views.sql and grafana-reader.sql re-applied")
        else:
            cases, tokens, load_s, analyze_s, migrations = fresh_load(cluster, args)
            marker.write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "days": args.days,
                        "cases": cases,
                        "tokens": tokens,
                        "load_s": load_s,
                        "analyze_s": analyze_s,
                        "migrations": migrations,
                        "loaded_on": dt.date.today().isoformat(),
                    }
                )
            )
            admin = psycopg2.connect(cluster.dsn("kpi_bench"))
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_size_pretty(pg_database_size('kpi_bench')), "
                "(SELECT count(*) FROM kpi_daily_case_stats), (SELECT count(*) FROM kpi_daily_token_stats), "
                "(SELECT count(*) FROM kpi_daily_escalation_stats), "
                "(SELECT count(*) FROM kpi_daily_confidence_stats)"
            )
            size, n_case_roll, n_tok_roll, n_esc_roll, n_conf_roll = cur.fetchone()
        admin.commit()
        log(
            f"loaded {cases:,} cases + {tokens:,} token rows in {load_s:.1f} s "
            f"({(cases + tokens) / load_s:,.0f} rows/s, rollup triggers active); VACUUM ANALYZE {analyze_s:.1f} s; "
            f"database {size}; rollup rows: {n_case_roll:,} case-day-category, {n_tok_roll:,} token-day-model, "
            f"{n_esc_roll:,} escalation-day-category-reason, {n_conf_roll:,} confidence-day-bucket"
        )

        with admin.cursor() as cur:
            cur.execute("SELECT c.relkind = 'p', (SELECT count(*) FROM kpi_token_partitions()) FROM pg_class c WHERE c.oid = 'token_usage'::regclass")
            partitioned, n_parts = cur.fetchone()
        admin.commit()
        log(
            f"token logging with all triggers active into token_usage "
            f"({'partitioned, ' + str(n_parts) + ' partitions' if partitioned else 'not partitioned'}; "
            f"{args.log_batches} x 1,000-row batches; {loadavg()}) ..."
        )
        n_logged, batched, batched_cpu, batched_idle, single, n_upd, upd_ms = token_logging(admin, args.log_batches)
        log(
            f"  batched INSERT (execute_values, 1,000 rows/statement): {batched:,.0f} rows/s over {n_logged:,} rows "
            f"(wall clock); {batched_cpu:,.0f} rows per second of server CPU; "
            f"{batched_idle:,.0f} rows/s bound by the busier of client and server CPU"
        )
        log(f"  single-row INSERT, one transaction each:                {single:,.0f} rows/s")
        log(f"  UPDATE resolving {n_upd:,} open cases in one statement:     {upd_ms:.1f} ms")

        reader = psycopg2.connect(cluster.dsn("kpi_bench", user=READER))
        reader.autocommit = True
        log(f"dashboard queries as {READER}, {args.repeat} runs each; identity vs reference on base tables ({loadavg()}) ...")
        results, mismatches = run_queries(admin, reader, contract, args.repeat)
        panels = run_panels(reader, args.repeat)
        reader.close()
        admin.close()

        log("")
        log(f"{'query':<27}{'window':>7}{'rows':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'cpu ms':>8}{'ref ms':>10}  result")
        for r in results:
            log(
                f"{r['query']:<27}{r['window']:>7}{r['rows']:>7}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}"
                f"{r['max_ms']:>9.2f}{r['server_cpu_ms']:>8.2f}{r['reference_ms']:>10.1f}  {'IDENTICAL' if r['identical'] else 'DIFFERENT'}"
            )
        if panels:
            log("")
            log(f"panels of files/grafana-dashboard.json ($__timeFilter = last N days), {args.repeat} runs each:")
            log(f"{'panel':<32}{'window':>7}{'rows':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'cpu ms':>8}")
            for r in panels:
                log(f"{r['panel'][:31]:<32}{r['window']:>7}{r['rows']:>7}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['max_ms']:>9.2f}{r['server_cpu_ms']:>8.2f}")
        worst = max(results, key=lambda r: r["p95_ms"])
        log("")
        if panels:
            worst_panel = max(panels, key=lambda r: r["p95_ms"])
            log(f"worst dashboard panel p95 {worst_panel['p95_ms']:.2f} ms ({worst_panel['panel']} {worst_panel['window']}) over {len(panels)} panel queries")
        log(
            f"scale {args.scale}: {cases:,} cases, {tokens:,} token rows; worst view-query p95 "
            f"{worst['p95_ms']:.2f} ms ({worst['query']} {worst['window']}); "
            f"{len(results) - mismatches}/{len(results)} results identical to the reference; {loadavg()}"
        )
        if migrations:
            log(
                f"upgrade from 0.1.0: {sum(t for _name, t in migrations):.1f} s (" + ", ".join(f"{n.rsplit('/', 1)[-1]} {t:.1f} s" for n, t in migrations) + ")"
            )
        log(
            "(p50/p95/max: wall clock per dashboard query incl. transfer; cpu ms: server backend CPU per run, "
            "independent of other load; ref ms: one run of the reference query on the base tables)"
        )
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "days": args.days,
                        "cases": cases,
                        "token_rows": tokens,
                        "load_s": load_s,
                        "analyze_s": analyze_s,
                        "db_size": size,
                        "batched_rows_per_s": batched,
                        "batched_rows_per_cpu_s": batched_cpu,
                        "batched_rows_per_s_cpu_bound": batched_idle,
                        "single_rows_per_s": single,
                        "update_1000_ms": upd_ms,
                        "migrations": migrations,
                        "queries": results,
                        "panels": panels,
                    },
                    indent=2,
                    default=str,
                )
            )
        return 1 if mismatches else 0
    finally:
        cluster.stop(keep_files=args.keep)
        log(f"PostgreSQL (pid {cluster.pid or 'stopped'}) stopped")


if __name__ == "__main__":
    sys.exit(main())

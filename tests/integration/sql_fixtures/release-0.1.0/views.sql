-- views.sql: the KPI views the dashboard, the alert rules and the verification read.
--
-- REPEATABLE: re-applied whenever it changes, inside ONE transaction. Every view is CREATE OR REPLACE, which
-- keeps the grants of grafana-reader.sql; views only ever gain columns at the end (a change of a column's
-- name or type needs an explicit DROP VIEW here, then grafana-reader.sql must be re-applied).
--
-- Names and meaning: docs/kpi-contract.md; formulas: docs/data-model.md.
-- The views read the daily rollup tables of schema-additions.sql (kept exact by triggers), never the 18M-row
-- base tables, so every dashboard query touches at most a few thousand small rows.
-- Conventions: percentages 0-100 rounded to 2 decimals; *_usd rounded to 2 decimals; case KPIs are
-- attributed to the day the case was created; "today" is CURRENT_DATE; "last 30 days" is
-- CURRENT_DATE - 29 .. CURRENT_DATE.

-- Baselines as one row (documented defaults when a key is missing).
CREATE OR REPLACE VIEW v_kpi_baseline AS
SELECT coalesce(max(config_value) FILTER (WHERE config_key = 'manual_cost_per_case'), 25.00)   AS manual_cost_per_case,
       coalesce(max(config_value) FILTER (WHERE config_key = 'hourly_support_cost'), 40.00)    AS hourly_support_cost,
       coalesce(max(config_value) FILTER (WHERE config_key = 'manual_minutes_per_case'), 30)   AS manual_minutes_per_case,
       coalesce(max(config_value) FILTER (WHERE config_key = 'monthly_platform_cost'), 500.00) AS monthly_platform_cost
  FROM baseline_config;

-- Internal: unrounded daily sums (all categories) plus the day's AI spend and cost components.
CREATE OR REPLACE VIEW kpi_daily_base AS
WITH c AS (
    SELECT metric_date,
           sum(total_cases)            AS total_cases,
           sum(resolved_cases)         AS resolved_cases,
           sum(escalated_cases)        AS escalated_cases,
           sum(collaborative_cases)    AS collaborative_cases,
           sum(self_service_cases)     AS self_service_cases,
           sum(fcr_cases)              AS fcr_cases,
           sum(resolution_timed_cases) AS resolution_timed_cases,
           sum(resolution_seconds_sum) AS resolution_seconds_sum,
           sum(csat_cases)             AS csat_cases,
           sum(csat_sum)               AS csat_sum,
           sum(ai_reviewed_cases)      AS ai_reviewed_cases,
           sum(ai_approved)            AS ai_approved,
           sum(ai_edited)              AS ai_edited,
           sum(ai_rejected)            AS ai_rejected,
           sum(ai_confidence_cases)    AS ai_confidence_cases,
           sum(ai_confidence_sum)      AS ai_confidence_sum,
           sum(calib_cases)            AS calib_cases,
           sum(calib_confidence_sum)   AS calib_confidence_sum,
           sum(calib_approved)         AS calib_approved,
           sum(handling_minutes_sum)   AS handling_minutes_sum
      FROM kpi_daily_case_stats
     GROUP BY metric_date
)
SELECT c.*,
       coalesce(t.ai_cost, 0)                                      AS ai_cost,
       c.handling_minutes_sum / 60 * b.hourly_support_cost         AS human_cost,
       c.total_cases * b.manual_cost_per_case                      AS manual_cost,
       c.total_cases * b.manual_minutes_per_case                   AS manual_minutes,
       b.monthly_platform_cost
           / extract(day FROM date_trunc('month', c.metric_date) + interval '1 month - 1 day') AS platform_cost
  FROM c
  -- per-day index look-up, so a dashboard window filter on metric_date limits this side too
  LEFT JOIN LATERAL (SELECT sum(s.cost_usd) AS ai_cost
                       FROM kpi_daily_token_stats s
                      WHERE s.usage_date = c.metric_date) t ON true
 CROSS JOIN v_kpi_baseline b;

CREATE OR REPLACE VIEW v_daily_kpi AS
SELECT metric_date,
       total_cases,
       resolved_cases,
       escalated_cases,
       collaborative_cases,
       self_service_cases,
       round(100.0 * resolved_cases / total_cases, 2)                                       AS resolution_rate,
       round(100.0 * fcr_cases / total_cases, 2)                                            AS first_contact_resolution_rate,
       round(100.0 * self_service_cases / total_cases, 2)                                   AS self_service_rate,
       round(100.0 * (collaborative_cases + escalated_cases) / total_cases, 2)              AS human_intervention_rate,
       round(100.0 * escalated_cases / total_cases, 2)                                      AS escalation_rate,
       round(resolution_seconds_sum / nullif(resolution_timed_cases, 0) / 60, 2)            AS avg_resolution_minutes,
       round(csat_sum::numeric / nullif(csat_cases, 0), 2)                                  AS csat_avg,
       round(100.0 * ai_approved / nullif(ai_reviewed_cases, 0), 2)                         AS ai_approval_rate,
       round(100.0 * ai_edited / nullif(ai_reviewed_cases, 0), 2)                           AS ai_edit_rate,
       round(100.0 * ai_rejected / nullif(ai_reviewed_cases, 0), 2)                         AS ai_rejection_rate,
       round(ai_confidence_sum / nullif(ai_confidence_cases, 0), 3)                         AS ai_confidence_avg,
       round(abs(100 * calib_confidence_sum - 100.0 * calib_approved) / nullif(calib_cases, 0), 2)
                                                                                            AS ai_confidence_accuracy,
       round((manual_minutes - handling_minutes_sum) / 60, 2)                               AS time_saved_hours,
       round(manual_cost, 2)                                                                AS manual_cost_usd,
       round(ai_cost, 2)                                                                    AS ai_cost_usd,
       round(human_cost, 2)                                                                 AS human_cost_usd,
       round(ai_cost + human_cost, 2)                                                       AS actual_cost_usd,
       round((ai_cost + human_cost) / total_cases, 2)                                       AS cost_per_case_usd,
       round(ai_cost / total_cases, 2)                                                      AS ai_cost_per_case_usd,
       round(manual_cost - ai_cost - human_cost, 2)                                         AS net_savings_usd,
       round(100 * (manual_cost - ai_cost - human_cost) / nullif(ai_cost + platform_cost, 0), 2) AS roi_pct,
       -- unrounded parts, so a panel can compute exact averages over a time range
       -- (e.g. CSAT = sum(csat_score_sum) / sum(csat_responses))
       csat_cases                                                                           AS csat_responses,
       csat_sum                                                                             AS csat_score_sum,
       resolution_timed_cases                                                               AS resolution_timed_cases,
       round(resolution_seconds_sum / 60, 4)                                                AS resolution_minutes_sum,
       fcr_cases                                                                            AS first_contact_resolved_cases,
       ai_reviewed_cases,
       round(handling_minutes_sum, 2)                                                       AS handling_minutes_sum
  FROM kpi_daily_base;

CREATE OR REPLACE VIEW v_daily_kpi_by_category AS
WITH c AS (
    SELECT s.metric_date, s.category, s.total_cases, s.resolved_cases, s.self_service_cases,
           s.handling_minutes_sum,
           sum(s.total_cases) OVER (PARTITION BY s.metric_date) AS day_cases
      FROM kpi_daily_case_stats s
), x AS (
    -- the day's AI spend is shared out by the category's share of the day's cases
    SELECT c.*,
           coalesce(t.ai_cost, 0) * c.total_cases / c.day_cases  AS ai_cost,
           c.handling_minutes_sum / 60 * b.hourly_support_cost    AS human_cost,
           c.total_cases * b.manual_cost_per_case                 AS manual_cost,
           c.total_cases * b.manual_minutes_per_case              AS manual_minutes
      FROM c
      LEFT JOIN LATERAL (SELECT sum(s.cost_usd) AS ai_cost
                           FROM kpi_daily_token_stats s
                          WHERE s.usage_date = c.metric_date) t ON true
     CROSS JOIN v_kpi_baseline b
)
SELECT metric_date,
       category,
       total_cases,
       resolved_cases,
       round(100.0 * self_service_cases / total_cases, 2)      AS self_service_rate,
       round((manual_minutes - handling_minutes_sum) / 60, 2)  AS time_saved_hours,
       round(manual_cost, 2)                                   AS manual_cost_usd,
       round(ai_cost + human_cost, 2)                          AS actual_cost_usd,
       round(manual_cost - ai_cost - human_cost, 2)            AS net_savings_usd
  FROM x;

CREATE OR REPLACE VIEW v_confidence_daily AS
SELECT metric_date, confidence_bucket, cases, approved, edited, rejected
  FROM kpi_daily_confidence_stats;

CREATE OR REPLACE VIEW v_token_daily AS
SELECT usage_date, provider, model, workflow_name, requests, input_tokens, output_tokens, total_tokens,
       round(cost_usd, 2) AS cost_usd,
       failed_requests,
       unpriced_requests,
       round(latency_ms_sum::numeric / nullif(latency_requests, 0), 0) AS avg_latency_ms
  FROM kpi_daily_token_stats;

CREATE OR REPLACE VIEW v_budget_utilization AS
WITH b AS (
    SELECT tb.*,
           -- days of the period that have begun (0 for a future period)
           greatest(least(CURRENT_DATE, tb.period_end) - tb.period_start + 1, 0) AS elapsed_days
      FROM token_budgets tb
     WHERE tb.is_active
), u AS (
    SELECT b.budget_id,
           coalesce(sum(s.total_tokens), 0) AS tokens_used,
           coalesce(sum(s.cost_usd), 0)     AS cost_used
      FROM b
      LEFT JOIN kpi_daily_token_stats s
             ON s.usage_date BETWEEN b.period_start AND b.period_end
            AND (b.provider IS NULL OR s.provider = b.provider)
     GROUP BY b.budget_id
), p AS (
    SELECT b.*, u.tokens_used, u.cost_used,
           u.tokens_used::numeric / nullif(b.elapsed_days, 0) AS daily_avg,
           -- the day on which cumulative usage reached the limit, for a budget already used up
           CASE WHEN u.tokens_used >= b.token_limit THEN (
                SELECT min(r.usage_date)
                  FROM (SELECT d.usage_date,
                               sum(d.tokens) OVER (ORDER BY d.usage_date) AS running
                          FROM (SELECT s.usage_date, sum(s.total_tokens) AS tokens
                                  FROM kpi_daily_token_stats s
                                 WHERE s.usage_date BETWEEN b.period_start AND b.period_end
                                   AND (b.provider IS NULL OR s.provider = b.provider)
                                 GROUP BY s.usage_date) d) r
                 WHERE r.running >= b.token_limit)
           END AS exhausted_on
      FROM b
      JOIN u USING (budget_id)
), q AS (
    SELECT p.*,
           CASE WHEN p.exhausted_on IS NOT NULL THEN p.exhausted_on
                WHEN CURRENT_DATE < p.period_start OR CURRENT_DATE > p.period_end
                     OR p.token_limit IS NULL OR coalesce(p.daily_avg, 0) = 0 THEN NULL
                ELSE CURRENT_DATE + ceil((p.token_limit - p.tokens_used) / p.daily_avg)::int
           END AS projected_exhaustion_date
      FROM p
)
SELECT budget_name,
       provider,
       budget_type,
       period_start,
       period_end,
       token_limit,
       tokens_used,
       round(100.0 * tokens_used / nullif(token_limit, 0), 2)        AS token_utilization_pct,
       round(cost_limit_usd, 2)                                      AS cost_limit_usd,
       round(cost_used, 2)                                           AS cost_used_usd,
       round(100 * cost_used / nullif(cost_limit_usd, 0), 2)         AS cost_utilization_pct,
       round(daily_avg, 0)                                           AS daily_avg_tokens,
       projected_exhaustion_date,
       projected_exhaustion_date - CURRENT_DATE                      AS days_remaining,
       coalesce(projected_exhaustion_date <= period_end, false)      AS exhausts_before_period_end,
       greatest(period_end - CURRENT_DATE, 0)                        AS period_days_left,
       alert_threshold_pct,
       coalesce(100.0 * tokens_used / nullif(token_limit, 0) >= alert_threshold_pct, false) AS over_alert_threshold
  FROM q;

CREATE OR REPLACE VIEW v_cost_comparison_daily AS
SELECT metric_date,
       round(manual_cost, 2)                                                     AS manual_cost_usd,
       round(ai_cost + human_cost, 2)                                            AS ai_assisted_cost_usd,
       round(manual_cost - ai_cost - human_cost, 2)                              AS net_savings_usd,
       round(sum(manual_cost - ai_cost - human_cost) OVER (ORDER BY metric_date), 2) AS cumulative_savings_usd
  FROM kpi_daily_base;

CREATE OR REPLACE VIEW v_escalation_reasons_daily AS
SELECT metric_date, escalation_reason, category, escalations
  FROM kpi_daily_escalation_stats;

CREATE OR REPLACE VIEW v_top_escalation_reasons AS
WITH w AS (
    SELECT escalation_reason, category, sum(escalations) AS escalations
      FROM kpi_daily_escalation_stats
     WHERE metric_date BETWEEN CURRENT_DATE - 29 AND CURRENT_DATE
     GROUP BY escalation_reason, category
), r AS (
    SELECT escalation_reason, sum(escalations) AS escalations
      FROM w
     GROUP BY escalation_reason
), tc AS (
    SELECT DISTINCT ON (escalation_reason) escalation_reason, category
      FROM w
     ORDER BY escalation_reason, escalations DESC, category
)
SELECT r.escalation_reason,
       r.escalations,
       round(100.0 * r.escalations / sum(r.escalations) OVER (), 2)                  AS share_pct,
       tc.category                                                                  AS top_category,
       row_number() OVER (ORDER BY r.escalations DESC, r.escalation_reason)         AS rank
  FROM r
  JOIN tc USING (escalation_reason);

CREATE OR REPLACE VIEW v_kb_coverage_gaps AS
WITH c AS (
    SELECT category, sum(total_cases) AS cases, sum(self_service_cases) AS self_service_cases
      FROM kpi_daily_case_stats
     WHERE metric_date BETWEEN CURRENT_DATE - 29 AND CURRENT_DATE
     GROUP BY category
), kb AS (
    SELECT category, count(*) AS articles
      FROM kb_articles
     WHERE is_published
     GROUP BY category
), top_reason AS (
    SELECT DISTINCT ON (category) category, escalation_reason
      FROM (SELECT category, escalation_reason, sum(escalations) AS escalations
              FROM kpi_daily_escalation_stats
             WHERE metric_date BETWEEN CURRENT_DATE - 29 AND CURRENT_DATE
             GROUP BY category, escalation_reason) e
     ORDER BY category, escalations DESC, escalation_reason
)
SELECT c.category,
       c.cases,
       round(100.0 * c.self_service_cases / c.cases, 2)                            AS self_service_rate,
       coalesce(kb.articles, 0)                                                    AS kb_article_count,
       -- cases that needed a human, per published article (+1 so a category without articles ranks first)
       round((c.cases - c.self_service_cases)::numeric / (coalesce(kb.articles, 0) + 1), 2) AS gap_score,
       CASE WHEN tr.escalation_reason IS NOT NULL
            THEN format('%s: how to resolve "%s" without an agent',
                        initcap(replace(c.category, '_', ' ')), replace(tr.escalation_reason, '_', ' '))
            ELSE format('%s: self-service guide', initcap(replace(c.category, '_', ' ')))
       END                                                                         AS suggested_article,
       tr.escalation_reason                                                        AS top_escalation_reason
  FROM c
  LEFT JOIN kb USING (category)
  LEFT JOIN top_reason tr USING (category)
 WHERE c.cases > 0;

CREATE OR REPLACE VIEW v_low_confidence_categories AS
SELECT category,
       sum(total_cases)                                                              AS cases,
       round(sum(ai_confidence_sum) / nullif(sum(ai_confidence_cases), 0), 3)        AS avg_confidence,
       round(100.0 * sum(ai_approved) / nullif(sum(ai_reviewed_cases), 0), 2)        AS approval_rate,
       round(100.0 * sum(ai_rejected) / nullif(sum(ai_reviewed_cases), 0), 2)        AS rejection_rate
  FROM kpi_daily_case_stats
 WHERE metric_date BETWEEN CURRENT_DATE - 29 AND CURRENT_DATE
 GROUP BY category;

CREATE OR REPLACE VIEW v_recurring_issues AS
SELECT category,
       escalation_reason,
       sum(escalations)  AS occurrences,
       count(*)          AS distinct_days,
       min(metric_date)  AS first_seen,
       max(metric_date)  AS last_seen
  FROM kpi_daily_escalation_stats
 WHERE metric_date BETWEEN CURRENT_DATE - 29 AND CURRENT_DATE
   AND escalations > 0
 GROUP BY category, escalation_reason
HAVING count(*) >= 2;

CREATE OR REPLACE VIEW v_kpi_targets AS
SELECT kpi_key, display_name, comparator, target_value, unit
  FROM kpi_targets;

-- Exactly one row: today, month-to-date and last-30-days figures. Window figures sum the calendar days of
-- the window: case counters from the case rollup, AI spend from the token rollup (also days without
-- cases), platform cost pro rata per calendar day.
CREATE OR REPLACE VIEW v_executive_summary AS
WITH bounds AS (
    SELECT CURRENT_DATE AS today,
           CURRENT_DATE - 29 AS from_30d,
           date_trunc('month', CURRENT_DATE)::date AS from_mtd
), cs AS (
    SELECT
        coalesce(sum(s.total_cases) FILTER (WHERE s.metric_date = bo.today), 0)          AS cases_today,
        coalesce(sum(s.resolved_cases) FILTER (WHERE s.metric_date = bo.today), 0)       AS resolved_today,
        sum(s.csat_sum) FILTER (WHERE s.metric_date = bo.today)                          AS csat_sum_today,
        sum(s.csat_cases) FILTER (WHERE s.metric_date = bo.today)                        AS csat_cases_today,
        coalesce(sum(s.handling_minutes_sum) FILTER (WHERE s.metric_date = bo.today), 0) AS handling_today,
        coalesce(sum(s.total_cases) FILTER (WHERE s.metric_date >= bo.from_mtd), 0)      AS cases_mtd,
        coalesce(sum(s.handling_minutes_sum) FILTER (WHERE s.metric_date >= bo.from_mtd), 0) AS handling_mtd,
        coalesce(sum(s.total_cases) FILTER (WHERE s.metric_date >= bo.from_30d), 0)      AS cases_30d,
        coalesce(sum(s.resolved_cases) FILTER (WHERE s.metric_date >= bo.from_30d), 0)   AS resolved_30d,
        sum(s.csat_sum) FILTER (WHERE s.metric_date >= bo.from_30d)                      AS csat_sum_30d,
        sum(s.csat_cases) FILTER (WHERE s.metric_date >= bo.from_30d)                    AS csat_cases_30d,
        coalesce(sum(s.handling_minutes_sum) FILTER (WHERE s.metric_date >= bo.from_30d), 0) AS handling_30d
      FROM bounds bo
      LEFT JOIN kpi_daily_case_stats s
             ON s.metric_date BETWEEN least(bo.from_30d, bo.from_mtd) AND bo.today
), ts AS (
    SELECT
        coalesce(sum(t.cost_usd) FILTER (WHERE t.usage_date = bo.today), 0)      AS ai_today,
        coalesce(sum(t.cost_usd) FILTER (WHERE t.usage_date >= bo.from_mtd), 0)  AS ai_mtd,
        coalesce(sum(t.cost_usd) FILTER (WHERE t.usage_date >= bo.from_30d), 0)  AS ai_30d
      FROM bounds bo
      LEFT JOIN kpi_daily_token_stats t
             ON t.usage_date BETWEEN least(bo.from_30d, bo.from_mtd) AND bo.today
), platform AS (
    SELECT sum(bl.monthly_platform_cost
               / extract(day FROM date_trunc('month', g.d) + interval '1 month - 1 day')) AS platform_30d
      FROM bounds bo
     CROSS JOIN v_kpi_baseline bl
     CROSS JOIN LATERAL generate_series(bo.from_30d, bo.today, interval '1 day') AS g(d)
), budget AS (
    SELECT coalesce(max(token_utilization_pct) FILTER (WHERE budget_type = 'monthly'),
                    max(token_utilization_pct)) AS token_budget_utilization_pct
      FROM v_budget_utilization
     WHERE CURRENT_DATE BETWEEN period_start AND period_end
)
SELECT cs.cases_today,
       cs.resolved_today,
       round(100.0 * cs.resolved_today / nullif(cs.cases_today, 0), 2)                          AS resolution_rate_today,
       round(cs.csat_sum_today::numeric / nullif(cs.csat_cases_today, 0), 2)                    AS csat_today,
       round(cs.cases_today * bl.manual_cost_per_case - ts.ai_today
             - cs.handling_today / 60 * bl.hourly_support_cost, 2)                               AS cost_savings_today_usd,
       round(cs.cases_mtd * bl.manual_cost_per_case - ts.ai_mtd
             - cs.handling_mtd / 60 * bl.hourly_support_cost, 2)                                 AS cost_savings_mtd_usd,
       budget.token_budget_utilization_pct,
       round((cs.cases_today * bl.manual_minutes_per_case - cs.handling_today) / 60, 2)         AS time_saved_hours_today,
       round(100.0 * cs.resolved_30d / nullif(cs.cases_30d, 0), 2)                              AS resolution_rate_30d,
       round(cs.csat_sum_30d::numeric / nullif(cs.csat_cases_30d, 0), 2)                        AS csat_30d,
       round((ts.ai_30d + cs.handling_30d / 60 * bl.hourly_support_cost) / nullif(cs.cases_30d, 0), 2)
                                                                                                AS cost_per_case_30d_usd,
       round(100 * (cs.cases_30d * bl.manual_cost_per_case - ts.ai_30d - cs.handling_30d / 60 * bl.hourly_support_cost)
             / nullif(ts.ai_30d + platform.platform_30d, 0), 2)                                  AS roi_30d_pct
  FROM cs, ts, platform, budget, v_kpi_baseline bl;

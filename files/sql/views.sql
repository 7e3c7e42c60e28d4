-- views.sql: the KPI views the dashboard, the alert rules and the verification read.
--
-- REPEATABLE: re-applied whenever it changes, inside ONE transaction. Every view is CREATE OR REPLACE, which
-- keeps the grants of grafana-reader.sql; views only ever gain columns at the end (a change of a column's
-- name, type or order needs a DROP VIEW in a numbered migration, as 0001-kpi-definitions.sql does; the role
-- re-applies views.sql and grafana-reader.sql after every migration).
--
-- Names and meaning: docs/kpi-contract.md; formulas: docs/data-model.md.
-- The views read the daily rollup tables of schema-additions.sql and the migrations (kept exact by triggers),
-- never the 18M-row base tables, so every dashboard query touches at most a few thousand small rows.
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

-- Internal: unrounded sums of every calendar day from the first day with cases or AI spend up to today (or the
-- last day with data, if later): days without cases (AI spend, platform cost) get a row too, so running totals
-- agree with the window figures of v_executive_summary. Cost components per day (docs/data-model.md):
-- manual baseline credited for RESOLVED cases only; actual cost = human + AI + platform (pro rata per day).
CREATE OR REPLACE VIEW kpi_daily_base AS
WITH span AS (
    SELECT least((SELECT min(metric_date) FROM kpi_daily_case_stats),
                 (SELECT min(usage_date) FROM kpi_daily_token_stats)) AS first_day,
           greatest(CURRENT_DATE,
                    (SELECT max(metric_date) FROM kpi_daily_case_stats),
                    (SELECT max(usage_date) FROM kpi_daily_token_stats)) AS last_day
), d AS (
    SELECT g.day::date AS metric_date
      FROM span
     CROSS JOIN LATERAL generate_series(span.first_day, span.last_day, interval '1 day') AS g(day)
)
SELECT d.metric_date,
       c.total_cases, c.resolved_cases, c.escalated_cases, c.collaborative_cases, c.self_service_cases,
       c.fcr_cases, c.resolution_timed_cases, c.resolution_seconds_sum, c.csat_cases, c.csat_sum,
       c.ai_reviewed_cases, c.ai_approved, c.ai_edited, c.ai_rejected, c.ai_confidence_cases, c.ai_confidence_sum,
       c.handling_minutes_sum, c.human_needed_cases, c.self_served_cases,
       k.calib_cases, k.calib_abs_gap, k.calib_signed_gap,
       t.ai_cost,
       c.handling_minutes_sum / 60 * b.hourly_support_cost                   AS human_cost,
       b.monthly_platform_cost
           / extract(day FROM date_trunc('month', d.metric_date) + interval '1 month - 1 day') AS platform_cost,
       c.resolved_cases * b.manual_cost_per_case                              AS manual_cost,
       c.resolved_cases * b.manual_minutes_per_case                           AS manual_minutes
  FROM d
  -- per-day index look-ups, so a dashboard window filter on metric_date limits every side
 CROSS JOIN LATERAL (
        SELECT coalesce(sum(s.total_cases), 0)            AS total_cases,
               coalesce(sum(s.resolved_cases), 0)         AS resolved_cases,
               coalesce(sum(s.escalated_cases), 0)        AS escalated_cases,
               coalesce(sum(s.collaborative_cases), 0)    AS collaborative_cases,
               coalesce(sum(s.self_service_cases), 0)     AS self_service_cases,
               coalesce(sum(s.fcr_cases), 0)              AS fcr_cases,
               coalesce(sum(s.resolution_timed_cases), 0) AS resolution_timed_cases,
               coalesce(sum(s.resolution_seconds_sum), 0) AS resolution_seconds_sum,
               coalesce(sum(s.csat_cases), 0)             AS csat_cases,
               coalesce(sum(s.csat_sum), 0)               AS csat_sum,
               coalesce(sum(s.ai_reviewed_cases), 0)      AS ai_reviewed_cases,
               coalesce(sum(s.ai_approved), 0)            AS ai_approved,
               coalesce(sum(s.ai_edited), 0)              AS ai_edited,
               coalesce(sum(s.ai_rejected), 0)            AS ai_rejected,
               coalesce(sum(s.ai_confidence_cases), 0)    AS ai_confidence_cases,
               coalesce(sum(s.ai_confidence_sum), 0)      AS ai_confidence_sum,
               coalesce(sum(s.handling_minutes_sum), 0)   AS handling_minutes_sum,
               coalesce(sum(s.human_needed_cases), 0)     AS human_needed_cases,
               coalesce(sum(s.self_served_cases), 0)      AS self_served_cases
          FROM kpi_daily_case_stats s
         WHERE s.metric_date = d.metric_date) c
 CROSS JOIN LATERAL (
        -- calibration parts: per confidence bucket |sum of confidence - approved| (absolute, for the ECE) and
        -- signed, over the day's reviewed cases
        SELECT coalesce(sum(cs.approved + cs.edited + cs.rejected), 0)          AS calib_cases,
               coalesce(sum(abs(cs.reviewed_confidence_sum - cs.approved)), 0) AS calib_abs_gap,
               coalesce(sum(cs.reviewed_confidence_sum - cs.approved), 0)      AS calib_signed_gap
          FROM kpi_daily_confidence_stats cs
         WHERE cs.metric_date = d.metric_date) k
 CROSS JOIN LATERAL (SELECT coalesce(sum(s.cost_usd), 0) AS ai_cost
                       FROM kpi_daily_token_stats s
                      WHERE s.usage_date = d.metric_date) t
 CROSS JOIN v_kpi_baseline b;

-- One row per day with cases. Self-service and human intervention rates divide by the cases whose need of a
-- human is decided (routed, or with an edited/rejected AI draft), so the two are complements.
CREATE OR REPLACE VIEW v_daily_kpi AS
SELECT metric_date,
       total_cases,
       resolved_cases,
       escalated_cases,
       collaborative_cases,
       self_service_cases,
       round(100.0 * resolved_cases / total_cases, 2)                                       AS resolution_rate,
       round(100.0 * fcr_cases / total_cases, 2)                                            AS first_contact_resolution_rate,
       round(100.0 * self_served_cases / nullif(self_served_cases + human_needed_cases, 0), 2)  AS self_service_rate,
       round(100.0 * human_needed_cases / nullif(self_served_cases + human_needed_cases, 0), 2) AS human_intervention_rate,
       round(100.0 * escalated_cases / total_cases, 2)                                      AS escalation_rate,
       round(resolution_seconds_sum / nullif(resolution_timed_cases, 0) / 60, 2)            AS avg_resolution_minutes,
       round(csat_sum::numeric / nullif(csat_cases, 0), 2)                                  AS csat_avg,
       round(100.0 * ai_approved / nullif(ai_reviewed_cases, 0), 2)                         AS ai_approval_rate,
       round(100.0 * ai_edited / nullif(ai_reviewed_cases, 0), 2)                           AS ai_edit_rate,
       round(100.0 * ai_rejected / nullif(ai_reviewed_cases, 0), 2)                         AS ai_rejection_rate,
       round(ai_confidence_sum / nullif(ai_confidence_cases, 0), 3)                         AS ai_confidence_avg,
       -- expected calibration error over the confidence buckets, percentage points
       round(100 * calib_abs_gap / nullif(calib_cases, 0), 2)                               AS ai_confidence_accuracy,
       round((manual_minutes - handling_minutes_sum) / 60, 2)                               AS time_saved_hours,
       round(manual_cost, 2)                                                                AS manual_cost_usd,
       round(ai_cost, 2)                                                                    AS ai_cost_usd,
       round(human_cost, 2)                                                                 AS human_cost_usd,
       round(ai_cost + human_cost + platform_cost, 2)                                       AS actual_cost_usd,
       round((ai_cost + human_cost + platform_cost) / total_cases, 2)                       AS cost_per_case_usd,
       round(ai_cost / total_cases, 2)                                                      AS ai_cost_per_case_usd,
       round(manual_cost - ai_cost - human_cost - platform_cost, 2)                         AS net_savings_usd,
       round(100 * (manual_cost - ai_cost - human_cost - platform_cost) / nullif(ai_cost + platform_cost, 0), 2)
                                                                                            AS roi_pct,
       -- unrounded parts, so a panel can compute exact averages over a time range
       -- (e.g. CSAT = sum(csat_score_sum) / sum(csat_responses))
       csat_cases                                                                           AS csat_responses,
       csat_sum                                                                             AS csat_score_sum,
       resolution_timed_cases                                                               AS resolution_timed_cases,
       round(resolution_seconds_sum / 60, 4)                                                AS resolution_minutes_sum,
       fcr_cases                                                                            AS first_contact_resolved_cases,
       ai_reviewed_cases,
       round(handling_minutes_sum, 2)                                                       AS handling_minutes_sum,
       -- signed calibration gap: mean confidence - approval rate (> 0 over-confident, < 0 under-confident)
       round(100 * calib_signed_gap / nullif(calib_cases, 0), 2)                            AS ai_confidence_bias,
       round(platform_cost, 2)                                                              AS platform_cost_usd,
       human_needed_cases                                                                   AS human_intervention_cases,
       self_served_cases                                                                    AS self_served_cases
  FROM kpi_daily_base
 WHERE total_cases > 0;

-- Per day and category. AI spend of token rows that carry a case_id is charged to that case's category; the
-- rest of the day's AI spend and the day's platform cost are shared out by the category's share of the day's
-- cases. A day without cases gets one row with category 'unassigned' holding its unattributed cost, so the
-- categories of a day always add up to v_daily_kpi / v_cost_comparison_daily.
CREATE OR REPLACE VIEW v_daily_kpi_by_category AS
WITH c AS (
    SELECT coalesce(s.metric_date, ct.usage_date)    AS metric_date,
           coalesce(s.category, ct.category)         AS category,
           coalesce(s.total_cases, 0)                AS total_cases,
           coalesce(s.resolved_cases, 0)             AS resolved_cases,
           coalesce(s.human_needed_cases, 0)         AS human_needed_cases,
           coalesce(s.self_served_cases, 0)          AS self_served_cases,
           coalesce(s.handling_minutes_sum, 0)       AS handling_minutes_sum,
           coalesce(ct.cost_usd, 0)                  AS carried_ai_cost
      FROM kpi_daily_case_stats s
      FULL JOIN kpi_daily_category_token_stats ct
             ON ct.usage_date = s.metric_date AND ct.category = s.category
), x AS (
    SELECT c.*,
           sum(c.total_cases) OVER (PARTITION BY c.metric_date)     AS day_cases,
           sum(c.carried_ai_cost) OVER (PARTITION BY c.metric_date) AS day_carried_ai_cost
      FROM c
), y AS (
    SELECT x.metric_date, x.category, x.total_cases, x.resolved_cases, x.human_needed_cases, x.self_served_cases,
           x.handling_minutes_sum,
           x.carried_ai_cost + CASE WHEN x.day_cases > 0
                                    THEN (k.ai_cost - x.day_carried_ai_cost) * x.total_cases / x.day_cases
                                    ELSE 0 END                                    AS ai_cost,
           CASE WHEN x.day_cases > 0 THEN k.platform_cost * x.total_cases / x.day_cases ELSE 0 END AS platform_cost
      FROM x
      JOIN kpi_daily_base k USING (metric_date)
    UNION ALL
    SELECT k.metric_date, 'unassigned', 0, 0, 0, 0, 0,
           k.ai_cost - coalesce((SELECT sum(ct.cost_usd) FROM kpi_daily_category_token_stats ct
                                  WHERE ct.usage_date = k.metric_date), 0),
           k.platform_cost
      FROM kpi_daily_base k
     WHERE k.total_cases = 0
)
SELECT y.metric_date,
       y.category,
       y.total_cases,
       y.resolved_cases,
       round(100.0 * y.self_served_cases / nullif(y.self_served_cases + y.human_needed_cases, 0), 2) AS self_service_rate,
       round((y.resolved_cases * b.manual_minutes_per_case - y.handling_minutes_sum) / 60, 2)    AS time_saved_hours,
       round(y.resolved_cases * b.manual_cost_per_case, 2)                                       AS manual_cost_usd,
       round(y.ai_cost + y.handling_minutes_sum / 60 * b.hourly_support_cost + y.platform_cost, 2) AS actual_cost_usd,
       round(y.resolved_cases * b.manual_cost_per_case
             - y.ai_cost - y.handling_minutes_sum / 60 * b.hourly_support_cost - y.platform_cost, 2) AS net_savings_usd,
       round(y.ai_cost, 2)                                                                       AS ai_cost_usd,
       round(y.platform_cost, 2)                                                                 AS platform_cost_usd
  FROM y
 CROSS JOIN v_kpi_baseline b;

-- reviewed_cases / reviewed_confidence_sum are the additive parts of the calibration error: over any range,
-- per bucket b: n_b = sum(reviewed_cases), mean confidence = sum(reviewed_confidence_sum) / n_b,
-- success rate = sum(approved) / n_b; ECE = 100 * sum_b |sum(reviewed_confidence_sum) - sum(approved)| / sum n_b.
CREATE OR REPLACE VIEW v_confidence_daily AS
SELECT metric_date, confidence_bucket, cases, approved, edited, rejected,
       approved + edited + rejected AS reviewed_cases,
       reviewed_confidence_sum
  FROM kpi_daily_confidence_stats;

CREATE OR REPLACE VIEW v_token_daily AS
SELECT usage_date, provider, model, workflow_name, requests, input_tokens, output_tokens, total_tokens,
       round(cost_usd, 2) AS cost_usd,
       failed_requests,
       unpriced_requests,
       round(latency_ms_sum::numeric / nullif(latency_requests, 0), 0) AS avg_latency_ms
  FROM kpi_daily_token_stats;

-- The usage rate is measured since the start of the period in elapsed hours (a period runs from period_start
-- 00:00 to period_end + 1 day 00:00 in the session time zone, like CURRENT_DATE), so a daily budget at 62 %
-- by 08:00 projects exhaustion today.
CREATE OR REPLACE VIEW v_budget_utilization AS
WITH b AS (
    SELECT tb.*,
           -- hours of the period that have passed (0 for a future period, the whole period for a past one)
           greatest(extract(epoch FROM least(now(), (tb.period_end + 1)::timestamptz)
                                       - tb.period_start::timestamptz) / 3600, 0) AS elapsed_hours
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
           u.tokens_used::numeric / nullif(b.elapsed_hours, 0) AS hourly_rate,
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
           CASE WHEN p.exhausted_on IS NOT NULL OR p.token_limit IS NULL OR coalesce(p.hourly_rate, 0) = 0
                     OR CURRENT_DATE < p.period_start OR CURRENT_DATE > p.period_end THEN NULL
                ELSE now() + (p.token_limit - p.tokens_used) / p.hourly_rate * interval '1 hour'
           END AS projected_exhaustion_at
      FROM p
), r AS (
    SELECT q.*, coalesce(q.exhausted_on, q.projected_exhaustion_at::date) AS projected_exhaustion_date
      FROM q
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
       -- tokens per 24 hours at the rate since period start
       round(hourly_rate * 24, 0)                                    AS daily_avg_tokens,
       projected_exhaustion_date,
       projected_exhaustion_date - CURRENT_DATE                      AS days_remaining,
       coalesce(projected_exhaustion_date <= period_end, false)      AS exhausts_before_period_end,
       greatest(period_end - CURRENT_DATE, 0)                        AS period_days_left,
       alert_threshold_pct,
       -- the spec's budget warning: utilisation strictly above the budget's own threshold
       coalesce(100.0 * tokens_used / nullif(token_limit, 0) > alert_threshold_pct, false) AS over_alert_threshold,
       projected_exhaustion_at,
       round(elapsed_hours, 2)                                       AS elapsed_hours
  FROM r;

-- Every calendar day of kpi_daily_base (also days with AI spend but no cases): manual baseline of the
-- resolved cases vs actual cost (AI + human + platform); the running total is over all days since the first
-- one with data (a window filter does not reset it).
CREATE OR REPLACE VIEW v_cost_comparison_daily AS
SELECT metric_date,
       round(manual_cost, 2)                                                     AS manual_cost_usd,
       round(ai_cost + human_cost + platform_cost, 2)                            AS ai_assisted_cost_usd,
       round(manual_cost - ai_cost - human_cost - platform_cost, 2)              AS net_savings_usd,
       round(sum(manual_cost - ai_cost - human_cost - platform_cost) OVER (ORDER BY metric_date), 2)
                                                                                 AS cumulative_savings_usd
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
    SELECT category, sum(total_cases) AS cases, sum(self_served_cases) AS self_served_cases,
           sum(human_needed_cases) AS human_needed_cases
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
       round(100.0 * c.self_served_cases / nullif(c.self_served_cases + c.human_needed_cases, 0), 2) AS self_service_rate,
       coalesce(kb.articles, 0)                                                    AS kb_article_count,
       -- cases that needed a human (as in human_intervention_rate: routed collaborative/escalated or AI draft
       -- edited/rejected; open unrouted cases do not count), per published article (+1 so a category without
       -- articles ranks first)
       round(c.human_needed_cases::numeric / (coalesce(kb.articles, 0) + 1), 2)   AS gap_score,
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

-- Exactly one row: today, month-to-date and last-30-days figures. Window figures sum the days of
-- kpi_daily_base in the window (every calendar day since the first day with data: case counters from the case
-- rollup, AI spend from the token rollup, platform cost pro rata per day), so they equal the sums of
-- v_cost_comparison_daily over the same days.
CREATE OR REPLACE VIEW v_executive_summary AS
WITH bounds AS (
    SELECT CURRENT_DATE AS today,
           CURRENT_DATE - 29 AS from_30d,
           date_trunc('month', CURRENT_DATE)::date AS from_mtd
), w AS (
    SELECT
        coalesce(sum(k.total_cases) FILTER (WHERE k.metric_date = bo.today), 0)           AS cases_today,
        coalesce(sum(k.resolved_cases) FILTER (WHERE k.metric_date = bo.today), 0)        AS resolved_today,
        sum(k.csat_sum) FILTER (WHERE k.metric_date = bo.today)                           AS csat_sum_today,
        sum(k.csat_cases) FILTER (WHERE k.metric_date = bo.today)                         AS csat_cases_today,
        coalesce(sum(k.manual_cost - k.ai_cost - k.human_cost - k.platform_cost)
                 FILTER (WHERE k.metric_date = bo.today), 0)                              AS savings_today,
        coalesce(sum(k.manual_minutes - k.handling_minutes_sum)
                 FILTER (WHERE k.metric_date = bo.today), 0)                              AS minutes_saved_today,
        coalesce(sum(k.manual_cost - k.ai_cost - k.human_cost - k.platform_cost)
                 FILTER (WHERE k.metric_date >= bo.from_mtd), 0)                          AS savings_mtd,
        coalesce(sum(k.total_cases) FILTER (WHERE k.metric_date >= bo.from_30d), 0)       AS cases_30d,
        coalesce(sum(k.resolved_cases) FILTER (WHERE k.metric_date >= bo.from_30d), 0)    AS resolved_30d,
        sum(k.csat_sum) FILTER (WHERE k.metric_date >= bo.from_30d)                       AS csat_sum_30d,
        sum(k.csat_cases) FILTER (WHERE k.metric_date >= bo.from_30d)                     AS csat_cases_30d,
        sum(k.ai_cost + k.human_cost + k.platform_cost) FILTER (WHERE k.metric_date >= bo.from_30d) AS actual_30d,
        sum(k.manual_cost - k.ai_cost - k.human_cost - k.platform_cost)
            FILTER (WHERE k.metric_date >= bo.from_30d)                                   AS savings_30d,
        sum(k.ai_cost + k.platform_cost) FILTER (WHERE k.metric_date >= bo.from_30d)      AS investment_30d
      FROM bounds bo
      LEFT JOIN kpi_daily_base k
             ON k.metric_date BETWEEN least(bo.from_30d, bo.from_mtd) AND bo.today
), budget AS (
    SELECT coalesce(max(token_utilization_pct) FILTER (WHERE budget_type = 'monthly'),
                    max(token_utilization_pct)) AS token_budget_utilization_pct
      FROM v_budget_utilization
     WHERE CURRENT_DATE BETWEEN period_start AND period_end
)
SELECT w.cases_today,
       w.resolved_today,
       round(100.0 * w.resolved_today / nullif(w.cases_today, 0), 2)                    AS resolution_rate_today,
       round(w.csat_sum_today::numeric / nullif(w.csat_cases_today, 0), 2)              AS csat_today,
       round(w.savings_today, 2)                                                        AS cost_savings_today_usd,
       round(w.savings_mtd, 2)                                                          AS cost_savings_mtd_usd,
       budget.token_budget_utilization_pct,
       round(w.minutes_saved_today / 60, 2)                                             AS time_saved_hours_today,
       round(100.0 * w.resolved_30d / nullif(w.cases_30d, 0), 2)                        AS resolution_rate_30d,
       round(w.csat_sum_30d::numeric / nullif(w.csat_cases_30d, 0), 2)                  AS csat_30d,
       round(w.actual_30d / nullif(w.cases_30d, 0), 2)                                  AS cost_per_case_30d_usd,
       round(100 * w.savings_30d / nullif(w.investment_30d, 0), 2)                      AS roi_30d_pct
  FROM w, budget;

-- 0001-kpi-definitions.sql: the rollup parts the corrected KPI definitions need (issue 9, docs/data-model.md).
--
-- Migration, applied ONCE (ledger kind "once") after schema-additions.sql, inside the same transaction and
-- advisory lock as the rest of the run: plain SQL, no psql meta-commands, no CONCURRENTLY, no VACUUM.
-- It keeps every row: columns are added, new rollup parts are back-filled from the base tables in bounded
-- batches (7 days of rows per statement), and the trigger functions are replaced so the new parts stay exact.
--
-- What it adds:
-- * kpi_daily_case_stats.human_needed_cases  cases routed collaborative/escalated OR whose AI draft a human
--                                            edited or rejected (the one definition of "needed a human")
-- * kpi_daily_case_stats.self_served_cases   cases routed self_service whose AI draft was not edited/rejected
-- * kpi_daily_confidence_stats.reviewed_confidence_sum  sum of ai_confidence of the bucket's reviewed cases
--                                            (with approved, the additive parts of the calibration error)
-- * kpi_daily_category_token_stats           AI spend of token rows that carry the case_id of an existing
--                                            case, per usage day and that case's category
-- * token_usage_case_id_idx                  the look-up of a case's token rows (case insert/delete/re-category)
--
-- Writers of cases and token_usage wait while it runs (SHARE lock, as kpi_rebuild_rollups() takes), so the
-- back-fill is exact. The views that change shape are dropped here; views.sql (re-applied after every
-- migration) brings them back, and grafana-reader.sql re-grants them.

-- Day boundaries: the back-fill and the replaced functions must cut days in the time zone the rollups were
-- built in (kpi_rollup_timezone(), pinned when schema-additions.sql ran), not in this session's.
SELECT set_config('TimeZone', kpi_rollup_timezone(), true);

LOCK TABLE cases, token_usage IN SHARE MODE;

DROP VIEW IF EXISTS kpi_daily_base, v_daily_kpi_by_category, v_confidence_daily, v_budget_utilization,
    v_kb_coverage_gaps CASCADE;

-- --------------------------------------------------------------------------------------------------------
-- 1. New rollup parts.

ALTER TABLE kpi_daily_case_stats
    ADD COLUMN IF NOT EXISTS human_needed_cases bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS self_served_cases  bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN kpi_daily_case_stats.human_needed_cases IS
    'Cases routed collaborative/escalated or whose AI draft a human edited or rejected.';
COMMENT ON COLUMN kpi_daily_case_stats.self_served_cases IS
    'Cases routed self_service whose AI draft was not edited or rejected.';

ALTER TABLE kpi_daily_confidence_stats
    ADD COLUMN IF NOT EXISTS reviewed_confidence_sum numeric NOT NULL DEFAULT 0;
COMMENT ON COLUMN kpi_daily_confidence_stats.reviewed_confidence_sum IS
    'Sum of ai_confidence over the bucket''s cases with an ai_outcome (approved + edited + rejected of them).';

CREATE TABLE IF NOT EXISTS kpi_daily_category_token_stats (
    usage_date date          NOT NULL,
    category   text          NOT NULL,
    requests   bigint        NOT NULL DEFAULT 0,
    cost_usd   numeric(18,6) NOT NULL DEFAULT 0,
    PRIMARY KEY (usage_date, category)
);
COMMENT ON TABLE kpi_daily_category_token_stats IS
    'AI spend of token_usage rows whose case_id names an existing case, per usage day and category of that case '
    '(maintained by the triggers on cases and token_usage; never written by hand).';
CREATE INDEX IF NOT EXISTS kpi_daily_category_token_stats_empty_idx
    ON kpi_daily_category_token_stats (usage_date) WHERE requests = 0;

CREATE INDEX IF NOT EXISTS token_usage_case_id_idx ON token_usage (case_id) WHERE case_id IS NOT NULL;

-- --------------------------------------------------------------------------------------------------------
-- 2. Back-fill in bounded batches (7 days of base rows per statement).

DO $backfill$
DECLARE
    lo date;
    hi date;
    d  date;
BEGIN
    SELECT min(created_at)::date, max(created_at)::date INTO lo, hi FROM cases;
    d := lo;
    WHILE d <= hi LOOP
        UPDATE kpi_daily_case_stats t
           SET human_needed_cases = x.human_needed, self_served_cases = x.self_served
          FROM (SELECT created_at::date AS metric_date, category,
                       count(*) FILTER (WHERE resolution_path IN ('collaborative', 'escalated')
                                           OR ai_outcome IN ('edited', 'rejected')) AS human_needed,
                       count(*) FILTER (WHERE resolution_path = 'self_service'
                                          AND ai_outcome IS DISTINCT FROM 'edited'
                                          AND ai_outcome IS DISTINCT FROM 'rejected') AS self_served
                  FROM cases
                 WHERE created_at >= d::timestamptz AND created_at < (d + 7)::timestamptz
                 GROUP BY 1, 2) x
         WHERE t.metric_date = x.metric_date AND t.category = x.category;

        UPDATE kpi_daily_confidence_stats t
           SET reviewed_confidence_sum = x.conf_sum
          FROM (SELECT created_at::date AS metric_date,
                       (least(floor(ai_confidence * 10), 9) / 10)::numeric(2,1) AS bucket,
                       sum(ai_confidence) FILTER (WHERE ai_outcome IS NOT NULL) AS conf_sum
                  FROM cases
                 WHERE created_at >= d::timestamptz AND created_at < (d + 7)::timestamptz
                   AND ai_confidence IS NOT NULL
                 GROUP BY 1, 2) x
         WHERE t.metric_date = x.metric_date AND t.confidence_bucket = x.bucket AND x.conf_sum IS NOT NULL;
        d := d + 7;
    END LOOP;

    SELECT min(recorded_at)::date, max(recorded_at)::date INTO lo, hi FROM token_usage;
    d := lo;
    WHILE d <= hi LOOP
        INSERT INTO kpi_daily_category_token_stats AS t (usage_date, category, requests, cost_usd)
        SELECT tu.recorded_at::date, c.category, count(*), coalesce(sum(tu.cost_usd), 0)
          FROM token_usage tu
          JOIN cases c ON c.case_id = tu.case_id
         WHERE tu.recorded_at >= d::timestamptz AND tu.recorded_at < (d + 7)::timestamptz
         GROUP BY 1, 2
         ORDER BY 1, 2
        ON CONFLICT (usage_date, category) DO UPDATE SET
            requests = t.requests + EXCLUDED.requests,
            cost_usd = t.cost_usd + EXCLUDED.cost_usd;
        d := d + 7;
    END LOOP;
END
$backfill$;

-- --------------------------------------------------------------------------------------------------------
-- 3. Trigger functions, replaced (same names, so the triggers of schema-additions.sql call them). They pin
--    the rollup time zone set above (SET TimeZone FROM CURRENT).

CREATE OR REPLACE FUNCTION kpi_cases_rollup() RETURNS trigger
    LANGUAGE plpgsql
    SET TimeZone FROM CURRENT
AS $$
DECLARE
    cols constant text := 'case_id, created_at, resolved_at, status, resolution_path, category, first_contact_resolved, '
                          'ai_confidence, ai_outcome, escalation_reason, csat_score, handling_minutes';
    src text;
    moved text;
BEGIN
    src := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sgn, %s FROM new_rows', cols)
        WHEN 'DELETE' THEN format('SELECT -1 AS sgn, %s FROM old_rows', cols)
        ELSE format('SELECT 1 AS sgn, %1$s FROM new_rows UNION ALL SELECT -1, %1$s FROM old_rows', cols)
    END;
    -- cases whose token spend changes category: inserted, deleted, or updated with another category/case_id
    moved := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sgn, case_id, category FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sgn, case_id, category FROM old_rows'
        ELSE 'SELECT 1 AS sgn, n.case_id, n.category FROM new_rows n
               WHERE NOT EXISTS (SELECT 1 FROM old_rows o
                                  WHERE o.case_id = n.case_id AND o.category IS NOT DISTINCT FROM n.category)
              UNION ALL
              SELECT -1, o.case_id, o.category FROM old_rows o
               WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                                  WHERE n.case_id = o.case_id AND n.category IS NOT DISTINCT FROM o.category)'
    END;

    EXECUTE format($q$
        INSERT INTO kpi_daily_case_stats AS t
            (metric_date, category, total_cases, resolved_cases, escalated_cases, collaborative_cases,
             self_service_cases, fcr_cases, resolution_timed_cases, resolution_seconds_sum, csat_cases, csat_sum,
             ai_reviewed_cases, ai_approved, ai_edited, ai_rejected, ai_confidence_cases, ai_confidence_sum,
             calib_cases, calib_confidence_sum, calib_approved, handling_minutes_sum,
             human_needed_cases, self_served_cases)
        SELECT d.metric_date, d.category, sum(d.sgn), sum(d.sgn * d.resolved), sum(d.sgn * d.escalated),
               sum(d.sgn * d.collaborative), sum(d.sgn * d.self_service), sum(d.sgn * d.fcr),
               sum(d.sgn * d.timed), sum(d.sgn * d.res_seconds),
               sum(d.sgn * d.has_csat), sum(d.sgn * coalesce(d.csat_score, 0)),
               sum(d.sgn * d.reviewed), sum(d.sgn * d.approved), sum(d.sgn * d.edited), sum(d.sgn * d.rejected),
               sum(d.sgn * d.has_conf), sum(d.sgn * coalesce(d.ai_confidence, 0)),
               sum(d.sgn * d.calib), sum(d.sgn * d.calib * coalesce(d.ai_confidence, 0)), sum(d.sgn * d.calib * d.approved),
               sum(d.sgn * coalesce(d.handling_minutes, 0)),
               sum(d.sgn * d.human_needed), sum(d.sgn * d.self_served)
          FROM (SELECT s.sgn, s.created_at::date AS metric_date, s.category, s.csat_score, s.ai_confidence,
                       s.handling_minutes,
                       ((s.status IN ('resolved', 'closed')) IS TRUE)::int AS resolved,
                       ((s.resolution_path = 'escalated') IS TRUE)::int AS escalated,
                       ((s.resolution_path = 'collaborative') IS TRUE)::int AS collaborative,
                       ((s.resolution_path = 'self_service') IS TRUE)::int AS self_service,
                       coalesce(s.first_contact_resolved, false)::int AS fcr,
                       ((s.status IN ('resolved', 'closed') AND s.resolved_at IS NOT NULL) IS TRUE)::int AS timed,
                       CASE WHEN (s.status IN ('resolved', 'closed') AND s.resolved_at IS NOT NULL) IS TRUE
                            THEN extract(epoch FROM s.resolved_at - s.created_at) ELSE 0 END AS res_seconds,
                       (s.csat_score IS NOT NULL)::int AS has_csat,
                       (s.ai_outcome IS NOT NULL)::int AS reviewed,
                       ((s.ai_outcome = 'approved') IS TRUE)::int AS approved,
                       ((s.ai_outcome = 'edited') IS TRUE)::int AS edited,
                       ((s.ai_outcome = 'rejected') IS TRUE)::int AS rejected,
                       (s.ai_confidence IS NOT NULL)::int AS has_conf,
                       (s.ai_confidence IS NOT NULL AND s.ai_outcome IS NOT NULL)::int AS calib,
                       ((s.resolution_path IN ('collaborative', 'escalated')) IS TRUE
                        OR (s.ai_outcome IN ('edited', 'rejected')) IS TRUE)::int AS human_needed,
                       ((s.resolution_path = 'self_service') IS TRUE
                        AND (s.ai_outcome IN ('edited', 'rejected')) IS NOT TRUE)::int AS self_served
                  FROM (%s) s) d
         GROUP BY d.metric_date, d.category
        HAVING sum(d.sgn) <> 0 OR sum(d.sgn * d.resolved) <> 0 OR sum(d.sgn * d.escalated) <> 0
            OR sum(d.sgn * d.collaborative) <> 0 OR sum(d.sgn * d.self_service) <> 0 OR sum(d.sgn * d.fcr) <> 0
            OR sum(d.sgn * d.timed) <> 0 OR sum(d.sgn * d.res_seconds) <> 0 OR sum(d.sgn * d.has_csat) <> 0
            OR sum(d.sgn * coalesce(d.csat_score, 0)) <> 0 OR sum(d.sgn * d.reviewed) <> 0
            OR sum(d.sgn * d.approved) <> 0 OR sum(d.sgn * d.edited) <> 0 OR sum(d.sgn * d.rejected) <> 0
            OR sum(d.sgn * d.has_conf) <> 0 OR sum(d.sgn * coalesce(d.ai_confidence, 0)) <> 0
            OR sum(d.sgn * d.calib) <> 0 OR sum(d.sgn * d.calib * coalesce(d.ai_confidence, 0)) <> 0
            OR sum(d.sgn * d.calib * d.approved) <> 0 OR sum(d.sgn * coalesce(d.handling_minutes, 0)) <> 0
            OR sum(d.sgn * d.human_needed) <> 0 OR sum(d.sgn * d.self_served) <> 0
         ORDER BY 1, 2
        ON CONFLICT (metric_date, category) DO UPDATE SET
            total_cases            = t.total_cases            + EXCLUDED.total_cases,
            resolved_cases         = t.resolved_cases         + EXCLUDED.resolved_cases,
            escalated_cases        = t.escalated_cases        + EXCLUDED.escalated_cases,
            collaborative_cases    = t.collaborative_cases    + EXCLUDED.collaborative_cases,
            self_service_cases     = t.self_service_cases     + EXCLUDED.self_service_cases,
            fcr_cases              = t.fcr_cases              + EXCLUDED.fcr_cases,
            resolution_timed_cases = t.resolution_timed_cases + EXCLUDED.resolution_timed_cases,
            resolution_seconds_sum = t.resolution_seconds_sum + EXCLUDED.resolution_seconds_sum,
            csat_cases             = t.csat_cases             + EXCLUDED.csat_cases,
            csat_sum               = t.csat_sum               + EXCLUDED.csat_sum,
            ai_reviewed_cases      = t.ai_reviewed_cases      + EXCLUDED.ai_reviewed_cases,
            ai_approved            = t.ai_approved            + EXCLUDED.ai_approved,
            ai_edited              = t.ai_edited              + EXCLUDED.ai_edited,
            ai_rejected            = t.ai_rejected            + EXCLUDED.ai_rejected,
            ai_confidence_cases    = t.ai_confidence_cases    + EXCLUDED.ai_confidence_cases,
            ai_confidence_sum      = t.ai_confidence_sum      + EXCLUDED.ai_confidence_sum,
            calib_cases            = t.calib_cases            + EXCLUDED.calib_cases,
            calib_confidence_sum   = t.calib_confidence_sum   + EXCLUDED.calib_confidence_sum,
            calib_approved         = t.calib_approved         + EXCLUDED.calib_approved,
            handling_minutes_sum   = t.handling_minutes_sum   + EXCLUDED.handling_minutes_sum,
            human_needed_cases     = t.human_needed_cases     + EXCLUDED.human_needed_cases,
            self_served_cases      = t.self_served_cases      + EXCLUDED.self_served_cases
    $q$, src);

    EXECUTE format($q$
        INSERT INTO kpi_daily_confidence_stats AS t
            (metric_date, confidence_bucket, cases, approved, edited, rejected, reviewed_confidence_sum)
        SELECT d.metric_date, d.bucket, sum(d.sgn), sum(d.sgn * d.approved), sum(d.sgn * d.edited), sum(d.sgn * d.rejected),
               sum(d.sgn * d.reviewed_conf)
          FROM (SELECT s.sgn, s.created_at::date AS metric_date,
                       (least(floor(s.ai_confidence * 10), 9) / 10)::numeric(2,1) AS bucket,
                       ((s.ai_outcome = 'approved') IS TRUE)::int AS approved,
                       ((s.ai_outcome = 'edited') IS TRUE)::int AS edited,
                       ((s.ai_outcome = 'rejected') IS TRUE)::int AS rejected,
                       CASE WHEN s.ai_outcome IS NOT NULL THEN s.ai_confidence ELSE 0 END AS reviewed_conf
                  FROM (%s) s
                 WHERE s.ai_confidence IS NOT NULL) d
         GROUP BY d.metric_date, d.bucket
        HAVING sum(d.sgn) <> 0 OR sum(d.sgn * d.approved) <> 0 OR sum(d.sgn * d.edited) <> 0 OR sum(d.sgn * d.rejected) <> 0
            OR sum(d.sgn * d.reviewed_conf) <> 0
         ORDER BY 1, 2
        ON CONFLICT (metric_date, confidence_bucket) DO UPDATE SET
            cases                   = t.cases                   + EXCLUDED.cases,
            approved                = t.approved                + EXCLUDED.approved,
            edited                  = t.edited                  + EXCLUDED.edited,
            rejected                = t.rejected                + EXCLUDED.rejected,
            reviewed_confidence_sum = t.reviewed_confidence_sum + EXCLUDED.reviewed_confidence_sum
    $q$, src);

    EXECUTE format($q$
        INSERT INTO kpi_daily_escalation_stats AS t
        SELECT s.created_at::date, s.category, coalesce(s.escalation_reason, 'unspecified'), sum(s.sgn)
          FROM (%s) s
         WHERE s.resolution_path = 'escalated'
         GROUP BY 1, 2, 3
        HAVING sum(s.sgn) <> 0
         ORDER BY 1, 2, 3
        ON CONFLICT (metric_date, category, escalation_reason) DO UPDATE SET
            escalations = t.escalations + EXCLUDED.escalations
    $q$, src);

    -- token spend carried by these cases follows them (token rows logged before their case arrive here).
    -- Token rows written by the same statement as the case row (same xmin and cmin, e.g. one INSERT with a
    -- data-modifying CTE) are left to the token_usage trigger, which sees the case as well: each (case,
    -- token row) pair is counted once.
    EXECUTE format($q$
        INSERT INTO kpi_daily_category_token_stats AS t (usage_date, category, requests, cost_usd)
        SELECT tu.recorded_at::date, m.category, sum(m.sgn), sum(m.sgn * coalesce(tu.cost_usd, 0))
          FROM (%s) m
          -- OFFSET 0 keeps these per-case index look-ups (never a scan of token_usage for a bulk insert)
         CROSS JOIN LATERAL (SELECT t2.recorded_at, t2.cost_usd, t2.xmin AS t_xmin, t2.cmin AS t_cmin
                               FROM token_usage t2 WHERE t2.case_id = m.case_id OFFSET 0) tu
          LEFT JOIN LATERAL (SELECT c2.xmin AS c_xmin, c2.cmin AS c_cmin
                               FROM cases c2 WHERE c2.case_id = m.case_id OFFSET 0) cur ON true
         WHERE m.case_id IS NOT NULL AND m.category IS NOT NULL
           AND (cur.c_xmin IS NULL OR NOT (cur.c_xmin = tu.t_xmin AND cur.c_cmin = tu.t_cmin))
         GROUP BY 1, 2
        HAVING sum(m.sgn) <> 0 OR sum(m.sgn * coalesce(tu.cost_usd, 0)) <> 0
         ORDER BY 1, 2
        ON CONFLICT (usage_date, category) DO UPDATE SET
            requests = t.requests + EXCLUDED.requests,
            cost_usd = t.cost_usd + EXCLUDED.cost_usd
    $q$, moved);

    IF TG_OP <> 'INSERT' THEN
        DELETE FROM kpi_daily_case_stats WHERE total_cases = 0;
        DELETE FROM kpi_daily_confidence_stats WHERE cases = 0;
        DELETE FROM kpi_daily_escalation_stats WHERE escalations = 0;
        DELETE FROM kpi_daily_category_token_stats WHERE requests = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi_token_usage_rollup() RETURNS trigger
    LANGUAGE plpgsql
    SET TimeZone FROM CURRENT
AS $$
DECLARE
    cols constant text := 'recorded_at, case_id, provider, model, workflow_name, success, input_tokens, output_tokens, '
                          'total_tokens, cost_usd, latency_ms';
    src text;
BEGIN
    src := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sgn, %s FROM new_rows', cols)
        WHEN 'DELETE' THEN format('SELECT -1 AS sgn, %s FROM old_rows', cols)
        ELSE format('SELECT 1 AS sgn, %1$s FROM new_rows UNION ALL SELECT -1, %1$s FROM old_rows', cols)
    END;

    EXECUTE format($q$
        INSERT INTO kpi_daily_token_stats AS t
        SELECT s.recorded_at::date, s.provider, s.model, s.workflow_name,
               sum(s.sgn), sum(s.sgn * (NOT s.success)::int),
               sum(s.sgn * s.input_tokens), sum(s.sgn * s.output_tokens), sum(s.sgn * coalesce(s.total_tokens, s.input_tokens + s.output_tokens)),
               sum(s.sgn * coalesce(s.cost_usd, 0)), sum(s.sgn * (s.cost_usd IS NULL)::int),
               sum(s.sgn * (s.latency_ms IS NOT NULL)::int), sum(s.sgn * coalesce(s.latency_ms, 0))
          FROM (%s) s
         GROUP BY 1, 2, 3, 4
        HAVING sum(s.sgn) <> 0 OR sum(s.sgn * (NOT s.success)::int) <> 0
            OR sum(s.sgn * s.input_tokens) <> 0 OR sum(s.sgn * s.output_tokens) <> 0
            OR sum(s.sgn * coalesce(s.total_tokens, s.input_tokens + s.output_tokens)) <> 0 OR sum(s.sgn * coalesce(s.cost_usd, 0)) <> 0
            OR sum(s.sgn * (s.cost_usd IS NULL)::int) <> 0 OR sum(s.sgn * (s.latency_ms IS NOT NULL)::int) <> 0
            OR sum(s.sgn * coalesce(s.latency_ms, 0)) <> 0
         ORDER BY 1, 2, 3, 4
        ON CONFLICT (usage_date, provider, model, workflow_name) DO UPDATE SET
            requests          = t.requests          + EXCLUDED.requests,
            failed_requests   = t.failed_requests   + EXCLUDED.failed_requests,
            input_tokens      = t.input_tokens      + EXCLUDED.input_tokens,
            output_tokens     = t.output_tokens     + EXCLUDED.output_tokens,
            total_tokens      = t.total_tokens      + EXCLUDED.total_tokens,
            cost_usd          = t.cost_usd          + EXCLUDED.cost_usd,
            unpriced_requests = t.unpriced_requests + EXCLUDED.unpriced_requests,
            latency_requests  = t.latency_requests  + EXCLUDED.latency_requests,
            latency_ms_sum    = t.latency_ms_sum    + EXCLUDED.latency_ms_sum
    $q$, src);

    EXECUTE format($q$
        INSERT INTO kpi_daily_category_token_stats AS t (usage_date, category, requests, cost_usd)
        SELECT s.usage_date, s.category, sum(s.sgn), sum(s.sgn * coalesce(s.cost_usd, 0))
          FROM (SELECT r.sgn, r.recorded_at::date AS usage_date, r.cost_usd,
                       (SELECT c.category FROM cases c WHERE c.case_id = r.case_id) AS category
                  FROM (%s) r
                 WHERE r.case_id IS NOT NULL) s
         WHERE s.category IS NOT NULL
         GROUP BY 1, 2
        HAVING sum(s.sgn) <> 0 OR sum(s.sgn * coalesce(s.cost_usd, 0)) <> 0
         ORDER BY 1, 2
        ON CONFLICT (usage_date, category) DO UPDATE SET
            requests = t.requests + EXCLUDED.requests,
            cost_usd = t.cost_usd + EXCLUDED.cost_usd
    $q$, src);

    IF TG_OP <> 'INSERT' THEN
        DELETE FROM kpi_daily_token_stats WHERE requests = 0;
        DELETE FROM kpi_daily_category_token_stats WHERE requests = 0;
    END IF;
    RETURN NULL;
END
$$;

-- The hot path (per-request token logging): static SQL, plan cached by plpgsql.
CREATE OR REPLACE FUNCTION kpi_token_usage_rollup_insert() RETURNS trigger
    LANGUAGE plpgsql
    SET TimeZone FROM CURRENT
AS $$
BEGIN
    INSERT INTO kpi_daily_token_stats AS t
    SELECT s.recorded_at::date, s.provider, s.model, s.workflow_name,
           count(*), count(*) FILTER (WHERE NOT s.success),
           sum(s.input_tokens), sum(s.output_tokens), sum(coalesce(s.total_tokens, s.input_tokens + s.output_tokens)),
           coalesce(sum(s.cost_usd), 0), count(*) FILTER (WHERE s.cost_usd IS NULL),
           count(s.latency_ms), coalesce(sum(s.latency_ms), 0)
      FROM new_rows s
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (usage_date, provider, model, workflow_name) DO UPDATE SET
        requests          = t.requests          + EXCLUDED.requests,
        failed_requests   = t.failed_requests   + EXCLUDED.failed_requests,
        input_tokens      = t.input_tokens      + EXCLUDED.input_tokens,
        output_tokens     = t.output_tokens     + EXCLUDED.output_tokens,
        total_tokens      = t.total_tokens      + EXCLUDED.total_tokens,
        cost_usd          = t.cost_usd          + EXCLUDED.cost_usd,
        unpriced_requests = t.unpriced_requests + EXCLUDED.unpriced_requests,
        latency_requests  = t.latency_requests  + EXCLUDED.latency_requests,
        latency_ms_sum    = t.latency_ms_sum    + EXCLUDED.latency_ms_sum;

    -- the case's category by a per-row index look-up (a scalar sub-query, so the cached plan never scans cases)
    INSERT INTO kpi_daily_category_token_stats AS t (usage_date, category, requests, cost_usd)
    SELECT s.usage_date, s.category, count(*), coalesce(sum(s.cost_usd), 0)
      FROM (SELECT r.recorded_at::date AS usage_date, r.cost_usd,
                   (SELECT c.category FROM cases c WHERE c.case_id = r.case_id) AS category
              FROM new_rows r
             WHERE r.case_id IS NOT NULL) s
     WHERE s.category IS NOT NULL
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (usage_date, category) DO UPDATE SET
        requests = t.requests + EXCLUDED.requests,
        cost_usd = t.cost_usd + EXCLUDED.cost_usd;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi_cases_truncate_rollup() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM kpi_daily_case_stats;
    DELETE FROM kpi_daily_confidence_stats;
    DELETE FROM kpi_daily_escalation_stats;
    DELETE FROM kpi_daily_category_token_stats;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi_token_usage_truncate_rollup() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM kpi_daily_token_stats;
    DELETE FROM kpi_daily_category_token_stats;
    RETURN NULL;
END
$$;

-- Recompute every rollup from the base tables (backfill, repair) under a SHARE lock, so the result is exact.
CREATE OR REPLACE FUNCTION kpi_rebuild_rollups() RETURNS void
    LANGUAGE plpgsql
    SET TimeZone FROM CURRENT
AS $$
BEGIN
    LOCK TABLE cases, token_usage IN SHARE MODE;
    DELETE FROM kpi_daily_case_stats;
    DELETE FROM kpi_daily_confidence_stats;
    DELETE FROM kpi_daily_escalation_stats;
    DELETE FROM kpi_daily_token_stats;
    DELETE FROM kpi_daily_category_token_stats;

    INSERT INTO kpi_daily_case_stats
        (metric_date, category, total_cases, resolved_cases, escalated_cases, collaborative_cases,
         self_service_cases, fcr_cases, resolution_timed_cases, resolution_seconds_sum, csat_cases, csat_sum,
         ai_reviewed_cases, ai_approved, ai_edited, ai_rejected, ai_confidence_cases, ai_confidence_sum,
         calib_cases, calib_confidence_sum, calib_approved, handling_minutes_sum,
         human_needed_cases, self_served_cases)
    SELECT created_at::date, category, count(*),
           count(*) FILTER (WHERE status IN ('resolved', 'closed')),
           count(*) FILTER (WHERE resolution_path = 'escalated'),
           count(*) FILTER (WHERE resolution_path = 'collaborative'),
           count(*) FILTER (WHERE resolution_path = 'self_service'),
           count(*) FILTER (WHERE first_contact_resolved),
           count(*) FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL),
           coalesce(sum(extract(epoch FROM resolved_at - created_at))
                    FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL), 0),
           count(csat_score), coalesce(sum(csat_score), 0),
           count(ai_outcome),
           count(*) FILTER (WHERE ai_outcome = 'approved'),
           count(*) FILTER (WHERE ai_outcome = 'edited'),
           count(*) FILTER (WHERE ai_outcome = 'rejected'),
           count(ai_confidence), coalesce(sum(ai_confidence), 0),
           count(*) FILTER (WHERE ai_confidence IS NOT NULL AND ai_outcome IS NOT NULL),
           coalesce(sum(ai_confidence) FILTER (WHERE ai_outcome IS NOT NULL), 0),
           count(*) FILTER (WHERE ai_confidence IS NOT NULL AND ai_outcome = 'approved'),
           coalesce(sum(handling_minutes), 0),
           count(*) FILTER (WHERE resolution_path IN ('collaborative', 'escalated')
                               OR ai_outcome IN ('edited', 'rejected')),
           count(*) FILTER (WHERE resolution_path = 'self_service'
                              AND ai_outcome IS DISTINCT FROM 'edited' AND ai_outcome IS DISTINCT FROM 'rejected')
      FROM cases
     GROUP BY 1, 2;

    INSERT INTO kpi_daily_confidence_stats
        (metric_date, confidence_bucket, cases, approved, edited, rejected, reviewed_confidence_sum)
    SELECT created_at::date, (least(floor(ai_confidence * 10), 9) / 10)::numeric(2,1), count(*),
           count(*) FILTER (WHERE ai_outcome = 'approved'),
           count(*) FILTER (WHERE ai_outcome = 'edited'),
           count(*) FILTER (WHERE ai_outcome = 'rejected'),
           coalesce(sum(ai_confidence) FILTER (WHERE ai_outcome IS NOT NULL), 0)
      FROM cases
     WHERE ai_confidence IS NOT NULL
     GROUP BY 1, 2;

    INSERT INTO kpi_daily_escalation_stats
    SELECT created_at::date, category, coalesce(escalation_reason, 'unspecified'), count(*)
      FROM cases
     WHERE resolution_path = 'escalated'
     GROUP BY 1, 2, 3;

    INSERT INTO kpi_daily_token_stats
    SELECT recorded_at::date, provider, model, workflow_name, count(*), count(*) FILTER (WHERE NOT success),
           sum(input_tokens), sum(output_tokens), sum(coalesce(total_tokens, input_tokens + output_tokens)),
           coalesce(sum(cost_usd), 0),
           count(*) FILTER (WHERE cost_usd IS NULL), count(latency_ms), coalesce(sum(latency_ms), 0)
      FROM token_usage
     GROUP BY 1, 2, 3, 4;

    INSERT INTO kpi_daily_category_token_stats (usage_date, category, requests, cost_usd)
    SELECT tu.recorded_at::date, c.category, count(*), coalesce(sum(tu.cost_usd), 0)
      FROM token_usage tu
      JOIN cases c ON c.case_id = tu.case_id
     GROUP BY 1, 2;
END
$$;

REVOKE ALL ON FUNCTION kpi_rebuild_rollups() FROM PUBLIC;

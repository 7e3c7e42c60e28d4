-- rollups.sql: the trigger functions that keep the daily rollup tables exact, in their current version.
--
-- REPEATABLE (CREATE OR REPLACE only), runs inside ONE transaction, applied after the numbered migrations and
-- before views.sql (roles/kpi_database/vars/main.yml, tests/integration/kpi_sql.py schema_files()). A change
-- of a trigger function is made HERE, not in a new migration. The tables and the CREATE TRIGGER statements
-- stay where they are (schema-additions.sql and the migrations); the triggers call these functions by name.
-- A migration that back-fills a rollup part in a new shape may still CREATE OR REPLACE a function for its own
-- run (0001-kpi-definitions.sql and 0020-token-tracking.sql did): this file replaces it with the current
-- version right after the migrations.
--
-- kpi_rollup_timezone() (schema-additions.sql) is NOT redefined here: it is the pin of the time zone the
-- rollup days are cut in, fixed when schema-additions.sql first ran. The rollup functions pin that same time
-- zone (SET TimeZone FROM CURRENT takes the session's at CREATE time), so this file sets it for the CREATEs
-- and puts the session's back afterwards (the later files of the same transaction are not affected).
-- CREATE OR REPLACE resets SECURITY DEFINER and SET options, so the end of this file sets them again on the
-- token_usage functions n8n's role writes through.
-- Formulas and reasons: docs/data-model.md.

SELECT set_config('kpi.rollups_session_timezone', current_setting('TimeZone'), true);
SELECT set_config('TimeZone', kpi_rollup_timezone(), true);

-- --------------------------------------------------------------------------------------------------------
-- BEFORE INSERT/UPDATE on token_usage: fill total_tokens and price the row when the caller gave no cost, and
-- re-price on an UPDATE that changes what the price depends on, over the four token classes (0020).

CREATE OR REPLACE FUNCTION kpi_token_usage_fill() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.total_tokens IS NOT DISTINCT FROM OLD.total_tokens
           AND (NEW.input_tokens, NEW.cache_write_tokens, NEW.cache_read_tokens, NEW.output_tokens)
               IS DISTINCT FROM (OLD.input_tokens, OLD.cache_write_tokens, OLD.cache_read_tokens, OLD.output_tokens) THEN
            NEW.total_tokens := NULL;
        END IF;
        IF NEW.cost_usd IS NOT DISTINCT FROM OLD.cost_usd
           AND (NEW.input_tokens, NEW.cache_write_tokens, NEW.cache_read_tokens, NEW.output_tokens,
                NEW.provider, NEW.model, NEW.recorded_at)
               IS DISTINCT FROM (OLD.input_tokens, OLD.cache_write_tokens, OLD.cache_read_tokens, OLD.output_tokens,
                                 OLD.provider, OLD.model, OLD.recorded_at) THEN
            NEW.cost_usd := NULL;
        END IF;
    END IF;
    IF NEW.total_tokens IS NULL THEN
        NEW.total_tokens := NEW.input_tokens + NEW.cache_write_tokens + NEW.cache_read_tokens + NEW.output_tokens;
    END IF;
    IF NEW.cost_usd IS NULL THEN
        SELECT round((NEW.input_tokens * p.input_price_per_million
                      + NEW.cache_write_tokens * coalesce(p.cache_write_price_per_million, p.input_price_per_million)
                      + NEW.cache_read_tokens * coalesce(p.cache_read_price_per_million, p.input_price_per_million)
                      + NEW.output_tokens * p.output_price_per_million) / 1000000, 6)
          INTO NEW.cost_usd
          FROM api_pricing p
         WHERE p.provider = NEW.provider
           AND p.model = NEW.model
           AND p.effective_from <= NEW.recorded_at
         ORDER BY p.effective_from DESC
         LIMIT 1;
    END IF;
    RETURN NEW;
END
$$;

-- --------------------------------------------------------------------------------------------------------
-- AFTER ... FOR EACH STATEMENT on cases and token_usage (transition tables), and their TRUNCATE triggers: apply
-- the delta of the changed rows to the rollup tables (0001: human_needed/self_served, reviewed confidence,
-- spend per case category).

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

-- --------------------------------------------------------------------------------------------------------
-- The per-request log is written by n8n's own role, which may INSERT into token_usage and nothing more; the
-- rollup trigger behind it must still maintain kpi_daily_token_stats, so the token_usage trigger functions run
-- with their owner's rights (search_path pinned, as every SECURITY DEFINER function must). Set here, right
-- after the CREATE OR REPLACE statements above (which reset both to the defaults), so no re-run of this file
-- and no migration that replaces one of them can silently drop it.
ALTER FUNCTION kpi_token_usage_fill() SECURITY DEFINER;
ALTER FUNCTION kpi_token_usage_rollup_insert() SECURITY DEFINER;
ALTER FUNCTION kpi_token_usage_rollup() SECURITY DEFINER;
DO $pin$
BEGIN
    EXECUTE format('ALTER FUNCTION kpi_token_usage_fill() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION kpi_token_usage_rollup_insert() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION kpi_token_usage_rollup() SET search_path = %I, pg_temp', current_schema());
END
$pin$;

SELECT set_config('TimeZone', current_setting('kpi.rollups_session_timezone'), true);

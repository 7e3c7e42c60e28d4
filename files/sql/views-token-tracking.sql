-- views-token-tracking.sql: functions and the reconciliation view of the n8n token tracking.
--
-- REPEATABLE: re-applied after views.sql whenever it or a migration changed, inside ONE transaction. Needs
-- migrations/0020-token-tracking.sql. Called by the workflows in files/n8n/ (through the least-privilege role
-- of n8n-writer.sql); names and meaning in docs/kpi-contract.md, formulas in docs/data-model.md.

-- Upsert of provider-reported usage. p_rows: a JSON array of objects with the provider_usage columns
-- (provider, bucket_width, bucket_start, bucket_end, model, workspace_id, service_tier, uncached_input_tokens,
-- cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, output_tokens, requests); missing
-- dimensions and counts count as ''/0, requests as NULL. Rows of one batch with the same key are summed
-- (they differ only in a dimension not stored). One statement: the whole batch lands or nothing does.
-- Returns how many rows were inserted, updated (a revised bucket) and left as they were.
CREATE OR REPLACE FUNCTION kpi_upsert_provider_usage(p_rows jsonb)
    RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint)
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION 'kpi_upsert_provider_usage: p_rows must be a JSON array, got %', coalesce(jsonb_typeof(p_rows), 'NULL');
    END IF;
    RETURN QUERY
    WITH b AS (
        SELECT r.provider, r.bucket_width, r.bucket_start, max(r.bucket_end) AS bucket_end,
               coalesce(r.model, '') AS model, coalesce(r.workspace_id, '') AS workspace_id,
               coalesce(r.service_tier, '') AS service_tier,
               sum(coalesce(r.uncached_input_tokens, 0)) AS uncached_input_tokens,
               sum(coalesce(r.cache_write_5m_tokens, 0)) AS cache_write_5m_tokens,
               sum(coalesce(r.cache_write_1h_tokens, 0)) AS cache_write_1h_tokens,
               sum(coalesce(r.cache_read_tokens, 0)) AS cache_read_tokens,
               sum(coalesce(r.output_tokens, 0)) AS output_tokens,
               sum(r.requests) AS requests
          FROM jsonb_to_recordset(p_rows) AS r(provider text, bucket_width text, bucket_start timestamptz,
                                               bucket_end timestamptz, model text, workspace_id text,
                                               service_tier text, uncached_input_tokens bigint,
                                               cache_write_5m_tokens bigint, cache_write_1h_tokens bigint,
                                               cache_read_tokens bigint, output_tokens bigint, requests bigint)
         GROUP BY 1, 2, 3, 5, 6, 7
    ), up AS (
        INSERT INTO provider_usage AS t (provider, bucket_width, bucket_start, bucket_end, model, workspace_id,
                                         service_tier, uncached_input_tokens, cache_write_5m_tokens,
                                         cache_write_1h_tokens, cache_read_tokens, output_tokens, requests)
        SELECT b.provider, b.bucket_width, b.bucket_start, b.bucket_end, b.model, b.workspace_id, b.service_tier,
               b.uncached_input_tokens, b.cache_write_5m_tokens, b.cache_write_1h_tokens, b.cache_read_tokens,
               b.output_tokens, b.requests
          FROM b
         ORDER BY 1, 2, 3, 5, 6, 7
        ON CONFLICT ON CONSTRAINT provider_usage_pkey DO UPDATE SET
            bucket_end            = EXCLUDED.bucket_end,
            uncached_input_tokens = EXCLUDED.uncached_input_tokens,
            cache_write_5m_tokens = EXCLUDED.cache_write_5m_tokens,
            cache_write_1h_tokens = EXCLUDED.cache_write_1h_tokens,
            cache_read_tokens     = EXCLUDED.cache_read_tokens,
            output_tokens         = EXCLUDED.output_tokens,
            requests              = EXCLUDED.requests,
            updated_at            = now()
        WHERE (t.bucket_end, t.uncached_input_tokens, t.cache_write_5m_tokens, t.cache_write_1h_tokens,
               t.cache_read_tokens, t.output_tokens, t.requests)
              IS DISTINCT FROM
              (EXCLUDED.bucket_end, EXCLUDED.uncached_input_tokens, EXCLUDED.cache_write_5m_tokens,
               EXCLUDED.cache_write_1h_tokens, EXCLUDED.cache_read_tokens, EXCLUDED.output_tokens, EXCLUDED.requests)
        RETURNING (xmax = 0) AS is_new
    )
    SELECT count(*) FILTER (WHERE up.is_new), count(*) FILTER (WHERE NOT up.is_new),
           (SELECT count(*) FROM b) - count(*)
      FROM up;
END
$$;

-- Upsert of provider-reported cost. p_rows: objects with provider, bucket_start, bucket_end, workspace_id,
-- line_item, model, cost_type, token_type, service_tier, amount (number or decimal string) and unit:
-- 'usd_cents' (Anthropic: amount in cents as a decimal string) or 'usd' (OpenAI). Converted with numeric
-- arithmetic (no binary floating point). Same batch/return contract as kpi_upsert_provider_usage().
CREATE OR REPLACE FUNCTION kpi_upsert_provider_cost(p_rows jsonb)
    RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint)
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    bad text;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION 'kpi_upsert_provider_cost: p_rows must be a JSON array, got %', coalesce(jsonb_typeof(p_rows), 'NULL');
    END IF;
    SELECT string_agg(DISTINCT coalesce(r.unit, 'NULL'), ', ') INTO bad
      FROM jsonb_to_recordset(p_rows) AS r(unit text)
     WHERE r.unit IS NULL OR r.unit NOT IN ('usd', 'usd_cents');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'kpi_upsert_provider_cost: unit must be usd or usd_cents, got %', bad;
    END IF;
    RETURN QUERY
    WITH b AS (
        SELECT r.provider, r.bucket_start, max(r.bucket_end) AS bucket_end, coalesce(r.workspace_id, '') AS workspace_id,
               coalesce(r.line_item, '') AS line_item, coalesce(r.model, '') AS model,
               coalesce(r.cost_type, '') AS cost_type, coalesce(r.token_type, '') AS token_type,
               coalesce(r.service_tier, '') AS service_tier,
               round(sum(CASE r.unit WHEN 'usd_cents' THEN (r.amount #>> '{}')::numeric / 100
                                     ELSE (r.amount #>> '{}')::numeric END), 6) AS amount_usd
          FROM jsonb_to_recordset(p_rows) AS r(provider text, bucket_start timestamptz, bucket_end timestamptz,
                                               workspace_id text, line_item text, model text, cost_type text,
                                               token_type text, service_tier text, amount jsonb, unit text)
         GROUP BY 1, 2, 4, 5, 6, 7, 8, 9
    ), up AS (
        INSERT INTO provider_cost AS t (provider, bucket_start, bucket_end, workspace_id, line_item, model, cost_type,
                                        token_type, service_tier, amount_usd)
        SELECT b.provider, b.bucket_start, b.bucket_end, b.workspace_id, b.line_item, b.model, b.cost_type,
               b.token_type, b.service_tier, b.amount_usd
          FROM b
         ORDER BY 1, 2, 4, 5, 6, 7, 8, 9
        ON CONFLICT ON CONSTRAINT provider_cost_pkey DO UPDATE SET
            bucket_end = EXCLUDED.bucket_end,
            amount_usd = EXCLUDED.amount_usd,
            updated_at = now()
        WHERE (t.bucket_end, t.amount_usd) IS DISTINCT FROM (EXCLUDED.bucket_end, EXCLUDED.amount_usd)
        RETURNING (xmax = 0) AS is_new
    )
    SELECT count(*) FILTER (WHERE up.is_new), count(*) FILTER (WHERE NOT up.is_new),
           (SELECT count(*) FROM b) - count(*)
      FROM up;
END
$$;

-- Budget alerts due now, claimed so that no other run posts them: one per budget of the current period whose
-- utilisation (the larger of token and cost utilisation) reached its alert threshold or 100 %, and that was
-- not sent for that budget, period and threshold before. When both thresholds are reached and neither was
-- sent, only the 100 % alert is returned (the lower one is recorded as sent with it: one post, not two).
-- A claim not finished within p_claim_timeout (a crashed run) may be claimed again.
CREATE OR REPLACE FUNCTION kpi_claim_budget_alerts(p_claim_timeout interval DEFAULT interval '15 minutes')
    RETURNS TABLE (budget_name text, provider text, budget_type text, period_start date, period_end date,
                   threshold_pct numeric, utilization_pct numeric, tokens_used bigint, token_limit bigint,
                   cost_used_usd numeric, cost_limit_usd numeric, projected_exhaustion_date date,
                   days_remaining integer)
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    names  text[];
    starts date[];
    pcts   numeric[];
BEGIN
    WITH cur AS (
        SELECT u.budget_name AS bname, u.period_start AS pstart, u.alert_threshold_pct AS alert_pct,
               greatest(coalesce(u.token_utilization_pct, 0), coalesce(u.cost_utilization_pct, 0)) AS util
          FROM v_budget_utilization u
         WHERE CURRENT_DATE BETWEEN u.period_start AND u.period_end
    ), due AS (
        SELECT cur.bname, cur.pstart, cur.util, th.pct
          FROM cur
         CROSS JOIN LATERAL (SELECT DISTINCT x FROM unnest(ARRAY[cur.alert_pct, 100::numeric]) AS x) AS th(pct)
         WHERE cur.util >= th.pct
    ), claimed AS (
        INSERT INTO token_budget_alerts AS a (budget_name, period_start, threshold_pct, utilization_pct, claimed_at)
        SELECT due.bname, due.pstart, due.pct, due.util, now()
          FROM due
         ORDER BY 1, 2, 3
        ON CONFLICT ON CONSTRAINT token_budget_alerts_pkey DO UPDATE SET
            utilization_pct = EXCLUDED.utilization_pct,
            claimed_at      = now()
        WHERE a.sent_at IS NULL AND (a.claimed_at IS NULL OR a.claimed_at < now() - p_claim_timeout)
        RETURNING a.budget_name AS n, a.period_start AS s, a.threshold_pct AS p
    )
    SELECT coalesce(array_agg(c.n), '{}'), coalesce(array_agg(c.s), '{}'), coalesce(array_agg(c.p), '{}')
      INTO names, starts, pcts
      FROM claimed c;

    -- lower thresholds claimed together with a higher one of the same budget and period: sent with it
    UPDATE token_budget_alerts a
       SET sent_at = now(), claimed_at = NULL
      FROM unnest(names, starts, pcts) AS c(n, s, p)
     WHERE a.budget_name = c.n AND a.period_start = c.s AND a.threshold_pct = c.p
       AND EXISTS (SELECT 1 FROM unnest(names, starts, pcts) AS h(n, s, p)
                    WHERE h.n = c.n AND h.s = c.s AND h.p > c.p);

    RETURN QUERY
    SELECT u.budget_name, u.provider, u.budget_type, u.period_start, u.period_end, top.p,
           round(greatest(coalesce(u.token_utilization_pct, 0), coalesce(u.cost_utilization_pct, 0)), 2),
           u.tokens_used::bigint, u.token_limit, u.cost_used_usd, u.cost_limit_usd, u.projected_exhaustion_date,
           u.days_remaining
      FROM (SELECT DISTINCT ON (c.n, c.s) c.n, c.s, c.p
              FROM unnest(names, starts, pcts) AS c(n, s, p)
             ORDER BY c.n, c.s, c.p DESC) AS top
      JOIN v_budget_utilization u ON u.budget_name = top.n AND u.period_start = top.s
     ORDER BY u.budget_name;
END
$$;

-- After the post: p_sent = true marks the alert sent (never again); false releases the claim so that the
-- next run retries it.
CREATE OR REPLACE FUNCTION kpi_finish_budget_alert(p_budget_name text, p_period_start date, p_threshold_pct numeric,
                                                   p_sent boolean)
    RETURNS boolean
    LANGUAGE sql
AS $$
    UPDATE token_budget_alerts
       SET sent_at    = CASE WHEN p_sent THEN now() END,
           claimed_at = NULL
     WHERE budget_name = p_budget_name AND period_start = p_period_start AND threshold_pct = p_threshold_pct
       AND sent_at IS NULL
    RETURNING true
$$;

-- Per day, provider and model: what the per-request log recorded next to what the provider reported, so AI
-- calls that were never logged show up as a gap. Logged side: the daily token rollup (days in the rollup time
-- zone). Provider side: hourly usage buckets (the tracker polls 1h buckets; cut into days in the same time
-- zone) and daily cost (the providers' days are UTC days). A model only one side knows still gets a row.
CREATE OR REPLACE VIEW v_token_reconciliation AS
WITH logged AS (
    SELECT s.usage_date, s.provider, s.model,
           sum(s.requests)     AS requests,
           sum(s.total_tokens) AS tokens,
           sum(s.cost_usd)     AS cost_usd
      FROM kpi_daily_token_stats s
     GROUP BY 1, 2, 3
), reported AS (
    SELECT (u.bucket_start AT TIME ZONE kpi_rollup_timezone())::date AS usage_date, u.provider, u.model,
           sum(u.requests) AS requests,
           sum(u.uncached_input_tokens + u.cache_write_5m_tokens + u.cache_write_1h_tokens + u.cache_read_tokens
               + u.output_tokens) AS tokens
      FROM provider_usage u
     WHERE u.bucket_width = '1h'
     GROUP BY 1, 2, 3
), cost AS (
    SELECT (c.bucket_start AT TIME ZONE 'UTC')::date AS usage_date, c.provider, c.model,
           sum(c.amount_usd) AS cost_usd
      FROM provider_cost c
     WHERE c.model <> ''
     GROUP BY 1, 2, 3
), keys AS (
    SELECT usage_date, provider, model FROM logged
    UNION SELECT usage_date, provider, model FROM reported
    UNION SELECT usage_date, provider, model FROM cost
)
SELECT k.usage_date,
       k.provider,
       k.model,
       coalesce(l.requests, 0)                                         AS logged_requests,
       coalesce(l.tokens, 0)                                           AS logged_tokens,
       round(coalesce(l.cost_usd, 0), 2)                               AS logged_cost_usd,
       r.requests                                                      AS provider_requests,
       coalesce(r.tokens, 0)                                           AS provider_tokens,
       round(c.cost_usd, 2)                                            AS provider_cost_usd,
       coalesce(r.tokens, 0) - coalesce(l.tokens, 0)                   AS unlogged_tokens,
       round(100.0 * coalesce(l.tokens, 0) / nullif(r.tokens, 0), 2)   AS logged_share_pct
  FROM keys k
  LEFT JOIN logged l USING (usage_date, provider, model)
  LEFT JOIN reported r USING (usage_date, provider, model)
  LEFT JOIN cost c USING (usage_date, provider, model);

-- n8n-writer.sql: privileges of the role n8n's token-tracking workflows connect with.
--
-- REPEATABLE, runs inside ONE transaction, after views-token-tracking.sql (re-apply it whenever that file or a
-- migration was applied).
--
-- HOW THE ROLE NAME IS PASSED: like grafana-reader.sql, from the transaction-local setting `kpi.n8n_role`
--     SELECT set_config('kpi.n8n_role', 'kpi_n8n_writer', true);
-- The role is NOT created here (the kpi_database role creates it, with its password). The file fails with a
-- clear error, and changes nothing, when the setting is missing, the role does not exist, is a superuser,
-- bypasses RLS or owns objects in this schema.
--
-- WHAT IT GRANTS (least privilege, and nothing else: every other privilege of the role on tables, sequences
-- and functions of this schema is revoked first, so a re-run also removes stale grants):
--   * CONNECT on the database, USAGE on the schema;
--   * token_usage: INSERT of the caller's columns only (not recorded_at, total_tokens or cost_usd: the
--     database stamps and prices the row) and SELECT of usage_id and cost_usd (for INSERT ... RETURNING);
--   * provider_usage, provider_cost, token_budget_alerts: SELECT, INSERT, UPDATE (upserts and alert state;
--     no DELETE, no TRUNCATE);
--   * token_budgets, api_pricing, v_budget_utilization: SELECT (read budgets and pricing);
--   * EXECUTE on the four token-tracking functions of views-token-tracking.sql.
-- The rollups behind token_usage are kept by SECURITY DEFINER trigger functions (rollups.sql), so
-- the role needs no privilege on kpi_daily_token_stats, cases or any view but v_budget_utilization.

DO $grant$
DECLARE
    schema_ text := current_schema();
    writer  text;
    t       text;
BEGIN
    -- checks the role, revokes everything it holds here, grants CONNECT and USAGE (maintenance.sql)
    writer := kpi_reset_grantee('n8n-writer.sql', 'kpi.n8n_role', 'n8n writer role');

    EXECUTE format('GRANT INSERT (workflow_name, case_id, provider, model, operation_type, input_tokens, '
                   'cache_write_tokens, cache_read_tokens, output_tokens, latency_ms, success) ON %I.token_usage TO %I',
                   schema_, writer);
    EXECUTE format('GRANT SELECT (usage_id, cost_usd) ON %I.token_usage TO %I', schema_, writer);
    FOREACH t IN ARRAY ARRAY['provider_usage', 'provider_cost', 'token_budget_alerts'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.%I TO %I', schema_, t, writer);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['token_budgets', 'api_pricing', 'v_budget_utilization'] LOOP
        EXECUTE format('GRANT SELECT ON %I.%I TO %I', schema_, t, writer);
    END LOOP;
    EXECUTE format('GRANT EXECUTE ON FUNCTION %1$I.kpi_upsert_provider_usage(jsonb), %1$I.kpi_upsert_provider_cost(jsonb), '
                   '%1$I.kpi_claim_budget_alerts(interval), %1$I.kpi_finish_budget_alert(text, date, numeric, boolean) TO %2$I',
                   schema_, writer);
END
$grant$;

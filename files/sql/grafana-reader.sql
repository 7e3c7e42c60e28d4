-- grafana-reader.sql: privileges of the read-only role Grafana connects with.
--
-- REPEATABLE, runs inside ONE transaction, after views.sql (re-apply it whenever views.sql was applied, so a
-- view added there is granted too).
--
-- HOW THE ROLE NAME IS PASSED (for the kpi_schema module / kpi_database role):
--   The role is NOT created here (it has a password; the kpi_database role creates it first). This file reads
--   its name from the custom setting `kpi.reader_role`, set in the SAME transaction before the file runs:
--       SELECT set_config('kpi.reader_role', 'kpi_grafana_reader', true);   -- true = transaction-local
--   It fails with a clear error, and changes nothing, when the setting is missing, when the role does not
--   exist, or when the role is a superuser or owns objects here (a read-only role must be neither).
--
-- WHAT IT GRANTS (and nothing else): CONNECT on the current database, USAGE on the schema holding the views,
-- SELECT on every v_* view of that schema and on kpi_targets. The views run with their owner's rights, so the
-- role reads the KPIs without any access to the tables behind them.
--
-- CONTRACT COLUMNS (setting `kpi.reader_contract_columns`, 'true' when unset; role variable
-- kpi_database_reader_contract_columns): with 'true' the role may also SELECT exactly the columns that
-- docs/kpi-contract.md lists for the support tables (cases, kb_articles) and for the collection's token tables
-- (token_usage, token_budgets, api_pricing), as PostgreSQL column privileges, so ad-hoc panels can query
-- them the way the spec's example queries do. Every other column (customer details, free text such as
-- cases.subject, any column added later) stays unreadable, and so does SELECT *. 'false' = views only.
--
-- Every other privilege the role holds on tables, views, sequences and functions of that schema is revoked
-- first (revoking a table privilege also revokes the column privileges on it), so a re-run removes stale
-- grants, including the column grants when the setting is switched to 'false'. The checks of the role and
-- that reset are kpi_reset_grantee() of maintenance.sql, shared with n8n-writer.sql.

DO $grant$
DECLARE
    columns_ text := lower(coalesce(nullif(current_setting('kpi.reader_contract_columns', true), ''), 'true'));
    schema_  text := current_schema();
    reader   text;
    obj      record;
    missing  text;
    contract jsonb;
BEGIN
    IF columns_ NOT IN ('true', 'false') THEN
        RAISE EXCEPTION 'grafana-reader.sql: the setting kpi.reader_contract_columns is "%"; use true or false', columns_;
    END IF;
    -- checks the role, then starts from nothing in this schema (maintenance.sql); then grant exactly what the
    -- dashboard needs
    reader := kpi_reset_grantee('grafana-reader.sql', 'kpi.reader_role', 'read-only Grafana role');

    FOR obj IN
        SELECT c.relname
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = schema_
           AND ((c.relkind IN ('v', 'm') AND c.relname LIKE 'v\_%') OR (c.relkind = 'r' AND c.relname = 'kpi_targets'))
         ORDER BY c.relname
    LOOP
        EXECUTE format('GRANT SELECT ON %I.%I TO %I', schema_, obj.relname, reader);
    END LOOP;

    IF columns_ = 'false' THEN
        RETURN;
    END IF;

    -- The contract columns (docs/kpi-contract.md, "Tables the views need from the support system" and "Tables
    -- of the collection"); tests/integration/test_reader_privileges.py keeps this list and the contract equal.
    contract := '{
        "cases": ["case_id", "created_at", "resolved_at", "status", "resolution_path", "category",
                  "first_contact_resolved", "ai_confidence", "ai_outcome", "csat_score", "escalation_reason",
                  "handling_minutes"],
        "kb_articles": ["article_id", "title", "category", "is_published", "created_at", "updated_at"],
        "token_usage": ["usage_id", "recorded_at", "workflow_name", "case_id", "provider", "model",
                        "operation_type", "input_tokens", "output_tokens", "total_tokens", "cost_usd",
                        "latency_ms", "success", "cache_write_tokens", "cache_read_tokens"],
        "token_budgets": ["budget_id", "budget_name", "provider", "budget_type", "token_limit", "cost_limit_usd",
                          "period_start", "period_end", "alert_threshold_pct", "is_active"],
        "api_pricing": ["pricing_id", "provider", "model", "input_price_per_million", "output_price_per_million",
                        "effective_from", "is_current"]
    }';

    -- Only the contract columns the table has: schema-additions.sql has already checked that the ones the views
    -- need exist; the optional ones (kb_articles.created_at, updated_at) may be absent in an existing support
    -- system.
    FOR obj IN
        SELECT t.key AS relname, array_agg(col.attname ORDER BY col.ord) AS cols
          FROM jsonb_each(contract) AS t
         CROSS JOIN LATERAL jsonb_array_elements_text(t.value) WITH ORDINALITY AS col(attname, ord)
          JOIN pg_namespace n ON n.nspname = schema_
          JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.key AND c.relkind IN ('r', 'p')
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = col.attname AND a.attnum > 0 AND NOT a.attisdropped
         GROUP BY t.key
         ORDER BY t.key
    LOOP
        EXECUTE format('GRANT SELECT (%s) ON %I.%I TO %I',
                       (SELECT string_agg(format('%I', col), ', ') FROM unnest(obj.cols) AS col),
                       schema_, obj.relname, reader);
        -- GRANT only warns when the role running this file may not grant on a table it does not own (the
        -- support system's cases may belong to another role): check that the grant took effect.
        SELECT string_agg(format('%I.%I', obj.relname, col), ', ') INTO missing
          FROM unnest(obj.cols) AS col
         WHERE NOT has_column_privilege(reader, format('%I.%I', schema_, obj.relname), col, 'SELECT');
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'grafana-reader.sql: could not grant SELECT to "%" on %', reader, missing
                USING HINT = 'The role applying the schema needs SELECT ... WITH GRANT OPTION on those tables (or must own them); or set kpi.reader_contract_columns to false (views only).';
        END IF;
    END LOOP;
END
$grant$;

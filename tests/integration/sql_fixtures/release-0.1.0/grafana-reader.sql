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
-- SELECT on every v_* view of that schema and on kpi_targets. Every other privilege the role holds on tables,
-- views, sequences and functions of that schema is revoked, so a re-run also removes stale grants. The views
-- run with their owner's rights, so the role reads the KPIs without any access to cases, token_usage or the
-- rollup tables.

DO $grant$
DECLARE
    reader  text := nullif(current_setting('kpi.reader_role', true), '');
    schema_ text := current_schema();
    obj     record;
BEGIN
    IF reader IS NULL THEN
        RAISE EXCEPTION 'grafana-reader.sql: the setting kpi.reader_role is not set'
            USING HINT = 'Run SELECT set_config(''kpi.reader_role'', ''<role name>'', true) in the same transaction first.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
        RAISE EXCEPTION 'grafana-reader.sql: role "%" (kpi.reader_role) does not exist', reader
            USING HINT = 'Create the read-only role (with its password) before applying grafana-reader.sql.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'grafana-reader.sql: role "%" is a superuser or bypasses RLS; refusing to use it as the read-only Grafana role', reader;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = schema_ AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = reader)) THEN
        RAISE EXCEPTION 'grafana-reader.sql: role "%" owns tables or views in schema "%"; a read-only role must not', reader, schema_;
    END IF;

    -- start from nothing in this schema, then grant exactly what the dashboard needs
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', schema_, reader);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', schema_, reader);
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM %I', schema_, reader);

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), reader);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_, reader);

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
END
$grant$;

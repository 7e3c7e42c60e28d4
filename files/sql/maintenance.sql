-- maintenance.sql: functions for schema upgrades and routine maintenance (token_usage partitions, raw-row
-- retention, budget period rollover), and the common start of the grants files (kpi_reset_grantee).
--
-- REPEATABLE (CREATE OR REPLACE only), runs inside ONE transaction, applied right after schema-additions.sql
-- and BEFORE the numbered migrations, which may call these functions (see files/sql/migrations/README.md).
-- The bodies are PL/pgSQL, so they may name objects a later migration creates. Maintenance is for the schema
-- owner only: EXECUTE is revoked from PUBLIC (the Grafana reader never runs them).
--
-- Entry point: kpi_run_maintenance(), called by the kpi_maintenance module (check mode = p_dry_run) and by the
-- scheduled job the kpi_database role can install. Formulas and reasons: docs/data-model.md ("Upgrades and
-- retention").

-- --------------------------------------------------------------------------------------------------------
-- Bounded batches. Runs p_sql once per half-open key range [lo, hi) covering p_from .. p_to; p_sql reads the
-- range as $1 and $2. Returns the sum of the rows the statements reported. Used by the migrations to copy or
-- back-fill big tables in bounded pieces (each statement touches at most p_step keys, so memory, sort and
-- trigger transition tables stay small) while the whole migration stays one transaction.
--   SELECT kpi_run_in_batches('INSERT INTO t SELECT * FROM s WHERE id >= $1 AND id < $2', 1, 1000000, 50000);
--   SELECT kpi_run_in_batches('UPDATE r SET ... WHERE day >= $1 AND day < $2', lo_ts, hi_ts, interval '7 days');
CREATE OR REPLACE FUNCTION kpi_run_in_batches(p_sql text, p_from bigint, p_to bigint, p_step bigint)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    lo    bigint := p_from;
    n     bigint;
    total bigint := 0;
BEGIN
    IF p_step IS NULL OR p_step < 1 THEN
        RAISE EXCEPTION 'kpi_run_in_batches: the step must be >= 1, got %', p_step;
    END IF;
    IF p_from IS NULL OR p_to IS NULL THEN
        RETURN 0;  -- empty source table: nothing to do
    END IF;
    WHILE lo <= p_to LOOP
        EXECUTE p_sql USING lo, least(lo + p_step, p_to + 1);
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        lo := lo + p_step;
    END LOOP;
    RETURN total;
END
$$;

CREATE OR REPLACE FUNCTION kpi_run_in_batches(p_sql text, p_from timestamptz, p_to timestamptz, p_step interval)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    lo    timestamptz := p_from;
    n     bigint;
    total bigint := 0;
BEGIN
    IF p_step IS NULL OR p_from + p_step <= p_from THEN
        RAISE EXCEPTION 'kpi_run_in_batches: the step must be a positive interval, got %', p_step;
    END IF;
    IF p_from IS NULL OR p_to IS NULL THEN
        RETURN 0;
    END IF;
    WHILE lo < p_to LOOP
        EXECUTE p_sql USING lo, least(lo + p_step, p_to);
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        lo := lo + p_step;
    END LOOP;
    RETURN total;
END
$$;

-- --------------------------------------------------------------------------------------------------------
-- token_usage partitions (migration 0002 makes token_usage a table partitioned by month of recorded_at).
-- A month is cut in the rollup time zone (kpi_rollup_timezone()), so a partition holds whole rollup days.
-- Names: token_usage_pYYYYMM; token_usage_default catches rows no monthly partition covers yet (inserts never
-- fail) and kpi_ensure_token_partitions() moves them into their month's partition.

CREATE OR REPLACE FUNCTION kpi_token_month_bounds(p_month date, OUT range_from timestamptz, OUT range_to timestamptz)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    tz constant text := kpi_rollup_timezone();
BEGIN
    range_from := date_trunc('month', p_month::timestamp) AT TIME ZONE tz;
    range_to := (date_trunc('month', p_month::timestamp) + interval '1 month') AT TIME ZONE tz;
END
$$;

-- Attached partitions of token_usage with their bounds (NULL bounds for the default partition).
CREATE OR REPLACE FUNCTION kpi_token_partitions()
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, is_default boolean)
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY
    SELECT c.relname::text,
           (regexp_match(b.bound, $r$FROM \('([^']+)'\)$r$))[1]::timestamptz,
           (regexp_match(b.bound, $r$TO \('([^']+)'\)$r$))[1]::timestamptz,
           b.bound = 'DEFAULT'
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
     WHERE i.inhparent = to_regclass('token_usage')
     ORDER BY 2 NULLS LAST, 1;
END
$$;

-- Make sure every month from p_from to p_to (and every month that has rows in the default partition) has
-- its own partition. Rows found in the default partition are moved (DELETE ... RETURNING into the new table,
-- then ATTACH): statements on a partition do not fire token_usage's statement-level rollup triggers, so the
-- rollups are untouched, as they must be (the rows are the same rows). Returns what it did (or, with
-- p_dry_run, what it would do); a no-op on an unpartitioned token_usage.
CREATE OR REPLACE FUNCTION kpi_ensure_token_partitions(p_from date, p_to date, p_dry_run boolean DEFAULT false)
    RETURNS TABLE (action text, object text, detail text)
    LANGUAGE plpgsql
AS $$
DECLARE
    tz constant text := kpi_rollup_timezone();
    parent regclass := to_regclass('token_usage');
    dflt text;
    cols text;
    m date;
    b record;
    part text;
    n bigint;
BEGIN
    IF parent IS NULL OR (SELECT c.relkind FROM pg_class c WHERE c.oid = parent) <> 'p' THEN
        RETURN;
    END IF;
    SELECT p.partition_name INTO dflt FROM kpi_token_partitions() p WHERE p.is_default;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a WHERE a.attrelid = parent AND a.attnum > 0 AND NOT a.attisdropped;

    FOR m IN EXECUTE format(
        'SELECT g::date FROM generate_series(date_trunc(''month'', $1::timestamp), date_trunc(''month'', $2::timestamp), '
        'interval ''1 month'') g %s ORDER BY 1',
        CASE WHEN dflt IS NULL THEN ''
             ELSE format('UNION SELECT date_trunc(''month'', d.recorded_at AT TIME ZONE $3)::date FROM %I d', dflt) END)
        USING p_from, p_to, tz
    LOOP
        SELECT * INTO b FROM kpi_token_month_bounds(m);
        CONTINUE WHEN EXISTS (SELECT 1 FROM kpi_token_partitions() p
                               WHERE NOT p.is_default AND p.range_from < b.range_to AND p.range_to > b.range_from);
        part := 'token_usage_p' || to_char(m, 'YYYYMM');
        n := 0;
        IF dflt IS NOT NULL THEN
            EXECUTE format('SELECT count(*) FROM %I WHERE recorded_at >= $1 AND recorded_at < $2', dflt)
               INTO n USING b.range_from, b.range_to;
        END IF;
        action := 'create partition';
        object := part;
        detail := format('recorded_at from %s to %s', b.range_from, b.range_to)
                  || CASE WHEN n > 0 THEN format(', moving %s rows out of %s', n, dflt) ELSE '' END;
        IF NOT p_dry_run THEN
            IF n = 0 THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF token_usage FOR VALUES FROM (%L) TO (%L)',
                               part, b.range_from, b.range_to);
            ELSE
                EXECUTE format('CREATE TABLE %I (LIKE token_usage INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
                EXECUTE format('WITH moved AS (DELETE FROM %1$I WHERE recorded_at >= $1 AND recorded_at < $2 RETURNING %2$s) '
                               'INSERT INTO %3$I (%2$s) SELECT %2$s FROM moved', dflt, cols, part)
                  USING b.range_from, b.range_to;
                -- a matching CHECK lets ATTACH skip its validation scan
                EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (recorded_at >= %L AND recorded_at < %L)',
                               part, part || '_bound', b.range_from, b.range_to);
                EXECUTE format('ALTER TABLE token_usage ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                               part, b.range_from, b.range_to);
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_bound');
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Raw-row retention: detach every monthly partition that ends on or before the start of the month p_keep_months
-- months before p_today's month (p_keep_months = 3 on 2026-11-30 keeps August .. November) and archive it
-- (move it to p_archive_schema, still queryable) or drop it. DETACH fires no trigger, so the daily rollups and
-- with them every dashboard figure keep their full history.
CREATE OR REPLACE FUNCTION kpi_token_retention(p_keep_months integer, p_action text DEFAULT 'archive',
                                               p_archive_schema text DEFAULT 'kpi_archive',
                                               p_dry_run boolean DEFAULT false, p_today date DEFAULT current_date)
    RETURNS TABLE (action text, object text, detail text)
    LANGUAGE plpgsql
AS $$
DECLARE
    cutoff timestamptz;
    p record;
    n bigint;
BEGIN
    IF p_keep_months IS NULL OR p_keep_months < 1 THEN
        RAISE EXCEPTION 'kpi_token_retention: keep_months must be >= 1, got %', p_keep_months;
    END IF;
    IF p_action NOT IN ('archive', 'drop') THEN
        RAISE EXCEPTION 'kpi_token_retention: action must be archive or drop, got %', p_action;
    END IF;
    IF p_action = 'archive' AND (p_archive_schema IS NULL OR p_archive_schema = current_schema()) THEN
        RAISE EXCEPTION 'kpi_token_retention: the archive schema must be another schema than %', current_schema();
    END IF;
    SELECT k.range_from INTO cutoff
      FROM kpi_token_month_bounds((date_trunc('month', p_today::timestamp) - make_interval(months => p_keep_months))::date) k;
    FOR p IN
        SELECT * FROM kpi_token_partitions() t WHERE NOT t.is_default AND t.range_to <= cutoff ORDER BY t.range_from
    LOOP
        EXECUTE format('SELECT count(*) FROM %I', p.partition_name) INTO n;
        action := CASE p_action WHEN 'archive' THEN 'archive partition' ELSE 'drop partition' END;
        object := p.partition_name;
        detail := format('recorded_at from %s to %s, %s rows', p.range_from, p.range_to, n)
                  || CASE p_action WHEN 'archive' THEN format(', moved to schema %s', p_archive_schema) ELSE '' END;
        IF NOT p_dry_run THEN
            EXECUTE format('ALTER TABLE token_usage DETACH PARTITION %I', p.partition_name);
            IF p_action = 'archive' THEN
                EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', p_archive_schema);
                EXECUTE format('ALTER TABLE %I SET SCHEMA %I', p.partition_name, p_archive_schema);
            ELSE
                EXECUTE format('DROP TABLE %I', p.partition_name);
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The spec's monthly maintenance ("UPDATE token_budgets SET period_start = date_trunc('month', ...)"), for every
-- budget type and idempotent: an active budget whose period ended before p_today moves to the period that
-- contains p_today (daily: the day; weekly: ISO week, Monday first; monthly: the calendar month). A budget whose
-- period is current or in the future is left alone, so a second run changes nothing.
CREATE OR REPLACE FUNCTION kpi_token_budget_rollover(p_dry_run boolean DEFAULT false, p_today date DEFAULT current_date)
    RETURNS TABLE (action text, object text, detail text)
    LANGUAGE plpgsql
AS $$
DECLARE
    b record;
    ns date;
    ne date;
BEGIN
    FOR b IN
        SELECT t.budget_id, t.budget_name, t.budget_type, t.period_start, t.period_end
          FROM token_budgets t
         WHERE t.is_active AND t.period_end < p_today
         ORDER BY t.budget_name
           FOR UPDATE
    LOOP
        ns := CASE b.budget_type WHEN 'daily' THEN p_today
                                 WHEN 'weekly' THEN date_trunc('week', p_today::timestamp)::date
                                 ELSE date_trunc('month', p_today::timestamp)::date END;
        ne := CASE b.budget_type WHEN 'daily' THEN ns
                                 WHEN 'weekly' THEN ns + 6
                                 ELSE (ns + interval '1 month' - interval '1 day')::date END;
        action := 'roll over budget';
        object := b.budget_name;
        detail := format('%s: %s..%s -> %s..%s', b.budget_type, b.period_start, b.period_end, ns, ne);
        IF NOT p_dry_run THEN
            UPDATE token_budgets SET period_start = ns, period_end = ne, updated_at = now()
             WHERE budget_id = b.budget_id;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- One maintenance run, serialised by an advisory lock: partitions for this month and p_months_ahead months
-- ahead (plus any month waiting in the default partition), then retention (when p_keep_months > 0), then the
-- budget rollover (when p_budget_rollover). Each returned row is one thing done (or, with p_dry_run, to do);
-- no row = nothing to do.
CREATE OR REPLACE FUNCTION kpi_run_maintenance(p_keep_months integer DEFAULT 0, p_months_ahead integer DEFAULT 3,
                                               p_action text DEFAULT 'archive',
                                               p_archive_schema text DEFAULT 'kpi_archive',
                                               p_budget_rollover boolean DEFAULT true,
                                               p_dry_run boolean DEFAULT false)
    RETURNS TABLE (action text, object text, detail text)
    LANGUAGE plpgsql
AS $$
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 24 THEN
        RAISE EXCEPTION 'kpi_run_maintenance: months_ahead must be 0..24, got %', p_months_ahead;
    END IF;
    IF p_keep_months IS NULL OR p_keep_months < 0 THEN
        RAISE EXCEPTION 'kpi_run_maintenance: keep_months must be >= 0 (0 = keep every row), got %', p_keep_months;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('cx_catalyst.kpi_dashboard.kpi_run_maintenance', 0));
    RETURN QUERY SELECT * FROM kpi_ensure_token_partitions(
        current_date, (date_trunc('month', current_date::timestamp) + make_interval(months => p_months_ahead))::date,
        p_dry_run);
    IF p_keep_months > 0 THEN
        RETURN QUERY SELECT * FROM kpi_token_retention(p_keep_months, p_action, p_archive_schema, p_dry_run);
    END IF;
    IF p_budget_rollover THEN
        RETURN QUERY SELECT * FROM kpi_token_budget_rollover(p_dry_run);
    END IF;
END
$$;

-- --------------------------------------------------------------------------------------------------------
-- The common start of the grants files (grafana-reader.sql, n8n-writer.sql): read the role's name from the
-- transaction-local setting p_setting, refuse a missing role, a superuser/BYPASSRLS role and a role that owns
-- tables or views in the schema, then revoke everything the role holds on tables, sequences and functions of
-- the schema (a table privilege revoked takes the column privileges with it) and grant CONNECT on the database
-- and USAGE on the schema. The caller grants the rest. Returns the role's name. p_file and p_role (what the
-- role is, e.g. 'read-only Grafana role') only word the errors.
CREATE OR REPLACE FUNCTION kpi_reset_grantee(p_file text, p_setting text, p_role text)
    RETURNS text
    LANGUAGE plpgsql
AS $$
DECLARE
    grantee text := nullif(current_setting(p_setting, true), '');
    schema_ text := current_schema();
BEGIN
    IF grantee IS NULL THEN
        RAISE EXCEPTION '%: the setting % is not set', p_file, p_setting
            USING HINT = format('Run SELECT set_config(%L, ''<role name>'', true) in the same transaction first.', p_setting);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee) THEN
        RAISE EXCEPTION '%: role "%" (%) does not exist', p_file, grantee, p_setting
            USING HINT = format('Create the %s (with its password) before applying %s.', p_role, p_file);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION '%: role "%" is a superuser or bypasses RLS; refusing to use it as the %', p_file, grantee, p_role;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = schema_ AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = grantee)) THEN
        RAISE EXCEPTION '%: role "%" owns tables or views in schema "%"; the % must not', p_file, grantee, schema_, p_role;
    END IF;

    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', schema_, grantee);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', schema_, grantee);
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM %I', schema_, grantee);

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), grantee);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_, grantee);
    RETURN grantee;
END
$$;

REVOKE ALL ON FUNCTION kpi_run_in_batches(text, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION kpi_run_in_batches(text, timestamptz, timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION kpi_ensure_token_partitions(date, date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION kpi_token_retention(integer, text, text, boolean, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION kpi_token_budget_rollover(boolean, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION kpi_run_maintenance(integer, integer, text, text, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION kpi_reset_grantee(text, text, text) FROM PUBLIC;

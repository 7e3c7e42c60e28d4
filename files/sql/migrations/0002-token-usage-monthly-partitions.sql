-- 0002-token-usage-monthly-partitions.sql: token_usage becomes a table partitioned by month of recorded_at, so
-- old raw rows can be detached (archived or dropped) a month at a time while the daily rollups keep the
-- history (kpi_token_retention() in maintenance.sql; docs/data-model.md "Upgrades and retention").
--
-- Migration (once-file): runs in the kpi_schema transaction under its advisory lock; any error rolls the whole
-- run back and the database is as before. Every row is kept:
--   1. token_usage is locked (ACCESS EXCLUSIVE: loggers wait until the run commits) and renamed
--      token_usage_unpartitioned, with its identity sequence and indexes;
--   2. a partitioned token_usage is created with the same columns, defaults, CHECKs, identity and comments
--      (LIKE, so columns an earlier migration added come along), plus a default partition and one partition
--      per month from the oldest row to 3 months ahead (kpi_ensure_token_partitions());
--   3. the rows are copied in bounded batches of usage_id ranges (kpi_run_in_batches(), batch size from the
--      setting kpi.migration_batch_rows, default 50000) BEFORE any trigger exists on the new table, so the
--      rollups are not counted twice and no row is re-priced;
--   4. count and sums of the old and the new table are compared (an exception rolls everything back);
--   5. the primary key becomes (usage_id, recorded_at) (a partitioned table's unique keys include the partition
--      key; usage_id stays unique because it comes from the one identity sequence), the other indexes, the
--      triggers (the statement-level rollup triggers with their transition tables included), foreign keys
--      out of token_usage, owner and grants are re-created from the old table's definitions, and the identity
--      sequence continues where the old one stopped;
--   6. the old table is dropped (after the check of step 4).
-- Foreign keys INTO token_usage cannot follow (they would need recorded_at); the migration refuses them.

DO $migrate$
DECLARE
    old_seq text;
    new_seq text;
    cols text;
    r record;
    lo_id bigint;
    hi_id bigint;
    first_day date;
    batch bigint := coalesce(nullif(current_setting('kpi.migration_batch_rows', true), '')::bigint, 50000);
    copied bigint;
    before_sums record;
    after_sums record;
    owner_name text;
    seq_state record;
BEGIN
    IF to_regclass('token_usage') IS NULL THEN
        RAISE EXCEPTION '0002-token-usage-monthly-partitions.sql: table token_usage is missing';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('token_usage')) = 'p' THEN
        RETURN;  -- partitioned already (e.g. created so by hand): nothing to migrate
    END IF;
    LOCK TABLE token_usage IN ACCESS EXCLUSIVE MODE;
    SELECT string_agg(format('%s (%s)', c.conname, c.conrelid::regclass), ', ') INTO cols
      FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = to_regclass('token_usage');
    IF cols IS NOT NULL THEN
        RAISE EXCEPTION '0002-token-usage-monthly-partitions.sql: foreign keys reference token_usage: %', cols
            USING HINT = 'A partitioned token_usage has the key (usage_id, recorded_at); drop or change these foreign keys first.';
    END IF;

    -- 1. the old table steps aside
    ALTER TABLE token_usage RENAME TO token_usage_unpartitioned;
    old_seq := pg_get_serial_sequence('token_usage_unpartitioned', 'usage_id');
    IF old_seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s RENAME TO token_usage_unpartitioned_usage_id_seq', old_seq);
        old_seq := pg_get_serial_sequence('token_usage_unpartitioned', 'usage_id');
    END IF;
    FOR r IN SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = 'token_usage_unpartitioned'::regclass
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, left('unpartitioned_' || r.relname, 63));
    END LOOP;

    -- 2. the partitioned table and its partitions
    CREATE TABLE token_usage (LIKE token_usage_unpartitioned
        INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING COMMENTS
        INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING STATISTICS)
        PARTITION BY RANGE (recorded_at);
    EXECUTE format('COMMENT ON TABLE token_usage IS %L',
                   concat_ws(' ', obj_description('token_usage_unpartitioned'::regclass, 'pg_class'),
                             'Partitioned by month of recorded_at (token_usage_pYYYYMM, token_usage_default).'));
    CREATE TABLE token_usage_default PARTITION OF token_usage DEFAULT;
    SELECT (min(recorded_at) AT TIME ZONE kpi_rollup_timezone())::date INTO first_day FROM token_usage_unpartitioned;
    PERFORM * FROM kpi_ensure_token_partitions(least(coalesce(first_day, current_date), current_date),
                                               (current_date + interval '3 months')::date, false);

    -- 3. the rows, in bounded batches, before any trigger exists on the new table
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a WHERE a.attrelid = 'token_usage_unpartitioned'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT min(usage_id), max(usage_id) INTO lo_id, hi_id FROM token_usage_unpartitioned;
    copied := kpi_run_in_batches(
        format('INSERT INTO token_usage (%1$s) SELECT %1$s FROM token_usage_unpartitioned '
               'WHERE usage_id >= $1 AND usage_id < $2', cols),
        lo_id, hi_id, batch);

    -- 4. nothing lost, nothing changed
    SELECT count(*) AS n, sum(usage_id) AS ids, sum(input_tokens) AS input, sum(output_tokens) AS output,
           sum(total_tokens) AS total, sum(cost_usd) AS cost, count(cost_usd) AS priced
      INTO before_sums FROM token_usage_unpartitioned;
    SELECT count(*) AS n, sum(usage_id) AS ids, sum(input_tokens) AS input, sum(output_tokens) AS output,
           sum(total_tokens) AS total, sum(cost_usd) AS cost, count(cost_usd) AS priced
      INTO after_sums FROM token_usage;
    IF copied <> before_sums.n OR before_sums IS DISTINCT FROM after_sums THEN
        RAISE EXCEPTION '0002-token-usage-monthly-partitions.sql: copy check failed (old %, new %, copied %)',
            before_sums, after_sums, copied;
    END IF;

    -- 5. keys, indexes, triggers, foreign keys, owner, grants, identity position
    ALTER TABLE token_usage ADD CONSTRAINT token_usage_pkey PRIMARY KEY (usage_id, recorded_at);
    FOR r IN SELECT ic.relname, pg_get_indexdef(i.indexrelid) AS def
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = 'token_usage_unpartitioned'::regclass AND NOT i.indisprimary
              ORDER BY ic.relname
    LOOP
        EXECUTE regexp_replace(r.def, '^(CREATE (UNIQUE )?INDEX )\S+ ON (ONLY )?\S+ ',
                               '\1' || quote_ident(substr(r.relname, length('unpartitioned_') + 1)) || ' ON token_usage ');
    END LOOP;
    FOR r IN SELECT c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
              WHERE c.conrelid = 'token_usage_unpartitioned'::regclass AND c.contype = 'f' ORDER BY c.conname
    LOOP
        EXECUTE format('ALTER TABLE token_usage ADD CONSTRAINT %I %s', r.conname, r.def);
    END LOOP;
    FOR r IN SELECT t.tgname, pg_get_triggerdef(t.oid) AS def, t.tgenabled FROM pg_trigger t
              WHERE t.tgrelid = 'token_usage_unpartitioned'::regclass AND NOT t.tgisinternal ORDER BY t.tgname
    LOOP
        EXECUTE regexp_replace(r.def, ' ON \S*token_usage_unpartitioned ', ' ON token_usage ');
        IF r.tgenabled = 'D' THEN
            EXECUTE format('ALTER TABLE token_usage DISABLE TRIGGER %I', r.tgname);
        END IF;
    END LOOP;
    SELECT pg_get_userbyid(c.relowner) INTO owner_name FROM pg_class c WHERE c.oid = 'token_usage_unpartitioned'::regclass;
    IF owner_name <> current_user THEN
        EXECUTE format('ALTER TABLE token_usage OWNER TO %I', owner_name);
    END IF;
    new_seq := pg_get_serial_sequence('token_usage', 'usage_id');
    FOR r IN SELECT a.privilege_type, a.is_grantable, a.grantee
               FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
              WHERE c.oid = 'token_usage_unpartitioned'::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON token_usage TO %s%s', r.privilege_type,
                       CASE r.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END,
                       CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    IF old_seq IS NOT NULL AND new_seq IS NOT NULL THEN
        FOR r IN SELECT a.privilege_type, a.is_grantable, a.grantee
                   FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
                  WHERE c.oid = old_seq::regclass AND a.grantee <> c.relowner
        LOOP
            EXECUTE format('GRANT %s ON SEQUENCE %s TO %s%s', r.privilege_type, new_seq,
                           CASE r.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END,
                           CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        EXECUTE format('SELECT last_value, is_called FROM %s', old_seq) INTO seq_state;
        IF seq_state.is_called OR hi_id IS NOT NULL THEN
            PERFORM setval(new_seq, greatest(seq_state.last_value, coalesce(hi_id, 0), 1), true);
        END IF;
    END IF;

    -- 6. the old table goes (every row is in the new one, checked in step 4)
    DROP TABLE token_usage_unpartitioned;
END
$migrate$;

ANALYZE token_usage;

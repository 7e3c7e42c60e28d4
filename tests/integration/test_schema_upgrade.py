"""Upgrade of a live 0.1.0 database by the current kpi_database role, and a failing migration, on a real
PostgreSQL 15 (playbooks/database.yml through the ``ansible`` fixture at -vvv, which fails on a leaked secret).

The 0.1.0 schema comes from tests/integration/sql_fixtures/release-0.1.0 (the files exactly as released),
installed with the 0.1.0 ledger by kpi_schema.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import psycopg2

from conftest import PG_BIN, PLANTED, recap
from kpi_schema_state import (
    BASE_TABLES,
    RELEASE_010,
    RELEASE_010_FILES,
    REPO,
    SAMPLE_DATA,
    rebuilt_rollups,
    rollups,
    rows,
    schema_shape,
    table_columns,
    table_content,
    view_outputs,
)
from kpi_sql import SQL_DIR, apply_all, schema_files

PLAYBOOK = REPO / "playbooks" / "database.yml"
SCHEMA = "cx_catalyst.kpi_dashboard.kpi_schema"


def role_vars(pg_server, db, **override):
    data = dict(
        kpi_database_host=pg_server.host,
        kpi_database_port=pg_server.port,
        kpi_database_name=db,
        kpi_database_admin_user="postgres",
        kpi_database_admin_password=pg_server.password,
        kpi_database_ssl_mode="disable",
        kpi_database_install_core_schema=True,
        kpi_database_reader_role=f"reader_{db}",
        kpi_database_reader_password=PLANTED["reader_password"],
    )
    data.update(override)
    return data


def install_release_010(pg_server, db, ansible, reader):
    """The schema exactly as 0.1.0 installed it (its files, its ledger names and kinds) plus the sample data."""
    conn = pg_server.connect("postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (reader,))
        if not cur.fetchone():
            cur.execute(f'CREATE ROLE "{reader}" LOGIN')
    conn.close()
    files = [{"path": str(RELEASE_010 / name), "kind": kind} for name, kind in RELEASE_010_FILES]
    files[-1]["depends_on"] = ["views.sql"]
    ansible.module(
        SCHEMA,
        dict(
            login_host=pg_server.host,
            login_port=pg_server.port,
            login_db=db,
            login_user="postgres",
            login_password=pg_server.password,
            files=files,
            settings={"kpi.reader_role": reader},
        ),
    )
    conn = pg_server.connect(db)
    with conn:
        with conn.cursor() as cur:
            cur.execute(SAMPLE_DATA)
    return conn


def snapshot_base_tables(conn):
    columns = {t: table_columns(conn, t) for t in BASE_TABLES}
    return columns, {t: table_content(conn, t, cols) for t, cols in columns.items()}


def test_upgrade_from_release_010_keeps_every_row(pg_server, pg_db, ansible, inventory):
    extra = role_vars(pg_server, pg_db)
    conn = install_release_010(pg_server, pg_db, ansible, extra["kpi_database_reader_role"])
    try:
        assert rows(conn, "SELECT relkind::text FROM pg_class WHERE oid = 'token_usage'::regclass") == [("r",)]
        columns, before = snapshot_base_tables(conn)
        # the expired budget is the only row the upgrade run may change (the scheduled rollover)
        budget_cols = [c for c in columns["token_budgets"] if c not in ("period_start", "period_end", "updated_at")]
        budgets_before = table_content(conn, "token_budgets", budget_cols)
        unpriced_before = rows(conn, "SELECT count(*) FROM token_usage WHERE cost_usd IS NULL")[0][0]
        assert unpriced_before > 0
        conn.rollback()

        # check mode lists the pending migrations and writes nothing
        res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, check=True)
        assert recap(res.output)["failed"] == 0
        migrations = [n.split("/", 1)[1] for n in schema_files() if n.startswith("migrations/")]
        assert "0002-token-usage-monthly-partitions.sql" in migrations
        assert "migrations (once-files): " + ", ".join(migrations) in res.output
        assert rows(conn, "SELECT relkind::text FROM pg_class WHERE oid = 'token_usage'::regclass") == [("r",)]
        assert rows(conn, "SELECT count(*) FROM kpi_schema_migrations")[0][0] == 4
        conn.rollback()

        # the upgrade
        res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory)
        assert recap(res.output)["failed"] == 0
        ledger = dict(rows(conn, "SELECT file, apply_count FROM kpi_schema_migrations"))
        assert set(ledger) == {name.rsplit("/", 1)[-1] for name in schema_files()}
        assert {"maintenance.sql", *migrations} <= set(ledger)
        assert ledger["views.sql"] == 2 and ledger["grafana-reader.sql"] == 2 and ledger["schema-additions.sql"] == 1

        # no row lost or changed in any base table (compared on the columns 0.1.0 had)
        for table in BASE_TABLES:
            if table == "token_budgets":
                continue
            assert table_content(conn, table, columns[table]) == before[table], table
        assert table_content(conn, "token_budgets", budget_cols) == budgets_before
        assert rows(conn, "SELECT count(*) FROM token_usage WHERE cost_usd IS NULL")[0][0] == unpriced_before
        assert rows(conn, "SELECT period_start = date_trunc('month', current_date)::date FROM token_budgets WHERE budget_name = 'Monthly expired'") == [(True,)]

        # token_usage is partitioned by month, every row in a monthly partition (the default one empty)
        assert rows(conn, "SELECT relkind::text FROM pg_class WHERE oid = 'token_usage'::regclass") == [("p",)]
        parts = rows(conn, "SELECT partition_name, is_default FROM kpi_token_partitions()")
        assert len([p for p, d in parts if not d]) >= 8 and ("token_usage_default", True) in parts
        assert rows(conn, "SELECT count(*) FROM token_usage_default")[0][0] == 0

        # rollups equal a rebuild from the base tables
        current = rollups(conn)
        conn.rollback()
        assert current["kpi_daily_token_stats"] and current["kpi_daily_case_stats"]
        assert rebuilt_rollups(conn) == current

        # every view, table, index, trigger and function matches a fresh install of the current files
        upgraded_shape = schema_shape(conn)
        conn.rollback()
        fresh_db = pg_db + "_fresh"
        pg_server.execute(f'CREATE DATABASE "{fresh_db}"')
        try:
            fresh = pg_server.connect(fresh_db)
            try:
                apply_all(fresh, schema_files(reader=False))
                fresh_shape = schema_shape(fresh)
            finally:
                fresh.close()
        finally:
            pg_server.execute(f'DROP DATABASE "{fresh_db}"')
        for key in fresh_shape:
            assert upgraded_shape[key] == fresh_shape[key], key

        # the dashboards still read every view through the reader
        reader = psycopg2.connect(
            host=pg_server.host, port=pg_server.port, dbname=pg_db, user=extra["kpi_database_reader_role"], password=PLANTED["reader_password"]
        )
        try:
            with reader.cursor() as cur:
                cur.execute("SELECT count(*) FROM v_daily_kpi")
                assert cur.fetchone()[0] > 0
        finally:
            reader.close()

        # second run: nothing to do
        outputs = view_outputs(conn)
        conn.rollback()
        res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory)
        assert recap(res.output)["changed"] == 0, res.output[-4000:]
        assert view_outputs(conn) == outputs
    finally:
        conn.close()


def pg_dump(pg_server, db) -> str:
    """Schema and data of ``db`` (the judge of "exactly as before")."""
    env = dict(os.environ, PGPASSWORD=pg_server.password)
    out = subprocess.run(
        [str(PG_BIN / "pg_dump"), "-h", pg_server.host, "-p", str(pg_server.port), "-U", "postgres", "--no-sync", "-d", db],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # the dump's header and its per-dump random \restrict key are not part of the database
    return "\n".join(line for line in out.splitlines() if not line.startswith(("-- Dumped", "\\restrict", "\\unrestrict")))


def test_failing_migration_leaves_database_exactly_as_before(pg_server, pg_db, ansible, inventory, tmp_path):
    extra = role_vars(pg_server, pg_db)
    conn = install_release_010(pg_server, pg_db, ansible, extra["kpi_database_reader_role"])
    conn.close()
    # the collection's SQL plus a planted migration that changes things, then fails; it sorts after 0002, so
    # the partitioning of token_usage has run in the same transaction when it fails
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "migrations" / "0019-planted-failure.sql").write_text(
        "ALTER TABLE cases ADD COLUMN planted text;\n"
        "UPDATE token_budgets SET token_limit = 1;\n"
        "DELETE FROM token_usage WHERE usage_id % 2 = 0;\n"
        "CREATE TABLE planted_table (x int);\n"
        "DO $$ BEGIN RAISE EXCEPTION 'planted failure in a migration'; END $$;\n"
    )
    extra = dict(extra, kpi_database_sql_dir=str(sql_dir), kpi_database_no_log=False)
    before = pg_dump(pg_server, pg_db)
    assert "CREATE TABLE public.token_usage (" in before

    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, check=True)
    assert "0002-token-usage-monthly-partitions.sql, 0019-planted-failure.sql" in res.output
    assert pg_dump(pg_server, pg_db) == before

    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, expect_rc=2)
    assert "0019-planted-failure.sql" in res.output and "planted failure in a migration" in res.output
    assert "Nothing was applied" in res.output
    after = pg_dump(pg_server, pg_db)
    assert after == before
    assert "PARTITION BY RANGE" not in after and "planted" not in after


def test_scheduled_maintenance_timer_runs_the_same_function(pg_server, pg_db, ansible, inventory, tmp_path):
    units, config = tmp_path / "units", tmp_path / "etc"
    units.mkdir()
    extra = role_vars(
        pg_server,
        pg_db,
        kpi_database_reader_enabled=False,
        kpi_database_maintenance_timer=True,
        kpi_database_maintenance_unit_dir=str(units),
        kpi_database_maintenance_config_dir=str(config),
        kpi_database_maintenance_manage_systemd=False,
        kpi_database_maintenance_psql=str(PG_BIN / "psql"),
        kpi_database_token_retention_months=2,
        kpi_database_maintenance_on_calendar="*-*-* *:05:00",
    )
    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory)
    assert recap(res.output)["failed"] == 0
    service = (units / "cx-kpi-maintenance.service").read_text()
    timer = (units / "cx-kpi-maintenance.timer").read_text()
    assert "OnCalendar=*-*-* *:05:00" in timer and "Persistent=true" in timer
    assert oct((config / "pgpass").stat().st_mode & 0o777) == "0o600"
    assert oct(config.stat().st_mode & 0o777) == "0o700"
    assert pg_server.password not in service + timer + (config / "pg_service.conf").read_text()
    assert pg_server.password in (config / "pgpass").read_text()

    # an expired budget and a row in a month without partition, then the service's own command line
    conn = pg_server.connect(pg_db)
    with conn:
        with conn.cursor() as cur:
            cur.execute(SAMPLE_DATA)
            cur.execute(
                "INSERT INTO token_usage (recorded_at, workflow_name, provider, model, input_tokens, "
                "output_tokens) VALUES ('2031-05-05 12:00:00+00', 'wf', 'openai', 'gpt-4o', 10, 10)"
            )
    token_rollup = rollups(conn)["kpi_daily_token_stats"]
    conn.rollback()
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    for line in service.splitlines():
        if line.startswith("Environment="):
            key, value = line[len("Environment=") :].split("=", 1)
            env[key] = value
    command = shlex.split(next(line for line in service.splitlines() if line.startswith("ExecStart="))[10:])
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "roll over budget|Monthly expired|" in proc.stdout
    assert "create partition|token_usage_p203105|" in proc.stdout
    assert "archive partition|" in proc.stdout
    assert rows(conn, "SELECT count(*) FROM token_usage_default")[0][0] == 0
    assert rollups(conn)["kpi_daily_token_stats"] == token_rollup
    conn.rollback()
    # the same run again: nothing left to do
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
    conn.close()
    # the unit files themselves are valid for systemd (an extra check where systemd is installed; the command
    # line above already ran for real)
    if shutil.which("systemd-analyze"):
        check = subprocess.run(
            ["systemd-analyze", "verify", str(units / "cx-kpi-maintenance.service"), str(units / "cx-kpi-maintenance.timer")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr


def test_schema_check_mode_lists_pending_migrations(pg_server, pg_db, ansible):
    """kpi_schema alone: pending_migrations names the once-files (baseline and numbered) still to run."""
    files = [
        {"path": str(SQL_DIR / "support-core.sql")},
        {"path": str(SQL_DIR / "schema-additions.sql")},
        {"path": str(SQL_DIR / "maintenance.sql"), "kind": "repeatable"},
    ] + [{"path": str(SQL_DIR / n)} for n in schema_files() if n.startswith("migrations/")]
    args = dict(login_host=pg_server.host, login_port=pg_server.port, login_db=pg_db, login_user="postgres", login_password=pg_server.password, files=files)
    res = ansible.module(SCHEMA, dict(args, files=files[:3])).results[0]
    assert res["changed"] and res["pending_migrations"] == ["support-core.sql", "schema-additions.sql"]
    res = ansible.module(SCHEMA, args, check=True).results[0]
    numbered = [Path(f["path"]).name for f in files[3:]]
    assert res["changed"] and res["pending_migrations"] == numbered
    assert [(w["file"], w["reason"]) for w in res["would_apply"]] == [(n, "new") for n in numbered]
    assert res["applied"] == []
    res = ansible.module(SCHEMA, args).results[0]
    assert res["pending_migrations"] == numbered and [a["file"] for a in res["applied"]] == numbered
    res = ansible.module(SCHEMA, args, check=True).results[0]
    assert not res["changed"] and res["pending_migrations"] == []

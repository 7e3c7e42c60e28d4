"""token_usage partitioning (migration 0002), the batched runner, and kpi_maintenance (partitions ahead,
retention, budget rollover) against a real PostgreSQL 15."""

from __future__ import annotations

import pytest

from conftest import PLANTED
from kpi_schema_state import SAMPLE_DATA, rebuilt_rollups, rollups, rows, table_columns, table_content, view_outputs
from kpi_sql import ORDER, apply_all, apply_file, ensure_reader_role

MAINTENANCE = "cx_catalyst.kpi_dashboard.kpi_maintenance"
MIGRATION = "migrations/0002-token-usage-monthly-partitions.sql"
BEFORE_0002 = ORDER[: ORDER.index(MIGRATION)]
FROM_0002 = ORDER[ORDER.index(MIGRATION) :]


@pytest.fixture
def conn(pg_server, pg_db):
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    c = pg_server.connect(pg_db)
    try:
        yield c
    finally:
        c.close()


def run(conn, sql, params=None):
    with conn:
        with conn.cursor() as cur:
            cur.execute(sql, params)


def one(conn, sql, params=None):
    try:
        return rows(conn, sql, params)[0][0]
    finally:
        conn.rollback()


def month_partitions(first, today):
    """token_usage_pYYYYMM for every month from ``first``'s to the month 3 months after ``today``'s."""
    names, year, month = [], first.year, first.month
    while (year, month) <= (today.year + (today.month + 2) // 12, (today.month + 2) % 12 + 1):
        names.append("token_usage_p%04d%02d" % (year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return names


def test_run_in_batches_covers_the_range_in_bounded_pieces(conn):
    apply_all(conn, BEFORE_0002)
    run(conn, "CREATE TABLE batch_log (lo bigint, hi bigint)")
    assert rows(conn, "SELECT kpi_run_in_batches('INSERT INTO batch_log VALUES ($1, $2)', 1, 100, 30)") == [(4,)]
    assert rows(conn, "SELECT lo, hi FROM batch_log ORDER BY lo") == [(1, 31), (31, 61), (61, 91), (91, 101)]
    conn.rollback()
    # the time overload: half-open windows ending exactly at p_to
    assert one(conn, "SELECT kpi_run_in_batches('SELECT 1 WHERE $1 < $2', '2026-01-01'::timestamptz, '2026-01-10'::timestamptz, interval '4 days')") == 3
    assert one(conn, "SELECT kpi_run_in_batches('SELECT 1', NULL::bigint, NULL::bigint, 10)") == 0
    with pytest.raises(Exception, match="step must be >= 1"):
        one(conn, "SELECT kpi_run_in_batches('SELECT 1', 1, 10, 0)")


def test_partition_migration_keeps_every_row_and_the_rollups(conn):
    apply_all(conn, BEFORE_0002)
    run(conn, SAMPLE_DATA)
    # a grant and a disabled-trigger-free table: the writer's grant must follow the table
    run(
        conn,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpi_sqltest_writer') THEN "
        "CREATE ROLE kpi_sqltest_writer; END IF; END $$; GRANT INSERT, SELECT ON token_usage TO kpi_sqltest_writer",
    )
    cols = table_columns(conn, "token_usage")
    before = table_content(conn, "token_usage", cols)
    rollups_before = rollups(conn)
    last_id = one(conn, "SELECT max(usage_id) FROM token_usage")
    conn.rollback()

    with conn.cursor() as cur:  # small batches: the copy runs in ~600 pieces
        cur.execute("SET kpi.migration_batch_rows = 7")
    conn.commit()
    day_before = one(conn, "SELECT current_date")
    for name in FROM_0002:
        apply_file(conn, name)
    day_after = one(conn, "SELECT current_date")

    assert one(conn, "SELECT relkind::text FROM pg_class WHERE oid = 'token_usage'::regclass") == "p"
    assert table_content(conn, "token_usage", cols) == before
    assert rollups(conn) == rollups_before
    conn.rollback()
    assert rebuilt_rollups(conn) == rollups_before
    # one partition per month from the oldest row's month (in the rollup time zone) to 3 months past the
    # migration's current_date; the run may cross midnight into a new month, so either day's range is right
    first = one(conn, "SELECT (min(recorded_at) AT TIME ZONE kpi_rollup_timezone())::date FROM token_usage")
    made = [r[0] for r in rows(conn, "SELECT partition_name FROM kpi_token_partitions() WHERE NOT is_default ORDER BY range_from")]
    conn.rollback()
    assert made in [month_partitions(first, day) for day in (day_before, day_after)], (first, day_before, day_after, made)
    assert one(conn, "SELECT count(*) FROM token_usage_default") == 0
    assert one(conn, "SELECT has_table_privilege('kpi_sqltest_writer', 'token_usage', 'INSERT')") is True
    assert one(conn, "SELECT to_regclass('token_usage_unpartitioned')") is None

    # the identity continues, and the rollup triggers work on the partitioned table (insert, cross-partition
    # update, delete, a row for a month without partition landing in the default partition)
    run(conn, "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) VALUES ('wf', 'openai', 'gpt-4o', 1000, 100)")
    assert one(conn, "SELECT max(usage_id) FROM token_usage") == last_id + 1
    run(conn, "UPDATE token_usage SET recorded_at = recorded_at - interval '40 days' WHERE usage_id % 10 = 0")
    run(conn, "DELETE FROM token_usage WHERE usage_id % 10 = 1")
    run(
        conn,
        "INSERT INTO token_usage (recorded_at, workflow_name, provider, model, input_tokens, output_tokens) "
        "VALUES ('2035-02-03 10:00:00+00', 'wf', 'openai', 'gpt-4o', 5, 5)",
    )
    # the future row, and the rows moved before the oldest month, wait in the default partition
    in_default = one(conn, "SELECT count(*) FROM token_usage_default")
    assert one(conn, "SELECT count(*) FROM token_usage_default WHERE recorded_at >= '2035-01-01'") == 1
    assert in_default > 1
    current = rollups(conn)
    conn.rollback()
    assert rebuilt_rollups(conn) == current
    # the maintenance moves them into partitions of their own months without touching the rollups
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT action, object, detail FROM kpi_ensure_token_partitions(current_date, current_date)")
            created = cur.fetchall()
    assert "token_usage_p203502" in [c[1] for c in created]
    assert sum(int(c[2].split("moving ")[1].split(" ")[0]) for c in created) == in_default
    assert one(conn, "SELECT count(*) FROM token_usage_default") == 0
    assert rollups(conn) == current
    conn.rollback()


def login(pg_server, db):
    return dict(login_host=pg_server.host, login_port=pg_server.port, login_db=db, login_user="postgres", login_password=pg_server.password, connect_timeout=5)


def test_maintenance_check_mode_lists_then_detaches_only_old_partitions(conn, pg_server, pg_db, ansible):
    apply_all(conn)
    run(conn, SAMPLE_DATA)  # 200 days of token rows, after the migration: older months sit in the default partition
    count_total = one(conn, "SELECT count(*) FROM token_usage")
    in_default = one(conn, "SELECT count(*) FROM token_usage_default")
    assert in_default > 0
    parts_before = rows(conn, "SELECT partition_name FROM kpi_token_partitions() ORDER BY 1")
    rollups_before, views_before = rollups(conn), view_outputs(conn)
    conn.rollback()
    args = dict(login(pg_server, pg_db), keep_months=2, months_ahead=4)

    # check mode: lists partitions to create (with the rows they take from the default partition), partitions to
    # archive with their row counts, the expired budget; changes nothing
    res = ansible.module(MAINTENANCE, args, check=True, diff=True).results[0]
    assert res["changed"] is True
    actions = [(a["action"], a["object"]) for a in res["actions"]]
    assert ("roll over budget", "Monthly expired") in actions
    assert res["rolled_over_budgets"] == ["Monthly expired"]
    created = res["created_partitions"]
    moved = sum(int(a["detail"].split("moving ")[1].split(" ")[0]) for a in res["actions"] if a["action"] == "create partition" and "moving" in a["detail"])
    assert moved == in_default
    assert rows(conn, "SELECT partition_name FROM kpi_token_partitions() ORDER BY 1") == parts_before
    assert one(conn, "SELECT count(*) FROM token_usage_default") == in_default
    assert res["diff"]["after"]["budgets"]["Monthly expired"] != res["diff"]["before"]["budgets"]["Monthly expired"]

    # real run: moves the default rows out, then archives what is older than this month and 2 months before
    cutoff = one(conn, "SELECT range_from FROM kpi_token_month_bounds((date_trunc('month', current_date) - interval '2 months')::date)")
    old_months = [
        r[0]
        for r in rows(
            conn,
            "SELECT DISTINCT 'token_usage_p' || to_char(recorded_at AT TIME ZONE "
            "kpi_rollup_timezone(), 'YYYYMM') FROM token_usage WHERE recorded_at < %s "
            "ORDER BY 1",
            (cutoff,),
        )
    ]
    conn.rollback()
    assert len(old_months) >= 2
    res = ansible.module(MAINTENANCE, args, diff=True).results[0]
    assert res["changed"] is True and res["created_partitions"] == created
    assert res["detached_partitions"] == old_months
    old = rows(conn, "SELECT count(*) FROM kpi_archive.token_usage_p" + res["detached_partitions"][0][-6:])
    assert old[0][0] > 0
    archived = one(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'kpi_archive'")
    assert archived == len(old_months)
    # exactly the rows before the cutoff left token_usage; every one of them is in the archive
    kept = one(conn, "SELECT count(*) FROM token_usage")
    assert one(conn, "SELECT count(*) FROM token_usage WHERE recorded_at < %s", (cutoff,)) == 0
    archived_rows = sum(one(conn, f"SELECT count(*) FROM kpi_archive.{p}") for p in res["detached_partitions"])
    assert kept + archived_rows == count_total
    assert one(conn, "SELECT count(*) FROM token_usage_default") == 0
    assert all(
        p[0] >= "token_usage_p" + cutoff.strftime("%Y%m") or p[0] == "token_usage_default"
        for p in rows(conn, "SELECT partition_name FROM kpi_token_partitions()")
    )
    # rollups untouched, so the dashboards' views still show the full history
    assert rollups(conn) == rollups_before
    # (the budget views changed only because the expired budget moved to this month)
    budget_views = ("v_budget_utilization", "v_executive_summary")
    views_after = view_outputs(conn)
    assert views_after.keys() == views_before.keys()
    assert {k: v for k, v in views_after.items() if k not in budget_views} == {k: v for k, v in views_before.items() if k not in budget_views}
    assert one(conn, "SELECT min(metric_date) FROM v_daily_kpi") < cutoff.date()
    assert one(conn, "SELECT period_start = date_trunc('month', current_date)::date FROM token_budgets WHERE budget_name = 'Monthly expired'") is True

    # idempotent
    res = ansible.module(MAINTENANCE, args, check=True).results[0]
    assert res["changed"] is False and res["actions"] == []
    res = ansible.module(MAINTENANCE, args).results[0]
    assert res["changed"] is False

    # drop: a shorter retention deletes the next month outright, rollups still untouched
    res = ansible.module(MAINTENANCE, dict(args, keep_months=1, retention_action="drop")).results[0]
    assert [a["action"] for a in res["actions"]] == ["drop partition"]
    dropped = res["detached_partitions"][0]
    assert one(conn, "SELECT to_regclass(%s)", (dropped,)) is None
    assert one(conn, "SELECT to_regclass(%s)", ("kpi_archive." + dropped,)) is None
    assert rollups(conn) == rollups_before


def test_maintenance_bad_input_and_missing_schema(pg_server, pg_db, ansible):
    res = ansible.module(MAINTENANCE, dict(login(pg_server, pg_db), keep_months=-1), expect_rc=None).results[0]
    assert res["failed"] and "keep_months must be >= 0" in res["msg"]
    res = ansible.module(MAINTENANCE, dict(login(pg_server, pg_db), archive_schema="Bad-Name"), expect_rc=None).results[0]
    assert res["failed"] and "archive_schema" in res["msg"]
    # check mode on an empty database (a first role run in check mode): warns, plans nothing
    res = ansible.module(MAINTENANCE, login(pg_server, pg_db), check=True).results[0]
    assert res["changed"] is False and res["actions"] == []
    res = ansible.module(MAINTENANCE, login(pg_server, pg_db), expect_rc=None).results[0]
    assert res["failed"] and "kpi_run_maintenance() is missing" in res["msg"]

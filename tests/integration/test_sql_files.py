"""files/sql/*.sql against a real PostgreSQL: apply order, re-runs, foreign `cases`, reader grants, pricing."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import psycopg2
import pytest
from psycopg2 import errors

from conftest import PLANTED
from kpi_sql import ORDER, READER_ROLE, SQL_DIR, UP_TO_VIEWS, apply_all, apply_file, contract_views, ensure_reader_role

D = Decimal
REPEATABLE = ["views.sql", "grafana-reader.sql"]
BASE_TABLES = [
    "cases",
    "kb_articles",
    "token_usage",
    "token_budgets",
    "api_pricing",
    "baseline_config",
    "kpi_daily_case_stats",
    "kpi_daily_confidence_stats",
    "kpi_daily_escalation_stats",
    "kpi_daily_token_stats",
]


@pytest.fixture
def conn(pg_server, pg_db):
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    c = pg_server.connect(pg_db)
    try:
        yield c
    finally:
        c.close()


def scalar(conn, sql, params=None):
    with conn:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]


def run(conn, sql, params=None):
    with conn:
        with conn.cursor() as cur:
            cur.execute(sql, params)


def relnames(conn, kinds):
    with conn:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind = ANY(%s)", (list(kinds),)
            )
            return {r[0] for r in cur.fetchall()}


@pytest.mark.parametrize("name", ORDER)
def test_file_is_plain_single_transaction_sql(name):
    sql = (SQL_DIR / name).read_text()
    code = re.sub(r"--[^\n]*", "", sql)
    assert not re.search(r"^\s*\\", code, re.M), "psql meta-command"
    for forbidden in (r"\bCONCURRENTLY\b", r"\bVACUUM\b", r"^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\s*;"):
        assert not re.search(forbidden, code, re.I | re.M), forbidden


def test_files_apply_in_order_and_views_match_contract(conn):
    apply_all(conn)
    views = relnames(conn, "v")
    contract = contract_views()
    assert len(contract) == 15  # 13 of the issue + v_kpi_baseline + v_token_reconciliation
    for view, columns in contract.items():
        assert view in views, view
        with conn:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM {view} LIMIT 0")
                actual = [d.name for d in cur.description]
        # contracted columns first, in contract order; extra columns may follow
        assert actual[: len(columns)] == columns, view
    assert scalar(conn, "SELECT count(*) FROM kpi_targets") == 14
    assert scalar(conn, "SELECT count(*) FROM baseline_config") == 4
    assert scalar(conn, "SELECT config_value FROM baseline_config WHERE config_key = 'manual_cost_per_case'") == 25
    assert scalar(conn, "SELECT count(*) FROM api_pricing WHERE is_current") >= 5
    assert scalar(conn, "SELECT count(*) FROM v_executive_summary") == 1


def test_files_rerun_without_harm(conn):
    apply_all(conn)
    run(conn, "INSERT INTO cases (created_at, status, resolution_path, category) VALUES (now(), 'resolved', 'self_service', 'billing')")
    run(conn, "UPDATE baseline_config SET config_value = 31 WHERE config_key = 'manual_cost_per_case'")
    run(conn, "GRANT SELECT ON cases TO %s" % READER_ROLE)  # a stale grant a re-run must remove
    for name in REPEATABLE:
        apply_file(conn, name)
    # schema files re-run as well (IF NOT EXISTS / ON CONFLICT DO NOTHING): no duplicates, no overwrite
    for name in ORDER:
        apply_file(conn, name)
    assert scalar(conn, "SELECT count(*) FROM kpi_targets") == 14
    assert scalar(conn, "SELECT config_value FROM baseline_config WHERE config_key = 'manual_cost_per_case'") == 31
    assert scalar(conn, "SELECT total_cases FROM v_daily_kpi") == 1  # backfill did not double-count
    assert scalar(conn, "SELECT has_table_privilege(%s, 'cases', 'SELECT')", (READER_ROLE,)) is False
    assert scalar(conn, "SELECT has_table_privilege(%s, 'v_daily_kpi', 'SELECT')", (READER_ROLE,)) is True


PREEXISTING = """
CREATE TABLE kb_articles (article_id serial PRIMARY KEY, category varchar(40), title varchar(200),
                          is_published boolean DEFAULT true, body text);
CREATE TABLE cases (
    ticket_ref text, category varchar(40) NOT NULL, case_id integer PRIMARY KEY, status varchar(20),
    created_at timestamptz NOT NULL, resolved_at timestamptz, resolution_path varchar(20),
    first_contact_resolved boolean, ai_confidence numeric(5,4), ai_outcome varchar(20), csat_score integer,
    escalation_reason varchar(100), handling_minutes numeric(10,2), assignee text);
INSERT INTO cases (case_id, ticket_ref, category, status, created_at, resolved_at, resolution_path,
                   first_contact_resolved, ai_confidence, ai_outcome, csat_score, escalation_reason, handling_minutes)
VALUES (1, 'T-1', 'billing', 'resolved', now() - interval '2 days', now() - interval '2 days' + interval '12 min',
        'self_service', true, 0.9, 'approved', 5, NULL, NULL),
       (2, 'T-2', 'billing', 'open', now() - interval '2 days', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       (3, 'T-3', 'shipping', 'closed', now() - interval '2 days', now() - interval '1 day', 'escalated', false,
        0.2, 'rejected', 2, 'lost_package', 45);
"""


def test_preexisting_support_tables_without_support_core(conn):
    run(conn, PREEXISTING)
    apply_all(conn, ORDER[1:])  # everything but support-core.sql
    # the existing history was rolled up at install time (backfill), NULL flags count as false
    row = None
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT total_cases, resolved_cases, escalated_cases, resolution_rate, first_contact_resolution_rate, csat_avg FROM v_daily_kpi")
            row = cur.fetchall()
    assert row == [(3, 2, 1, D("66.67"), D("33.33"), D("3.50"))]
    # triggers work on the foreign table
    run(conn, "INSERT INTO cases (case_id, category, status, created_at) VALUES (4, 'billing', 'open', now())")
    run(conn, "UPDATE cases SET status = 'resolved', resolved_at = now() WHERE case_id = 2")
    assert scalar(conn, "SELECT sum(total_cases) FROM v_daily_kpi") == 4
    assert scalar(conn, "SELECT sum(resolved_cases) FROM v_daily_kpi") == 3
    assert scalar(conn, "SELECT count(*) FROM v_kb_coverage_gaps") == 2


def test_missing_contract_columns_named_and_nothing_written(conn):
    run(
        conn,
        "CREATE TABLE cases (case_id bigint PRIMARY KEY, created_at timestamptz NOT NULL, status text, "
        "category text, resolution_path text, resolved_at timestamptz, first_contact_resolved boolean, "
        "ai_confidence numeric, escalation_reason text, handling_minutes numeric)",
    )
    with pytest.raises(psycopg2.Error) as err:
        apply_file(conn, "schema-additions.sql")
    msg = str(err.value)
    assert "cases.ai_outcome" in msg and "cases.csat_score" in msg and "kb_articles.article_id" in msg
    conn.rollback()
    assert relnames(conn, "r") == {"cases"}  # nothing half-written


def test_grafana_reader_reads_views_only(conn, pg_server, pg_db):
    apply_all(conn, contract_columns=False)
    run(
        conn,
        "INSERT INTO cases (created_at, status, resolution_path, category, escalation_reason) "
        "VALUES (now(), 'escalated', 'escalated', 'billing', 'refund_over_limit')",
    )
    reader = psycopg2.connect(pg_server.dsn(pg_db, user=READER_ROLE, password=PLANTED["reader_password"]))
    reader.autocommit = True
    try:
        with reader.cursor() as cur:
            for view in sorted(relnames(conn, "v")):
                if view.startswith("v_"):
                    cur.execute(f"SELECT * FROM {view}")
                    cur.fetchall()
            cur.execute("SELECT count(*) FROM kpi_targets")
            assert cur.fetchone()[0] == 14
            cur.execute("SELECT escalations FROM v_escalation_reasons_daily")
            assert cur.fetchall() == [(1,)]
            for table in BASE_TABLES + ["kpi_daily_base"]:
                with pytest.raises(errors.InsufficientPrivilege):
                    cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
            for stmt in (
                "UPDATE kpi_targets SET target_value = 0",
                "DELETE FROM kpi_targets",
                "INSERT INTO token_usage (workflow_name, provider, model) VALUES ('x', 'y', 'z')",
                "SELECT kpi_rebuild_rollups()",
                "CREATE TABLE evil (x int)",
            ):
                with pytest.raises(errors.InsufficientPrivilege):
                    cur.execute(stmt)
    finally:
        reader.close()


def test_grafana_reader_clear_errors(conn, pg_server):
    apply_all(conn, UP_TO_VIEWS)
    with pytest.raises(psycopg2.Error, match="kpi.reader_role is not set"):
        apply_file(conn, "grafana-reader.sql", reader_role=None)
    conn.rollback()
    with pytest.raises(psycopg2.Error, match='role "no_such_reader" .* does not exist'):
        apply_file(conn, "grafana-reader.sql", reader_role="no_such_reader")
    conn.rollback()
    with pytest.raises(psycopg2.Error, match="superuser"):
        apply_file(conn, "grafana-reader.sql", reader_role=pg_server.superuser)
    conn.rollback()


def test_cost_trigger_uses_price_in_effect_at_recorded_at(conn):
    apply_all(conn, UP_TO_VIEWS)
    # the spec's price change: mark the old price not current, insert the new one from 2026-02-01
    run(
        conn,
        """
        INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, effective_from)
        VALUES ('acme', 'm1', 4.00, 20.00, '2025-06-01 00:00:00+00');
        UPDATE api_pricing SET is_current = false WHERE provider = 'acme' AND model = 'm1';
        INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, effective_from)
        VALUES ('acme', 'm1', 2.00, 10.00, '2026-02-01 00:00:00+00');""",
    )
    with pytest.raises(errors.UniqueViolation):  # only one current price per provider+model
        run(conn, "INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million) VALUES ('acme', 'm1', 1, 1)")
    run(
        conn,
        """
        INSERT INTO token_usage (usage_id, recorded_at, workflow_name, provider, model, input_tokens, output_tokens,
                                 cost_usd)
        VALUES (1, '2026-01-31 23:59:59+00', 'wf', 'acme', 'm1', 1000, 500, NULL),  -- old: 0.004 + 0.010
               (2, '2026-02-01 00:00:00+00', 'wf', 'acme', 'm1', 1000, 500, NULL),  -- new: 0.002 + 0.005
               (3, '2025-05-31 00:00:00+00', 'wf', 'acme', 'm1', 1000, 500, NULL),  -- before any price
               (4, '2026-03-01 00:00:00+00', 'wf', 'acme', 'm1', 1000, 500, 0.5),   -- caller's cost kept
               (5, '2026-03-01 00:00:00+00', 'wf', 'nobody', 'x', 10, 10, NULL);     -- unknown model
        """,
    )
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT usage_id, total_tokens, cost_usd FROM token_usage ORDER BY usage_id")
            assert cur.fetchall() == [(1, 1500, D("0.014000")), (2, 1500, D("0.007000")), (3, 1500, None), (4, 1500, D("0.500000")), (5, 20, None)]
    # moving a row in time re-prices it; a correction of the tokens too
    run(conn, "UPDATE token_usage SET recorded_at = '2026-02-02 00:00:00+00' WHERE usage_id = 1")
    run(conn, "UPDATE token_usage SET input_tokens = 2000 WHERE usage_id = 2")
    assert scalar(conn, "SELECT cost_usd FROM token_usage WHERE usage_id = 1") == D("0.007000")
    assert scalar(conn, "SELECT array[total_tokens::numeric, cost_usd] FROM token_usage WHERE usage_id = 2") == [2500, D("0.009000")]
    assert scalar(conn, "SELECT sum(unpriced_requests) FROM kpi_daily_token_stats") == 2


def sql_literal(value):
    return "NULL" if value is None else "'%s'" % value


def test_rollups_exact_after_random_mixed_changes(conn):
    """Random batches of INSERT/UPDATE/DELETE keep every rollup equal to a recomputation from scratch."""
    apply_all(conn, [name for name in ORDER if name not in REPEATABLE])
    rng = random.Random(7)
    cats, paths = ["billing", "shipping", "account"], [None, "self_service", "collaborative", "escalated"]
    statuses, outcomes = ["open", "pending", "resolved", "closed", "escalated"], [None, "approved", "edited", "rejected"]

    def case_row():
        created = f"now() - interval '{rng.randint(0, 5 * 24 * 60)} minutes'"
        res = rng.choice(["NULL", f"{created} + interval '{rng.randint(1, 3000)} minutes'"])
        conf = rng.choice(["NULL", str(round(rng.random(), 3))])
        return (
            f"({created}, {res}, '{rng.choice(statuses)}', "
            f"{sql_literal(rng.choice(paths))}, '{rng.choice(cats)}', "
            f"{rng.choice(['true', 'false'])}, {conf}, "
            f"{sql_literal(rng.choice(outcomes))}, "
            f"{rng.choice(['NULL', '1', '3', '5'])}, {rng.choice(['NULL', repr('r1'), repr('r2')])}, "
            f"{rng.choice(['NULL', '7.5', '30'])})"
        )

    for _round in range(12):
        run(
            conn,
            "INSERT INTO cases (created_at, resolved_at, status, resolution_path, category, "
            "first_contact_resolved, ai_confidence, ai_outcome, csat_score, escalation_reason, handling_minutes) "
            "VALUES " + ", ".join(case_row() for _row in range(40)),
        )
        # token rows carry a case_id (existing, deleted, not yet created, or none): per-category spend
        run(
            conn,
            "INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model, input_tokens, "
            "output_tokens, latency_ms, success) SELECT now() - random() * interval '4 days', 'wf-' || (g %% 3), "
            "CASE WHEN g %% 3 = 0 THEN NULL ELSE (random() * %s)::int + 1 END, "
            "'anthropic', 'claude-sonnet-4', g * 10, g, CASE WHEN g %% 4 = 0 THEN NULL ELSE g END, g %% 9 <> 0 "
            "FROM generate_series(1, 50) g",
            ((_round + 1) * 45,),
        )
        run(
            conn,
            "UPDATE cases SET status = 'resolved', resolved_at = created_at + interval '1 day', "
            "csat_score = 4, resolution_path = 'escalated' WHERE case_id %% 7 = %s",
            (rng.randint(0, 6),),
        )
        run(conn, "UPDATE cases SET category = 'account', created_at = created_at - interval '1 day' WHERE case_id %% 11 = %s", (rng.randint(0, 10),))
        run(conn, "DELETE FROM cases WHERE case_id %% 13 = %s", (rng.randint(0, 12),))
        run(conn, "UPDATE token_usage SET output_tokens = output_tokens + 1 WHERE usage_id %% 5 = %s", (rng.randint(0, 4),))
        run(conn, "DELETE FROM token_usage WHERE usage_id %% 17 = %s", (rng.randint(0, 16),))
        run(conn, "UPDATE token_usage SET case_id = case_id + 1 WHERE usage_id %% 19 = %s", (rng.randint(0, 18),))
        run(conn, "UPDATE cases SET category = 'billing' WHERE case_id %% 23 = %s", (rng.randint(0, 22),))

    tables = ["kpi_daily_case_stats", "kpi_daily_confidence_stats", "kpi_daily_escalation_stats", "kpi_daily_token_stats", "kpi_daily_category_token_stats"]

    def snapshot():
        out = {}
        with conn:
            with conn.cursor() as cur:
                for t in tables:
                    cur.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3" + (", 4" if t == "kpi_daily_token_stats" else ""))
                    out[t] = cur.fetchall()
        return out

    before = snapshot()
    assert sum(r[2] for r in before["kpi_daily_case_stats"]) == scalar(conn, "SELECT count(*) FROM cases")
    assert sum(r[2] for r in before["kpi_daily_category_token_stats"]) == scalar(conn, "SELECT count(*) FROM token_usage tu JOIN cases c USING (case_id)") > 0
    run(conn, "SELECT kpi_rebuild_rollups()")
    assert snapshot() == before


def test_support_core_matches_contract_table(conn):
    """support-core.sql and the contract check in schema-additions.sql cover the columns docs/kpi-contract.md lists."""
    text = (SQL_DIR.parents[1] / "docs" / "kpi-contract.md").read_text()
    contract_cols = set(re.findall(r"^\| (\w+) \| ", text.split("`kb_articles")[0], re.M)) - {"column"}
    assert len(contract_cols) == 12
    apply_file(conn, "support-core.sql")
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'cases'")
            assert contract_cols <= {r[0] for r in cur.fetchall()}
    checked = set(re.findall(r"\('cases', '(\w+)'\)", (SQL_DIR / "schema-additions.sql").read_text()))
    assert checked == contract_cols


def _function_bodies(sql):
    """{function name: (header, body between the dollar quotes)} of every CREATE OR REPLACE FUNCTION in ``sql``."""
    pattern = r"CREATE OR REPLACE FUNCTION (\w+)\((.*?)\bAS (\$\w*\$)(.*?)\3"
    return {m.group(1): (m.group(2), m.group(4)) for m in re.finditer(pattern, sql, re.S)}


def test_rollups_sql_holds_every_trigger_function_in_its_current_version(pg_server, pg_db, conn):
    """rollups.sql (repeatable) defines every function a trigger calls, and after the whole order the database
    runs exactly those bodies, pinned to kpi_rollup_timezone(); it leaves the session's time zone as it was."""
    rollups = (SQL_DIR / "rollups.sql").read_text()
    bodies = _function_bodies(rollups)
    called = set()
    for name in ORDER:
        called |= set(re.findall(r"EXECUTE FUNCTION (\w+)\(", (SQL_DIR / name).read_text()))
    assert called and called <= set(bodies), called - set(bodies)
    assert sum("SET TimeZone FROM CURRENT" in header for header, _body in bodies.values()) >= 3
    assert "kpi_rollup_timezone" not in bodies  # the pin itself is never redefined
    run(conn, "ALTER DATABASE %s SET TimeZone = 'America/Chicago'" % pg_db)
    conn.close()
    conn = pg_server.connect(pg_db)  # a new session takes the database's time zone
    try:
        names = ORDER[: ORDER.index("rollups.sql")]
        apply_all(conn, names)
        assert scalar(conn, "SELECT kpi_rollup_timezone()") == "America/Chicago"
        with conn:  # one transaction, as kpi_schema runs every file
            with conn.cursor() as cur:
                cur.execute("SET LOCAL TimeZone = 'Asia/Tokyo'")
                cur.execute(rollups)
                cur.execute("SELECT current_setting('TimeZone')")
                assert cur.fetchone()[0] == "Asia/Tokyo"
        apply_all(conn, ORDER[ORDER.index("rollups.sql") + 1 :])
        with conn:
            with conn.cursor() as cur:
                cur.execute("SELECT proname, prosrc, proconfig, prosecdef FROM pg_proc WHERE proname = ANY(%s)", (list(bodies),))
                found = {name: (src, config, secdef) for name, src, config, secdef in cur.fetchall()}
        assert set(found) == set(bodies)
        # n8n's role only INSERTs into token_usage: its trigger functions run with the owner's rights
        definer = {"kpi_token_usage_fill", "kpi_token_usage_rollup_insert", "kpi_token_usage_rollup"}
        for name, (src, config, secdef) in found.items():
            header, body = bodies[name]
            assert src == body, name
            expected = ["TimeZone=America/Chicago"] if "SET TimeZone FROM CURRENT" in header else []
            expected += ["search_path=public, pg_temp"] if name in definer else []
            assert (config or [], secdef) == (expected, name in definer), name
    finally:
        conn.close()

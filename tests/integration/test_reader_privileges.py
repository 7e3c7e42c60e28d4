"""The read-only Grafana role (files/sql/grafana-reader.sql) on a real PostgreSQL, in both settings.

* contract columns (default, kpi.reader_contract_columns unset or 'true'): SELECT on the v_* views, kpi_targets,
  and on exactly the columns docs/kpi-contract.md lists for cases, kb_articles, token_usage, token_budgets and
  api_pricing; every other column (cases.subject, a column added later) and every other table stays denied;
* views only ('false'): no access to any base table, also after the contract columns had been granted.
"""

from __future__ import annotations

import psycopg2
import pytest
from psycopg2 import errors

from conftest import PLANTED
from kpi_sql import ORDER, READER_ROLE, SQL_DIR, apply_all, apply_file, contract_table_columns, ensure_reader_role

CONTRACT_TABLES = ("cases", "kb_articles", "token_usage", "token_budgets", "api_pricing")
OTHER_TABLES = (
    "baseline_config",
    "kpi_daily_case_stats",
    "kpi_daily_confidence_stats",
    "kpi_daily_escalation_stats",
    "kpi_daily_token_stats",
    "kpi_daily_base",
)


@pytest.fixture
def conn(pg_server, pg_db):
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    c = pg_server.connect(pg_db)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def reader(pg_server, pg_db, conn):
    c = psycopg2.connect(pg_server.dsn(pg_db, user=READER_ROLE, password=PLANTED["reader_password"]))
    c.autocommit = True
    try:
        yield c
    finally:
        c.close()


def readable_columns(conn) -> dict[str, list[str]]:
    """Table -> columns the reader may SELECT, from PostgreSQL's own privilege check, for every base table."""
    with conn:
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT c.relname, a.attname
                  FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE c.relkind IN ('r', 'p') AND c.relname <> 'kpi_targets'
                   AND has_column_privilege(%s, c.oid, a.attnum, 'SELECT')
                 ORDER BY c.relname, a.attnum""",
                (READER_ROLE,),
            )
            out: dict[str, list[str]] = {}
            for table, column in cur.fetchall():
                out.setdefault(table, []).append(column)
            return out


def query(reader, sql):
    with reader.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def seed(conn):
    with conn:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO cases (created_at, status, category, subject) VALUES (now(), 'open', 'billing', 'Refund for order 4711, jane@example.com')"
            )
            cur.execute(
                "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens, cost_usd) "
                "VALUES ('triage', 'anthropic', 'claude', 100, 50, 0.01)"
            )


def test_contract_columns_granted_exactly(conn, reader):
    apply_all(conn)  # setting unset: the default, contract columns
    contract = contract_table_columns()
    assert set(contract) == set(CONTRACT_TABLES)
    # exactly the contract: no more (cases.subject, created_at of token tables), no less
    assert readable_columns(conn) == {t: contract[t] for t in CONTRACT_TABLES}
    seed(conn)
    assert query(reader, "SELECT count(*), min(category) FROM cases") == [(1, "billing")]
    assert query(reader, "SELECT workflow_name, total_tokens FROM token_usage") == [("triage", 150)]
    assert query(reader, "SELECT count(*) FROM token_budgets WHERE is_active") == [(0,)]


def test_non_contract_columns_and_tables_stay_denied(conn, reader):
    apply_all(conn, contract_columns=True)
    seed(conn)
    for sql in (
        "SELECT subject FROM cases",
        "SELECT * FROM cases",
        "SELECT * FROM token_budgets",
        "SELECT created_at FROM api_pricing",
        "SELECT count(*) FROM cases WHERE subject LIKE '%jane%'",
    ):
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
            query(reader, sql)
    for table in OTHER_TABLES:
        with pytest.raises(errors.InsufficientPrivilege):
            query(reader, "SELECT 1 FROM %s LIMIT 1" % table)
    for stmt in ("UPDATE cases SET category = 'x'", "DELETE FROM token_usage", "INSERT INTO cases (created_at, category) VALUES (now(), 'x')"):
        with pytest.raises(errors.InsufficientPrivilege):
            query(reader, stmt)
    # a column the support system adds later is not readable until the contract (and this file) name it
    with conn:
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE cases ADD COLUMN customer_email text")
    apply_file(conn, "grafana-reader.sql", contract_columns=True)
    with pytest.raises(errors.InsufficientPrivilege):
        query(reader, "SELECT customer_email FROM cases")
    assert "customer_email" not in readable_columns(conn)["cases"]


def test_views_only_setting_and_switching_back(conn, reader):
    apply_all(conn, contract_columns=True)
    seed(conn)
    assert query(reader, "SELECT count(*) FROM cases") == [(1,)]
    # switched to views only: the column grants are revoked on the re-run
    apply_file(conn, "grafana-reader.sql", contract_columns=False)
    assert readable_columns(conn) == {}
    for table in CONTRACT_TABLES:
        with pytest.raises(errors.InsufficientPrivilege):
            query(reader, "SELECT 1 FROM %s LIMIT 1" % table)
    assert query(reader, "SELECT cases_today FROM v_executive_summary") == [(1,)]
    assert query(reader, "SELECT count(*) FROM kpi_targets") == [(14,)]
    # and back
    apply_file(conn, "grafana-reader.sql", contract_columns=True)
    assert query(reader, "SELECT count(*) FROM cases") == [(1,)]


def test_invalid_setting_is_refused_and_nothing_changes(conn):
    apply_all(conn, ORDER[:3])
    with pytest.raises(psycopg2.Error, match='kpi.reader_contract_columns is "yes"'):
        with conn:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('kpi.reader_role', %s, true)", (READER_ROLE,))
                cur.execute("SELECT set_config('kpi.reader_contract_columns', 'yes', true)")
                cur.execute((SQL_DIR / "grafana-reader.sql").read_text())
    assert readable_columns(conn) == {}

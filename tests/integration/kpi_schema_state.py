"""Helpers for the upgrade and retention tests: a deterministic dataset, and snapshots of rows, rollups, views
and the schema's shape that two databases (or one database at two times) can be compared by."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from kpi_sql import REPO

RELEASE_010 = Path(__file__).parent / "sql_fixtures" / "release-0.1.0"
# The files release 0.1.0 applied, in its order, with their ledger kinds (roles/kpi_database of 0.1.0).
RELEASE_010_FILES = [("support-core.sql", "once"), ("schema-additions.sql", "once"), ("views.sql", "repeatable"), ("grafana-reader.sql", "repeatable")]
BASE_TABLES = ["cases", "kb_articles", "token_usage", "token_budgets", "api_pricing", "baseline_config", "kpi_targets"]

# 1,500 cases over 150 days and 4,000 token rows over 200 days (7 months, so several partitions), with
# every shape the rollups distinguish: open/resolved/escalated, each AI outcome, missing confidence or CSAT,
# rows priced by the trigger, rows with the caller's cost, unpriced rows (unknown model), failed requests.
SAMPLE_DATA = """
INSERT INTO kb_articles (title, category, is_published)
SELECT 'article ' || i, (ARRAY['billing', 'shipping', 'account'])[1 + i % 3], i % 4 <> 0
  FROM generate_series(1, 12) i;

INSERT INTO cases (created_at, resolved_at, status, resolution_path, category, first_contact_resolved, ai_confidence,
                   ai_outcome, csat_score, escalation_reason, handling_minutes, subject)
SELECT t.ts,
       CASE WHEN i % 5 <> 0 THEN t.ts + (i % 240) * interval '1 minute' END,
       CASE WHEN i % 5 = 0 THEN 'open' WHEN i % 7 = 0 THEN 'escalated' ELSE 'resolved' END,
       CASE WHEN i % 11 = 0 THEN NULL WHEN i % 7 = 0 THEN 'escalated'
            WHEN i % 3 = 0 THEN 'collaborative' ELSE 'self_service' END,
       (ARRAY['billing', 'shipping', 'account', 'returns'])[1 + i % 4],
       i % 2 = 0,
       CASE WHEN i % 13 = 0 THEN NULL ELSE ((i * 37) % 1000) / 1000.0 END,
       (ARRAY[NULL, 'approved', 'edited', 'rejected', 'approved'])[1 + i % 5],
       CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % 5 END,
       CASE WHEN i % 7 = 0 THEN (ARRAY['billing dispute', 'angry customer', NULL])[1 + i % 3] END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 50) + 0.25 END,
       'subject ' || i
  FROM generate_series(1, 1500) i,
       LATERAL (SELECT date_trunc('minute', now()) - ((i * 97) % (150 * 24 * 60)) * interval '1 minute' AS ts) t;

INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model, operation_type, input_tokens,
                         output_tokens, cost_usd, latency_ms, success)
SELECT date_trunc('second', now()) - ((i * 53) % (200 * 24 * 60)) * interval '1 minute',
       (ARRAY['triage', 'draft', 'summarise'])[1 + i % 3],
       CASE WHEN i % 4 = 0 THEN NULL ELSE 1 + i % 1500 END,
       p.provider, p.model, 'chat', 100 + i % 900, 20 + i % 300,
       CASE WHEN i % 6 = 0 THEN (i % 100) / 1000.0 END,
       CASE WHEN i % 9 = 0 THEN NULL ELSE 200 + i % 2000 END,
       i % 17 <> 0
  FROM generate_series(1, 4000) i,
       LATERAL (SELECT (ARRAY['anthropic', 'openai', 'anthropic', 'acme'])[1 + i % 4] AS provider,
                       (ARRAY['claude-sonnet-4', 'gpt-4o-mini', 'claude-haiku-3-5', 'unknown-model'])[1 + i % 4] AS model) p;

-- a price for the unknown model that starts in the past: rows logged before it stay unpriced (an upgrade
-- must not re-price them)
INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, effective_from)
VALUES ('acme', 'unknown-model', 1.00, 2.00, '2024-01-01 00:00:00+00');

INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, cost_limit_usd, period_start, period_end,
                           alert_threshold_pct)
VALUES ('Daily all', NULL, 'daily', 2000000, 50, current_date, current_date, 80),
       ('Weekly anthropic', 'anthropic', 'weekly', 9000000, 300, date_trunc('week', current_date)::date,
        date_trunc('week', current_date)::date + 6, 75),
       ('Monthly openai', 'openai', 'monthly', 40000000, 900, date_trunc('month', current_date)::date,
        (date_trunc('month', current_date) + interval '1 month - 1 day')::date, 90),
       -- expired last month: the scheduled rollover moves it to this month
       ('Monthly expired', 'anthropic', 'monthly', 1000000, 100,
        (date_trunc('month', current_date) - interval '1 month')::date,
        (date_trunc('month', current_date) - interval '1 day')::date, 80);
"""


def rows(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def table_columns(conn, table):
    return [
        r[0]
        for r in rows(conn, "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (table,))
    ]


def table_content(conn, table, columns):
    """Every row of ``table`` projected on ``columns`` (the columns a table had before an upgrade), as sorted
    JSON texts, so rows added, lost or changed all show up."""
    cols = ", ".join('"%s"' % c for c in columns)
    return sorted(r[0] for r in rows(conn, f"SELECT to_jsonb(t)::text FROM (SELECT {cols} FROM {table}) t"))


def rollup_tables(conn):
    return [
        r[0]
        for r in rows(
            conn,
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relkind = 'r' AND relname LIKE 'kpi\\_daily\\_%%' ORDER BY relname",
        )
    ]


def _same_number_same_text(row_json):
    """A rollup row with every number in one canonical form: a sum kept by the statement triggers carries the
    scale of its inputs (``0.000``), the same sum recomputed from the base tables may not (``coalesce(sum(x), 0)``
    over no rows is ``0``). The values, not their scale, are what the dashboard shows and what must survive."""
    row = json.loads(row_json, parse_float=Decimal, parse_int=Decimal)
    return json.dumps({k: str(v.normalize()) if isinstance(v, Decimal) else v for k, v in row.items()}, sort_keys=True)


def rollups(conn):
    """Every rollup row, numbers compared by value (see _same_number_same_text)."""
    return {t: sorted(_same_number_same_text(r) for r in table_content(conn, t, table_columns(conn, t))) for t in rollup_tables(conn)}


def rebuilt_rollups(conn):
    """The rollups as kpi_rebuild_rollups() recomputes them from the base tables (rolled back afterwards)."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT kpi_rebuild_rollups()")
        return rollups(conn)
    finally:
        conn.rollback()


# Columns computed from now() (the budget projection runs on the usage rate per elapsed hour), which differ
# between two reads minutes apart: left out when outputs taken at different times are compared.
NOW_DEPENDENT = ["projected_exhaustion_at", "elapsed_hours", "daily_avg_tokens", "projected_exhaustion_date", "days_remaining", "exhausts_before_period_end"]


def view_outputs(conn):
    """Output of every v_* view (what the dashboard, the alerts and the verification read), without the
    columns computed from now() (NOW_DEPENDENT)."""
    out = {}
    for (view,) in rows(
        conn, "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'v' AND relname LIKE 'v\\_%%' ORDER BY relname"
    ):
        out[view] = sorted(r[0] for r in rows(conn, f"SELECT (to_jsonb(t) - %s::text[])::text FROM {view} t", (NOW_DEPENDENT,)))
    return out


def schema_shape(conn):
    """Definitions that must be identical on an upgraded and on a freshly installed database: views, table
    columns, indexes, triggers, functions, constraints (partitions themselves excluded: their months differ;
    the kpi_schema ledger excluded: a fresh install by the test helpers has none)."""
    ns = "current_schema()::regnamespace"
    shape = {
        "views": dict(rows(conn, f"SELECT relname, pg_get_viewdef(oid) FROM pg_class WHERE relnamespace = {ns} AND relkind = 'v'")),
        "columns": [
            list(r)
            for r in rows(
                conn,
                f"""
            SELECT c.relname, c.relkind, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   a.attidentity, pg_get_expr(d.adbin, d.adrelid)
              FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
             WHERE c.relnamespace = {ns} AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
               AND c.relname <> 'kpi_schema_migrations'
             ORDER BY 1, 3""",
            )
        ],
        "indexes": sorted(
            r[0]
            for r in rows(
                conn,
                f"""
            SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             WHERE c.relnamespace = {ns} AND NOT c.relispartition AND c.relname <> 'kpi_schema_migrations'""",
            )
        ),
        "constraints": sorted(
            list(r)
            for r in rows(
                conn,
                f"""
            SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = {ns} AND NOT c.relispartition
               AND c.relname <> 'kpi_schema_migrations'""",
            )
        ),
        "triggers": sorted(
            r[0]
            for r in rows(
                conn,
                f"""
            SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE c.relnamespace = {ns} AND NOT t.tgisinternal AND NOT c.relispartition""",
            )
        ),
        "functions": dict(
            rows(
                conn,
                f"""
            SELECT p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)) FROM pg_proc p
             WHERE p.pronamespace = {ns}""",
            )
        ),
        "partitioned": dict(rows(conn, f"SELECT relname, relkind::text FROM pg_class WHERE relnamespace = {ns} AND relkind = 'p'")),
    }
    return json.loads(json.dumps(shape, default=str))


__all__ = [
    "REPO",
    "RELEASE_010",
    "RELEASE_010_FILES",
    "BASE_TABLES",
    "SAMPLE_DATA",
    "rows",
    "table_columns",
    "table_content",
    "rollup_tables",
    "rollups",
    "rebuilt_rollups",
    "view_outputs",
    "schema_shape",
]

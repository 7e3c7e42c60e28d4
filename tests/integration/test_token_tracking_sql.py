"""Token tracking SQL (migration 0020, views-token-tracking.sql, n8n-writer.sql) on a real PostgreSQL.

Expected values are computed in the tests from the raw rows they insert.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import psycopg2
import pytest
from psycopg2 import errors

from conftest import PLANTED
from kpi_sql import N8N_ROLE, apply_all, apply_file, ensure_n8n_role, ensure_reader_role, schema_files

D = Decimal
ORDER = schema_files(n8n_writer=True)


@pytest.fixture
def conn(pg_server, pg_db):
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    ensure_n8n_role(pg_server, PLANTED["n8n_writer_password"])
    c = pg_server.connect(pg_db)
    apply_all(c, ORDER)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def n8n_conn(pg_server, pg_db, conn):
    c = pg_server.connect(pg_db, user=N8N_ROLE, password=PLANTED["n8n_writer_password"])
    try:
        yield c
    finally:
        c.close()


def q(c, sql, params=None):
    with c:
        with c.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None


def test_order_has_token_tracking_files_after_views():
    assert ORDER.index("views.sql") < ORDER.index("views-token-tracking.sql") < ORDER.index("n8n-writer.sql")
    assert "migrations/0020-token-tracking.sql" in ORDER
    assert ORDER.index("migrations/0020-token-tracking.sql") < ORDER.index("views.sql")


def test_per_request_row_priced_over_four_token_classes(conn):
    q(
        conn,
        "INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, "
        "cache_write_price_per_million, cache_read_price_per_million, effective_from) "
        "VALUES ('anthropic', 'claude-test', 3, 15, 3.75, 0.30, '2025-01-01')",
    )
    q(
        conn,
        "INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, "
        "effective_from) VALUES ('openai', 'gpt-test', 2.5, 10, '2025-01-01')",
    )
    rows = q(
        conn,
        "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, cache_write_tokens, "
        "cache_read_tokens, output_tokens) VALUES "
        "('wf', 'anthropic', 'claude-test', 1000, 2000, 10000, 500), "
        "('wf', 'openai', 'gpt-test', 1000, 0, 4000, 500) RETURNING total_tokens, cost_usd",
    )
    # anthropic: cache prices of its own; openai: no cache prices -> input price (documented upper bound)
    a = (1000 * D(3) + 2000 * D("3.75") + 10000 * D("0.30") + 500 * D(15)) / 1000000
    o = (1000 * D("2.5") + 4000 * D("2.5") + 500 * D(10)) / 1000000
    assert rows == [(13500, a.quantize(D("0.000001"))), (5500, o.quantize(D("0.000001")))]
    # the daily rollup (and so every budget/cost view) sees the cache tokens in total_tokens
    assert q(conn, "SELECT sum(total_tokens) FROM kpi_daily_token_stats")[0][0] == 19000
    # an UPDATE of a cache class re-prices the row
    q(conn, "UPDATE token_usage SET cache_read_tokens = 0 WHERE provider = 'anthropic'")
    a2 = (1000 * D(3) + 2000 * D("3.75") + 500 * D(15)) / 1000000
    assert q(conn, "SELECT total_tokens, cost_usd FROM token_usage WHERE provider = 'anthropic'") == [(3500, a2.quantize(D("0.000001")))]
    with pytest.raises(errors.CheckViolation):
        q(conn, "INSERT INTO token_usage (workflow_name, provider, model, cache_read_tokens) VALUES ('w', 'p', 'm', -1)")


def usage_row(hour, model="claude-a", tokens=(100, 10, 5, 1000, 50), ws="", provider="anthropic", requests=None):
    start = dt.datetime(2026, 11, 28, hour, tzinfo=dt.timezone.utc)
    un, w5, w1, rd, out = tokens
    return {
        "provider": provider,
        "bucket_width": "1h",
        "bucket_start": start.isoformat(),
        "bucket_end": (start + dt.timedelta(hours=1)).isoformat(),
        "model": model,
        "workspace_id": ws or None,
        "uncached_input_tokens": un,
        "cache_write_5m_tokens": w5,
        "cache_write_1h_tokens": w1,
        "cache_read_tokens": rd,
        "output_tokens": out,
        "requests": requests,
    }


def test_provider_usage_upsert_never_duplicates_and_updates_revisions(n8n_conn, conn):
    batch = [usage_row(h, m) for h in range(3) for m in ("claude-a", "claude-b")]
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", (json.dumps(batch),)) == [(6, 0, 0)]
    before = q(conn, "SELECT * FROM provider_usage ORDER BY 1, 2, 3, 5")
    # re-poll of the same data: nothing written (updated_at untouched)
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", (json.dumps(batch),)) == [(0, 0, 6)]
    assert q(conn, "SELECT * FROM provider_usage ORDER BY 1, 2, 3, 5") == before
    # a revised bucket (late data) and a new one
    batch[0] = usage_row(0, "claude-a", (150, 10, 5, 1000, 80))
    batch.append(usage_row(3, "claude-a"))
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", (json.dumps(batch),)) == [(1, 1, 5)]
    assert q(conn, "SELECT count(*), sum(uncached_input_tokens), sum(output_tokens) FROM provider_usage") == [(7, 100 * 6 + 150, 50 * 6 + 80)]
    # two results with the same stored key in one batch (a dimension not stored) are summed
    dup = [usage_row(5, "claude-c", (1, 0, 0, 0, 2)), usage_row(5, "claude-c", (3, 0, 0, 0, 4))]
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", (json.dumps(dup),)) == [(1, 0, 0)]
    assert q(conn, "SELECT uncached_input_tokens, output_tokens FROM provider_usage WHERE model = 'claude-c'") == [(4, 6)]


def test_provider_usage_bad_batch_writes_nothing(n8n_conn, conn):
    bad = [usage_row(1), dict(usage_row(2), output_tokens=-5)]
    with pytest.raises(errors.CheckViolation):
        q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", (json.dumps(bad),))
    assert q(conn, "SELECT count(*) FROM provider_usage") == [(0,)]
    with pytest.raises(psycopg2.Error, match="must be a JSON array"):
        q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", ('{"a": 1}',))


def test_provider_cost_units_converted_exactly(n8n_conn, conn):
    rows = [
        {
            "provider": "anthropic",
            "bucket_start": "2026-11-28T00:00:00Z",
            "bucket_end": "2026-11-29T00:00:00Z",
            "model": "claude-a",
            "description": "Claude A usage",
            "cost_type": "tokens",
            "token_type": "output_tokens",
            "amount": "123.456",
            "unit": "usd_cents",
        },
        {
            "provider": "openai",
            "bucket_start": "2026-11-28T00:00:00Z",
            "bucket_end": "2026-11-29T00:00:00Z",
            "line_item": "gpt-x, input",
            "project_id": None,
            "amount": 0.1234567,
            "unit": "usd",
        },
    ]
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_cost(%s::jsonb)", (json.dumps(rows),)) == [(2, 0, 0)]
    assert q(conn, "SELECT provider, amount_usd FROM provider_cost ORDER BY 1") == [("anthropic", D("1.234560")), ("openai", D("0.123457"))]
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_cost(%s::jsonb)", (json.dumps(rows),)) == [(0, 0, 2)]
    rows[0]["amount"] = "200"
    assert q(n8n_conn, "SELECT * FROM kpi_upsert_provider_cost(%s::jsonb)", (json.dumps(rows),)) == [(0, 1, 1)]
    with pytest.raises(psycopg2.Error, match="unit must be usd or usd_cents"):
        q(n8n_conn, "SELECT * FROM kpi_upsert_provider_cost(%s::jsonb)", (json.dumps([dict(rows[0], unit="eur")]),))


def make_budget(conn, limit=1000, threshold=80, name="Anthropic Monthly"):
    q(
        conn,
        "INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, period_start, period_end, "
        "alert_threshold_pct) VALUES (%s, 'anthropic', 'monthly', %s, date_trunc('month', CURRENT_DATE)::date, "
        "(date_trunc('month', CURRENT_DATE) + interval '1 month - 1 day')::date, %s)",
        (name, limit, threshold),
    )


def log(conn, tokens):
    q(conn, "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) VALUES ('wf', 'anthropic', 'claude-a', %s, 0)", (tokens,))


def claim(c):
    return q(c, "SELECT budget_name, threshold_pct, utilization_pct FROM kpi_claim_budget_alerts()")


def finish(c, name, threshold, sent):
    return q(c, "SELECT kpi_finish_budget_alert(%s, date_trunc('month', CURRENT_DATE)::date, %s, %s)", (name, threshold, sent))


def test_budget_alert_once_per_budget_period_and_threshold(n8n_conn, conn):
    make_budget(conn)
    log(conn, 700)
    assert claim(n8n_conn) == []  # 70 % < 80 %
    log(conn, 150)  # 85 %
    assert claim(n8n_conn) == [("Anthropic Monthly", D("80.00"), D("85.00"))]
    assert claim(n8n_conn) == []  # claimed: a concurrent run does not post it again
    finish(n8n_conn, "Anthropic Monthly", 80, True)
    log(conn, 10)
    assert claim(n8n_conn) == []  # sent: never again in this period
    log(conn, 200)  # 106 %
    assert claim(n8n_conn) == [("Anthropic Monthly", D("100.00"), D("106.00"))]
    finish(n8n_conn, "Anthropic Monthly", 100, True)
    assert claim(n8n_conn) == []
    assert q(conn, "SELECT threshold_pct, sent_at IS NOT NULL FROM token_budget_alerts ORDER BY 1") == [(D("80.00"), True), (D("100.00"), True)]


def test_budget_alert_failed_post_is_retried_and_jump_posts_once(n8n_conn, conn):
    make_budget(conn, limit=100, threshold=75)
    log(conn, 120)  # straight past both thresholds: one post (100 %), the 75 % one recorded with it
    assert claim(n8n_conn) == [("Anthropic Monthly", D("100.00"), D("120.00"))]
    finish(n8n_conn, "Anthropic Monthly", 100, False)  # the Slack post failed: released
    assert claim(n8n_conn) == [("Anthropic Monthly", D("100.00"), D("120.00"))]
    finish(n8n_conn, "Anthropic Monthly", 100, True)
    assert claim(n8n_conn) == []
    # a crashed run's claim expires
    make_budget(conn, limit=100, threshold=50, name="Other")
    q(conn, "UPDATE token_budgets SET provider = NULL WHERE budget_name = 'Other'")
    assert claim(n8n_conn) == [("Other", D("100.00"), D("120.00"))]
    assert q(n8n_conn, "SELECT count(*) FROM kpi_claim_budget_alerts(interval '0 seconds')") == [(1,)]


def test_reconciliation_view_matches_raw_rows(n8n_conn, conn):
    day = dt.date(2026, 11, 28)
    q(conn, "SET TimeZone = 'UTC'")
    for hour, tokens in ((1, 100), (2, 300)):
        q(
            conn,
            "INSERT INTO token_usage (recorded_at, workflow_name, provider, model, input_tokens, output_tokens, "
            "cost_usd) VALUES (%s, 'wf', 'anthropic', 'claude-a', %s, 0, 0.01)",
            (dt.datetime(2026, 11, 28, hour, tzinfo=dt.timezone.utc), tokens),
        )
    batch = [
        usage_row(1, "claude-a", (100, 0, 0, 0, 0), requests=1),
        usage_row(2, "claude-a", (200, 50, 0, 50, 100), requests=3),
        usage_row(2, "claude-unlogged", (10, 0, 0, 0, 5)),
    ]
    q(n8n_conn, "SELECT * FROM kpi_upsert_provider_usage(%s::jsonb)", (json.dumps(batch),))
    q(
        n8n_conn,
        "SELECT * FROM kpi_upsert_provider_cost(%s::jsonb)",
        (
            json.dumps(
                [
                    {
                        "provider": "anthropic",
                        "bucket_start": "2026-11-28T00:00:00Z",
                        "bucket_end": "2026-11-29T00:00:00Z",
                        "model": "claude-a",
                        "amount": "5",
                        "unit": "usd_cents",
                    }
                ]
            ),
        ),
    )
    rows = q(
        conn,
        "SELECT usage_date, provider, model, logged_requests, logged_tokens, logged_cost_usd, "
        "provider_requests, provider_tokens, provider_cost_usd, unlogged_tokens, logged_share_pct "
        "FROM v_token_reconciliation ORDER BY model",
    )
    provider_a = 100 + 200 + 50 + 50 + 100
    assert rows == [
        (day, "anthropic", "claude-a", 2, 400, D("0.02"), 4, provider_a, D("0.05"), provider_a - 400, round(D(100) * 400 / provider_a, 2)),
        (day, "anthropic", "claude-unlogged", 0, 0, D("0.00"), None, 15, None, 15, D("0.00")),
    ]


def test_n8n_role_least_privilege(n8n_conn, conn):
    # what the workflows need
    row = q(
        n8n_conn,
        "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens, success) "
        "VALUES ('wf', 'openai', 'gpt-4o', 1000, 100, true) RETURNING usage_id, cost_usd",
    )
    assert row[0][1] == ((1000 * D("2.5") + 100 * D(10)) / 1000000).quantize(D("0.000001"))
    assert q(conn, "SELECT requests FROM kpi_daily_token_stats") == [(1,)]  # rollup via SECURITY DEFINER trigger
    q(n8n_conn, "SELECT count(*) FROM token_budgets")
    q(n8n_conn, "SELECT count(*) FROM api_pricing")
    q(n8n_conn, "SELECT count(*) FROM v_budget_utilization")
    # and nothing else
    denied = [
        "SELECT * FROM token_usage",
        "SELECT count(*) FROM cases",
        "SELECT count(*) FROM kpi_daily_token_stats",
        "SELECT count(*) FROM v_daily_kpi",
        "UPDATE token_usage SET success = false",
        "DELETE FROM token_usage",
        "INSERT INTO token_usage (workflow_name, provider, model, cost_usd) VALUES ('w', 'p', 'm', 0)",
        "INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million) VALUES ('x', 'y', 0, 0)",
        "UPDATE token_budgets SET token_limit = 1",
        "DELETE FROM provider_usage",
        "DELETE FROM token_budget_alerts",
        "INSERT INTO kpi_daily_token_stats (usage_date, provider, model, workflow_name) VALUES (CURRENT_DATE, 'a', 'b', 'c')",
    ]
    for sql in denied:
        with pytest.raises(errors.InsufficientPrivilege):
            q(n8n_conn, sql)
    # a stale grant is removed by a re-run
    q(conn, "GRANT SELECT ON cases TO %s" % N8N_ROLE)
    apply_file(conn, "n8n-writer.sql")
    with pytest.raises(errors.InsufficientPrivilege):
        q(n8n_conn, "SELECT count(*) FROM cases")


def test_n8n_writer_refuses_bad_roles(conn, pg_server):
    with pytest.raises(psycopg2.Error, match="kpi.n8n_role is not set"):
        apply_file(conn, "n8n-writer.sql", n8n_role="")
    with pytest.raises(psycopg2.Error, match="does not exist"):
        apply_file(conn, "n8n-writer.sql", n8n_role="kpi_no_such_role_x")
    with pytest.raises(psycopg2.Error, match="superuser"):
        apply_file(conn, "n8n-writer.sql", n8n_role=pg_server.superuser)


def test_reader_sees_reconciliation_view_only(conn, pg_server, pg_db):
    from kpi_sql import READER_ROLE

    r = pg_server.connect(pg_db, user=READER_ROLE, password=PLANTED["reader_password"])
    try:
        assert q(r, "SELECT count(*) FROM v_token_reconciliation") == [(0,)]
        with pytest.raises(errors.InsufficientPrivilege):
            q(r, "SELECT count(*) FROM provider_usage")
    finally:
        r.close()

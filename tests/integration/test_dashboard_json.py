"""Every query of the committed dashboard and alert rules runs on real PostgreSQL with demo data.

The database is built from the collection's own files (files/sql/*.sql, files/demo/generate_demo_data.py)
and the queries run as the read-only role Grafana uses (kpi_grafana_reader: SELECT on the v_* views and
kpi_targets only), with Grafana's PostgreSQL macros expanded by the emulator's macro engine for the
dashboard's default range (now-30d .. now). So this proves, without Grafana: every panel returns rows
on the demo data, no panel needs a privilege the reader lacks, the time-series panels return a time
column, and the alert rules' SQL yields one number per series plus their kpi_targets threshold.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from conftest import PLANTED

from kpi_grafana_support import load_kpi_database, reader_connection

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((REPO / "files" / "grafana-dashboard.json").read_text())
RULES = yaml.safe_load((REPO / "files" / "grafana" / "alerting" / "rule-groups.yml").read_text())["rule_groups"]

macros = pytest.importorskip("grafana_emulator.macros", reason="the emulator's macro engine is the reference")


def _targets():
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            yield pytest.param(panel, target, id="%s/%s" % (panel["title"], target["refId"]))


@pytest.fixture(scope="module")
def kpi_db(pg_server):
    name = "dashjson_%d" % dt.datetime.now().microsecond
    pg_server.execute('CREATE DATABASE "%s"' % name)
    try:
        load_kpi_database(pg_server, name, reader_password=PLANTED["reader_password"])
        yield name
    finally:
        pg_server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", params=(name,))
        pg_server.execute('DROP DATABASE IF EXISTS "%s"' % name)


@pytest.fixture(scope="module")
def reader(pg_server, kpi_db):
    conn = reader_connection(pg_server, kpi_db, PLANTED["reader_password"])
    yield conn
    conn.close()


def _expand(sql: str) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    expanded, _fill = macros.interpolate(sql, now - dt.timedelta(days=30), now, 3600)
    return expanded


def _run(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        cols = [d.name for d in cur.description]
        return cols, cur.fetchall()


@pytest.mark.parametrize("panel,target", list(_targets()))
def test_panel_query_returns_rows_as_reader(reader, panel, target):
    cols, rows = _run(reader, _expand(target["rawSql"]))
    assert rows, "%s: no rows on the demo data" % panel["title"]
    if target["format"] == "time_series":
        assert cols[0] == "time"
        assert all(isinstance(r[0], dt.datetime) for r in rows)
        numeric = [c for c, v in zip(cols, rows[0]) if c not in ("time", "metric")]
        assert numeric, "%s: no value column" % panel["title"]
    if panel["type"] == "stat":
        assert len(rows) == 1 and rows[0][0] is not None, "%s: stat needs one non-null value" % panel["title"]


def test_executive_summary_values_are_plausible(reader):
    by_title = {p["title"]: p for p in DASHBOARD["panels"]}
    values = {
        t: _run(reader, _expand(by_title[t]["targets"][0]["rawSql"]))[1][0][0]
        for t in ("Cases Today", "Resolution Rate", "CSAT Score", "Token Budget", "Time Saved (Hours)")
    }
    assert values["Cases Today"] >= 1
    assert 0 < values["Resolution Rate"] <= 100
    assert 1 <= values["CSAT Score"] <= 5
    assert 0 <= values["Token Budget"]
    assert values["Time Saved (Hours)"] > 0


def test_empty_range_gives_no_rows_not_nulls(reader):
    """Stat panels use HAVING count(*) > 0, so an empty range shows "No data" (and verification says so)."""
    by_title = {p["title"]: p for p in DASHBOARD["panels"]}
    long_ago = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    for title in ("Resolution Rate", "CSAT Score", "Cost Savings", "Time Saved (Hours)", "Resolution by Path"):
        sql = macros.interpolate(by_title[title]["targets"][0]["rawSql"], long_ago, long_ago + dt.timedelta(days=1), 60)[0]
        assert _run(reader, sql)[1] == [], title


def test_reader_cannot_read_outside_the_contract(reader):
    """The reader may read the contract columns of cases (ad-hoc panels), nothing else of it, no rollup table."""
    import psycopg2

    assert _run(reader, "SELECT count(*) FROM cases")[1][0][0] > 0
    for sql in ("SELECT subject FROM cases", "SELECT count(*) FROM kpi_daily_case_stats"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            _run(reader, sql)
        reader.rollback()


@pytest.mark.parametrize("rule", RULES[0]["rules"], ids=lambda r: r["title"])
def test_alert_rule_queries_as_reader(reader, rule):
    data = {d["refId"]: d for d in rule["data"]}
    target_cols, target_rows = _run(reader, data["B"]["model"]["rawSql"])
    assert target_cols[-1] == "value" and target_rows
    cols, rows = _run(reader, data["A"]["model"]["rawSql"])
    assert cols[-1] == "value"
    assert all(isinstance(c, str) for c in cols[:-1])
    if rule["title"] == "Budget Warning":
        # one threshold per budget (its alert_threshold_pct: 80 for the demo's monthly budgets, 90 for the
        # daily one), same labels as A
        assert target_cols == cols and {r[:-1] for r in target_rows} == {r[:-1] for r in rows}
        assert {r[1]: float(r[-1]) for r in target_rows} == {"monthly": 80.0, "daily": 90.0}
    else:
        assert target_cols == ["value"] and len(target_rows) == 1
        expected = {"Low Resolution Rate": 70.0, "High Escalation Rate": 20.0}[rule["title"]]
        assert float(target_rows[0][0]) == expected
    # The demo data has active budgets, yesterday and the day before, and >= 10 cases today.
    assert rows, "%s: measure query returned nothing on the demo data" % rule["title"]
    for row in rows:
        assert isinstance(row[-1], float)


def _fires(conn, rule) -> bool:
    """The rule's decision as Grafana computes it: reduce(last) both, math margin (series paired by their
    labels; a single unlabelled threshold applies to every series), threshold > 0."""
    data = {d["refId"]: d for d in rule["data"]}
    thresholds = {tuple(row[:-1]): float(row[-1]) for row in _run(conn, data["B"]["model"]["rawSql"])[1]}
    measured = {tuple(row[:-1]): row[-1] for row in _run(conn, data["A"]["model"]["rawSql"])[1]}
    sign = 1 if data["E"]["model"]["expression"] == "$C - $D" else -1
    return any(sign * (v - thresholds.get(labels, thresholds.get(()))) > 0 for labels, v in measured.items())


def test_alert_thresholds_come_from_data(pg_server, kpi_db, reader):
    """Moving a kpi_targets row (or a budget's alert_threshold_pct) moves the alert: no literal threshold."""
    rules = {r["title"]: r for r in RULES[0]["rules"]}
    keys = {"Low Resolution Rate": ("alert_resolution_rate", 1000, -1), "High Escalation Rate": ("alert_escalation_rate", -1, 1000)}
    try:
        for title, (key, firing, quiet) in keys.items():
            pg_server.execute("UPDATE kpi_targets SET target_value = %s WHERE kpi_key = %s", dbname=kpi_db, params=(firing, key))
            assert _fires(reader, rules[title]), "%s does not fire with target %s" % (title, firing)
            pg_server.execute("UPDATE kpi_targets SET target_value = %s WHERE kpi_key = %s", dbname=kpi_db, params=(quiet, key))
            assert not _fires(reader, rules[title]), "%s fires with target %s" % (title, quiet)
        # budgets: each at its own threshold (strictly greater): at 100 only budgets above their limit fire;
        # without them nothing fires; one budget's threshold lowered under its utilisation fires it
        budgets = pg_server.execute(
            "SELECT budget_name, 100.0 * tokens_used / token_limit FROM v_budget_utilization WHERE CURRENT_DATE BETWEEN period_start AND period_end",
            dbname=kpi_db,
        )
        pg_server.execute("UPDATE token_budgets SET alert_threshold_pct = 100", dbname=kpi_db)
        assert _fires(reader, rules["Budget Warning"]) == any(used > 100 for _name, used in budgets)
        over = [name for name, used in budgets if used > 100]
        pg_server.execute("UPDATE token_budgets SET is_active = false WHERE budget_name = ANY(%s)", dbname=kpi_db, params=(over,))
        assert not _fires(reader, rules["Budget Warning"])
        # the least-used budget, given 5 % of its limit in one row now: in the first minutes of a day or a
        # month every budget may still be at 0 %, and no threshold (> 0) is under 0 %
        name = min(budgets, key=lambda b: b[1])[0]
        pg_server.execute(
            "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) "
            "SELECT 'alert-threshold-test', coalesce(provider, 'openai'), 'gpt-4o', token_limit / 20, 0 FROM token_budgets WHERE budget_name = %s",
            dbname=kpi_db,
            params=(name,),
        )
        used_sql = "SELECT 100.0 * tokens_used / token_limit FROM v_budget_utilization WHERE budget_name = %s"
        used = pg_server.execute(used_sql, dbname=kpi_db, params=(name,))[0][0]
        assert used >= 5, (name, used)
        pg_server.execute(
            "UPDATE token_budgets SET alert_threshold_pct = greatest(floor(%s) - 1, 0.01) WHERE budget_name = %s", dbname=kpi_db, params=(used, name)
        )
        assert _fires(reader, rules["Budget Warning"]), name
    finally:
        pg_server.execute("DELETE FROM token_usage WHERE workflow_name = 'alert-threshold-test'", dbname=kpi_db)
        for key, value in (("alert_resolution_rate", 70), ("alert_escalation_rate", 20)):
            pg_server.execute("UPDATE kpi_targets SET target_value = %s WHERE kpi_key = %s", dbname=kpi_db, params=(value, key))
        pg_server.execute("UPDATE token_budgets SET is_active = true, alert_threshold_pct = CASE budget_type WHEN 'daily' THEN 90 ELSE 80 END", dbname=kpi_db)


def test_low_resolution_rule_needs_two_bad_days(pg_server, kpi_db, reader):
    """The rule fires only when both of the last two complete days are below the target."""
    rule = next(r for r in RULES[0]["rules"] if r["title"] == "Low Resolution Rate")
    sql = next(d for d in rule["data"] if d["refId"] == "A")["model"]["rawSql"]
    value = _run(reader, sql)[1][0][0]
    days = pg_server.execute("SELECT resolution_rate FROM v_daily_kpi WHERE metric_date < CURRENT_DATE ORDER BY metric_date DESC LIMIT 2", dbname=kpi_db)
    assert value == pytest.approx(max(float(d[0]) for d in days))

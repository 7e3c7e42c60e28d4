"""files/demo/generate_demo_data.py against a real PostgreSQL: every view gets rows, deterministic, idempotent."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import PLANTED
from kpi_sql import ORDER, REPO, apply_all, contract_views, ensure_reader_role

SCRIPT = REPO / "files" / "demo" / "generate_demo_data.py"


def _module():
    spec = importlib.util.spec_from_file_location("generate_demo_data", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def schema_db(pg_server, pg_db):
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    conn = pg_server.connect(pg_db)
    apply_all(conn, ORDER)
    conn.close()
    return pg_db


def test_script_fills_every_view_and_is_idempotent(pg_server, schema_db):
    env = dict(os.environ, PGHOST=pg_server.host, PGPORT=str(pg_server.port), PGDATABASE=schema_db, PGUSER=pg_server.superuser, PGPASSWORD=pg_server.password)
    cmd = [sys.executable, str(SCRIPT), "--days", "35", "--cases-per-day", "60", "--seed", "7"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["changed"] is True and summary["cases"] > 35 * 30 and summary["token_rows"] > summary["cases"]
    assert pg_server.password not in first.stdout + first.stderr

    conn = pg_server.connect(schema_db)
    try:
        with conn.cursor() as cur:
            for view in contract_views():
                cur.execute(f"SELECT count(*) FROM {view}")
                assert cur.fetchone()[0] > 0, f"{view} has no rows"
            cur.execute("SELECT cases_today, token_budget_utilization_pct FROM v_executive_summary")
            cases_today, budget_pct = cur.fetchone()
            assert cases_today > 0 and budget_pct is not None
            cur.execute("SELECT count(*) FROM v_budget_utilization WHERE budget_type = 'monthly' AND period_start = date_trunc('month', CURRENT_DATE)::date")
            assert cur.fetchone()[0] == 2
            cur.execute("SELECT count(DISTINCT workflow_name), count(DISTINCT model) FROM v_token_daily")
            assert cur.fetchone() == (4, 4)
            # weekday pattern: Monday-Friday busier than the weekend
            cur.execute(
                "SELECT avg(total_cases) FILTER (WHERE extract(isodow FROM metric_date) < 6) "
                "> 1.5 * avg(total_cases) FILTER (WHERE extract(isodow FROM metric_date) >= 6) "
                "FROM v_daily_kpi WHERE metric_date < CURRENT_DATE"
            )
            assert cur.fetchone()[0] is True
            cur.execute("SELECT count(*) FROM cases")
            n_cases = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False
    assert pg_server.execute("SELECT count(*) FROM cases", dbname=schema_db)[0][0] == n_cases


def test_password_on_command_line_refused(pg_server, schema_db):
    dsn = pg_server.dsn(schema_db, password=PLANTED["db_password"])
    res = subprocess.run([sys.executable, str(SCRIPT), "--dsn", dsn], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode != 0 and "PGPASSWORD" in res.stderr
    assert PLANTED["db_password"] not in res.stdout + res.stderr


def test_library_is_deterministic_for_seed_and_now(pg_server, schema_db, pg_db):
    mod = _module()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
    fingerprints = []
    for _round in range(2):
        conn = pg_server.connect(schema_db)
        try:
            res = mod.generate(conn, days=5, cases_per_day=40, seed=11, replace=True, now=now)
            assert res["changed"] is True
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT md5(string_agg(concat_ws('|', created_at, status, resolution_path, category, "
                    "ai_confidence, ai_outcome, csat_score, escalation_reason), ',' ORDER BY created_at, "
                    "category, ai_confidence)) FROM cases"
                )
                fingerprints.append(cur.fetchone()[0])
            conn.commit()
        finally:
            conn.close()
    assert fingerprints[0] == fingerprints[1]
    with pytest.raises(ValueError, match="days and cases_per_day"):
        conn = pg_server.connect(schema_db)
        try:
            mod.generate(conn, days=0)
        finally:
            conn.close()

"""The kpi_* PostgreSQL modules against a real PostgreSQL 15, run through ansible-playbook at -vvv.

Every run goes through the ``ansible`` fixture, which fails the test when a planted secret (the DB
password is PLANTED['db_password']) appears anywhere in the output.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import PLANTED
from kpi_sql import apply_all, schema_files

FIXTURES = Path(__file__).parent / "sql_fixtures"
SCHEMA = "cx_catalyst.kpi_dashboard.kpi_schema"
BUDGET = "cx_catalyst.kpi_dashboard.kpi_token_budget"
PRICING = "cx_catalyst.kpi_dashboard.kpi_api_pricing"
BASELINE = "cx_catalyst.kpi_dashboard.kpi_baseline_config"


def login(pg_server, db, **override):
    args = dict(login_host=pg_server.host, login_port=pg_server.port, login_db=db, login_user="postgres", login_password=pg_server.password, connect_timeout=5)
    args.update(override)
    return args


def q(pg_server, db, sql, params=None):
    return pg_server.execute(sql, dbname=db, params=params)


def table_exists(pg_server, db, name):
    return q(pg_server, db, "SELECT to_regclass(%s) IS NOT NULL", (name,))[0][0]


def fixture_files(tmp_path, *names):
    """Copy fixture files to tmp_path (so a test may edit them) and return kpi_schema file entries."""
    entries = []
    for name in names:
        dest = tmp_path / name
        shutil.copy(FIXTURES / name, dest)
        kind = "repeatable" if name in ("02-views.sql", "03-grants.sql") else "once"
        entries.append({"path": str(dest), "kind": kind})
    return entries


# ------------------------------------------------------------------------------------------- kpi_schema


def test_schema_apply_check_rerun_and_diff(pg_server, pg_db, ansible, tmp_path):
    files = fixture_files(tmp_path, "01-tables.sql", "02-views.sql", "03-grants.sql")
    args = dict(login(pg_server, pg_db), files=files, settings={"kpi.reader_role": "reader_a"})

    # check mode: reports every file as new and writes nothing, not even the ledger table
    res = ansible.module(SCHEMA, args, check=True, diff=True).results[0]
    assert res["changed"] is True
    assert [(f["file"], f["reason"]) for f in res["would_apply"]] == [("01-tables.sql", "new"), ("02-views.sql", "new"), ("03-grants.sql", "new")]
    assert res["applied"] == []
    assert any("CREATE TABLE IF NOT EXISTS" in x for x in res["queries"])
    assert not table_exists(pg_server, pg_db, "kpi_schema_migrations")
    assert not table_exists(pg_server, pg_db, "widgets")

    # first run applies all three in order, with the setting visible to the SQL
    res = ansible.module(SCHEMA, args, diff=True).results[0]
    assert res["changed"] is True
    assert [f["file"] for f in res["applied"]] == ["01-tables.sql", "02-views.sql", "03-grants.sql"]
    assert res["applied"][0]["statements"] == 4
    assert res["diff"]["before"] == {}
    assert set(res["diff"]["after"]) == {"01-tables.sql", "02-views.sql", "03-grants.sql"}
    assert q(pg_server, pg_db, "SELECT widget_count()")[0][0] == 2
    assert q(pg_server, pg_db, "SELECT label FROM widgets WHERE id = 2")[0][0] == 'two; still "one" string'
    assert q(pg_server, pg_db, "SELECT obj_description('v_widgets'::regclass)")[0][0] == "reader=reader_a"
    ledger = q(pg_server, pg_db, "SELECT file, kind, apply_count, length(checksum) FROM kpi_schema_migrations ORDER BY file")
    assert ledger == [("01-tables.sql", "once", 1, 64), ("02-views.sql", "repeatable", 1, 64), ("03-grants.sql", "repeatable", 1, 64)]

    # second run: nothing to do
    res = ansible.module(SCHEMA, args, diff=True).results[0]
    assert res["changed"] is False
    assert res["applied"] == [] and res["would_apply"] == []
    assert res["up_to_date"] == ["01-tables.sql", "02-views.sql", "03-grants.sql"]
    assert "skipped" not in res  # ansible would count the task as skipped
    assert res["diff"]["before"] == res["diff"]["after"]
    assert q(pg_server, pg_db, "SELECT count(*) FROM applied_marks")[0][0] == 2


def test_schema_repeatable_reapplied_on_checksum_or_settings_change(pg_server, pg_db, ansible, tmp_path):
    files = fixture_files(tmp_path, "01-tables.sql", "02-views.sql", "03-grants.sql")
    files[2]["depends_on"] = ["02-views.sql"]
    args = dict(login(pg_server, pg_db), files=files, settings={"kpi.reader_role": "reader_a"})
    ansible.module(SCHEMA, args)

    # a changed repeatable file runs again, and the file that depends on it; the once-file does not
    views = Path(files[1]["path"])
    views.write_text(views.read_text().replace("SELECT id, label", "SELECT id, label, upper(label) AS shout"))
    res = ansible.module(SCHEMA, args, check=True).results[0]
    assert [(f["file"], f["reason"]) for f in res["would_apply"]] == [
        ("02-views.sql", "checksum changed"),
        ("03-grants.sql", "dependency 02-views.sql applied"),
    ]
    assert q(pg_server, pg_db, "SELECT count(*) FROM applied_marks WHERE mark = 'views'")[0][0] == 1
    res = ansible.module(SCHEMA, args, diff=True).results[0]
    assert res["changed"] is True
    assert [f["file"] for f in res["applied"]] == ["02-views.sql", "03-grants.sql"]
    assert res["diff"]["after"]["03-grants.sql"]["apply_count"] == 2
    assert res["diff"]["after"]["02-views.sql"]["apply_count"] == 2
    assert q(pg_server, pg_db, "SELECT shout FROM v_widgets WHERE id = 1")[0][0] == "ONE"

    # new setting value: repeatable files re-run with it
    args["settings"] = {"kpi.reader_role": "reader_b"}
    res = ansible.module(SCHEMA, args).results[0]
    assert sorted((f["file"], f["reason"]) for f in res["applied"]) == [("02-views.sql", "settings changed"), ("03-grants.sql", "settings changed")]
    assert q(pg_server, pg_db, "SELECT obj_description('v_widgets'::regclass)")[0][0] == "reader=reader_b"
    assert ansible.module(SCHEMA, args).results[0]["changed"] is False


def test_schema_refuses_changed_once_file(pg_server, pg_db, ansible, tmp_path):
    files = fixture_files(tmp_path, "01-tables.sql", "02-views.sql")
    args = dict(login(pg_server, pg_db), files=files)
    ansible.module(SCHEMA, args)
    before = q(pg_server, pg_db, "SELECT file, checksum, apply_count FROM kpi_schema_migrations ORDER BY file")
    tables = Path(files[0]["path"])
    tables.write_text(tables.read_text() + "\nCREATE TABLE sneaky (id int);\n")
    # also change the repeatable file: the refusal must stop it from running too
    views = Path(files[1]["path"])
    views.write_text(views.read_text() + "\nCREATE TABLE sneaky_views (id int);\n")
    for check in (True, False):
        res = ansible.module(SCHEMA, args, check=check, expect_rc=None).results[0]
        assert res["failed"] is True
        assert "01-tables.sql" in res["msg"] and "once-file" in res["msg"] and "checksum" in res["msg"]
    assert q(pg_server, pg_db, "SELECT file, checksum, apply_count FROM kpi_schema_migrations ORDER BY file") == before
    assert not table_exists(pg_server, pg_db, "sneaky") and not table_exists(pg_server, pg_db, "sneaky_views")


def test_schema_syntax_error_rolls_back_everything(pg_server, pg_db, ansible, tmp_path):
    files = fixture_files(tmp_path, "01-tables.sql")
    ansible.module(SCHEMA, dict(login(pg_server, pg_db), files=files))
    ledger_before = q(pg_server, pg_db, "SELECT * FROM kpi_schema_migrations")

    # a new good repeatable file before the broken one: it must be rolled back with it
    files = fixture_files(tmp_path, "01-tables.sql", "02-views.sql", "04-broken.sql")
    res = ansible.module(SCHEMA, dict(login(pg_server, pg_db), files=files), expect_rc=None).results[0]
    assert res["failed"] is True
    msg = res["msg"]
    assert "04-broken.sql" in msg
    assert "statement 3 starting at line 5" in msg and "error at line 6" in msg
    assert "syntax error" in msg and "rolled back" in msg
    assert res["file"] == "04-broken.sql" and res["statement"] == 3
    assert q(pg_server, pg_db, "SELECT * FROM kpi_schema_migrations") == ledger_before
    assert not table_exists(pg_server, pg_db, "broken_first")
    assert not table_exists(pg_server, pg_db, "v_widgets")
    assert q(pg_server, pg_db, "SELECT mark FROM applied_marks") == [("tables; applied",)]


def test_schema_rejects_transaction_control_and_missing_file(pg_server, pg_db, ansible, tmp_path):
    bad = tmp_path / "tx.sql"
    bad.write_text("CREATE TABLE t1 (id int);\nCOMMIT;\nCREATE TABLE t2 (id int);\n")
    res = ansible.module(SCHEMA, dict(login(pg_server, pg_db), files=[{"path": str(bad)}]), expect_rc=None).results[0]
    assert res["failed"] and "tx.sql line 2" in res["msg"] and "transaction control" in res["msg"]
    res = ansible.module(SCHEMA, dict(login(pg_server, pg_db), files=[{"path": str(tmp_path / "nope.sql")}]), expect_rc=None).results[0]
    assert res["failed"] and "cannot read SQL file" in res["msg"] and "nope.sql" in res["msg"]
    assert not table_exists(pg_server, pg_db, "t1")
    assert not table_exists(pg_server, pg_db, "kpi_schema_migrations")


def test_schema_two_concurrent_runs_apply_once(pg_server, pg_db, ansible, tmp_path):
    files = fixture_files(tmp_path, "01-tables.sql", "05-slow.sql", "02-views.sql")
    args = dict(login(pg_server, pg_db), files=files)
    results, errors = [None, None], []

    def run(i):
        try:
            results[i] = ansible.module(SCHEMA, args).results[0]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert all(not r.get("failed") for r in results), results
    # exactly one of them applied the files; the other waited on the lock and found nothing to do
    assert sorted(len(r["applied"]) for r in results) == [0, 3]
    assert sorted(r["changed"] for r in results) == [False, True]
    assert q(pg_server, pg_db, "SELECT mark, count(*) FROM applied_marks GROUP BY mark ORDER BY mark") == [("slow", 1), ("tables; applied", 1), ("views", 1)]
    assert q(pg_server, pg_db, "SELECT count(*), sum(apply_count) FROM kpi_schema_migrations")[0] == (3, 3)
    assert time.monotonic() - started < 110


def test_schema_wrong_password_never_printed(pg_server, pg_db, ansible, tmp_path):
    files = fixture_files(tmp_path, "01-tables.sql")
    wrong = "Wrong-" + PLANTED["reader_password"]
    ansible.add_secret(wrong)
    res = ansible.module(SCHEMA, dict(login(pg_server, pg_db, login_password=wrong), files=files), expect_rc=None)
    r = res.results[0]
    assert r["failed"] is True
    assert "could not connect to PostgreSQL as postgres@127.0.0.1" in r["msg"]
    assert "password authentication failed" in r["msg"]
    assert wrong not in res.output
    assert not table_exists(pg_server, pg_db, "widgets")


def test_schema_unresponsive_server_times_out(pg_db, pg_server, ansible, tmp_path):
    """A listener that accepts TCP (kernel backlog) but never answers: connect_timeout must end it."""
    files = fixture_files(tmp_path, "01-tables.sql")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = sock.getsockname()[1]
    try:
        started = time.monotonic()
        res = ansible.module(SCHEMA, dict(login(pg_server, pg_db, login_port=port, connect_timeout=3), files=files), expect_rc=None, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    r = res.results[0]
    assert r["failed"] is True
    assert "could not connect" in r["msg"] and "timeout" in r["msg"]
    assert elapsed < 30, elapsed


# ------------------------------------------------------------------------------------ configuration modules


@pytest.fixture
def config_db(pg_server, pg_db):
    pg_server.execute((FIXTURES / "config-tables.sql").read_text(), dbname=pg_db, fetch=False)
    return pg_db


def budgets(pg_server, db):
    return q(
        pg_server,
        db,
        "SELECT budget_name, provider, budget_type, token_limit, cost_limit_usd::text, "
        "period_start::text, period_end::text, is_active FROM token_budgets ORDER BY budget_name",
    )


def test_token_budget_lifecycle(pg_server, config_db, ansible):
    db = config_db
    month_start, month_end = q(
        pg_server, db, "SELECT date_trunc('month', CURRENT_DATE)::date::text, (date_trunc('month', CURRENT_DATE) + interval '1 month - 1 day')::date::text"
    )[0]
    args = dict(login(pg_server, db), name="Anthropic Monthly", provider="anthropic", budget_type="monthly", token_limit=15000000, cost_limit_usd=4500.00)

    res = ansible.module(BUDGET, args, check=True, diff=True).results[0]
    assert res["changed"] is True and res["diff"]["before"] == {}
    assert res["budget"]["period_start"] == month_start and res["budget"]["period_end"] == month_end
    assert any(x.startswith("INSERT INTO token_budgets") for x in res["queries"])
    assert budgets(pg_server, db) == []

    res = ansible.module(BUDGET, args, diff=True).results[0]
    assert res["changed"] is True
    assert budgets(pg_server, db) == [("Anthropic Monthly", "anthropic", "monthly", 15000000, "4500.0000", month_start, month_end, True)]
    res = ansible.module(BUDGET, dict(args, cost_limit_usd="4500"), diff=True).results[0]
    assert res["changed"] is False and res["changed_fields"] == []
    assert res["diff"]["before"] == res["diff"]["after"]

    # update one limit; check mode first
    res = ansible.module(BUDGET, dict(args, token_limit=20000000), check=True, diff=True).results[0]
    assert res["changed"] is True and res["changed_fields"] == ["token_limit"]
    assert budgets(pg_server, db)[0][3] == 15000000
    res = ansible.module(BUDGET, dict(args, token_limit=20000000)).results[0]
    assert res["changed"] is True and budgets(pg_server, db)[0][3] == 20000000

    # the spec's monthly rollover: a budget left on last month moves to this month, once
    q(
        pg_server,
        db,
        "UPDATE token_budgets SET period_start = date_trunc('month', CURRENT_DATE - 40)::date, "
        "period_end = (date_trunc('month', CURRENT_DATE - 40) + interval '1 month - 1 day')::date",
    )
    roll = dict(login(pg_server, db), name="Anthropic Monthly", rollover=True)
    res = ansible.module(BUDGET, roll, check=True).results[0]
    assert res["changed"] is True and sorted(res["changed_fields"]) == ["period_end", "period_start"]
    assert budgets(pg_server, db)[0][5] != month_start
    res = ansible.module(BUDGET, roll, diff=True).results[0]
    assert res["changed"] is True and res["diff"]["after"]["period_start"] == month_start
    assert budgets(pg_server, db)[0][5:7] == (month_start, month_end)
    assert ansible.module(BUDGET, roll).results[0]["changed"] is False

    # absent
    gone = dict(login(pg_server, db), name="Anthropic Monthly", state="absent")
    assert ansible.module(BUDGET, gone, check=True).results[0]["changed"] is True
    assert len(budgets(pg_server, db)) == 1
    assert ansible.module(BUDGET, gone).results[0]["changed"] is True
    assert budgets(pg_server, db) == []
    assert ansible.module(BUDGET, gone).results[0]["changed"] is False


@pytest.mark.parametrize(
    "override, expected",
    [
        (dict(token_limit=-5), "token_limit must be greater than 0 and at most 9223372036854775807"),
        (dict(cost_limit_usd=-1.5), "cost_limit_usd must be greater than 0"),
        (dict(budget_type="yearly"), "budget_type must be one of: daily, weekly, monthly, got: yearly"),
        (dict(period_start="2026-02-10", period_end="2026-02-01"), "period_end (2026-02-01) must not be before"),
        (dict(budget_type=None), "budget_type is required to create the budget"),
    ],
)
def test_token_budget_bad_input(pg_server, config_db, ansible, override, expected):
    args = dict(login(pg_server, config_db), name="Bad", provider="openai", budget_type="weekly", token_limit=1000, cost_limit_usd=10)
    args.update(override)
    args = {k: v for k, v in args.items() if v is not None}
    res = ansible.module(BUDGET, args, expect_rc=None).results[0]
    assert res["failed"] is True
    assert expected in res["msg"]
    assert budgets(pg_server, config_db) == []


def pricing_rows(pg_server, db):
    return q(
        pg_server,
        db,
        "SELECT input_price_per_million::text, output_price_per_million::text, effective_from::date::text, is_current FROM api_pricing ORDER BY effective_from",
    )


def test_api_pricing_history(pg_server, config_db, ansible):
    db = config_db
    today = q(pg_server, db, "SELECT CURRENT_DATE::text")[0][0]
    args = dict(
        login(pg_server, db), provider="anthropic", model="claude-sonnet-4", input_price_per_million=3, output_price_per_million=15, effective_from="2025-06-01"
    )
    res = ansible.module(PRICING, args, check=True, diff=True).results[0]
    assert res["changed"] is True and res["action"] == "created" and pricing_rows(pg_server, db) == []
    assert ansible.module(PRICING, args).results[0]["changed"] is True
    assert pricing_rows(pg_server, db) == [("3.000000", "15.000000", "2025-06-01", True)]

    # same price written differently (and with no date): no change
    res = ansible.module(PRICING, dict(args, input_price_per_million="3.00", effective_from=None), diff=True).results[0]
    assert res["changed"] is False and res["action"] == "none"

    # price change, default effective_from today: old row kept as history
    new = dict(args, input_price_per_million=2.5, output_price_per_million=12.5)
    del new["effective_from"]
    res = ansible.module(PRICING, new, check=True).results[0]
    assert res["changed"] is True and res["action"] == "superseded"
    assert len(pricing_rows(pg_server, db)) == 1
    res = ansible.module(PRICING, new, diff=True).results[0]
    assert res["changed"] is True and res["diff"]["before"]["input_price_per_million"] == 3
    assert res["diff"]["after"]["input_price_per_million"] == 2.5
    assert pricing_rows(pg_server, db) == [("3.000000", "15.000000", "2025-06-01", False), ("2.500000", "12.500000", today, True)]
    assert ansible.module(PRICING, new).results[0]["changed"] is False

    # a date before the current price is refused; a negative price too; nothing written
    res = ansible.module(PRICING, dict(new, input_price_per_million=9, effective_from="2025-01-01"), expect_rc=None).results[0]
    assert res["failed"] and "effective_from 2025-01-01 is before the current price" in res["msg"]
    res = ansible.module(PRICING, dict(new, output_price_per_million=-1), expect_rc=None).results[0]
    assert res["failed"] and "output_price_per_million must be >= 0, got -1" in res["msg"]
    assert len(pricing_rows(pg_server, db)) == 2


def baseline_rows(pg_server, db):
    return dict(q(pg_server, db, "SELECT config_key, config_value::text FROM baseline_config"))


def test_baseline_config(pg_server, config_db, ansible):
    db = config_db
    args = dict(login(pg_server, db), config={"manual_cost_per_case": 25, "hourly_support_cost": 45.5, "monthly_platform_cost": 500})
    res = ansible.module(BASELINE, args, check=True, diff=True).results[0]
    assert res["changed"] is True
    assert res["changed_keys"] == ["hourly_support_cost", "monthly_platform_cost"]  # 25 == 25.00
    assert res["diff"]["after"]["hourly_support_cost"]["value"] == 45.5
    assert baseline_rows(pg_server, db)["hourly_support_cost"] == "40.00"
    assert "monthly_platform_cost" not in baseline_rows(pg_server, db)

    res = ansible.module(BASELINE, args).results[0]
    assert res["changed"] is True
    assert baseline_rows(pg_server, db) == {"manual_cost_per_case": "25.00", "hourly_support_cost": "45.5", "monthly_platform_cost": "500", "legacy_key": "1"}
    res = ansible.module(
        BASELINE, dict(args, config={"manual_cost_per_case": "25.000", "hourly_support_cost": 45.50, "monthly_platform_cost": 500.0}), diff=True
    ).results[0]
    assert res["changed"] is False and res["diff"]["before"] == res["diff"]["after"]

    # exclusive removes keys that were not given
    res = ansible.module(BASELINE, dict(args, exclusive=True), check=True).results[0]
    assert res["changed"] is True and res["removed_keys"] == ["legacy_key"]
    assert "legacy_key" in baseline_rows(pg_server, db)
    assert ansible.module(BASELINE, dict(args, exclusive=True)).results[0]["changed"] is True
    assert "legacy_key" not in baseline_rows(pg_server, db)

    # a value that is not a number: clear error, nothing written (the valid key before it neither)
    bad = {"hourly_support_cost": 99, "manual_cost_per_case": "lots"}
    res = ansible.module(BASELINE, dict(login(pg_server, db), config=bad), expect_rc=None).results[0]
    assert res["failed"] and "config.manual_cost_per_case must be a number" in res["msg"]
    assert baseline_rows(pg_server, db)["hourly_support_cost"] == "45.5"


def test_config_modules_concurrent_runs_create_once(pg_server, config_db, ansible):
    """Two runs creating the same price and the same budget at once: all succeed, one row each, one change."""
    db = config_db
    jobs = [(PRICING, dict(login(pg_server, db), provider="mistral", model="large", input_price_per_million=2, output_price_per_million=6))] * 2 + [
        (BUDGET, dict(login(pg_server, db), name="Race Daily", budget_type="daily", token_limit=1000))
    ] * 2
    results, errors = [None] * len(jobs), []

    def run(i):
        try:
            results[i] = ansible.module(*jobs[i]).results[0]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not errors, errors
    assert all(not r.get("failed") for r in results), results
    assert sorted(r["changed"] for r in results[:2]) == [False, True]
    assert sorted(r["changed"] for r in results[2:]) == [False, True]
    assert q(pg_server, db, "SELECT count(*) FROM api_pricing WHERE provider = 'mistral'")[0][0] == 1
    assert q(pg_server, db, "SELECT count(*) FROM token_budgets WHERE budget_name = 'Race Daily'")[0][0] == 1


def test_pricing_waits_for_a_concurrent_writer(pg_server, config_db, ansible):
    """Deterministic race: the test holds the object's lock and inserts the same price meanwhile; the module
    must wait, then see that row and change nothing (no duplicate, no unique-index error)."""
    import psycopg2

    db = config_db
    holder = psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname=db, user="postgres", password=pg_server.password, connect_timeout=5)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("cx_catalyst.kpi:api_pricing:mistral/small",))
            cur.execute("INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million) VALUES ('mistral', 'small', 0.2, 0.6)")
        box = {}
        worker = threading.Thread(
            target=lambda: box.update(
                res=ansible.module(
                    PRICING, dict(login(pg_server, db), provider="mistral", model="small", input_price_per_million=0.2, output_price_per_million=0.6)
                ).results[0]
            )
        )
        worker.start()
        deadline = time.monotonic() + 120
        # wait until the module's session is blocked on the advisory lock
        while time.monotonic() < deadline:
            waiting = q(pg_server, db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0][0]
            if waiting:
                break
            time.sleep(0.2)
        assert waiting == 1, "module did not wait on the advisory lock"
        assert worker.is_alive()
        holder.commit()
    finally:
        holder.close()
    worker.join(120)
    res = box["res"]
    assert res["changed"] is False and res["action"] == "none"
    assert q(pg_server, db, "SELECT count(*) FROM api_pricing WHERE provider = 'mistral'")[0][0] == 1


def test_api_pricing_cache_prices_price_the_cache_tokens(pg_server, pg_db, ansible):
    """On the full schema (migration 0020): the cache prices are set, compared on a re-run, kept as history on a
    change, and the database prices a logged request with them (expected cost computed here from the prices)."""
    conn = pg_server.connect(pg_db)
    try:
        apply_all(conn, schema_files(reader=False))
    finally:
        conn.close()
    args = dict(
        login(pg_server, pg_db),
        provider="anthropic",
        model="claude-cache-test",
        input_price_per_million=3,
        output_price_per_million=15,
        cache_write_price_per_million=3.75,
        cache_read_price_per_million=0.3,
        effective_from="2025-06-01",
    )
    res = ansible.module(PRICING, args, check=True, diff=True).results[0]
    assert res["changed"] is True and res["diff"]["after"]["cache_read_price_per_million"] == 0.3
    assert ansible.module(PRICING, args).results[0]["changed"] is True
    assert ansible.module(PRICING, dict(args, cache_read_price_per_million="0.30")).results[0]["changed"] is False
    res = ansible.module(PRICING, dict(args, cache_read_price_per_million=0.25, effective_from="2025-07-01")).results[0]
    assert res["changed"] is True and res["action"] == "superseded"
    rows = q(
        pg_server,
        pg_db,
        "SELECT cache_write_price_per_million::text, cache_read_price_per_million::text, "
        "is_current FROM api_pricing WHERE model = 'claude-cache-test' ORDER BY effective_from",
    )
    assert rows == [("3.750000", "0.300000", False), ("3.750000", "0.250000", True)]
    (cost,) = q(
        pg_server,
        pg_db,
        "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, "
        "cache_write_tokens, cache_read_tokens, output_tokens) VALUES "
        "('wf', 'anthropic', 'claude-cache-test', 1000, 2000, 10000, 500) "
        "RETURNING cost_usd::float",
    )[0]
    expected = (1000 * 3 + 2000 * 3.75 + 10000 * 0.25 + 500 * 15) / 1_000_000
    assert abs(cost - expected) < 1e-6, (cost, expected)

"""playbooks/database.yml (role kpi_database) against a real PostgreSQL 15 with the collection's own SQL files.

Runs go through the ``ansible`` fixture at -vvv, which fails the test when a planted secret (admin password,
reader password) shows up anywhere in the output.
"""

from __future__ import annotations

import re

import psycopg2
import pytest

from conftest import PLANTED, REPO, recap
from kpi_sql import schema_files

PLAYBOOK = REPO / "playbooks" / "database.yml"
# ledger names in the order the role applies them (baseline, maintenance.sql, migrations, views, grants)
LEDGER_NAMES = [name.rsplit("/", 1)[-1] for name in schema_files(n8n_writer=True)]
# once-files: the baseline and the numbered migrations; every other file is repeatable
ONCE = ("support-core.sql", "schema-additions.sql")


def role_vars(pg_server, db, **override):
    """The variables the local demo passes (see the report / roles/kpi_database/README.md)."""
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
        kpi_database_n8n_writer_enabled=True,
        kpi_database_n8n_writer_role=f"n8n_{db}",
        kpi_database_n8n_writer_password=PLANTED["n8n_writer_password"],
        kpi_database_baseline_config={"manual_cost_per_case": 25.00, "hourly_support_cost": 42},
        kpi_database_api_pricing=[
            {"provider": "anthropic", "model": "claude-opus-4", "input_price_per_million": 15, "output_price_per_million": 75, "effective_from": "2025-05-01"}
        ],
        # same name as one of the demo generator's budgets: the inventory's values must win, also on a re-run
        kpi_database_token_budgets=[
            {"name": "Anthropic Monthly", "provider": "anthropic", "budget_type": "monthly", "token_limit": 5000000, "cost_limit_usd": 2000}
        ],
        kpi_database_token_budget_rollover=True,
        kpi_database_load_demo_data=True,
        kpi_database_demo_days=5,
        kpi_database_demo_cases_per_day=40,
        kpi_database_demo_python=str(REPO / ".venv" / "bin" / "python"),
    )
    data.update(override)
    return data


def q(pg_server, db, sql, params=None):
    return pg_server.execute(sql, dbname=db, params=params)


def test_role_check_mode_then_apply_then_idempotent(pg_server, pg_db, ansible, inventory):
    extra = role_vars(pg_server, pg_db)
    reader = extra["kpi_database_reader_role"]

    # check mode on an empty database: nothing is written (no tables, no ledger, no reader role)
    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, check=True, diff=True)
    assert recap(res.output)["failed"] == 0
    assert "would apply: " + ", ".join(LEDGER_NAMES) in res.output
    assert q(pg_server, pg_db, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")[0][0] == 0
    assert q(pg_server, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = %s", (reader,))[0][0] == 0

    # first run
    res = ansible.playbook(PLAYBOOK, extra_vars=dict(extra, kpi_database_no_log=False), inventory=inventory, diff=True)
    first = recap(res.output)
    # diff mode shows the ledger and the configuration rows before/after (no_log off, secrets still absent)
    assert "--- before" in res.output and "+++ after" in res.output
    assert '+    "schema-additions.sql": {' in res.output  # kpi_schema: the ledger gained the file
    assert first["failed"] == 0 and first["changed"] >= 5
    ledger = q(pg_server, pg_db, "SELECT file, kind FROM kpi_schema_migrations ORDER BY file")
    assert ledger == sorted((name, "once" if name in ONCE or name[:4].isdigit() else "repeatable") for name in LEDGER_NAMES)
    assert q(pg_server, pg_db, "SELECT config_value::text FROM baseline_config WHERE config_key = 'hourly_support_cost'")[0][0] == "42"
    assert q(pg_server, pg_db, "SELECT input_price_per_million::text, is_current FROM api_pricing WHERE model = 'claude-opus-4'") == [("15.000000", True)]
    assert q(pg_server, pg_db, "SELECT token_limit FROM token_budgets WHERE budget_name = 'Anthropic Monthly'")[0][0] == 5000000
    cases = q(pg_server, pg_db, "SELECT count(*) FROM cases")[0][0]
    assert cases > 0

    # the reader logs in with its password, reads the views and the contract columns of the support tables
    # (kpi_database_reader_contract_columns defaults to true), and is denied every other column
    conn = psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname=pg_db, user=reader, password=PLANTED["reader_password"], connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT cases_today FROM v_executive_summary")
            assert len(cur.fetchall()) == 1
            cur.execute("SELECT count(*) FROM cases WHERE created_at >= CURRENT_DATE - 7")
            assert cur.fetchone()[0] > 0
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT subject FROM cases")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT * FROM baseline_config")
    finally:
        conn.close()

    # n8n's role: logs in, may insert a token row (priced by the database), may not read cases
    conn = psycopg2.connect(
        host=pg_server.host, port=pg_server.port, dbname=pg_db, user=f"n8n_{pg_db}", password=PLANTED["n8n_writer_password"], connect_timeout=5
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO token_usage (workflow_name, provider, model, input_tokens, output_tokens) "
                "VALUES ('wf', 'anthropic', 'claude-opus-4', 1000, 100) RETURNING cost_usd"
            )
            assert cur.fetchone()[0] is not None
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT count(*) FROM cases")
    finally:
        conn.rollback()
        conn.close()

    # second run: nothing changes, demo data not loaded twice
    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, diff=True)
    second = recap(res.output)
    assert second["failed"] == 0 and second["changed"] == 0, res.output[-4000:]
    assert "would apply" not in res.output and "nothing (up to date)" in res.output
    assert q(pg_server, pg_db, "SELECT count(*) FROM cases")[0][0] == cases
    assert q(pg_server, pg_db, "SELECT sum(apply_count) FROM kpi_schema_migrations")[0][0] == len(LEDGER_NAMES)

    # check mode after a change of one baseline value: reports it, writes nothing
    changed = dict(extra, kpi_database_baseline_config={"manual_cost_per_case": 30})
    res = ansible.playbook(PLAYBOOK, extra_vars=changed, inventory=inventory, check=True)
    assert recap(res.output)["changed"] == 1
    assert q(pg_server, pg_db, "SELECT config_value::text FROM baseline_config WHERE config_key = 'manual_cost_per_case'")[0][0] == "25.00"

    # views only: grafana-reader.sql runs again because its setting changed, and revokes the column grants
    res = ansible.playbook(PLAYBOOK, extra_vars=dict(extra, kpi_database_reader_contract_columns=False), inventory=inventory)
    assert re.search(r"applied: [^\n]*grafana-reader\.sql", res.output), res.output[-5000:]
    assert recap(res.output)["changed"] >= 1  # kpi_schema's result no longer reads as "skipped"
    conn = psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname=pg_db, user=reader, password=PLANTED["reader_password"], connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT cases_today FROM v_executive_summary")
            assert len(cur.fetchall()) == 1
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT count(*) FROM cases")
    finally:
        conn.close()


@pytest.mark.parametrize(
    "override, expected",
    [
        (dict(kpi_database_admin_password=""), "kpi_database_admin_password must be set"),
        (dict(kpi_database_reader_password=""), "kpi_database_reader_password must be set"),
        (dict(kpi_database_token_budgets=[{"name": "Neg", "budget_type": "monthly", "token_limit": -1}]), "token budget Neg is invalid"),
        (dict(kpi_database_token_budgets=[{"name": "Yearly", "budget_type": "yearly", "token_limit": 10}]), "yearly"),
        (
            dict(kpi_database_api_pricing=[{"provider": "openai", "model": "gpt-4o", "input_price_per_million": -2, "output_price_per_million": 10}]),
            "openai/gpt-4o",
        ),
        (dict(kpi_database_baseline_config={"manual_cost_per_case": "cheap"}), "kpi_database_baseline_config.manual_cost_per_case must be a number"),
    ],
)
def test_role_preflight_rejects_bad_input(pg_server, pg_db, ansible, inventory, override, expected):
    extra = role_vars(pg_server, pg_db, kpi_database_no_log=False, **override)
    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, expect_rc=2)
    assert expected in res.output
    # nothing was written: no tables, no reader role
    assert q(pg_server, pg_db, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")[0][0] == 0
    assert q(pg_server, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = %s", (extra["kpi_database_reader_role"],))[0][0] == 0


def test_role_wrong_admin_password_is_not_printed(pg_server, pg_db, ansible, inventory):
    wrong = "Wrong-" + PLANTED["db_password"][::-1]
    ansible.add_secret(wrong)
    extra = role_vars(
        pg_server, pg_db, kpi_database_admin_password=wrong, kpi_database_reader_enabled=False, kpi_database_no_log=False, kpi_database_load_demo_data=False
    )
    res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, expect_rc=2)
    assert "password authentication failed" in res.output
    assert q(pg_server, pg_db, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")[0][0] == 0

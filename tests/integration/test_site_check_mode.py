"""``site.yml --check`` before the first deployment (issue 8 defect 3), and ``site.yml`` itself, on every supported
Grafana profile (10.4.19, 11.6.3, 12.4.0, 13.3.0: legacy routes and ``/apis``, docs/grafana-behaviour.md §9, §13).

On an EMPTY PostgreSQL database and an EMPTY Grafana (the emulator), check mode must run end to end:
exit 0, every resource reported as to be created, and nothing written -- the emulator's request log holds no
write and the database has no table, no ledger and no reader role afterwards. It used to stop at the
dashboard task ("folder not found") because the folder would only be created by an earlier task.
"""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import PLANTED, REPO
from grafana_emulator.profiles import SUPPORTED_VERSIONS
from kpi_sql import schema_files

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(params=SUPPORTED_VERSIONS)
def grafana_emulator(request, grafana_emulator_factory):
    """site.yml runs against each supported profile."""
    return grafana_emulator_factory(version=request.param)


@pytest.fixture
def site_inventory(tmp_path):
    inv = {
        "all": {
            "children": {
                "kpi_control": {"hosts": {"localhost": None}},
                "grafana_servers": {"hosts": {}},
                "pdc_agents": {"hosts": {}},
                "kpi_db_servers": {"hosts": {}},
            },
            "vars": {"ansible_connection": "local"},
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return str(path)


def site_vars(pg_server, db, emulator):
    return {
        "kpi_database_host": pg_server.host,
        "kpi_database_port": pg_server.port,
        "kpi_database_name": db,
        "kpi_database_admin_user": "postgres",
        "kpi_database_admin_password": pg_server.password,
        "kpi_database_ssl_mode": "disable",
        "kpi_database_install_core_schema": True,
        "kpi_database_reader_role": "reader_%s" % db,
        "kpi_database_reader_password": PLANTED["reader_password"],
        "kpi_database_baseline_config": {"manual_cost_per_case": 25.00},
        "kpi_database_api_pricing": [
            {"provider": "anthropic", "model": "claude-opus-4", "input_price_per_million": 15, "output_price_per_million": 75, "effective_from": "2025-05-01"}
        ],
        "kpi_database_token_budgets": [{"name": "Anthropic Monthly", "provider": "anthropic", "budget_type": "monthly", "token_limit": 5000000}],
        "kpi_database_load_demo_data": True,
        "kpi_grafana_url": emulator.url,
        "kpi_grafana_auth": "basic",
        "kpi_grafana_username": emulator.admin_user,
        "kpi_grafana_password": emulator.admin_password,
        "kpi_grafana_datasource_host": pg_server.host,
        "kpi_grafana_datasource_port": pg_server.port,
        "kpi_grafana_datasource_database": db,
        "kpi_grafana_datasource_user": "reader_%s" % db,
        "kpi_grafana_datasource_password": PLANTED["reader_password"],
        "kpi_grafana_datasource_sslmode": "disable",
        "kpi_grafana_alert_slack_webhook_url": PLANTED["slack_webhook"],
        "kpi_grafana_alert_email_addresses": ["team-lead@example.com"],
        "kpi_grafana_service_account_enabled": True,
        "kpi_grafana_service_account_token_file": "",
    }


def _changed_tasks(output: str) -> list:
    """Names of the tasks that reported changed (check mode: would change)."""
    names, current = [], None
    for line in output.splitlines():
        match = re.match(r"TASK \[(?:[\w.]+ : )?(.*?)\] \*+", line)
        if match:
            current = match.group(1)
        elif line.startswith("changed: [localhost]") and current:
            names.append(current)
    return names


def test_site_check_mode_on_an_empty_system(ansible, pg_server, pg_db, grafana_emulator, site_inventory):
    emu = grafana_emulator
    emu.reset_request_log()
    res = ansible.playbook(REPO / "site.yml", extra_vars=site_vars(pg_server, pg_db, emu), inventory=site_inventory, check=True, diff=True, expect_rc=None)
    assert res.rc == 0, res.output[-6000:]
    recap = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", res.output)
    assert recap and recap.group(2) == "0", res.output[-3000:]

    changed = _changed_tasks(res.output)
    # every resource is reported as to be created
    for task in (
        "Reader | Create the read-only role reader_%s" % pg_db,
        "Schema | Apply the KPI schema, views and grants",
        "Settings | Baseline values for savings and ROI",
        "Settings | AI API prices",
        "Settings | Token budgets",
        "Service account | Write the account and its token (output hidden, holds the new token)",
        "Datasource | Write the datasource (output hidden, carries the database password)",
        "Dashboard | Put the folder in place",
        "Dashboard | Put the KPI dashboard in place",
        "Alerting | Write the contact points (output hidden, carries the Slack webhook URL)",
        "Alerting | Route the KPI alerts by label",
        "Alerting | Put the rule groups in place",
    ):
        assert task in changed, "%s not reported as to be created; changed: %s" % (task, changed)
    assert "would apply: " + ", ".join(name.rsplit("/", 1)[-1] for name in schema_files()) in res.output
    assert "would load" in res.output and "days of demo data" in res.output

    # zero writes: Grafana ...
    writes = [r for r in emu.request_log() if r.get("method") in WRITES and not r["path"].startswith("/api/ds/query")]
    assert writes == [], writes
    status, folders, _headers = emu.api("GET", "/api/folders", auth=(emu.admin_user, emu.admin_password))
    assert status == 200 and folders == []
    # ... and the database: no table, no ledger, no reader role
    assert pg_server.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace", dbname=pg_db)[0][0] == 0
    assert pg_server.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", params=("reader_%s" % pg_db,))[0][0] == 0


def test_site_deploys_and_a_rerun_changes_nothing(ansible, pg_server, pg_db, grafana_emulator, site_inventory):
    """The real run on each profile: everything in place, the dashboard readable on the legacy route, and a second
    run reports no change and writes nothing to Grafana."""
    emu = grafana_emulator
    extra = site_vars(pg_server, pg_db, emu)
    res = ansible.playbook(REPO / "site.yml", extra_vars=extra, inventory=site_inventory, expect_rc=None)
    assert res.rc == 0, res.output[-6000:]
    status, folders, _headers = emu.api("GET", "/api/folders", auth=(emu.admin_user, emu.admin_password))
    assert status == 200 and len(folders) >= 1
    status, search, _headers = emu.api("GET", "/api/search?type=dash-db", auth=(emu.admin_user, emu.admin_password))
    assert status == 200 and search, search
    for hit in search:
        status, dash, _headers = emu.api("GET", "/api/dashboards/uid/%s" % hit["uid"], auth=(emu.admin_user, emu.admin_password))
        assert status == 200 and dash["meta"]["folderUid"] == hit.get("folderUid")
    emu.reset_request_log()
    res = ansible.playbook(REPO / "site.yml", extra_vars=extra, inventory=site_inventory, expect_rc=None)
    assert res.rc == 0, res.output[-6000:]
    recap = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", res.output)
    assert recap and recap.groups() == ("0", "0"), "second run changed %s: %s" % (_changed_tasks(res.output), res.output[-3000:])
    writes = [r for r in emu.request_log() if r.get("method") in WRITES and not r["path"].startswith("/api/ds/query")]
    assert writes == [], writes

"""End to end: the collection's own KPI dashboard, deployed by the modules, answers from the real KPI views.

Real PostgreSQL with files/sql applied and demo data from files/demo, the Grafana emulator running every
panel query on that database. One playbook: datasource (with Grafana's health check) -> folder ->
dashboard from files/grafana-dashboard.json -> grafana_dashboard_verify (fail_on: error). A second run of
the same playbook must change nothing.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import PLANTED, REPO
from kpi_sql import schema_files

NS = "cx_catalyst.kpi_dashboard."
SQL_FILES = schema_files(reader=False)


def load_kpi_database(pg_server, dbname):
    for name in SQL_FILES:
        pg_server.execute((REPO / "files" / "sql" / name).read_text(), dbname=dbname, fetch=False)
    env = dict(os.environ, PGPASSWORD=pg_server.password)
    dsn = "host=%s port=%s dbname=%s user=%s" % (pg_server.host, pg_server.port, dbname, pg_server.superuser)
    subprocess.run(
        [sys.executable, str(REPO / "files" / "demo" / "generate_demo_data.py"), "--dsn", dsn, "--days", "14", "--cases-per-day", "40"],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )


# The whole KPI dashboard on every supported profile, legacy /api (10.4, 11.6) and /apis (12.4, 13.3; docs/grafana-behaviour.md §13).
pytestmark = pytest.mark.grafana_profiles()


def test_kpi_dashboard_every_panel_answers(ansible, grafana_emulator, pg_server, pg_db, tmp_path):
    emu = grafana_emulator
    load_kpi_database(pg_server, pg_db)
    conn = {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password}
    result_file = tmp_path / "verify.json"
    playbook = tmp_path / "kpi.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "module_defaults": {"group/cx_catalyst.kpi_dashboard.grafana": conn},
                    "tasks": [
                        {
                            "name": "datasource",
                            NS + "grafana_datasource": {
                                "name": "Support Database",
                                "uid": "support-postgres",
                                "host": pg_server.host,
                                "port": pg_server.port,
                                "database": pg_db,
                                "user": pg_server.superuser,
                                "password": PLANTED["db_password"],
                                "sslmode": "disable",
                                "health_check": True,
                            },
                        },
                        {"name": "folder", NS + "grafana_folder": {"uid": "cx-kpi", "title": "CX-Catalyst KPIs"}},
                        {
                            "name": "dashboard",
                            NS + "grafana_dashboard": {
                                "path": str(REPO / "files" / "grafana-dashboard.json"),
                                "folder_uid": "cx-kpi",
                                "datasource_uid": "support-postgres",
                            },
                            "register": "dash",
                        },
                        {
                            "name": "verify",
                            NS + "grafana_dashboard_verify": {"uid": "{{ dash.uid }}", "time_from": "now-14d", "fail_on": "error"},
                            "register": "verify",
                        },
                        {"name": "keep", "ansible.builtin.copy": {"content": "{{ verify | to_json }}", "dest": str(result_file)}},
                    ],
                }
            ]
        )
    )
    first = ansible.playbook(playbook)
    verify = json.loads(result_file.read_text())
    statuses = {p["title"]: p["status"] for p in verify["panels"]}
    print("\n".join(verify["table"]))  # the per-panel table, shown with pytest -s
    assert verify["summary"]["error"] == 0, verify["table"]
    assert verify["summary"]["ok"] >= len(verify["panels"]) - 2, verify["table"]
    assert len(verify["panels"]) >= 10, statuses
    assert "changed=4" in first.stdout or "changed=5" in first.stdout

    emu.reset_request_log()
    second = ansible.playbook(playbook)
    recap = [line for line in second.stdout.splitlines() if line.startswith("localhost")][-1]
    # only the verification's report file may be rewritten; no Grafana resource changes
    assert "changed=0" in recap or "changed=1" in recap, recap
    writes = [r for r in emu.request_log() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]
    assert {r["path"] for r in writes} <= {"/api/ds/query"}, writes

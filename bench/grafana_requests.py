"""HTTP requests per resource on a no-op re-run of each grafana_* module (goal: <= 2).

Starts the project's Grafana emulator on 127.0.0.1 (free port, stopped by PID), runs every module once to
create its resource, then runs it again with the same arguments and counts the requests the emulator
logged for that second run. Modules are executed directly (``python module.py args.json``), the way
Ansible runs them, so the numbers are the modules' own and not ansible-playbook's.

    .venv/bin/python bench/grafana_requests.py [--version 11.3.0] [--json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
MODULES = os.path.join(REPO, "plugins", "modules")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

DASHBOARD = {
    "__inputs": [{"name": "DS_SUPPORT_DB", "type": "datasource", "pluginId": "grafana-postgresql-datasource"}],
    "uid": "cx-kpi-overview", "title": "CX KPIs", "schemaVersion": 39,
    "panels": [{"id": 1, "type": "stat", "title": "Cases",
                "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
                "targets": [{"refId": "A", "format": "table", "rawSql": "SELECT 1"}]}],
}
RULE = {
    "uid": "cx-budget-warning", "title": "Token budget above 80%", "condition": "C", "for": "5m",
    "data": [
        {"refId": "A", "datasourceUid": "support-postgres", "relativeTimeRange": {"from": 600, "to": 0},
         "model": {"refId": "A", "format": "table", "rawSql": "SELECT now() AS time, 1 AS value"}},
        {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "reduce", "expression": "A", "reducer": "last"}},
        {"refId": "C", "datasourceUid": "__expr__",
         "model": {"type": "threshold", "expression": "B", "conditions": [{"evaluator": {"type": "gt", "params": [80]}}]}},
    ],
}


def resources(secret):
    return [
        ("datasource", "grafana_datasource", {
            "name": "Support Database", "uid": "support-postgres", "host": "127.0.0.1", "port": 5432,
            "database": "support_system", "user": "kpi_reader", "password": secret, "sslmode": "disable"}),
        ("folder", "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"}),
        ("dashboard", "grafana_dashboard", {"content": DASHBOARD, "folder_uid": "cx-kpi",
                                            "datasource_uid": "support-postgres"}),
        ("contact point (slack)", "grafana_contact_point", {
            "name": "support-alerts-slack", "uid": "cx-slack", "slack_url": "https://hooks.slack.invalid/" + secret,
            "slack_recipient": "#support-alerts"}),
        ("contact point (email)", "grafana_contact_point", {
            "name": "team-lead-email", "uid": "cx-email", "type": "email", "email_addresses": ["lead@example.com"]}),
        ("alert rule group", "grafana_alert_rule_group", {
            "folder_uid": "cx-kpi", "name": "kpi-alerts", "interval": "5m", "rules": [RULE]}),
        ("notification policy", "grafana_notification_policy", {
            "receiver": "team-lead-email", "routes": [{"receiver": "support-alerts-slack",
                                                       "matchers": ["channel=slack"]}]}),
        ("service account + token", "grafana_service_account", {
            "name": "cx-kpi-automation", "role": "Editor", "token_name": "ansible"}),
    ]


def run_module(module, args, workdir):
    path = os.path.join(workdir, "args-%d.json" % time.monotonic_ns())
    with open(path, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".collections"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(MODULES, module + ".py"), path], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    elapsed = time.monotonic() - started
    os.unlink(path)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("%s printed no JSON: %s %s" % (module, proc.stdout[-500:], proc.stderr[-500:]))
    if result.get("failed"):
        raise SystemExit("%s failed: %s" % (module, result.get("msg")))
    return result, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--version", default=None, help="Grafana version the emulator plays")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    opts = parser.parse_args()
    from grafana_emulator.pytest_plugin import EmulatorProcess

    emu = EmulatorProcess(version=opts.version)
    workdir = tempfile.mkdtemp(prefix="grafana-bench-")
    rows = []
    try:
        conn = {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password}
        for label, module, args in resources("Bench-Secret-0000"):
            full = dict(conn, **args)
            first = run_module(module, full, workdir)[0]
            emu.reset_request_log()
            second, elapsed = run_module(module, full, workdir)
            log = emu.request_log()
            rows.append({"resource": label, "module": module, "create_changed": first["changed"],
                         "rerun_changed": second["changed"], "rerun_requests": len(log),
                         "rerun_writes": sum(1 for r in log if r["method"] in WRITES),
                         "rerun_seconds": round(elapsed, 2),
                         "calls": ["%s %s" % (r["method"], r["path"]) for r in log]})
    finally:
        emu.cleanup()
    if opts.json:
        print(json.dumps({"grafana_version": emu.version, "rows": rows}, indent=2))
    else:
        print("Grafana emulator %s - HTTP requests on a no-op re-run (goal <= 2 per resource)" % emu.version)
        print("%-26s %8s %7s %8s  %s" % ("resource", "requests", "writes", "changed", "calls"))
        for row in rows:
            print("%-26s %8d %7d %8s  %s" % (row["resource"], row["rerun_requests"], row["rerun_writes"],
                                             row["rerun_changed"], ", ".join(row["calls"])))
    bad = [r for r in rows if r["rerun_requests"] > 2 or r["rerun_writes"] or r["rerun_changed"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""HTTP requests per resource on a no-op re-run of each grafana_* module (goal: <= 2), per Grafana profile,
and the same provisioning done with community.grafana side by side.

For each emulator profile (default: the supported ones, 10.4.19, 11.6.3, 12.4.0, 13.3.0) it starts the project's
Grafana emulator on 127.0.0.1 (free port, stopped by PID), runs every module once to create its resource, then
runs it again with the same arguments and counts the requests the emulator logged for that second run and its
wall time. Modules are executed directly (``python module.py args.json``), the way Ansible runs them, so the
numbers are the modules' own and not ansible-playbook's. With community.grafana present in
``.test-collections/`` (scripts/bootstrap.sh), its grafana_datasource, grafana_folder and grafana_dashboard do
the same data source, folder and dashboard on a fresh emulator of the same profile, measured the same way.

    .venv/bin/python bench/grafana_requests.py [--version 13.3.0 ...] [--no-community] [--json]
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
    "uid": "cx-kpi-overview",
    "title": "CX KPIs",
    "schemaVersion": 39,
    "panels": [
        {
            "id": 1,
            "type": "stat",
            "title": "Cases",
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
            "targets": [{"refId": "A", "format": "table", "rawSql": "SELECT 1"}],
        }
    ],
}
RULE = {
    "uid": "cx-budget-warning",
    "title": "Token budget above 80%",
    "condition": "C",
    "for": "5m",
    "data": [
        {
            "refId": "A",
            "datasourceUid": "support-postgres",
            "relativeTimeRange": {"from": 600, "to": 0},
            "model": {"refId": "A", "format": "table", "rawSql": "SELECT now() AS time, 1 AS value"},
        },
        {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "reduce", "expression": "A", "reducer": "last"}},
        {
            "refId": "C",
            "datasourceUid": "__expr__",
            "model": {"type": "threshold", "expression": "B", "conditions": [{"evaluator": {"type": "gt", "params": [80]}}]},
        },
    ],
}


def resources(secret, workdir):
    return [
        (
            "datasource",
            "grafana_datasource",
            {
                "name": "Support Database",
                "uid": "support-postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "database": "support_system",
                "user": "kpi_reader",
                "password": secret,
                "sslmode": "disable",
            },
        ),
        ("folder", "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"}),
        ("dashboard", "grafana_dashboard", {"content": DASHBOARD, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres"}),
        (
            "dashboard export",
            "grafana_dashboard_export",
            {"uid": "cx-kpi-overview", "dest": os.path.join(workdir, "exported-dashboard.json"), "datasource_uid": "support-postgres"},
        ),
        (
            "contact point (slack)",
            "grafana_contact_point",
            {"name": "support-alerts-slack", "uid": "cx-slack", "slack_url": "https://hooks.slack.invalid/" + secret, "slack_recipient": "#support-alerts"},
        ),
        (
            "contact point (email)",
            "grafana_contact_point",
            {"name": "team-lead-email", "uid": "cx-email", "type": "email", "email_addresses": ["lead@example.com"]},
        ),
        ("alert rule group", "grafana_alert_rule_group", {"folder_uid": "cx-kpi", "name": "kpi-alerts", "interval": "5m", "rules": [RULE]}),
        (
            "notification policy",
            "grafana_notification_policy",
            {"receiver": "team-lead-email", "routes": [{"receiver": "support-alerts-slack", "matchers": ["channel=slack"]}]},
        ),
        ("service account + token", "grafana_service_account", {"name": "cx-kpi-automation", "role": "Editor", "token_name": "ansible"}),
    ]


COMMUNITY = os.path.join(REPO, ".test-collections")
COMMUNITY_MODULES = os.path.join(COMMUNITY, "ansible_collections", "community", "grafana", "plugins", "modules")


def community_resources(secret, dashboard_file):
    """The data source, folder and dashboard of ``resources`` in community.grafana's options."""
    return [
        (
            "datasource",
            "grafana_datasource",
            {
                "name": "Support Database",
                "uid": "support-postgres",
                "ds_type": "postgres",
                "ds_url": "127.0.0.1:5432",
                "database": "support_system",
                "user": "kpi_reader",
                "password": secret,
                "sslmode": "disable",
                "is_default": True,
            },
        ),
        ("folder", "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"}),
        ("dashboard", "grafana_dashboard", {"path": dashboard_file, "folder": "cx-kpi", "overwrite": True}),
    ]


def run_module(module, args, workdir, modules_dir=MODULES, pythonpath=None):
    path = os.path.join(workdir, "args-%d.json" % time.monotonic_ns())
    with open(path, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    env = dict(os.environ, PYTHONPATH=pythonpath or os.path.join(REPO, ".collections"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(modules_dir, module + ".py"), path], capture_output=True, text=True, env=env, timeout=120, check=False)
    elapsed = time.monotonic() - started
    os.unlink(path)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("%s printed no JSON: %s %s" % (module, proc.stdout[-500:], proc.stderr[-500:]))
    if result.get("failed"):
        raise SystemExit("%s failed: %s" % (module, result.get("msg")))
    return result, elapsed


def measure(emu, conn, items, workdir, **run_kw):
    rows = []
    for label, module, args in items:
        full = dict(conn, **args)
        first = run_module(module, full, workdir, **run_kw)[0]
        emu.reset_request_log()
        second, elapsed = run_module(module, full, workdir, **run_kw)
        log = emu.request_log()
        rows.append(
            {
                "resource": label,
                "module": module,
                "create_changed": first["changed"],
                "rerun_changed": second["changed"],
                "rerun_requests": len(log),
                "rerun_writes": sum(1 for r in log if r["method"] in WRITES),
                "rerun_seconds": round(elapsed, 2),
                "calls": ["%s %s" % (r["method"], r["path"]) for r in log],
            }
        )
    return rows


def bench_profile(version, community, workdir):
    from grafana_emulator.pytest_plugin import EmulatorProcess

    out = {"grafana_version": version, "rows": [], "community": None}
    emu = EmulatorProcess(version=version)
    try:
        conn = {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password}
        out["rows"] = measure(emu, conn, resources("Bench-Secret-0000", tempfile.mkdtemp(dir=workdir)), workdir)
    finally:
        emu.cleanup()
    if community:
        dash_file = os.path.join(workdir, "dashboard.json")
        with open(dash_file, "w") as fh:
            json.dump(dict(DASHBOARD, __inputs=[], panels=[dict(DASHBOARD["panels"][0], datasource={"uid": "support-postgres"})]), fh)
        emu = EmulatorProcess(version=version)
        try:
            conn = {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password}
            out["community"] = measure(
                emu, conn, community_resources("Bench-Secret-0000", dash_file), workdir, modules_dir=COMMUNITY_MODULES, pythonpath=COMMUNITY
            )
        except SystemExit as exc:  # a client that breaks on this profile is a result, not a crash of the bench
            out["community"] = [{"resource": "-", "module": "community.grafana", "error": str(exc)}]
        finally:
            emu.cleanup()
    return out


def main():
    from grafana_emulator.profiles import SUPPORTED_VERSIONS

    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--version", action="append", default=None, help="Grafana version the emulator plays (repeatable; default: the supported profiles)")
    parser.add_argument("--no-community", action="store_true", help="skip the community.grafana comparison")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    opts = parser.parse_args()
    community = not opts.no_community and os.path.isdir(COMMUNITY_MODULES)
    workdir = tempfile.mkdtemp(prefix="grafana-bench-")
    results = [bench_profile(v, community, workdir) for v in (opts.version or SUPPORTED_VERSIONS)]
    if opts.json:
        print(json.dumps(results, indent=2))
    for res in [] if opts.json else results:
        print("Grafana emulator %s - HTTP requests on a no-op re-run (goal <= 2 per resource)" % res["grafana_version"])
        print("%-26s %8s %7s %8s %8s  %s" % ("resource", "requests", "writes", "changed", "seconds", "calls"))
        for row in res["rows"]:
            print(
                "%-26s %8d %7d %8s %8.2f  %s"
                % (row["resource"], row["rerun_requests"], row["rerun_writes"], row["rerun_changed"], row["rerun_seconds"], ", ".join(row["calls"]))
            )
        if res["community"] is not None:
            print("  side by side, no-op re-run: cx_catalyst.kpi_dashboard vs community.grafana")
            ours = dict((r["resource"], r) for r in res["rows"])
            for row in res["community"]:
                if "error" in row:
                    print("  community.grafana failed on this profile: %s" % row["error"][:200])
                    continue
                mine = ours[row["resource"]]
                print(
                    "  %-12s ours %d req %.2f s | community.grafana %d req (%d writes, changed=%s) %.2f s  %s"
                    % (
                        row["resource"],
                        mine["rerun_requests"],
                        mine["rerun_seconds"],
                        row["rerun_requests"],
                        row["rerun_writes"],
                        row["rerun_changed"],
                        row["rerun_seconds"],
                        ", ".join(row["calls"]),
                    )
                )
        print()
    bad = [r for res in results for r in res["rows"] if r["rerun_requests"] > 2 or r["rerun_writes"] or r["rerun_changed"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

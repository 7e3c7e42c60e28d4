"""Verify of the default scenario: what site.yml left on the Grafana/PDC host, asked from inside it."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "_shared"))

from cxtest import PLANTED, grafana_api, process_args, systemd_analyze_verify  # noqa: E402

GRAFANA_PORT = os.environ.get("CX_MOLECULE_DEFAULT_GRAFANA_PORT", "23001")
PG_PORT = os.environ.get("CX_MOLECULE_DEFAULT_PG_PORT", "25432")
BASE = "http://127.0.0.1:" + GRAFANA_PORT


def test_grafana_service_and_pdc_agent_running(host):
    assert host.service("grafana-server").is_running
    assert host.service("pdc-agent").is_running
    for unit in ("grafana-server.service", "/etc/systemd/system/pdc-agent.service"):
        rc, out = systemd_analyze_verify(host, unit)
        assert rc == 0, out


def test_datasource_dashboard_and_folder_served(host):
    res = grafana_api(
        host,
        BASE,
        [
            "/api/health",
            "/api/datasources/uid/support-postgres",
            "/api/dashboards/uid/cx-catalyst-kpi",
        ],
    )
    assert res["/api/health"]["status"] == 200
    ds = res["/api/datasources/uid/support-postgres"]
    assert ds["status"] == 200, ds
    assert ds["body"]["url"].endswith(":" + PG_PORT)
    dash = res["/api/dashboards/uid/cx-catalyst-kpi"]
    assert dash["status"] == 200, dash
    assert len(dash["body"]["dashboard"]["panels"]) > 0


def test_no_secret_in_process_list(host):
    args = process_args(host)
    leaked = [name for name, value in PLANTED.items() if value in args]
    assert not leaked, "secrets in the process list: %s" % leaked

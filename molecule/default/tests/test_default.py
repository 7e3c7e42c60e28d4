"""Verify of the default scenario: what site.yml left on the Grafana/PDC host after the in-place upgrade, asked from inside it.

converge installed Grafana 11.6.3 (legacy /api) and provisioned it; side_effect.yml upgraded the held package to
13.3.0 and ran site.yml again, so kpi_grafana provisioned through the /apis generation. The package's own checks
(APT source, pin and hold, version, config, service) are in test_package.py, the PDC agent's in test_pdc.py.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "_shared"))

from cxtest import grafana_api  # noqa: E402

GRAFANA_PORT = os.environ.get("CX_MOLECULE_DEFAULT_GRAFANA_PORT", "23001")
BASE = "http://127.0.0.1:" + GRAFANA_PORT
DASH_APIS = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/cx-catalyst-kpi"
FOLDER_APIS = "/apis/folder.grafana.app/v1/namespaces/default/folders/support-dashboards"


def test_site_yml_provisioned_through_apis_after_the_upgrade(host):
    """What side_effect.yml's site.yml run sent to the upgraded server, from the emulator's request log.

    The log starts with the process, i.e. with the 13.3.0 server the upgrade restarted. This test comes first in
    the first file (pytest keeps that order), so the log holds no request of these checks yet."""
    log = grafana_api(host, BASE, ["/__emulator/requests"])["/__emulator/requests"]
    assert log["status"] == 200, log
    sent = ["%s %s" % (e["method"], e["path"]) for e in log["body"]]
    assert "GET /apis" in sent, sent
    assert "GET " + DASH_APIS in sent, sent
    assert "GET " + FOLDER_APIS in sent, sent
    legacy_writes = [r for r in sent if r.startswith(("POST /api/dashboards", "PUT /api/dashboards", "POST /api/folders", "PUT /api/folders"))]
    assert not legacy_writes, legacy_writes


def test_dashboard_and_folder_served_by_the_apis_generation(host):
    res = grafana_api(host, BASE, [DASH_APIS, FOLDER_APIS])
    dash = res[DASH_APIS]
    assert dash["status"] == 200, dash
    assert dash["body"]["metadata"]["name"] == "cx-catalyst-kpi"
    assert dash["body"]["metadata"]["annotations"]["grafana.app/folder"] == "support-dashboards"
    assert len(dash["body"]["spec"]["panels"]) > 0
    folder = res[FOLDER_APIS]
    assert folder["status"] == 200, folder
    assert folder["body"]["spec"]["title"] == "Support"


def test_alerting_provisioned(host):
    res = grafana_api(
        host,
        BASE,
        [
            "/api/v1/provisioning/contact-points",
            "/api/v1/provisioning/policies",
            "/api/v1/provisioning/alert-rules/cx-kpi-budget-warning",
        ],
    )
    cps = res["/api/v1/provisioning/contact-points"]
    assert cps["status"] == 200, cps
    assert {"cx-kpi-slack", "cx-kpi-email"} <= {cp["uid"] for cp in cps["body"]}
    policy = res["/api/v1/provisioning/policies"]
    assert policy["status"] == 200, policy
    assert policy["body"]["receiver"] == "CX-Catalyst Slack"
    rule = res["/api/v1/provisioning/alert-rules/cx-kpi-budget-warning"]
    assert rule["status"] == 200, rule
    assert rule["body"]["folderUID"] == "support-dashboards"

"""Every uid and name that reaches a URL path is validated or encoded: a traversal fails before any request.

Issue 8 defect 2: ``grafana_dashboard uid=../../folders/X state=absent`` deleted folder X. Each case runs the
module against a fake Grafana with an EMPTY script: any HTTP call at all would be recorded (and make the
fake raise), so ``fake.calls == []`` proves nothing was sent.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _grafana_client as gc  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import (  # noqa: E402
    grafana_alert_rule_group,
    grafana_contact_point,
    grafana_dashboard,
    grafana_dashboard_verify,
    grafana_datasource,
    grafana_folder,
)

DASH = {"title": "T", "uid": "ok-uid", "panels": []}
TRAVERSALS = ["../../folders/cx-kpi", "../../datasources/uid/support-postgres", "..", ".", "a/b", "%2e%2e", "x?y=1", "x#y", "a\\b", "uid with space"]

CASES = []
for bad in TRAVERSALS:
    CASES += [
        ("dashboard absent uid", grafana_dashboard, {"uid": bad, "state": "absent"}),
        ("dashboard absent uid from the JSON", grafana_dashboard, {"content": dict(DASH, uid=bad), "state": "absent"}),
        ("dashboard present uid", grafana_dashboard, {"uid": bad, "content": DASH}),
        ("dashboard present uid from the JSON", grafana_dashboard, {"content": dict(DASH, uid=bad)}),
        ("dashboard folder_uid", grafana_dashboard, {"content": DASH, "folder_uid": bad}),
        ("dashboard datasource_uid", grafana_dashboard, {"content": DASH, "datasource_uid": bad}),
        ("dashboard datasource_map", grafana_dashboard, {"content": DASH, "datasource_map": {"DS_X": bad}}),
        ("dashboard_verify uid", grafana_dashboard_verify, {"uid": bad}),
        ("dashboard_verify datasource_uid", grafana_dashboard_verify, {"content": DASH, "datasource_uid": bad}),
        ("folder present uid", grafana_folder, {"uid": bad, "title": "x"}),
        ("folder absent uid", grafana_folder, {"uid": bad, "state": "absent"}),
        ("folder parent_uid", grafana_folder, {"uid": "child", "title": "x", "parent_uid": bad}),
        ("datasource present uid", grafana_datasource, {"name": "pg", "uid": bad, "host": "db"}),
        ("datasource absent uid", grafana_datasource, {"uid": bad, "state": "absent"}),
        ("contact point present uid", grafana_contact_point, {"name": "cp", "uid": bad, "type": "email", "email_addresses": ["a@example.com"]}),
        ("contact point absent uid", grafana_contact_point, {"name": "cp", "uid": bad, "state": "absent"}),
        ("alert rule group folder_uid", grafana_alert_rule_group, {"folder_uid": bad, "name": "g"}),
        ("alert rule group absent folder_uid", grafana_alert_rule_group, {"folder_uid": bad, "name": "g", "state": "absent"}),
    ]
# names are percent-encoded into one segment; names that are (or decode to) a dot segment are refused
for bad in ["..", ".", "../../folders/x", "..\\x"]:
    CASES += [
        ("datasource absent name", grafana_datasource, {"name": bad, "state": "absent"}),
        ("datasource present name", grafana_datasource, {"name": bad, "host": "db"}),
        ("alert rule group name", grafana_alert_rule_group, {"folder_uid": "cx-kpi", "name": bad}),
        ("alert rule group absent name", grafana_alert_rule_group, {"folder_uid": "cx-kpi", "name": bad, "state": "absent"}),
    ]


@pytest.mark.parametrize("label,module,args", CASES, ids=["%s %r" % (c[0], list(c[2].values())) for c in CASES])
def test_traversal_fails_before_any_request(label, module, args):
    result, fake = run_module(module, args, [])
    assert result.get("failed") is True, (label, result)
    assert fake.calls == [], "%s sent %s" % (label, fake.keys())
    assert "invalid" in result["msg"] or "refusing" in result["msg"] or "cannot be used" in result["msg"], result


def test_a_name_with_a_slash_is_one_encoded_segment():
    """A datasource name is not a uid: it is encoded, not refused, and stays inside its endpoint."""
    result, fake = run_module(
        grafana_datasource,
        {"name": "team/pg", "state": "absent"},
        [
            ("GET", "/api/datasources/name/team/pg", 404, {"message": "Data source not found"}),
        ],
    )
    assert result["changed"] is False
    # the fake decodes the path for readability; the wire form kept the slash encoded
    assert gc.path_quote("team/pg") == "team%2Fpg"


@pytest.mark.parametrize(
    "path",
    [
        "/api/dashboards/uid/../../folders/x",
        "/api/x/%2e%2E/y",
        "/api/x/.",
        "/api/x?y",
        "/api/x#y",
        "/api/a\\b",
        "/api/a%5Cb",
        "/api/a b",
        "api/x",
        "/api/x/..%2Fy",
        "/api/x/\x00",
    ],
)
def test_client_refuses_unsafe_paths_before_sending(path):
    with pytest.raises(gc.GrafanaError) as err:
        gc.check_path(path, "delete", "dashboard 'x'")
    assert "nothing was sent" in str(err.value)


def test_client_accepts_ordinary_paths():
    for path in (
        "/api/dashboards/uid/cx-kpi_1",
        "/api/datasources/name/Support%20DB",
        "/api/folders",
        "/api/v1/provisioning/folder/cx/rule-groups/KPI%20alerts",
        "/api/datasources/name/a.b",
    ):
        gc.check_path(path)

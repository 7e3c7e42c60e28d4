"""grafana_notification_policy: exact HTTP calls, normalised tree compare, reset."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_notification_policy  # noqa: E402

PATH = "/api/v1/provisioning/policies"
ARGS = {
    "receiver": "team-lead-email",
    "group_by": ["grafana_folder", "alertname"],
    "repeat_interval": "4h",
    "routes": [
        {"receiver": "support-alerts-slack", "matchers": ["channel=slack"]},
        {"receiver": "team-lead-email", "object_matchers": [["severity", "=", "critical"]], "continue": True, "group_wait": "30s"},
    ],
}
STORED = {
    "receiver": "team-lead-email",
    "group_by": ["grafana_folder", "alertname"],
    "repeat_interval": "4h",
    "provenance": "",
    "routes": [
        {"receiver": "support-alerts-slack", "object_matchers": [["channel", "=", "slack"]]},
        {"receiver": "team-lead-email", "object_matchers": [["severity", "=", "critical"]], "continue": True, "group_wait": "30s"},
    ],
}
DEFAULT = {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}


def test_first_put_normalises_matchers():
    result, fake = run_module(
        grafana_notification_policy,
        ARGS,
        [
            ("GET", PATH, 200, DEFAULT),
            ("PUT", PATH, 202, {"message": "policies updated"}),
        ],
    )
    assert result["changed"] is True
    body = fake.calls[1].json
    assert body["routes"][0] == {"receiver": "support-alerts-slack", "object_matchers": [["channel", "=", "slack"]]}
    assert fake.calls[1].headers["X-Disable-Provenance"] == "true"
    assert result["receivers"] == ["support-alerts-slack", "team-lead-email"]


def test_rerun_equal_one_get():
    result, fake = run_module(grafana_notification_policy, ARGS, [("GET", PATH, 200, STORED)])
    assert result["changed"] is False and len(fake.calls) == 1


def test_duration_forms_are_equal():
    stored = dict(STORED, repeat_interval="240m")
    result, dummy = run_module(grafana_notification_policy, ARGS, [("GET", PATH, 200, stored)])
    assert result["changed"] is False


def test_route_change_and_diff():
    args = dict(ARGS, routes=ARGS["routes"][:1])
    result, fake = run_module(
        grafana_notification_policy,
        args,
        [
            ("GET", PATH, 200, STORED),
            ("PUT", PATH, 202, {"message": "policies updated"}),
        ],
        diff=True,
    )
    assert len(result["diff"]["before"]["routes"]) == 2 and len(result["diff"]["after"]["routes"]) == 1


def test_check_mode_no_write():
    result, fake = run_module(grafana_notification_policy, ARGS, [("GET", PATH, 200, DEFAULT)], check=True)
    assert result["changed"] is True and fake.writes == []


def test_reset():
    result, fake = run_module(
        grafana_notification_policy,
        {"state": "absent"},
        [
            ("GET", PATH, 200, STORED),
            ("DELETE", PATH, 202, DEFAULT),
        ],
    )
    assert result["changed"] is True
    result, fake = run_module(grafana_notification_policy, {"state": "absent"}, [("GET", PATH, 200, DEFAULT)])
    assert result["changed"] is False


def test_bad_matcher_fails_before_write():
    args = dict(ARGS, routes=[{"receiver": "x", "matchers": ["no operator here"]}])
    result, fake = run_module(grafana_notification_policy, args, [("GET", PATH, 200, DEFAULT)])
    assert result["failed"] is True and "matcher 'no operator here'" in result["msg"] and fake.writes == []


def test_unknown_receiver_api_error():
    result, dummy = run_module(
        grafana_notification_policy,
        ARGS,
        [
            ("GET", PATH, 200, DEFAULT),
            ("PUT", PATH, 400, {"message": "invalid object specification: receiver 'support-alerts-slack' does not exist"}),
        ],
    )
    assert result["failed"] is True and "HTTP 400" in result["msg"] and "does not exist" in result["msg"]

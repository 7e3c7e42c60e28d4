"""Alerting provisioning API (docs §5)."""

import hashlib

import pytest
import requests

from conftest import PLANTED
from emu_client import Client
from grafana_emulator.profiles import Profile

P = "/api/v1/provisioning"


def _rule(title="Backlog too large", uid=None, group="db-checks", folder="alerts", ds_uid="__expr__"):
    body = {
        "folderUID": folder,
        "ruleGroup": group,
        "title": title,
        "condition": "C",
        "for": "5m",
        "noDataState": "NoData",
        "execErrState": "Error",
        "labels": {"team": "ops"},
        "annotations": {"summary": "backlog"},
        "data": [
            {"refId": "A", "relativeTimeRange": {"from": 600, "to": 0}, "datasourceUid": ds_uid, "model": {"refId": "A", "type": "math", "expression": "1"}},
            {
                "refId": "C",
                "relativeTimeRange": {"from": 0, "to": 0},
                "datasourceUid": "__expr__",
                "model": {"refId": "C", "type": "threshold", "expression": "A", "conditions": [{"evaluator": {"type": "gt", "params": [100]}}]},
            },
        ],
    }
    if uid:
        body["uid"] = uid
    return body


@pytest.fixture
def api(grafana_emulator):
    client = Client(grafana_emulator)
    assert client.post("/api/folders", {"uid": "alerts", "title": "Alerts"}).status == 200
    return client


def test_rule_crud_statuses(api):
    """docs §5: POST 201 rule; GET 200; PUT 200; DELETE 204 with empty body; GET unknown 404 empty body (11.x)."""
    r = api.post(P + "/alert-rules", _rule(uid="r1"))
    assert r.status == 201 and r.json["uid"] == "r1" and r.json["provenance"] == "api"
    assert r.json["orgID"] == 1 and r.json["for"] == "5m"
    assert api.get(P + "/alert-rules/r1").json["title"] == "Backlog too large"
    r = api.put(P + "/alert-rules/r1", _rule(title="Renamed"))
    assert r.status == 200 and r.json["title"] == "Renamed"
    r = api.delete(P + "/alert-rules/r1")
    assert r.status == 204 and r.text == ""
    r = api.get(P + "/alert-rules/r1")
    assert r.status == 404 and r.text == ""
    r = api.put(P + "/alert-rules/r1", _rule())
    assert r.status == 404 and r.text == ""


def test_rule_get_unknown_500_on_95(grafana_emulator_factory):
    """docs §5/§9: 9.5 answered GET of an unknown rule with 500."""
    api = Client(grafana_emulator_factory(version="9.5.3"))
    assert api.get(P + "/alert-rules/none").status == 500


def test_rule_validation_400(api):
    """docs §5: 400 on validation (condition must be a refId, states from the enum, folder must exist)."""
    bad = _rule()
    bad["condition"] = "Z"
    assert api.post(P + "/alert-rules", bad).status == 400
    bad = _rule()
    bad["noDataState"] = "Sometimes"
    assert api.post(P + "/alert-rules", bad, invalid_request=True).status == 400
    assert api.post(P + "/alert-rules", _rule(folder="nope")).status == 400
    assert api.post(P + "/alert-rules", _rule(ds_uid="no-such-ds")).status == 400
    assert api.get(P + "/alert-rules").json == []


def test_provenance_header(grafana_emulator, api):
    """docs §5: X-Disable-Provenance (presence counts) -> provenance ""; otherwise "api"; api -> none fails (400
    from 11, 500 before)."""
    refused = 400 if Profile(grafana_emulator.version).v >= (11, 0, 0) else 500
    r = api.post(P + "/alert-rules", _rule(uid="free"), headers={"X-Disable-Provenance": ""})
    assert r.status == 201 and "provenance" not in r.json  # §14.4: omitted when none (10.x+)
    r = api.put(P + "/alert-rules/free", _rule(title="now api"))
    assert r.status == 200 and r.json["provenance"] == "api"
    r = api.put(P + "/alert-rules/free", _rule(), headers={"X-Disable-Provenance": "true"})
    assert r.status == refused and r.json["message"] == "cannot changed provenance from 'api' to ''"
    r = api.delete(P + "/alert-rules/free", headers={"X-Disable-Provenance": "true"})
    assert r.status == refused and r.json["message"].startswith("cannot delete with provided provenance")
    assert api.get(P + "/alert-rules/free").status == 200


def test_provenance_header_scope_before_10_4(grafana_emulator_factory):
    """docs §5/§9: 9.5 up to 10.3 honour X-Disable-Provenance only on rule POST/PUT, not on contact points (10.4
    on: every write, chosen from community.grafana's CI on 10.4.19)."""
    api = Client(grafana_emulator_factory(version="10.3.0"))
    cp = api.post(P + "/contact-points", {"name": "ops", "type": "email", "settings": {"addresses": "a@b"}}, headers={"X-Disable-Provenance": ""})
    assert cp.json["provenance"] == "api"
    api.post("/api/folders", {"uid": "alerts", "title": "Alerts"})
    r = api.post(P + "/alert-rules", _rule(uid="x"), headers={"X-Disable-Provenance": ""})
    assert r.status == 201 and "provenance" not in r.json  # §14.4: omitted when none (10.x+)


def test_rule_group_replaces_whole_group(grafana_emulator, api):
    """docs §5: PUT rule group replaces the whole group (rules missing from the body are deleted); DELETE of a
    group exists from 11 (405 before)."""
    api.post(P + "/alert-rules", _rule(uid="keep", title="keep"))
    api.post(P + "/alert-rules", _rule(uid="drop", title="drop"))
    group = api.get(P + "/folder/alerts/rule-groups/db-checks").json
    assert group["title"] == "db-checks" and group["folderUid"] == "alerts" and group["interval"] == 60
    assert sorted(r["uid"] for r in group["rules"]) == ["drop", "keep"]
    body = {"title": "db-checks", "interval": 120, "rules": [_rule(uid="keep", title="kept"), _rule(title="new")]}
    for rule in body["rules"]:
        del rule["folderUID"], rule["ruleGroup"]
    r = api.put(P + "/folder/alerts/rule-groups/db-checks", body)
    assert r.status == 200 and r.json["interval"] == 120
    titles = sorted(x["title"] for x in api.get(P + "/folder/alerts/rule-groups/db-checks").json["rules"])
    assert titles == ["kept", "new"]
    assert api.get(P + "/alert-rules/drop").status == 404
    bad = dict(body, interval=15)
    assert api.put(P + "/folder/alerts/rule-groups/db-checks", bad).status == 400
    assert api.get(P + "/folder/alerts/rule-groups/db-checks").json["interval"] == 120
    assert api.get(P + "/folder/alerts/rule-groups/none").status == 404
    if not Profile(grafana_emulator.version).rule_group_delete:
        assert api.delete(P + "/folder/alerts/rule-groups/db-checks").status == 405
        assert len(api.get(P + "/alert-rules").json) == 2
        return
    assert api.delete(P + "/folder/alerts/rule-groups/db-checks").status == 204
    assert api.get(P + "/alert-rules").json == []


def test_contact_point_slack_url_redacted(grafana_emulator, api):
    """Contact points: POST 202, GET ?name= filter, Slack url (a secure setting) redacted as [REDACTED],
    PUT 202 {"message":"contactpoint updated"} keeps the secret when [REDACTED] is sent back, DELETE 202."""
    body = {"name": "kpi-slack", "type": "slack", "settings": {"url": PLANTED["slack_webhook"], "recipient": "#kpi", "title": "KPI"}}
    r = api.post(P + "/contact-points", body)
    assert r.status == 202 and PLANTED["slack_webhook"] not in r.text
    uid = r.json["uid"]
    listed = api.get(P + "/contact-points", params={"name": "kpi-slack"})
    assert [c["uid"] for c in listed.json] == [uid]
    assert listed.json[0]["settings"]["url"] == "[REDACTED]" and listed.json[0]["settings"]["recipient"] == "#kpi"
    assert PLANTED["slack_webhook"] not in api.get(P + "/contact-points").text
    sent_back = dict(listed.json[0])
    sent_back["settings"] = dict(sent_back["settings"], title="KPI alerts")
    r = api.put(P + "/contact-points/" + uid, sent_back)
    assert r.status == 202 and r.json == {"message": "contactpoint updated"}
    fingerprints = api.get("/__emulator/secure-fingerprints").json["contactPoints"][uid]
    assert fingerprints == {"url": hashlib.sha256(PLANTED["slack_webhook"].encode()).hexdigest()}
    no_url = {"name": "kpi-slack", "type": "slack", "settings": {"recipient": "#kpi"}}
    assert api.put(P + "/contact-points/" + uid, no_url).status == 400
    r = api.delete(P + "/contact-points/" + uid)
    assert r.status == 202 and r.json == {"message": "contactpoint deleted"}
    assert api.get(P + "/contact-points", params={"name": "kpi-slack"}).json == []


def test_policies(grafana_emulator, api):
    """docs §5: GET tree; PUT 202 {"message":"policies updated"}; DELETE 202 returns the default tree;
    unknown receiver -> 400; a contact point used by the tree cannot be deleted."""
    default = api.get(P + "/policies").json
    assert default["receiver"] == "grafana-default-email"
    cp = api.post(P + "/contact-points", {"name": "ops", "type": "email", "settings": {"addresses": "o@x"}}).json
    tree = {"receiver": "grafana-default-email", "group_by": ["alertname"], "routes": [{"receiver": "ops", "object_matchers": [["team", "=", "ops"]]}]}
    r = api.put(P + "/policies", tree)
    assert r.status == 202 and r.json == {"message": "policies updated"}
    got = api.get(P + "/policies").json
    assert got["routes"][0]["receiver"] == "ops" and got["provenance"] == "api"
    r = api.delete(P + "/contact-points/" + cp["uid"])  # docs §14.6: 500 through 12.x, 409 errutil on 13
    if Profile(grafana_emulator.version).cp_in_use_status == 409:
        assert r.status == 409 and r.json["messageId"] == "alerting.notifications.contact-points.referenced"
    else:
        assert r.status == 500 and r.json["message"] == "failed to delete contact point"
    bad = {"receiver": "nobody"}
    assert api.put(P + "/policies", bad).status == 400
    r = api.delete(P + "/policies")
    assert r.status == 202 and r.json["receiver"] == "grafana-default-email" and "routes" not in r.json


def test_viewer_cannot_provision(grafana_emulator, api):
    """docs §0 RBAC: provisioning writes need alert.provisioning:write."""
    viewer = Client(grafana_emulator, token=grafana_emulator.create_token("Viewer"))
    r = viewer.post(P + "/alert-rules", _rule())
    assert r.status == 403 and "alert.provisioning:write" in r.json["message"]
    r = requests.get(grafana_emulator.url + P + "/alert-rules")
    assert r.status_code == 401

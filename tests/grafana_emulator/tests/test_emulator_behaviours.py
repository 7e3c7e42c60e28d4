"""Endpoint behaviours of real Grafana that third-party clients depend on (docs/grafana-behaviour.md §14),
checked on every supported profile where they differ."""

import pytest

from emu_client import Client

P = "/api/v1/provisioning"
DS = {"name": "prom", "type": "prometheus", "access": "proxy", "url": "http://prom:9090"}
EMAIL = {"name": "ops", "type": "email", "settings": {"addresses": "o@example.com"}}


def _rule(uid="r1", title="Backlog"):
    return {
        "uid": uid,
        "folderUID": "alerts",
        "ruleGroup": "g",
        "title": title,
        "condition": "B",
        "for": "5m",
        "noDataState": "NoData",
        "execErrState": "Error",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 600, "to": 0},
                "datasourceUid": "__expr__",
                "model": {"refId": "A", "type": "math", "expression": "1"},
            },
            {
                "refId": "B",
                "relativeTimeRange": {"from": 0, "to": 0},
                "datasourceUid": "__expr__",
                "model": {"refId": "B", "type": "threshold", "expression": "A", "conditions": [{"evaluator": {"type": "gt", "params": [0]}}]},
            },
        ],
    }


@pytest.mark.parametrize("version", ["10.4.19", "11.6.3", "12.4.0"])
def test_datasource_id_routes_served_through_12(grafana_emulator_factory, version):
    """§14.1: PUT/DELETE /api/datasources/:id and GET /api/datasources/id/:name are served through 12.x; PUT by id
    follows the uid update rules (version+1, secureJsonData merge), DELETE by id answers only the message."""
    api = Client(grafana_emulator_factory(version=version))
    created = api.post("/api/datasources", dict(DS, secureJsonData={"k": "v"})).json["datasource"]
    assert api.get("/api/datasources/id/prom").json == {"id": created["id"]}
    assert api.get("/api/datasources/%d" % created["id"]).json == created
    r = api.put("/api/datasources/%d" % created["id"], dict(DS, url="http://other:9090", version=1))
    assert r.status == 200 and r.json["message"] == "Datasource updated"
    got = api.get("/api/datasources/uid/" + created["uid"]).json
    assert got["url"] == "http://other:9090" and got["version"] == 2 and got["secureJsonFields"] == {"k": True}
    stale = api.put("/api/datasources/%d" % created["id"], dict(DS, version=1))
    assert stale.status == 409
    assert api.put("/api/datasources/999", DS).status == 404
    r = api.delete("/api/datasources/%d" % created["id"])
    assert r.status == 200 and r.json == {"message": "Data source deleted"}
    assert api.get("/api/datasources").json == []


def test_datasource_id_routes_off_in_13(grafana_emulator_factory):
    """§13.5/§14.1: 13.0 disables the numeric-id routes by default (404); the uid routes still work."""
    api = Client(grafana_emulator_factory(version="13.3.0"))
    created = api.post("/api/datasources", DS).json["datasource"]
    for method, path in (
        ("GET", "/api/datasources/%d" % created["id"]),
        ("GET", "/api/datasources/id/prom"),
        ("PUT", "/api/datasources/%d" % created["id"]),
        ("DELETE", "/api/datasources/%d" % created["id"]),
    ):
        r = api.call(method, path, DS if method == "PUT" else None)
        assert r.status == 404, (method, path)
    assert api.get("/api/datasources/uid/" + created["uid"]).status == 200


def test_datasource_id_routes_toggle_on_13(grafana_emulator_factory):
    """§13.5: feature toggle datasourceLegacyIdApi turns the id routes back on in 13."""
    emu = grafana_emulator_factory(version="13.3.0", extra_args=["cfg:default.feature_toggles.enable=datasourceLegacyIdApi"])
    api = Client(emu)
    created = api.post("/api/datasources", DS).json["datasource"]
    assert api.put("/api/datasources/%d" % created["id"], DS).status == 200


@pytest.mark.parametrize("version", ["10.4.19", "13.3.0"])
def test_user_using_org_switches_current_org(grafana_emulator_factory, version):
    """§14.2: POST /api/user/using/:id -> 200 "Active organization changed"; the switch persists for later
    requests without X-Grafana-Org-Id; not a member -> 401; non-numeric -> 400."""
    api = Client(grafana_emulator_factory(version=version))
    org = api.post("/api/orgs", {"name": "Second"}).json["orgId"]
    r = api.post("/api/user/using/%d" % org)
    assert r.status == 200 and r.json == {"message": "Active organization changed"}
    assert api.get("/api/user").json["orgId"] == org
    api.post("/api/datasources", DS)
    assert [d["orgId"] for d in api.get("/api/datasources").json] == [org]
    assert api.post("/api/user/using/1").status == 200
    assert api.get("/api/datasources").json == []
    r = api.post("/api/user/using/999")
    assert r.status == 401 and r.json["message"] == "Not a valid organization"
    r = api.post("/api/user/using/abc")
    assert r.status == 400 and r.json["message"] == "id is invalid"


def test_json_keys_case_insensitive(grafana_emulator_factory):
    """§0/§14.3: Go's encoding/json matches struct fields case-insensitively and ignores unknown keys; map keys
    (jsonData, settings) stay verbatim."""
    api = Client(grafana_emulator_factory(version="11.6.3"), validate=False)
    r = api.post(
        "/api/datasources", {"Name": "up", "TYPE": "prometheus", "Access": "proxy", "Url": "http://p:1", "JsonData": {"HttpMethod": "POST"}, "bogus": 1}
    )
    assert r.status == 200
    dto = r.json["datasource"]
    assert (dto["name"], dto["type"], dto["url"]) == ("up", "prometheus", "http://p:1")
    assert dto["jsonData"] == {"HttpMethod": "POST"}
    r = api.post(P + "/contact-points", {"Name": "cp", "UID": "cp-uid", "Type": "email", "Settings": {"addresses": "a@b"}, "DisableResolveMessage": True})
    assert r.status == 202 and r.json["uid"] == "cp-uid" and r.json["disableResolveMessage"] is True
    assert api.post("/api/folders", {"Title": "Upper", "UID": "up-f"}).json["uid"] == "up-f"


@pytest.mark.parametrize("version,present", [("9.5.0", True), ("10.4.19", False), ("13.3.0", False)])
def test_provenance_omitted_when_none(grafana_emulator_factory, version, present):
    """§14.4: 10.x+ omits an empty provenance (omitempty) on contact points and rules; 9.x sends ""."""
    api = Client(grafana_emulator_factory(version=version))
    default_cp = api.get(P + "/contact-points", params={"name": "grafana-default-email"}).json[0]
    assert ("provenance" in default_cp) is present
    api.post("/api/folders", {"uid": "alerts", "title": "Alerts"})
    rule = api.post(P + "/alert-rules", _rule(), headers={"X-Disable-Provenance": ""}).json
    assert ("provenance" in rule) is present


@pytest.mark.parametrize(
    "version,status,message_id",
    [("10.4.19", 500, None), ("11.6.3", 500, None), ("12.4.0", 500, None), ("13.3.0", 409, "alerting.notifications.contact-points.uidInUse")],
)
def test_contact_point_uid_taken(grafana_emulator_factory, version, status, message_id):
    """§14.5: POST with a taken uid: 500 on 10.x-12.x, 409 errutil uidInUse in current code (13 chosen)."""
    api = Client(grafana_emulator_factory(version=version))
    assert api.post(P + "/contact-points", dict(EMAIL, uid="dup")).status == 202
    r = api.post(P + "/contact-points", dict(EMAIL, name="other", uid="dup"))
    assert r.status == status and r.json.get("messageId") == message_id
    assert "already exist" in r.json["message"]
    assert [c["name"] for c in api.get(P + "/contact-points").json if c["uid"] == "dup"] == ["ops"]


@pytest.mark.parametrize("version,status", [("10.4.19", 500), ("11.6.3", 500), ("12.4.0", 500), ("13.3.0", 409)])
def test_contact_point_in_use_delete(grafana_emulator_factory, version, status):
    """§14.6: deleting a contact point the policy tree uses: 500 (10.x/11.x), 409 referenced (current)."""
    api = Client(grafana_emulator_factory(version=version))
    uid = api.post(P + "/contact-points", EMAIL).json["uid"]
    api.put(P + "/policies", {"receiver": "ops"})
    r = api.delete(P + "/contact-points/" + uid)
    assert r.status == status
    if status == 409:
        assert r.json["messageId"] == "alerting.notifications.contact-points.referenced"
    else:
        assert r.json["message"] == "failed to delete contact point"
    assert api.get(P + "/contact-points", params={"name": "ops"}).json


def test_contact_point_delete_ignores_provenance_on_11(grafana_emulator_factory):
    """§14.6: the 11.x DELETE handler passes no provenance: an "api" contact point is deleted even with
    X-Disable-Provenance (202)."""
    api = Client(grafana_emulator_factory(version="11.6.3"))
    uid = api.post(P + "/contact-points", EMAIL).json["uid"]
    r = api.delete(P + "/contact-points/" + uid, headers={"X-Disable-Provenance": "true"})
    assert r.status == 202 and r.json == {"message": "contactpoint deleted"}


@pytest.mark.parametrize(
    "version,body",
    [
        ("11.6.3", {"message": "rulegroup not found", "traceID": ""}),
        ("13.3.0", {"message": "Not found", "messageId": "alerting.alert-rule.notFound", "statusCode": 404, "traceID": ""}),
    ],
)
def test_missing_rule_group_404_has_body(grafana_emulator_factory, version, body):
    """§14.8: a missing rule group is a 404 WITH a JSON body (a missing single rule stays an empty 404)."""
    api = Client(grafana_emulator_factory(version=version))
    api.post("/api/folders", {"uid": "alerts", "title": "Alerts"})
    r = api.get(P + "/folder/alerts/rule-groups/nope")
    assert r.status == 404 and r.json == body
    r = api.get(P + "/alert-rules/nope")
    assert r.status == 404 and r.text == ""


@pytest.mark.parametrize("version,status", [("11.6.3", 400), ("12.4.0", 400), ("13.3.0", 409)])
def test_alert_rule_uid_taken(grafana_emulator_factory, version, status):
    """§14.11: POST alert rule with a taken uid: 400 on 11.x, 409 alerting.alert-rule.conflict (current)."""
    api = Client(grafana_emulator_factory(version=version))
    api.post("/api/folders", {"uid": "alerts", "title": "Alerts"})
    assert api.post(P + "/alert-rules", _rule()).status == 201
    r = api.post(P + "/alert-rules", _rule(title="other"))
    assert r.status == status
    if status == 409:
        assert r.json["messageId"] == "alerting.alert-rule.conflict"
    assert [x["title"] for x in api.get(P + "/alert-rules").json] == ["Backlog"]


@pytest.mark.parametrize("version,shape", [("11.5.0", list), ("11.6.3", dict), ("13.3.0", dict)])
def test_dashboard_versions_shape(grafana_emulator_factory, version, shape):
    """§4/§14.7: the versions list is an array up to 11.5 and {"continueToken","versions"} from 11.6."""
    api = Client(grafana_emulator_factory(version=version), validate=shape is list)
    api.post("/api/dashboards/db", {"dashboard": {"uid": "d", "title": "D"}})
    api.post("/api/dashboards/db", {"dashboard": {"uid": "d", "title": "D", "version": 1}, "message": "two"})
    got = api.get("/api/dashboards/uid/d/versions").json
    assert isinstance(got, shape)
    versions = got if shape is list else got["versions"]
    if shape is dict:
        assert got["continueToken"] == ""
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["message"] == "two"

"""The Reporting API emulation (api_reports.py) follows Grafana's documented bodies and status codes, and exists
only on an Enterprise edition profile."""

import pytest

DASH = {"dashboard": {"uid": "rep-dash", "title": "Reported", "panels": []}, "overwrite": True}


@pytest.fixture
def enterprise(grafana_emulator_factory):
    emu = grafana_emulator_factory(env={"GF_EMULATOR_EDITION": "enterprise"})
    assert emu.api("POST", "/api/dashboards/db", DASH)[0] == 200
    return emu


def body(**extra):
    out = {
        "name": "Report 4",
        "recipients": "a@example.test",
        "schedule": {"frequency": "daily", "timeZone": "Europe/Warsaw"},
        "dashboards": [{"dashboard": {"uid": "rep-dash"}, "timeRange": {"from": "now-1d", "to": "now"}}],
        "formats": ["pdf", "csv"],
    }
    out.update(extra)
    return out


def test_oss_answers_not_found(grafana_emulator):
    status, reply, _h = grafana_emulator.api("GET", "/api/reports")
    assert (status, reply) == (404, {"message": "Not found"})


def test_crud_as_documented(enterprise):
    status, created, _h = enterprise.api("POST", "/api/reports", body())
    assert status == 200 and created["message"] == "Report created" and isinstance(created["id"], int)
    status, one, _h = enterprise.api("GET", "/api/reports/%d" % created["id"])
    assert status == 200
    assert one["dashboards"][0]["dashboard"] == {"id": one["dashboards"][0]["dashboard"]["id"], "uid": "rep-dash", "name": "Reported"}
    assert one["schedule"] == {
        "startDate": None,
        "endDate": None,
        "frequency": "daily",
        "intervalFrequency": "",
        "intervalAmount": 0,
        "workdaysOnly": False,
        "dayOfMonth": "",
        "timeZone": "Europe/Warsaw",
    }
    assert one["options"] == {"orientation": "landscape", "layout": "grid"} and one["state"] == "scheduled"
    for key in ("id", "userId", "orgId", "created", "updated"):
        assert key in one
    assert enterprise.api("GET", "/api/reports")[1] == [one]
    status, upd, _h = enterprise.api("PUT", "/api/reports/%d" % created["id"], body(name="Updated Report"))
    assert (status, upd) == (200, {"message": "Report updated"})
    assert enterprise.api("GET", "/api/reports/%d" % created["id"])[1]["name"] == "Updated Report"
    status, sent, _h = enterprise.api("POST", "/api/reports/email", {"id": str(created["id"]), "useEmailsFromReport": True})
    assert (status, sent) == (200, {"message": "Report was sent"})
    status, gone, _h = enterprise.api("DELETE", "/api/reports/%d" % created["id"])
    assert (status, gone) == (200, {"message": "Report config was removed"})
    assert enterprise.api("GET", "/api/reports/%d" % created["id"])[0] == 404


def test_errors(enterprise):
    assert enterprise.api("GET", "/api/reports/abc")[0] == 400
    assert enterprise.api("GET", "/api/reports/999")[0] == 404
    assert enterprise.api("POST", "/api/reports", body(name=""))[0] == 400
    assert enterprise.api("POST", "/api/reports", body(formats=["docx"]))[0] == 400
    assert enterprise.api("POST", "/api/reports", body(schedule={"frequency": "custom"}))[0] == 400
    bad_dash = body(dashboards=[{"dashboard": {"uid": "nope"}}])
    assert enterprise.api("POST", "/api/reports", bad_dash)[0] == 400
    viewer = enterprise.create_token("Viewer")
    status, reply, _h = enterprise.api("GET", "/api/reports", token=viewer)
    assert status == 403 and "reports:read" in reply["message"]


def test_settings(enterprise):
    status, settings, _h = enterprise.api("GET", "/api/reports/settings")
    assert status == 200 and settings["branding"]["emailFooterMode"] == "sent-by"
    branding = {"reportLogoUrl": "", "emailLogoUrl": "", "emailFooterMode": "none", "emailFooterText": "", "emailFooterLink": ""}
    assert enterprise.api("POST", "/api/reports/settings", {"branding": branding})[1] == {"message": "Report settings saved"}
    assert enterprise.api("GET", "/api/reports/settings")[1]["branding"] == branding

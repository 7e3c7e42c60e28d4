"""grafana_report against the emulator's Enterprise Reporting API (tests/grafana_emulator/api_reports.py): create,
no-op re-run, update, check mode (no write), diff, delete, and OSS answering 404 with a clear message."""

import pytest

from grafana_emulator.pytest_plugin import CURRENT_PROFILES

from conftest import REPO

MODULE = "cx_catalyst.kpi_dashboard.grafana_report"


def deploy_dashboard(emu):
    import json

    dash = json.loads((REPO / "files" / "grafana-dashboard.json").read_text())
    dash.pop("__inputs", None)
    dash.pop("id", None)
    status, body, _h = emu.api("POST", "/api/dashboards/db", {"dashboard": dash, "overwrite": True})
    assert status == 200, body
    return dash["uid"]


def args(emu, **extra):
    base = {
        "url": emu.url,
        "url_username": emu.admin_user,
        "url_password": emu.admin_password,
        "name": "CX KPI monthly executive report",
        "dashboards": [{"uid": "cx-catalyst-kpi", "time_from": "now-1M/M", "time_to": "now-1M/M"}],
        "recipients": ["cto@example.test", "cx@example.test"],
        "frequency": "monthly",
        "day_of_month": "1",
        "start_date": "2026-12-01T08:00:00+01:00",
        "time_zone": "Europe/Berlin",
        "formats": ["pdf", "csv"],
    }
    base.update(extra)
    return base


@pytest.fixture(params=CURRENT_PROFILES)
def enterprise(request, grafana_emulator_factory):
    return grafana_emulator_factory(version=request.param, env={"GF_EMULATOR_EDITION": "enterprise"})


# The OSS test runs on both current profiles too.
pytestmark = pytest.mark.grafana_profiles()


def writes(emu):
    return [r for r in emu.request_log() if r["method"] in ("POST", "PUT", "DELETE") and r["path"].startswith("/api/reports")]


def test_create_rerun_update_check_delete(ansible, enterprise):
    emu = enterprise
    deploy_dashboard(emu)
    emu.reset_request_log()
    checked = ansible.module(MODULE, args(emu), check=True, diff=True).results[0]
    assert checked["changed"] is True and checked["diff"]["before"] == {}, checked.get("msg")
    assert writes(emu) == []

    created = ansible.module(MODULE, args(emu)).results[0]
    assert created["changed"] is True and created["id"]
    report = created["report"]
    assert report["recipients"] == "cto@example.test,cx@example.test"
    assert report["schedule"]["frequency"] == "monthly" and report["schedule"]["timeZone"] == "Europe/Berlin"
    assert report["dashboards"][0]["dashboard"]["uid"] == "cx-catalyst-kpi"
    assert report["dashboards"][0]["timeRange"] == {"from": "now-1M/M", "to": "now-1M/M"}
    assert sorted(report["formats"]) == ["csv", "pdf"] and report["state"] == "scheduled"

    emu.reset_request_log()
    again = ansible.module(MODULE, args(emu)).results[0]
    assert again["changed"] is False and writes(emu) == []

    changed = ansible.module(MODULE, args(emu, recipients=["cto@example.test"]), check=True, diff=True).results[0]
    assert changed["changed"] is True and writes(emu) == []
    assert changed["diff"]["after"]["recipients"] == "cto@example.test"
    updated = ansible.module(MODULE, args(emu, recipients=["cto@example.test"])).results[0]
    assert updated["changed"] is True and updated["id"] == created["id"]
    assert updated["report"]["recipients"] == "cto@example.test"
    assert [w["method"] for w in writes(emu)] == ["PUT"]

    gone = ansible.module(
        MODULE, {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password, "name": args(emu)["name"], "state": "absent"}
    ).results[0]
    assert gone["changed"] is True
    status, body, _h = emu.api("GET", "/api/reports")
    assert status == 200 and body == []


def test_unknown_dashboard_is_a_clear_error(ansible, enterprise):
    res = ansible.module(MODULE, args(enterprise)).results[0]
    assert res["failed"]
    assert "create report 'CX KPI monthly executive report'" in res["msg"] and "dashboard not found" in res["msg"]


def test_oss_has_no_reporting_api(ansible, grafana_emulator):
    res = ansible.module(MODULE, args(grafana_emulator)).results[0]
    assert res["failed"]
    assert "no reporting API" in res["msg"] and "kpi_report" in res["msg"]

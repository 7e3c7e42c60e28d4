"""The Grafana modules on the supported profiles (11.6, 12.4, 13.3): /apis where the server offers it (discovered
through GET /apis), the legacy routes elsewhere, with the same results, idempotence, check and diff mode; a
dashboard stored as schema v2 is handled like an out-of-band edit (docs/grafana-behaviour.md §13.2)."""

import copy

import pytest

from test_grafana_modules import DASHBOARD, api_log, run, writes

V2_SPEC = {
    "title": "CX KPIs (new editor)",
    "tags": [],
    "timeSettings": {"from": "now-7d", "to": "now"},
    "elements": {"panel-1": {"kind": "Panel", "spec": {"id": 1, "title": "Tabs only here", "vizConfig": {"kind": "VizConfig", "group": "stat"}}}},
    "layout": {"kind": "TabsLayout", "spec": {"tabs": []}},
}
APIS = {"12.4.0": "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards", "13.3.0": "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"}


def _setup(emu):
    assert emu.api("POST", "/api/folders", {"uid": "cx-kpi", "title": "CX KPIs"})[0] == 200
    assert (
        emu.api("POST", "/api/datasources", {"name": "pg", "uid": "support-postgres", "type": "postgres", "access": "proxy", "url": "localhost:5432"})[0] == 200
    )


@pytest.mark.parametrize("version", ["11.6.3", "12.4.0", "13.3.0"])
def test_dashboard_on_each_profile(ansible, grafana_emulator_factory, version):
    emu = grafana_emulator_factory(version=version)
    _setup(emu)
    args = {"content": DASHBOARD, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres"}
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", args, diff=True)
    assert r["changed"] is True and r["version"] == 1 and r["url"].startswith("/d/cx-kpi-overview/")
    assert r["diff"]["before"] == {} and r["diff"]["after"]["folderUid"] == "cx-kpi"
    saved = [p for m, p in api_log(emu) if m in ("POST", "PUT")]
    assert saved == ([APIS[version]] if version in APIS else ["/api/dashboards/db"])
    stored = emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[1]
    assert stored["meta"]["folderUid"] == "cx-kpi"
    assert stored["dashboard"]["panels"][0]["datasource"]["uid"] == "support-postgres"

    # no-op re-run: discovery + one read, no write
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", args)
    assert r["changed"] is False and r["version"] == 1
    read = APIS[version] + "/cx-kpi-overview" if version in APIS else "/api/dashboards/uid/cx-kpi-overview"
    assert api_log(emu) == [("GET", "/apis"), ("GET", read)]

    # check mode reports a change and writes nothing
    newer = copy.deepcopy(DASHBOARD)
    newer["panels"][0]["title"] = "Cases (all)"
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", dict(args, content=newer), check=True)
    assert r["changed"] is True and writes(emu) == []
    r = run(ansible, emu, "grafana_dashboard", dict(args, content=newer))
    assert r["changed"] is True and r["out_of_band_edit"] is False and r["version"] == 2
    assert emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[1]["dashboard"]["panels"][0]["title"] == "Cases (all)"

    r = run(ansible, emu, "grafana_dashboard", {"uid": "cx-kpi-overview", "state": "absent"})
    assert r["changed"] is True and r["folder_uid"] == "cx-kpi"
    assert emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")[0] == 404
    assert run(ansible, emu, "grafana_dashboard", {"uid": "cx-kpi-overview", "state": "absent"})["changed"] is False


@pytest.mark.parametrize("version,v2", [("12.4.0", "v2beta1"), ("13.3.0", "v2")])
def test_schema_v2_dashboard_is_an_out_of_band_edit(ansible, grafana_emulator_factory, version, v2):
    """A dashboard re-saved in the new editor (schema v2): overwrite=false refuses clearly and writes nothing;
    overwrite=true replaces it with the classic dashboard (never a crash, also where the legacy GET is 406)."""
    emu = grafana_emulator_factory(version=version)
    _setup(emu)
    args = {"content": DASHBOARD, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres"}
    assert run(ansible, emu, "grafana_dashboard", args)["changed"] is True
    current = emu.api("GET", APIS[version] + "/cx-kpi-overview")[1]
    v2_path = "/apis/dashboard.grafana.app/%s/namespaces/default/dashboards/cx-kpi-overview" % v2
    status, body, _h = emu.api("PUT", v2_path, {"metadata": dict(current["metadata"]), "spec": V2_SPEC})
    assert status == 200, body
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", args, expect_failed=True)
    assert "stored in Grafana as schema v2" in r["msg"] and "overwrite: true" in r["msg"]
    assert writes(emu) == []
    r = run(ansible, emu, "grafana_dashboard", dict(args, overwrite=True), diff=True)
    assert r["changed"] is True and r["out_of_band_edit"] is True
    legacy = emu.api("GET", "/api/dashboards/uid/cx-kpi-overview")
    assert legacy[0] == 200 and legacy[1]["dashboard"]["title"] == DASHBOARD["title"]
    assert run(ansible, emu, "grafana_dashboard", args)["changed"] is False

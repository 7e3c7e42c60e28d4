"""The Grafana modules on the supported profiles (11.6, 12.4, 13.3): /apis where the server offers it (discovered
through GET /apis), the legacy routes elsewhere, with the same results, idempotence, check and diff mode; a
dashboard stored as schema v2 is handled like an out-of-band edit (docs/grafana-behaviour.md §13.2)."""

import copy

import pytest

from test_grafana_modules import DASHBOARD, RULE, api_log, run, writes

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


FOLDERS = {"12.4.0": "/apis/folder.grafana.app/v1beta1/namespaces/default/folders", "13.3.0": "/apis/folder.grafana.app/v1/namespaces/default/folders"}
PROFILES = ["10.4.19", "11.6.3", "12.4.0", "13.3.0"]


@pytest.mark.parametrize("version", PROFILES)
def test_folder_on_each_profile(ansible, grafana_emulator_factory, version):
    """grafana_folder: folder.grafana.app where GET /apis offers it (12: v1beta1, 13: v1; docs §13.3), the legacy
    routes on 10.4/11.6; the same results, a no-op re-run of two GETs and no write, check and diff mode."""
    emu = grafana_emulator_factory(version=version)
    base = FOLDERS.get(version)
    nested = not version.startswith("10.")  # nested folders are on by default from 11 (docs §3)

    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"}, diff=True)
    assert r["changed"] is True and r["diff"] == {"before": {}, "after": {"uid": "cx-kpi", "title": "CX KPIs", "parent_uid": ""}}
    assert writes(emu) == [("POST", base or "/api/folders")]
    assert {"uid", "title", "id", "url", "version"} <= set(r["folder"]) and r["folder"]["url"] == "/dashboards/f/cx-kpi/cx-kpis"
    assert emu.api("GET", "/api/folders/cx-kpi")[1]["title"] == "CX KPIs"

    read = (base or "/api/folders") + "/cx-kpi"
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX KPIs"})
    assert r["changed"] is False and r["folder"]["uid"] == "cx-kpi" and r["folder"]["title"] == "CX KPIs"
    assert api_log(emu) == [("GET", "/apis"), ("GET", read)]

    # check mode: a rename reports the change, writes nothing
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX-Catalyst KPIs"}, check=True, diff=True)
    assert r["changed"] is True and writes(emu) == [] and r["diff"]["before"]["title"] == "CX KPIs"
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "title": "CX-Catalyst KPIs"})
    assert r["changed"] is True and r["folder"]["title"] == "CX-Catalyst KPIs"
    assert writes(emu) == [("PUT", read)]
    assert emu.api("GET", "/api/folders/cx-kpi")[1]["title"] == "CX-Catalyst KPIs"

    if nested:
        # a child, then a rename and a move to the root in one run: one PUT on /apis, move + PUT on the legacy routes
        # (the move first: where folders do not nest it is refused before the title changes)
        run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "title": "Alerts", "parent_uid": "cx-kpi"})
        assert emu.api("GET", "/api/folders/cx-kpi-alerts")[1]["parentUid"] == "cx-kpi"
        child = (base or "/api/folders") + "/cx-kpi-alerts"
        emu.reset_request_log()
        r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "title": "Alerts", "parent_uid": "cx-kpi"})
        assert r["changed"] is False and r["folder"]["parentUid"] == "cx-kpi"
        assert api_log(emu) == [("GET", "/apis"), ("GET", child)]
        emu.reset_request_log()
        r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "title": "Alert rules", "parent_uid": ""}, diff=True)
        assert r["changed"] is True and r["diff"]["before"]["parent_uid"] == "cx-kpi" and r["diff"]["after"]["parent_uid"] == ""
        assert writes(emu) == ([("PUT", child)] if base else [("POST", child + "/move"), ("PUT", child)])
        moved = emu.api("GET", "/api/folders/cx-kpi-alerts")[1]
        assert moved["title"] == "Alert rules" and not moved.get("parentUid")
        assert run(ansible, emu, "grafana_folder", {"uid": "cx-kpi-alerts", "title": "Alert rules"})["changed"] is False

    r = run(ansible, emu, "grafana_folder", {"uid": "missing-parent-child", "title": "X", "parent_uid": "nope"}, expect_failed=True)
    assert "parent folder 'nope' not found" in r["msg"]

    emu.reset_request_log()
    r = run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "state": "absent"}, diff=True)
    assert r["changed"] is True and r["diff"]["after"] == {}
    assert writes(emu) == [("DELETE", read)]
    assert emu.api("GET", "/api/folders/cx-kpi")[0] == 404
    emu.reset_request_log()
    assert run(ansible, emu, "grafana_folder", {"uid": "cx-kpi", "state": "absent"})["changed"] is False
    assert api_log(emu) == [("GET", "/apis"), ("GET", read)]


@pytest.mark.parametrize("version", PROFILES)
def test_dashboard_export_on_each_profile(ansible, grafana_emulator_factory, tmp_path, version):
    """grafana_dashboard_export reads through dashboard.grafana.app where GET /apis offers it (docs §13.2), the
    legacy route elsewhere: the exported file deploys again as a no-op and a re-export is two GETs, no write."""
    emu = grafana_emulator_factory(version=version)
    _setup(emu)
    args = {"content": DASHBOARD, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres"}
    assert run(ansible, emu, "grafana_dashboard", args)["changed"] is True
    dest = tmp_path / "exported.json"
    export_args = {"uid": "cx-kpi-overview", "dest": str(dest), "datasource_uid": "support-postgres"}
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard_export", export_args, diff=True)
    assert r["changed"] is True and r["version"] == 1 and r["inputs"] == ["DS_SUPPORT_DB"] and r["panels"] == ["Cases"]
    read = APIS[version] + "/cx-kpi-overview" if version in APIS else "/api/dashboards/uid/cx-kpi-overview"
    assert api_log(emu) == [("GET", "/apis"), ("GET", read), ("GET", "/api/health")]
    exported = dest.read_text()
    assert '"uid": "${DS_SUPPORT_DB}"' in exported and '"version": "%s"' % version in exported
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard_export", export_args)
    assert r["changed"] is False and dest.read_text() == exported
    assert api_log(emu) == [("GET", "/apis"), ("GET", read)]
    # the exported file deployed again changes nothing
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", {"path": str(dest), "folder_uid": "cx-kpi", "datasource_uid": "support-postgres"})
    assert r["changed"] is False and writes(emu) == []


# the folder check of grafana_dashboard and grafana_alert_rule_group goes the way grafana_folder reads folders
FOLDER_READ = {"11.6.3": "/api/folders", "12.4.0": FOLDERS["12.4.0"], "13.3.0": FOLDERS["13.3.0"]}


@pytest.mark.parametrize("version", ["11.6.3", "12.4.0", "13.3.0"])
def test_dashboard_folder_check_on_each_profile(ansible, grafana_emulator_factory, version):
    """grafana_dashboard checks its folder through folder.grafana.app where GET /apis offers it, with the run's
    one discovery; the legacy /api/folders route on 11.6; a missing folder is the same error (and a check-mode
    warning) on every profile."""
    emu = grafana_emulator_factory(version=version)
    _setup(emu)
    args = {"content": DASHBOARD, "folder_uid": "cx-kpi", "datasource_uid": "support-postgres"}
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", args)
    assert r["changed"] is True
    dash = APIS.get(version)
    assert api_log(emu) == [
        ("GET", "/apis"),
        ("GET", dash + "/cx-kpi-overview" if dash else "/api/dashboards/uid/cx-kpi-overview"),
        ("GET", FOLDER_READ[version] + "/cx-kpi"),
        ("GET", "/api/datasources/uid/support-postgres"),
        ("POST", dash or "/api/dashboards/db"),
    ]

    moved = dict(args, folder_uid="no-such-folder")
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", moved, expect_failed=True)
    assert "cannot deploy dashboard" in r["msg"] and "folder 'no-such-folder' not found; create it first (grafana_folder)" in r["msg"]
    assert ("GET", FOLDER_READ[version] + "/no-such-folder") in api_log(emu) and writes(emu) == []
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_dashboard", moved, check=True)
    assert r["changed"] is True and writes(emu) == []
    assert "check mode: folder 'no-such-folder' does not exist (yet)" in str(r.get("warnings"))
    assert [p for m, p in api_log(emu)].count("/apis") == 1


@pytest.mark.parametrize("version", ["11.6.3", "12.4.0", "13.3.0"])
def test_alert_rule_group_folder_check_on_each_profile(ansible, grafana_emulator_factory, version):
    """grafana_alert_rule_group checks the folder of a new group the same way; discovery only on that path, never
    on a no-op re-run (one GET)."""
    emu = grafana_emulator_factory(version=version)
    _setup(emu)
    group = "/api/v1/provisioning/folder/cx-kpi/rule-groups/kpi-alerts"
    args = {"folder_uid": "cx-kpi", "name": "kpi-alerts", "interval": "5m", "rules": [RULE]}
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_alert_rule_group", args)
    assert r["changed"] is True
    assert api_log(emu) == [("GET", group), ("GET", "/apis"), ("GET", FOLDER_READ[version] + "/cx-kpi"), ("PUT", group)]
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_alert_rule_group", args)
    assert r["changed"] is False and api_log(emu) == [("GET", group)]

    other = dict(args, folder_uid="nope")
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_alert_rule_group", other, expect_failed=True)
    assert "cannot create alert rule group 'kpi-alerts' in folder 'nope': folder 'nope' not found" in r["msg"]
    assert ("GET", FOLDER_READ[version] + "/nope") in api_log(emu) and writes(emu) == []
    emu.reset_request_log()
    r = run(ansible, emu, "grafana_alert_rule_group", other, check=True)
    assert r["changed"] is True and writes(emu) == []
    assert "check mode: folder 'nope' does not exist (yet)" in str(r.get("warnings"))

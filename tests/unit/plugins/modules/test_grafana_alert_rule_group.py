"""grafana_alert_rule_group: exact HTTP calls, normalised compare, whole-group PUT, validation."""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_alert_rule_group  # noqa: E402

PATH = "/api/v1/provisioning/folder/cx-kpi/rule-groups/kpi-alerts"
# the folder check discovers /apis (only when the group is to be created): 404 before Grafana 12
APIS_404 = ("GET", "/apis", 404, "404 page not found")
APIS_13 = ("GET", "/apis", 200, {"kind": "APIGroupList", "groups": [{"name": "folder.grafana.app", "versions": [{"version": "v1"}]}]})
FOLDER13 = "/apis/folder.grafana.app/v1/namespaces/default/folders"
RULE = {
    "uid": "cx-budget",
    "title": "Budget above 80%",
    "condition": "C",
    "for": "5m",
    "labels": {"team": "support"},
    "annotations": {"summary": "budget"},
    "data": [
        {
            "refId": "A",
            "datasourceUid": "support-postgres",
            "relativeTimeRange": {"from": 600, "to": 0},
            "model": {
                "refId": "A",
                "format": "table",
                "rawQuery": True,
                "rawSql": "SELECT now() AS time, max(token_utilization_pct) AS value FROM v_budget_utilization",
            },
        },
        {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "reduce", "expression": "A", "reducer": "last"}},
        {
            "refId": "C",
            "datasourceUid": "__expr__",
            "model": {"type": "threshold", "expression": "B", "conditions": [{"evaluator": {"type": "gt", "params": [80]}}]},
        },
    ],
}
ARGS = {"folder_uid": "cx-kpi", "name": "kpi-alerts", "interval": "5m", "rules": [RULE]}


def stored_group():
    """As Grafana returns it: server fields added, durations re-formatted, model fields added."""
    rule = copy.deepcopy(RULE)
    rule.update(
        id=4,
        orgID=1,
        folderUID="cx-kpi",
        ruleGroup="kpi-alerts",
        updated="2026-01-01T00:00:00Z",
        provenance="",
        noDataState="NoData",
        execErrState="Error",
        isPaused=False,
        **{"for": "300s"},
    )
    for q in rule["data"]:
        q.setdefault("relativeTimeRange", {"from": 0, "to": 0})
        q["queryType"] = ""
        q["model"].update(intervalMs=1000, maxDataPoints=43200, refId=q["refId"])
    return {"title": "kpi-alerts", "folderUid": "cx-kpi", "interval": 300, "rules": [rule]}


def test_create_checks_folder_and_puts_group():
    result, fake = run_module(
        grafana_alert_rule_group,
        ARGS,
        [
            ("GET", PATH, 404, None),
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 200, {"uid": "cx-kpi"}),
            ("PUT", PATH, 200, stored_group()),
        ],
    )
    assert result["changed"] is True and result["rule_uids"] == ["cx-budget"]
    put = fake.calls[3]
    assert put.headers["X-Disable-Provenance"] == "true"
    assert put.json["interval"] == 300 and put.json["title"] == "kpi-alerts"
    rule = put.json["rules"][0]
    assert rule["folderUID"] == "cx-kpi" and rule["ruleGroup"] == "kpi-alerts" and rule["orgID"] == 1
    assert rule["noDataState"] == "NoData" and rule["execErrState"] == "Error"


def test_rerun_normalised_equal_one_get():
    result, fake = run_module(grafana_alert_rule_group, ARGS, [("GET", PATH, 200, stored_group())])
    assert result["changed"] is False and len(fake.calls) == 1


def test_threshold_change_puts_whole_group_keeping_uid():
    rule = copy.deepcopy(RULE)
    del rule["uid"]
    rule["data"][2]["model"]["conditions"][0]["evaluator"]["params"] = [90]
    result, fake = run_module(
        grafana_alert_rule_group,
        dict(ARGS, rules=[rule]),
        [
            ("GET", PATH, 200, stored_group()),
            ("PUT", PATH, 200, stored_group()),
        ],
        diff=True,
    )
    assert result["changed"] is True
    assert fake.calls[1].json["rules"][0]["uid"] == "cx-budget"  # matched by title
    assert result["diff"]["before"]["rules"][0]["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [80]


def test_rule_removed_from_list_is_a_change():
    extra = stored_group()
    other = copy.deepcopy(extra["rules"][0])
    other.update(uid="old", title="Old rule")
    extra["rules"].append(other)
    result, fake = run_module(
        grafana_alert_rule_group,
        ARGS,
        [
            ("GET", PATH, 200, extra),
            ("PUT", PATH, 200, stored_group()),
        ],
        diff=True,
    )
    assert result["changed"] is True and result["diff"]["after"]["removed_rules"] == ["Old rule"]
    assert len(fake.calls[1].json["rules"]) == 1


def test_check_mode_no_write():
    result, fake = run_module(
        grafana_alert_rule_group,
        dict(ARGS, interval="1m"),
        [
            ("GET", PATH, 200, stored_group()),
        ],
        check=True,
    )
    assert result["changed"] is True and fake.writes == []


def test_bad_condition_fails_before_write():
    rule = copy.deepcopy(RULE)
    rule["condition"] = "Z"
    result, fake = run_module(grafana_alert_rule_group, dict(ARGS, rules=[rule]), [("GET", PATH, 404, None)])
    assert result["failed"] is True and "condition 'Z' is not one of the refIds" in result["msg"]
    assert fake.writes == []


def test_unknown_folder_is_clear():
    result, fake = run_module(
        grafana_alert_rule_group,
        ARGS,
        [
            ("GET", PATH, 404, None),
            APIS_404,
            ("GET", "/api/folders/cx-kpi", 404, {"message": "folder not found"}),
        ],
    )
    assert result["failed"] is True and "folder 'cx-kpi' not found; create it first (grafana_folder)" in result["msg"] and fake.writes == []


def test_folder_check_through_apis_where_offered():
    """Grafana 12+: the folder is read through folder.grafana.app (discovered once, only on the change path)."""
    result, fake = run_module(
        grafana_alert_rule_group,
        ARGS,
        [
            ("GET", PATH, 404, None),
            APIS_13,
            ("GET", FOLDER13 + "/cx-kpi", 200, {"kind": "Folder", "metadata": {"name": "cx-kpi"}, "spec": {"title": "KPIs"}}),
            ("PUT", PATH, 200, stored_group()),
        ],
    )
    assert result["changed"] is True and fake.keys()[3] == ("PUT", PATH)


def test_missing_folder_through_apis_fails_or_warns_in_check_mode():
    script = [("GET", PATH, 404, None), APIS_13, ("GET", FOLDER13 + "/cx-kpi", 404, {"kind": "Status", "code": 404})]
    result, fake = run_module(grafana_alert_rule_group, ARGS, list(script))
    assert result["failed"] is True and "cannot create alert rule group 'kpi-alerts' in folder 'cx-kpi': folder 'cx-kpi' not found" in result["msg"]
    assert fake.writes == []
    result, fake = run_module(grafana_alert_rule_group, ARGS, list(script), check=True)
    assert result.get("failed") is not True and result["changed"] is True and fake.writes == []
    assert "check mode: folder 'cx-kpi' does not exist (yet)" in json.dumps(result["warnings"])


def test_delete_on_grafana_11():
    result, fake = run_module(
        grafana_alert_rule_group,
        {"folder_uid": "cx-kpi", "name": "kpi-alerts", "state": "absent"},
        [
            ("GET", PATH, 200, stored_group()),
            ("GET", "/api/health", 200, {"database": "ok", "version": "11.3.0", "commit": "x"}),
            ("DELETE", PATH, 204, None),
        ],
    )
    assert result["changed"] is True


def test_delete_on_grafana_10_deletes_rules():
    absent = {"folder_uid": "cx-kpi", "name": "kpi-alerts", "state": "absent"}
    dummy, fake = run_module(
        grafana_alert_rule_group,
        absent,
        [
            ("GET", PATH, 200, stored_group()),
            ("GET", "/api/health", 200, {"database": "ok", "version": "10.4.1", "commit": "x"}),
            ("DELETE", "/api/v1/provisioning/alert-rules/cx-budget", 204, None),
        ],
    )
    assert fake.keys()[-1] == ("DELETE", "/api/v1/provisioning/alert-rules/cx-budget")


def test_api_error_message():
    result, dummy = run_module(
        grafana_alert_rule_group,
        dict(ARGS, interval="1m"),
        [
            ("GET", PATH, 200, stored_group()),
            ("PUT", PATH, 400, {"message": "invalid alert rule: datasource support-postgres not found"}),
        ],
    )
    assert result["failed"] is True
    assert "write alert rule group 'kpi-alerts' in folder 'cx-kpi': HTTP 400" in result["msg"]
    assert "datasource support-postgres not found" in result["msg"]

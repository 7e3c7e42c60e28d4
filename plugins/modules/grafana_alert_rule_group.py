#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_alert_rule_group
short_description: Manage a Grafana-managed alert rule group (all its rules at once)
version_added: 0.1.0
description:
  - Puts a whole alert rule group (folder uid + group name, evaluation interval, rules) in place with one
    C(PUT /api/v1/provisioning/folder/<folder_uid>/rule-groups/<name>). Grafana replaces the whole group,
    so rules not listed in O(rules) are deleted.
  - Rules are given as Grafana's own rule objects (C(title), C(condition), C(data) with SQL queries and
    C(reduce)/C(threshold) expressions, C(for), C(labels), C(annotations), ...). A rule without C(uid) is matched
    to an existing rule of the group by title, so it keeps its uid and history.
  - Rules are compared after normalisation (server fields such as C(id), C(updated), C(provenance) removed,
    defaults filled in, durations compared as seconds, fields Grafana adds to a query C(model) ignored), so a
    re-run sends one GET and reports C(changed=false).
  - Nothing is written when a rule is malformed (missing title, condition not among the query refIds, ...) or the
    folder does not exist.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  folder_uid:
    description:
      - Uid of the folder the group belongs to. It must exist.
    type: str
    required: true
  name:
    description:
      - Name of the rule group (unique within the folder).
    type: str
    required: true
  interval:
    description:
      - Evaluation interval of the group, as a duration (V(1m), V(5m), V(1h)) or seconds.
    type: raw
    default: 1m
  rules:
    description:
      - The rules of the group, each a Grafana provisioning rule object (C(title), C(condition), C(data) required).
      - C(folderUID), C(ruleGroup) and C(orgID) are filled in; C(noDataState) defaults to V(NoData), C(execErrState)
        to V(Error), C(for) to V(0s).
    type: list
    elements: dict
    default: []
  disable_provenance:
    description:
      - Send C(X-Disable-Provenance) so the rules stay editable in Grafana's UI.
    type: bool
    default: true
  state:
    description:
      - V(present) puts the group in place; V(absent) deletes the group and all its rules.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Budget warning rule
  cx_catalyst.kpi_dashboard.grafana_alert_rule_group:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    folder_uid: cx-kpi
    name: kpi-alerts
    interval: 5m
    rules:
      - uid: cx-budget-warning
        title: Token budget above 80 %
        condition: C
        for: 5m
        labels: {team: support}
        annotations: {summary: "Token budget utilisation is above 80 %"}
        data:
          - refId: A
            datasourceUid: support-postgres
            relativeTimeRange: {from: 600, to: 0}
            model:
              refId: A
              format: table
              rawQuery: true
              editorMode: code
              rawSql: SELECT now() AS time, max(token_utilization_pct) AS value FROM v_budget_utilization
          - refId: B
            datasourceUid: __expr__
            model: {refId: B, type: reduce, expression: A, reducer: last}
          - refId: C
            datasourceUid: __expr__
            model:
              refId: C
              type: threshold
              expression: B
              conditions: [{evaluator: {type: gt, params: [80]}}]
"""

RETURN = r"""
group:
  description: The rule group after the run (as sent or as read); empty when absent.
  returned: always
  type: dict
rule_uids:
  description: Uids of the rules in the group, in order (empty for new rules in check mode).
  returned: always
  type: list
  elements: str
diff:
  description: Normalised group before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import check_uid, grafana_module, path_quote, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import deep_copy, duration_seconds
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_folders import require_folder

CORE_DEFAULTS = (("noDataState", "NoData"), ("execErrState", "Error"), ("annotations", {}), ("labels", {}), ("isPaused", False))
SERVER_FIELDS = ("id", "uid", "orgID", "folderUID", "ruleGroup", "updated", "provenance")
MODEL_DEFAULTS = (("intervalMs", 1000), ("maxDataPoints", 43200))


class RuleError(Exception):
    pass


def group_path(folder_uid, name):
    return "/api/v1/provisioning/folder/%s/rule-groups/%s" % (path_quote(folder_uid), path_quote(name))


def validate_rules(rules):
    titles = set()
    for index, rule in enumerate(rules):
        where = "rules[%d]" % index
        title = rule.get("title")
        if not isinstance(title, str) or not title.strip():
            raise RuleError("%s has no title" % where)
        where = "rule '%s'" % title
        if title in titles:
            raise RuleError("%s appears twice; titles must be unique within a group" % where)
        titles.add(title)
        data = rule.get("data")
        if not isinstance(data, list) or not data:
            raise RuleError("%s has no data (list of queries and expressions)" % where)
        refs = []
        for qi, query in enumerate(data):
            if not isinstance(query, dict) or not query.get("refId"):
                raise RuleError("%s: data[%d] has no refId" % (where, qi))
            if not query.get("datasourceUid"):
                raise RuleError("%s: data[%d] (%s) has no datasourceUid" % (where, qi, query["refId"]))
            if not isinstance(query.get("model", {}), dict):
                raise RuleError("%s: data[%d] model must be a dict" % (where, qi))
            refs.append(query["refId"])
        if rule.get("condition") not in refs:
            raise RuleError("%s: condition %r is not one of the refIds %s" % (where, rule.get("condition"), refs))
        for key in ("for", "keep_firing_for"):
            if key in rule:
                try:
                    duration_seconds(rule[key])
                except ValueError:
                    raise RuleError("%s: '%s' is not a duration: %r" % (where, key, rule[key]))


def norm_query(query):
    model = dict(query.get("model") or {})
    model.setdefault("refId", query.get("refId"))
    rtr = query.get("relativeTimeRange") or {}
    return {
        "refId": query.get("refId"),
        "queryType": query.get("queryType") or "",
        "relativeTimeRange": {"from": int(rtr.get("from") or 0), "to": int(rtr.get("to") or 0)},
        "datasourceUid": query.get("datasourceUid"),
        "model": model,
    }


def norm_rule(rule):
    out = dict((k, deep_copy(v)) for k, v in rule.items() if k not in SERVER_FIELDS)
    for key, default in CORE_DEFAULTS:
        if out.get(key) in (None, ""):
            out[key] = deep_copy(default)
    out["for"] = duration_seconds(out.get("for") or 0)
    if "keep_firing_for" in out:
        out["keep_firing_for"] = duration_seconds(out["keep_firing_for"] or 0)
    out["data"] = [norm_query(q) for q in out.get("data") or []]
    return out


def project_current(current, desired):
    """Current normalised rule seen through the desired one: keys Grafana adds are ignored."""
    out = dict((k, current.get(k)) for k in desired)
    if len(out.get("data") or []) == len(desired["data"]):
        data = []
        for cur_q, want_q in zip(out["data"], desired["data"]):
            cur_q = dict(cur_q)
            model = cur_q.get("model") or {}
            cur_q["model"] = dict((k, model.get(k)) for k in want_q["model"])
            data.append(cur_q)
        out["data"] = data
    return out


def match_uids(rules, current_rules):
    by_uid = dict((r.get("uid"), r) for r in current_rules if r.get("uid"))
    by_title = dict((r.get("title"), r) for r in current_rules)
    pairs = []
    for rule in rules:
        cur = by_uid.get(rule.get("uid")) if rule.get("uid") else by_title.get(rule.get("title"))
        pairs.append((rule, cur))
    return pairs


def run(module, client):
    p = module.params
    folder_uid, name = p["folder_uid"], p["name"]
    obj = "alert rule group '%s' in folder '%s'" % (name, folder_uid)
    headers = {"X-Disable-Provenance": "true"} if p["disable_provenance"] else None
    path = group_path(folder_uid, name)
    current = client.get(path, "read", obj, missing_ok=True)
    if isinstance(current, dict) and not current.get("rules") and current.get("title") is None:
        current = None
    current_rules = (current or {}).get("rules") or []
    result = dict(changed=False, group=current or {}, rule_uids=[r.get("uid") for r in current_rules])

    if p["state"] == "absent":
        if current is not None:
            result.update(changed=True, group={}, rule_uids=[])
            if not module.check_mode:
                delete_group(client, path, obj, current_rules, headers)
        if module._diff:
            result["diff"] = {"before": current or {}, "after": {}}
        return result

    try:
        interval = int(duration_seconds(p["interval"]))
    except ValueError:
        raise RuleError("interval %r is not a duration (use e.g. 1m, 5m or seconds)" % (p["interval"],))
    if interval <= 0 or interval % 10:
        raise RuleError("interval must be a positive multiple of 10 seconds, got %ss" % interval)
    validate_rules(p["rules"])

    pairs = match_uids(p["rules"], current_rules)
    want_norm = [norm_rule(rule) for rule, dummy in pairs]
    have_norm = [project_current(norm_rule(cur), want) if cur else None for (dummy, cur), want in zip(pairs, want_norm)]
    matched = set(id(cur) for dummy, cur in pairs if cur)
    removed = [r.get("title") for r in current_rules if id(r) not in matched]
    changed = current is None or int(duration_seconds(current.get("interval") or 0)) != interval or removed or any(h != w for h, w in zip(have_norm, want_norm))
    result["changed"] = bool(changed)

    rules_body = []
    for rule, cur in pairs:
        body = deep_copy(rule)
        body.update(folderUID=folder_uid, ruleGroup=name, orgID=p["org_id"] or 1)
        for key, default in CORE_DEFAULTS[:2]:
            body.setdefault(key, default)
        body.setdefault("for", "0s")
        if not body.get("uid") and cur:
            body["uid"] = cur.get("uid")
        rules_body.append(body)
    group_body = {"title": name, "folderUid": folder_uid, "interval": interval, "rules": rules_body}

    if changed:
        if current is None:
            require_folder(
                client,
                folder_uid,
                "Grafana: cannot create %s: folder '%s' not found; create it first (grafana_folder)" % (obj, folder_uid),
            )
        if not module.check_mode:
            reply = client.request("PUT", path, "write", obj, json_body=group_body, headers=headers, expected=(200, 202)) or {}
            group_body = reply if isinstance(reply, dict) and reply.get("rules") else group_body
        result["group"] = group_body
        result["rule_uids"] = [r.get("uid") for r in group_body["rules"]]
    if module._diff:
        before = (
            {"interval": int(duration_seconds((current or {}).get("interval") or 0)), "rules": [norm_rule(r) for r in current_rules]}
            if current is not None
            else {}
        )
        result["diff"] = {"before": before, "after": {"interval": interval, "rules": want_norm, "removed_rules": removed}}
    return result


def delete_group(client, path, obj, rules, headers):
    if client.version_at_least(11):
        client.request("DELETE", path, "delete", obj, headers=headers, expected=(200, 202, 204), missing_ok=True)
        return
    # Grafana < 11 has no group DELETE: delete its rules one by one.
    for rule in rules:
        client.request(
            "DELETE",
            "/api/v1/provisioning/alert-rules/%s" % path_quote(rule["uid"]),
            "delete",
            "alert rule '%s'" % rule.get("title"),
            headers=headers,
            expected=(200, 202, 204),
            missing_ok=True,
        )


def main():
    options = dict(
        folder_uid=dict(type="str", required=True),
        name=dict(type="str", required=True),
        interval=dict(type="raw", default="1m"),
        rules=dict(type="list", elements="dict", default=[]),
        disable_provenance=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(options)
    check_uid(module, "folder_uid")
    run_module(module, run, {RuleError: lambda exc: "Invalid alert rule group '%s': %s" % (module.params["name"], exc)})


if __name__ == "__main__":
    main()

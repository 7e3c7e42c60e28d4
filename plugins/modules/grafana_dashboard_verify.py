#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_dashboard_verify
short_description: Run every panel query of a deployed Grafana dashboard and report rows per panel
version_added: 0.1.0
description:
  - The "Dashboard shows no data" troubleshooting, automated. Reads the dashboard deployed in Grafana (by O(uid)),
    or takes O(content)/O(path), and runs each panel's queries through Grafana's C(/api/ds/query) for the time range
    O(time_from) .. O(time_to), exactly as Grafana would, then returns a per-panel table with the number of rows
    and a status V(ok), V(no_data) or V(error) with Grafana's message.
  - Panels inside collapsed rows are included. The data source of each target is resolved from the target,
    then the panel, then O(datasource_uid), then the organisation's default data source; references to dashboard
    variables of type C(datasource) (C(${DS}), C($datasource)) are resolved to the variable's current value or the
    first data source of the variable's plugin type. Other dashboard variables in SQL (C($var), C(${var}), C([[var]]))
    are replaced by O(variables) or the variable's current value, as the Grafana frontend does.
  - Expression targets (C(__expr__)) and panels that reuse another panel's results (C(-- Dashboard --)) are listed
    as V(skipped).
  - Read-only. It never changes anything, reports C(changed=false) and also runs in check mode.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
attributes:
  check_mode:
    support: full
    details: Queries are read-only, so they also run in check mode.
  diff_mode:
    support: full
    details: Nothing changes, so there is never a diff.
options:
  uid:
    description:
      - Uid of the deployed dashboard to verify. One of O(uid), O(path), O(content) is required.
    type: str
  path:
    description:
      - Dashboard JSON file to verify instead of a deployed one (placeholders mapped with O(datasource_uid)).
    type: path
  content:
    description:
      - Dashboard (dict or JSON string) to verify instead of a deployed one.
    type: raw
  time_from:
    description:
      - Start of the time range, relative (V(now-7d)) or epoch milliseconds.
    type: str
    default: now-7d
    aliases: [from]
  time_to:
    description:
      - End of the time range.
    type: str
    default: now
    aliases: [to]
  datasource_uid:
    description:
      - Data source for targets and panels that name none, and for C(${DS_...}) placeholders in O(content)/O(path).
    type: str
  variables:
    description:
      - Values of dashboard variables (name without C($)), overriding the saved current values.
    type: dict
  fail_on:
    description:
      - V(error) fails when any panel query fails; V(no_data) also fails when a panel returns no rows;
        V(never) only reports.
    type: str
    choices: [error, no_data, never]
    default: error
  max_data_points:
    description:
      - C(maxDataPoints) sent with each query.
    type: int
    default: 1000
"""

EXAMPLES = r"""
- name: Every panel of the KPI dashboard returns data for the last 7 days
  cx_catalyst.kpi_dashboard.grafana_dashboard_verify:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: cx-kpi-overview
    fail_on: no_data
  register: __verify

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ __verify.panels | map(attribute='status') | list }}"
"""

RETURN = r"""
panels:
  description: One entry per panel with queries, in dashboard order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Panel id.
      type: int
    title:
      description: Panel title.
      type: str
    type:
      description: Panel type.
      type: str
    row:
      description: Title of the row the panel is in (null at top level).
      type: str
    rows:
      description: Rows returned by all the panel's queries together.
      type: int
    status:
      description: V(ok), V(no_data), V(error) or V(skipped).
      type: str
    message:
      description: Grafana's error message(s) per refId, or why the panel was skipped.
      type: str
    datasource_uids:
      description: Data sources the queries ran against.
      type: list
      elements: str
summary:
  description: Number of panels per status.
  returned: always
  type: dict
  sample: {"ok": 11, "no_data": 1, "error": 0, "skipped": 1}
table:
  description: The table as text lines (C(status rows id title)) for a quick look.
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, check_uid, grafana_module, path_quote, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import deep_copy
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_dashboard import (
    DashboardInputError,
    apply_mapping,
    build_mapping,
    load_content,
)

SPECIAL_SKIP = {
    "-- Dashboard --": "uses the results of another panel",
    "-- Grafana --": "built-in Grafana source",
    "grafana": "built-in Grafana source",
    "__expr__": "server-side expression",
}
MIXED = "-- Mixed --"
VAR_RE = re.compile(r"^\$\{?([A-Za-z0-9_]+)(?::[a-z]+)?\}?$")
SQL_VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)(?::([a-z]+))?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z][A-Za-z0-9_]*)")


def walk_panels(panels, row=None):
    """Panels in order, including the ones inside collapsed rows (stored under the row's own 'panels')."""
    for panel in panels or []:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            yield from walk_panels(panel.get("panels"), panel.get("title"))
            continue
        yield panel, row


class Resolver(object):
    def __init__(self, client, dashboard, default_uid, overrides):
        self.client = client
        self.default_uid = default_uid
        self.overrides = dict(overrides or {})
        self.variables = dict((v.get("name"), v) for v in (dashboard.get("templating") or {}).get("list") or [] if isinstance(v, dict) and v.get("name"))
        self._datasources = None

    def datasources(self):
        if self._datasources is None:
            self._datasources = self.client.get("/api/datasources", "list", "datasources", want=list) or []
        return self._datasources

    def by_uid_or_name(self, ref):
        for ds in self.datasources():
            if ref in (ds.get("uid"), ds.get("name")):
                return ds
        return None

    def default(self):
        if self.default_uid:
            return {"uid": self.default_uid}
        for ds in self.datasources():
            if ds.get("isDefault"):
                return {"uid": ds["uid"], "type": ds.get("type")}
        raise LookupError("no data source given and the organisation has no default data source")

    def variable_value(self, name):
        if name in self.overrides:
            value = self.overrides[name]
        else:
            var = self.variables.get(name)
            if var is None:
                return None
            value = (var.get("current") or {}).get("value")
            if var.get("type") == "datasource" and value in (None, "", "default", "$__all", ["$__all"]):
                plugin = var.get("query")
                candidates = [
                    ds
                    for ds in self.datasources()
                    if ds.get("type") == plugin
                    or (plugin in ("postgres", "grafana-postgresql-datasource") and ds.get("type") in ("postgres", "grafana-postgresql-datasource"))
                ]
                candidates.sort(key=lambda ds: not ds.get("isDefault"))
                if not candidates:
                    raise LookupError("variable $%s: no data source of type %s" % (name, plugin))
                return candidates[0]["uid"]
        if isinstance(value, list):
            value = value[0] if value else None
        return value

    def resolve(self, ref):
        """A datasource reference -> {'uid', 'type'?}; None for 'use the default'."""
        if ref is None or ref == "":
            return None
        uid = ref.get("uid") if isinstance(ref, dict) else ref
        dtype = ref.get("type") if isinstance(ref, dict) else None
        if uid is None:
            return None
        match = VAR_RE.match(str(uid))
        if match:
            value = self.variable_value(match.group(1))
            if value is None:
                raise LookupError("data source variable $%s is not defined in the dashboard" % match.group(1))
            uid = value
            dtype = None
        if uid in SPECIAL_SKIP or uid == MIXED:
            return {"uid": uid, "type": dtype}
        if dtype is None or not isinstance(ref, dict):
            found = self.by_uid_or_name(uid) if not isinstance(ref, dict) or match else None
            if found is not None:
                return {"uid": found["uid"], "type": found.get("type")}
        out = {"uid": uid}
        if dtype:
            out["type"] = dtype
        return out


def substitute(sql, resolver):
    def repl(m):
        name = m.group(1) or m.group(3) or m.group(4)
        if name.startswith("__"):
            return m.group(0)  # $__timeFilter & co. are backend macros
        try:
            value = resolver.variable_value(name)
        except LookupError:
            value = None
        if value is None:
            return m.group(0)
        if isinstance(value, list):
            return ",".join("'%s'" % str(v).replace("'", "''") for v in value)
        return str(value)

    return SQL_VAR_RE.sub(repl, sql)


def count_rows(frames):
    rows = 0
    for frame in frames or []:
        values = ((frame or {}).get("data") or {}).get("values") or []
        if values and isinstance(values[0], list):
            rows += len(values[0])
    return rows


def verify_panel(client, resolver, panel, row, p):
    entry = {
        "id": panel.get("id"),
        "title": panel.get("title") or "",
        "type": panel.get("type"),
        "row": row,
        "rows": 0,
        "status": "ok",
        "message": "",
        "datasource_uids": [],
    }
    targets = [t for t in panel.get("targets") or [] if isinstance(t, dict) and not t.get("hide")]
    queries, skipped = [], []
    try:
        panel_ds = resolver.resolve(panel.get("datasource"))
        for index, target in enumerate(targets):
            ref_id = target.get("refId") or chr(ord("A") + index)
            ds = panel_ds
            if target.get("datasource") not in (None, ""):
                ds = resolver.resolve(target.get("datasource")) or panel_ds
            if ds is None or ds["uid"] == MIXED:
                ds = resolver.default()
            if ds["uid"] in SPECIAL_SKIP:
                skipped.append("%s: %s" % (ref_id, SPECIAL_SKIP[ds["uid"]]))
                continue
            query = deep_copy(target)
            query.pop("hide", None)
            query["refId"] = ref_id
            query["datasource"] = ds
            query.setdefault("maxDataPoints", p["max_data_points"])
            query.setdefault("intervalMs", 60000)
            if isinstance(query.get("rawSql"), str):
                query["rawSql"] = substitute(query["rawSql"], resolver)
            queries.append(query)
            if ds["uid"] not in entry["datasource_uids"]:
                entry["datasource_uids"].append(ds["uid"])
    except LookupError as exc:
        entry.update(status="error", message=str(exc))
        return entry
    if not queries:
        entry.update(status="skipped", message="; ".join(skipped) or "no queries")
        return entry
    body = {"from": p["time_from"], "to": p["time_to"], "queries": queries}
    try:
        reply = (
            client.request("POST", "/api/ds/query", "run queries of", "panel '%s'" % entry["title"], json_body=body, expected=(200, 207, 400), retry_post=True)
            or {}
        )
    except GrafanaError as exc:
        entry.update(status="error", message=str(exc))
        return entry
    errors = []
    results = reply.get("results") if isinstance(reply, dict) else None
    if results is None:
        errors.append((reply or {}).get("message") if isinstance(reply, dict) else str(reply))
        results = {}
    for query in queries:
        res = results.get(query["refId"]) or {}
        if res.get("error"):
            errors.append("%s: %s" % (query["refId"], res["error"]))
        entry["rows"] += count_rows(res.get("frames"))
    if errors:
        entry.update(status="error", message="; ".join(e for e in errors if e) or "query failed")
    elif entry["rows"] == 0:
        entry.update(status="no_data", message="the queries returned no rows for %s .. %s" % (p["time_from"], p["time_to"]))
    if skipped:
        entry["message"] = "; ".join(x for x in [entry["message"]] + skipped if x)
    return entry


def load_dashboard(client, p):
    if p["uid"]:
        reply = client.get("/api/dashboards/uid/%s" % path_quote(p["uid"]), "read", "dashboard '%s'" % p["uid"], missing_ok=True)
        if reply is None:
            raise GrafanaError("Grafana: dashboard '%s' not found; deploy it first (grafana_dashboard)" % p["uid"])
        return reply.get("dashboard") or {}
    data = load_content(p["path"], p["content"])
    return apply_mapping(data, build_mapping(data, p["datasource_uid"], None))


def run(module, client):
    p = module.params
    dashboard = load_dashboard(client, p)
    resolver = Resolver(client, dashboard, p["datasource_uid"], p["variables"])
    panels = list(walk_panels(dashboard.get("panels")))
    for legacy_row in dashboard.get("rows") or []:  # schema < 16
        panels.extend((panel, legacy_row.get("title")) for panel in legacy_row.get("panels") or [])
    table = []
    for panel, row in panels:
        if not panel.get("targets") and not panel.get("datasource"):
            continue  # text, news, ... panels have no queries
        table.append(verify_panel(client, resolver, panel, row, p))
    summary = dict((status, 0) for status in ("ok", "no_data", "error", "skipped"))
    for entry in table:
        summary[entry["status"]] += 1
    lines = ["%-8s %6s  %4s  %s" % ("status", "rows", "id", "title")]
    lines += ["%-8s %6d  %4s  %s" % (e["status"], e["rows"], e["id"], e["title"]) for e in table]
    result = dict(changed=False, panels=table, summary=summary, table=lines, uid=p["uid"] or dashboard.get("uid"))
    bad = {"error": ("error",), "no_data": ("error", "no_data"), "never": ()}[p["fail_on"]]
    failing = [e for e in table if e["status"] in bad]
    if failing:
        result["failed"] = True
        result["msg"] = "dashboard '%s': %d of %d panels failed verification (%s): %s" % (
            result["uid"] or dashboard.get("title"),
            len(failing),
            len(table),
            "fail_on=%s" % p["fail_on"],
            "; ".join("panel %s '%s' %s%s" % (e["id"], e["title"], e["status"], (": " + e["message"]) if e["message"] else "") for e in failing),
        )
    return result


def main():
    options = dict(
        uid=dict(type="str"),
        path=dict(type="path"),
        content=dict(type="raw"),
        time_from=dict(type="str", default="now-7d", aliases=["from"]),
        time_to=dict(type="str", default="now", aliases=["to"]),
        datasource_uid=dict(type="str"),
        variables=dict(type="dict"),
        fail_on=dict(type="str", choices=["error", "no_data", "never"], default="error"),
        max_data_points=dict(type="int", default=1000),
    )
    module = grafana_module(options, mutually_exclusive=[("uid", "path", "content")], required_one_of=[("uid", "path", "content")])
    check_uid(module)
    check_uid(module, "datasource_uid")
    run_module(module, run, {DashboardInputError: "Invalid dashboard: %s"})


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_dashboard
short_description: Deploy a Grafana dashboard from JSON, with data source mapping and edit protection
version_added: 0.1.0
description:
  - Deploys a dashboard from a file (O(path)) or from O(content) into a folder given by uid, or deletes it.
  - Data source placeholders of an exported dashboard are mapped to real data sources before upload.
    Every C(__inputs) entry of type C(datasource) (for example C(DS_SUPPORT_DB)) and every C(${DS_...})
    reference is replaced by the uid from O(datasource_map) or, failing that, O(datasource_uid).
    C(__inputs), C(__requires) and C(__elements) are removed.
  - Content is compared after normalisation (server-managed C(id), C(version), C(iteration) removed), so a re-run
    reports C(changed=false) and sends only one GET.
  - The module records a hash of what it deployed in the dashboard (C(cxDeployedHash)). If the dashboard in Grafana no
    longer matches that hash, someone edited it in Grafana. Then, when the deployed content differs from O(content),
    O(overwrite=false) fails with a clear message (no edit is lost silently) and O(overwrite=true) replaces it and
    reports C(out_of_band_edit=true).
  - When the edit was brought home (exported with M(cx_catalyst.kpi_dashboard.grafana_dashboard_export) and
    committed), the desired content equals the dashboard in Grafana; the module then records the new hash (one save,
    C(changed=true), RV(adopted=true)), so the next deployment of changed content is not taken for an overwrite.
  - Nothing is written when the JSON is invalid, a data source input has no mapping, or the folder does not exist.
  - Where Grafana offers C(dashboard.grafana.app) (Grafana 12 and later, found through C(GET /apis), not the version
    string), the dashboard is read and written there (C(v1), else C(v1beta1)) with the folder in the
    C(grafana.app/folder) annotation and the stored C(resourceVersion) guarding the update; otherwise, or when the
    server refuses the namespace (C(default) for org 1, C(org-<id>) for others), the legacy C(/api/dashboards) routes
    are used. Options, results, idempotence, check and diff mode are the same on both.
  - A dashboard stored in Grafana as schema v2 (re-saved in the new dashboard editor) is treated as an out-of-band
    edit. O(overwrite=false) fails and says so; O(overwrite=true) replaces it with the classic dashboard.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  uid:
    description:
      - Uid of the dashboard. Defaults to the C(uid) inside the dashboard JSON; one of them is required.
      - Overrides the uid in the JSON when both are given.
    type: str
  path:
    description:
      - Dashboard JSON file on the managed node. Mutually exclusive with O(content).
      - A Grafana export wrapper (an object with C(dashboard) and C(meta) keys) is accepted.
    type: path
  content:
    description:
      - Dashboard as a dict or a JSON string. Mutually exclusive with O(path).
    type: raw
  folder_uid:
    description:
      - Uid of the folder to put the dashboard in. Empty or unset means the top level (General).
      - An unknown folder is an error and nothing is written.
    type: str
    default: ''
  datasource_uid:
    description:
      - Uid of the data source that every data source input and C(${DS_...}) placeholder maps to, unless
        O(datasource_map) names another one.
    type: str
  datasource_map:
    description:
      - Maps input names (C(DS_SUPPORT_DB), with or without C(${...})) to data source uids.
    type: dict
  overwrite:
    description:
      - What to do when the dashboard was edited in Grafana since this module deployed it (or was not deployed by it)
        and differs from the desired content.
      - V(false) fails with a message naming the dashboard and nothing is written; V(true) replaces the edit.
    type: bool
    default: false
  commit_message:
    description:
      - Commit message stored in the dashboard's version history.
    type: str
    default: Deployed by cx_catalyst.kpi_dashboard
  state:
    description:
      - V(present) deploys the dashboard; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Deploy the KPI dashboard into the KPI folder
  cx_catalyst.kpi_dashboard.grafana_dashboard:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    path: "{{ playbook_dir }}/../files/grafana-dashboard.json"
    folder_uid: cx-kpi
    datasource_uid: support-postgres
    commit_message: "KPI dashboard {{ kpi_release }}"

- name: Two inputs, two data sources
  cx_catalyst.kpi_dashboard.grafana_dashboard:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    content: "{{ lookup('ansible.builtin.file', 'ops.json') }}"
    datasource_map:
      DS_SUPPORT_DB: support-postgres
      DS_METRICS: prometheus-main

- name: Remove a dashboard
  cx_catalyst.kpi_dashboard.grafana_dashboard:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: cx-kpi-old
    state: absent
"""

RETURN = r"""
uid:
  description: Uid of the dashboard.
  returned: always
  type: str
  sample: cx-kpi-overview
url:
  description: Relative URL of the dashboard in Grafana.
  returned: when the dashboard exists
  type: str
  sample: /d/cx-kpi-overview/cx-catalyst-kpis
version:
  description: Dashboard version in Grafana after the run (through C(/apis) its C(metadata.generation), which counts
    the same saves).
  returned: when the dashboard exists
  type: int
folder_uid:
  description: Folder the dashboard is in.
  returned: always
  type: str
out_of_band_edit:
  description: The dashboard in Grafana had been changed outside this module (its content no longer matched the
    hash recorded at the last deployment).
  returned: always
  type: bool
adopted:
  description: The dashboard in Grafana had been edited outside this module but already equalled the desired content
    (the edit was exported into the source); the module saved it once to record it as deployed.
  returned: always
  type: bool
diff:
  description: Normalised dashboard JSON (and folder) before and after.
  returned: when diff mode is on
  type: dict
"""

import hashlib
import json

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import (
    UID_RE,
    GrafanaError,
    check_uid,
    grafana_module,
    path_quote,
    run_module,
    slugify,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_dashboard import (
    EXPORT_ONLY,
    DashboardInputError,
    apply_mapping,
    build_mapping,
    load_content,
    read_current,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_folders import require_folder

MARKER = "cxDeployedHash"
SERVER_MANAGED = ("id", "version", "iteration", MARKER)


def normalise(dashboard):
    if not dashboard:
        return {}
    out = dict((k, v) for k, v in dashboard.items() if k not in SERVER_MANAGED and k not in EXPORT_ONLY)
    return out


def content_hash(normalised):
    return hashlib.sha256(json.dumps(normalised, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def desired_dashboard(p):
    data = load_content(p["path"], p["content"])
    mapping = build_mapping(data, p["datasource_uid"], p["datasource_map"])
    data = apply_mapping(data, mapping)
    uid = p["uid"] or data.get("uid")
    if not uid:
        raise DashboardInputError("the dashboard has no uid: set the uid option or a 'uid' in the JSON")
    if not UID_RE.match(uid):
        raise DashboardInputError("dashboard uid '%s' is invalid: use 1-40 characters of letters, digits, '-', '_'" % uid)
    data["uid"] = uid
    return normalise(data)


def referenced_datasources(p):
    """(option, uid) of every datasource the options map the dashboard to, each uid once."""
    found = []
    if p["datasource_uid"]:
        found.append(("datasource_uid", p["datasource_uid"]))
    for name, ds_uid in sorted((p["datasource_map"] or {}).items()):
        found.append(("datasource_map['%s']" % name, ds_uid))
    seen, out = set(), []
    for option, ds_uid in found:
        if ds_uid not in seen:
            seen.add(ds_uid)
            out.append((option, ds_uid))
    return out


def save(client, base, cur, want, folder_uid, p, obj):
    """Write the desired dashboard; return (version, url)."""
    body_dash = dict(want, **{MARKER: content_hash(want)})
    if base:
        spec = dict((k, v) for k, v in body_dash.items() if k not in ("id", "uid", "version"))
        metadata = {"name": want["uid"], "annotations": {"grafana.app/message": p["commit_message"]}}
        if folder_uid:
            metadata["annotations"]["grafana.app/folder"] = folder_uid
        try:
            if cur.exists:
                metadata["resourceVersion"] = cur.resource_version
                reply = client.request("PUT", "%s/%s" % (base, path_quote(want["uid"])), "save", obj, json_body={"metadata": metadata, "spec": spec})
            else:
                reply = client.request("POST", base, "save", obj, json_body={"metadata": metadata, "spec": spec}, expected=(200, 201))
        except GrafanaError as exc:
            if exc.status == 409:
                raise GrafanaError(
                    "Grafana: cannot save %s: it was changed by someone else while this module ran (HTTP 409 conflict on its resourceVersion); re-run" % obj,
                    409,
                )
            raise
        meta = (reply or {}).get("metadata") or {}
        return meta.get("generation"), "/d/%s/%s" % (want["uid"], slugify(want.get("title")))
    if cur.exists:
        body_dash["id"] = cur.legacy_id
        body_dash["version"] = cur.version
    else:
        body_dash["id"] = None
    body = {"dashboard": body_dash, "folderUid": folder_uid, "message": p["commit_message"], "overwrite": bool(cur.exists and p["overwrite"])}
    try:
        reply = client.request("POST", "/api/dashboards/db", "save", obj, json_body=body) or {}
    except GrafanaError as exc:
        if exc.status == 412:
            status = (exc.body or {}).get("status") if isinstance(exc.body, dict) else None
            if status == "name-exists":
                raise GrafanaError(
                    "Grafana: cannot save %s: another dashboard titled '%s' already exists in folder '%s' "
                    "(HTTP 412 name-exists)" % (obj, want.get("title"), folder_uid or "General"),
                    412,
                )
            raise GrafanaError(
                "Grafana: cannot save %s: it was changed by someone else while this module ran (HTTP 412 %s); re-run" % (obj, status or "precondition failed"),
                412,
            )
        raise
    return reply.get("version"), reply.get("url")


def run(module, client):
    p = module.params
    result = dict(changed=False, out_of_band_edit=False, adopted=False, folder_uid=p["folder_uid"] or "")
    if p["state"] == "absent":
        uid = p["uid"]
        if not uid:
            uid = desired_dashboard(p)["uid"]
        result["uid"] = uid
        obj = "dashboard '%s'" % uid
        cur, base = read_current(client, uid, obj)
        if cur.exists:
            result["changed"] = True
            result["folder_uid"] = cur.folder_uid
            if not module.check_mode:
                path = "%s/%s" % (base, path_quote(uid)) if base else "/api/dashboards/uid/%s" % path_quote(uid)
                client.request("DELETE", path, "delete", obj, missing_ok=True)
            if module._diff:
                result["diff"] = {"before": normalise(cur.dashboard), "after": {}}
        return result

    want = desired_dashboard(p)
    uid = want["uid"]
    obj = "dashboard '%s'" % uid
    result["uid"] = uid
    folder_uid = p["folder_uid"] or ""
    cur, base = read_current(client, uid, obj)
    have = normalise(cur.dashboard) if cur.exists else {}
    if cur.exists:
        result.update(url=cur.url, version=cur.version)
    content_differs = not cur.exists or cur.stored_v2 or have != want
    # An edit made in Grafana and exported into the source: same content, stale hash. Record it once.
    adopted = cur.exists and not content_differs and cur.dashboard.get(MARKER) != content_hash(have)
    result["adopted"] = adopted
    changed = content_differs or cur.folder_uid != folder_uid or adopted
    if cur.exists and content_differs:
        edited = cur.stored_v2 or cur.dashboard.get(MARKER) != content_hash(have)
        result["out_of_band_edit"] = edited
        if edited and not p["overwrite"]:
            if cur.stored_v2:
                raise GrafanaError(
                    "Grafana: dashboard '%s' (%s) is stored in Grafana as schema v2 (it was edited in the new "
                    "dashboard editor), so it is not the classic dashboard this module deployed; nothing was "
                    "written. Copy the change into the source, or set overwrite: true to replace it with the "
                    "classic dashboard." % (uid, want.get("title"))
                )
            raise GrafanaError(
                "Grafana: dashboard '%s' (%s) was changed in Grafana since it was deployed by this module (or was "
                "not deployed by it) and differs from the desired content; nothing was written. Review the change "
                "in Grafana's version history, then bring it into the source (grafana_dashboard_export, see the collection's "
                "docs/customizing.md) or set overwrite: true to replace it." % (uid, want.get("title"))
            )
    result["changed"] = changed
    if changed:
        if folder_uid and folder_uid != cur.folder_uid:
            require_folder(
                client,
                folder_uid,
                "Grafana: cannot deploy %s: folder '%s' not found; create it first (grafana_folder) or fix folder_uid" % (obj, folder_uid),
            )
        for option, ds_uid in referenced_datasources(p) if content_differs else []:
            client.require_exists(
                "/api/datasources/uid/%s" % path_quote(ds_uid),
                "datasource '%s'" % ds_uid,
                "Grafana: cannot deploy %s: %s '%s' is not a datasource in Grafana; create it "
                "first (grafana_datasource) or fix %s" % (obj, option, ds_uid, option),
            )
        if not module.check_mode:
            version, url = save(client, base, cur, want, folder_uid, p, obj)
            result.update(url=url, version=version)
    if module._diff:
        before = dict(have, folderUid=cur.folder_uid) if cur.exists else {}
        result["diff"] = {"before": before, "after": dict(want, folderUid=folder_uid)}
    return result


def main():
    options = dict(
        uid=dict(type="str"),
        path=dict(type="path"),
        content=dict(type="raw"),
        folder_uid=dict(type="str", default=""),
        datasource_uid=dict(type="str"),
        datasource_map=dict(type="dict"),
        overwrite=dict(type="bool", default=False),
        commit_message=dict(type="str", default="Deployed by cx_catalyst.kpi_dashboard"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(
        options,
        mutually_exclusive=[("path", "content")],
        required_if=[("state", "present", ("path", "content"), True)],
        required_one_of=[("uid", "path", "content")],
    )
    check_uid(module)
    check_uid(module, "folder_uid", allow_empty=True)
    check_uid(module, "datasource_uid")
    for name, ds_uid in sorted((module.params["datasource_map"] or {}).items()):
        if not isinstance(ds_uid, str) or not UID_RE.match(ds_uid):
            module.fail_json(msg="datasource_map['%s'] '%s' is invalid: use 1-40 characters of letters, digits, '-' and '_'" % (name, ds_uid))
    run_module(module, run, {DashboardInputError: "Invalid dashboard: %s"})


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_folder
short_description: Manage a Grafana folder by uid, optionally nested
version_added: 0.1.0
description:
  - Creates, renames, moves or deletes a Grafana folder identified by its O(uid).
  - A re-run with the same options sends one GET and reports C(changed=false).
  - Folder updates send the version read from Grafana; if someone changed the folder in between,
    Grafana answers 412 and the module fails with a clear message instead of overwriting.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  uid:
    description:
      - Unique identifier of the folder (up to 40 characters of C([a-zA-Z0-9_-])). The folder's identity.
    type: str
    required: true
  title:
    description:
      - Title shown in Grafana. Required when O(state=present).
    type: str
  parent_uid:
    description:
      - Uid of the parent folder for a nested folder (Grafana 11, or 10 with the C(nestedFolders) feature).
      - Omit or set to an empty string for a top-level folder. An existing folder is moved when this differs.
    type: str
  force_delete_rules:
    description:
      - With O(state=absent), also delete the alert rules stored in the folder. Without it Grafana refuses
        to delete a folder that contains alert rules.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the folder, V(absent) deletes it (with its dashboards).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Create the KPI folder
  cx_catalyst.kpi_dashboard.grafana_folder:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: cx-kpi
    title: CX-Catalyst KPIs

- name: A nested folder for alert rules
  cx_catalyst.kpi_dashboard.grafana_folder:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: cx-kpi-alerts
    title: Alerts
    parent_uid: cx-kpi

- name: Remove a folder
  cx_catalyst.kpi_dashboard.grafana_folder:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: old-folder
    state: absent
"""

RETURN = r"""
folder:
  description: The folder as Grafana returns it after the run (empty when absent).
  returned: always
  type: dict
  sample: {"uid": "cx-kpi", "title": "CX-Catalyst KPIs", "id": 12, "version": 1, "url": "/dashboards/f/cx-kpi/cx-catalyst-kpis"}
uid:
  description: Uid of the folder.
  returned: always
  type: str
  sample: cx-kpi
diff:
  description: Title and parent before and after (with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, check_uid, grafana_module, path_quote, run_module


def folder_view(folder):
    if not folder:
        return {}
    return {"uid": folder.get("uid"), "title": folder.get("title"), "parent_uid": folder.get("parentUid") or ""}


def read_folder(client, uid):
    return client.get("/api/folders/%s" % path_quote(uid), "read", "folder '%s'" % uid, missing_ok=True)


def require_parent(client, parent_uid):
    if parent_uid:
        client.require_exists(
            "/api/folders/%s" % path_quote(parent_uid),
            "parent folder '%s'" % parent_uid,
            "Grafana: parent folder '%s' not found; create it first or fix parent_uid" % parent_uid,
        )


def create_folder(client, uid, title, parent_uid):
    body = {"uid": uid, "title": title}
    if parent_uid:
        body["parentUid"] = parent_uid
    try:
        created = client.request("POST", "/api/folders", "create", "folder '%s'" % uid, json_body=body)
    except GrafanaError as exc:
        # 9.x/10.x answer 412 (docs: 409) when the uid already exists: a concurrent create won the race.
        if exc.status in (409, 412):
            existing = read_folder(client, uid)
            if existing is not None:
                return existing, True
        raise
    if parent_uid and isinstance(created, dict) and "parentUid" in created and created["parentUid"] != parent_uid:
        raise GrafanaError(
            "Grafana: folder '%s' was created but Grafana ignored parent_uid '%s' (nested folders are not enabled on this Grafana)" % (uid, parent_uid)
        )
    return created, False


def update_folder(client, current, title):
    uid = current["uid"]
    body = {"title": title, "version": current.get("version"), "overwrite": False}
    try:
        return client.request("PUT", "/api/folders/%s" % path_quote(uid), "update", "folder '%s'" % uid, json_body=body)
    except GrafanaError as exc:
        if exc.status == 412:
            raise GrafanaError(
                "Grafana: failed to update folder '%s': HTTP 412: the folder was changed by someone "
                "else since it was read; re-run to apply on top of the new version" % uid,
                412,
            )
        raise


def move_folder(client, uid, parent_uid):
    return client.request("POST", "/api/folders/%s/move" % path_quote(uid), "move", "folder '%s'" % uid, json_body={"parentUid": parent_uid or ""})


def run(module, client):
    p = module.params
    uid, state = p["uid"], p["state"]
    current = read_folder(client, uid)
    result = dict(changed=False, uid=uid, folder=current or {})
    before = folder_view(current)

    if state == "absent":
        if current is None:
            return result
        result.update(changed=True, folder={})
        if not module.check_mode:
            params = {"forceDeleteRules": "true"} if p["force_delete_rules"] else None
            client.request("DELETE", "/api/folders/%s" % path_quote(uid), "delete", "folder '%s'" % uid, params=params, missing_ok=True)
        if module._diff:
            result["diff"] = {"before": before, "after": {}}
        return result

    parent_uid = p["parent_uid"] or ""
    after = {"uid": uid, "title": p["title"], "parent_uid": parent_uid}
    if current is None:
        result["changed"] = True
        require_parent(client, parent_uid)
        if not module.check_mode:
            created, existed = create_folder(client, uid, p["title"], parent_uid)
            current = created
            if existed:
                before = folder_view(created)
            else:
                result["folder"] = created
        else:
            result["folder"] = {"uid": uid, "title": p["title"], "parentUid": parent_uid}
    if current is not None and folder_view(current) != after:
        needs_title = current.get("title") != p["title"]
        needs_move = (current.get("parentUid") or "") != parent_uid
        result["changed"] = True
        if needs_move:
            require_parent(client, parent_uid)
        if not module.check_mode:
            if needs_title:
                current = update_folder(client, current, p["title"]) or current
            if needs_move:
                current = move_folder(client, uid, parent_uid) or current
            result["folder"] = read_folder(client, uid) or current
        else:
            result["folder"] = dict(current, title=p["title"], parentUid=parent_uid)
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    options = dict(
        uid=dict(type="str", required=True),
        title=dict(type="str"),
        parent_uid=dict(type="str"),
        force_delete_rules=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(options, required_if=[("state", "present", ["title"])])
    check_uid(module)
    check_uid(module, "parent_uid", allow_empty=True)
    run_module(module, run)


if __name__ == "__main__":
    main()

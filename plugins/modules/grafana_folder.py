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
  - A re-run with the same options sends two GETs (API discovery and the folder) and reports C(changed=false).
  - Where Grafana offers C(folder.grafana.app) (Grafana 12 and later, found through C(GET /apis), not the version
    string), the folder is read and written there (C(v1), else C(v1beta1)); its uid is C(metadata.name) and its parent
    the C(grafana.app/folder) annotation, and a rename and a move are one update. Otherwise, or when the server
    refuses the namespace (C(default) for org 1, C(org-<id>) for others), the legacy C(/api/folders) routes are used.
    Options, results, idempotence, check and diff mode are the same on both.
  - Folder updates send the version read from Grafana (C(metadata.resourceVersion) on C(/apis), C(version) on the
    legacy route); if someone changed the folder in between, Grafana answers 409 (C(/apis)) or 412 (legacy) and the
    module fails with a clear message instead of overwriting.
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
      - The option exists on the legacy C(DELETE /api/folders/<uid>) route only, so that route is used for this
        delete also where C(/apis) is offered (Grafana 13 still serves it).
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
  description:
    - The folder after the run (empty when absent), in the shape of the legacy C(/api/folders) answer.
    - Read through C(/apis), it carries C(uid), C(title), C(parentUid), C(id), C(url), C(version) (and C(description)
      when set); the legacy route adds its permission flags (C(canSave), C(hasAcl), ...).
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

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import check_uid, grafana_module, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_folders import Folders


def folder_view(folder):
    if not folder:
        return {}
    return {"uid": folder.get("uid"), "title": folder.get("title"), "parent_uid": folder.get("parentUid") or ""}


def run(module, client):
    p = module.params
    uid, state = p["uid"], p["state"]
    folders = Folders(client, uid)
    current = folders.read(uid)
    result = dict(changed=False, uid=uid, folder=current or {})
    before = folder_view(current)

    if state == "absent":
        if current is None:
            return result
        result.update(changed=True, folder={})
        if not module.check_mode:
            folders.delete(uid, p["force_delete_rules"])
        if module._diff:
            result["diff"] = {"before": before, "after": {}}
        return result

    parent_uid = p["parent_uid"] or ""
    after = {"uid": uid, "title": p["title"], "parent_uid": parent_uid}
    if current is None:
        result["changed"] = True
        folders.require_parent(parent_uid)
        if not module.check_mode:
            created, existed = folders.create(uid, p["title"], parent_uid)
            current = created
            if existed:
                before = folder_view(created)
            else:
                result["folder"] = created
        else:
            result["folder"] = {"uid": uid, "title": p["title"], "parentUid": parent_uid}
    if current is not None and folder_view(current) != after:
        result["changed"] = True
        if (current.get("parentUid") or "") != parent_uid:
            folders.require_parent(parent_uid)
        if not module.check_mode:
            result["folder"] = folders.update(current, p["title"], parent_uid)
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

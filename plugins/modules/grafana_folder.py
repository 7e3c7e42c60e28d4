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

import re

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, check_uid, grafana_module, path_quote, run_module

FOLDER_API = ("folder.grafana.app", "folders", ("v1", "v1beta1"))
PARENT = "grafana.app/folder"


def folder_view(folder):
    if not folder:
        return {}
    return {"uid": folder.get("uid"), "title": folder.get("title"), "parent_uid": folder.get("parentUid") or ""}


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")


class Folders(object):
    """The folder routes of one module run: ``folder.grafana.app`` where ``GET /apis`` offers it (v1, else v1beta1;
    docs/grafana-behaviour.md §13.3), the legacy ``/api/folders`` routes elsewhere or when the server refuses the
    namespace (403, e.g. Grafana Cloud). Every method returns the folder in the legacy shape (``uid``, ``title``,
    ``parentUid``, ``id``, ``url``, ``version``), so the module's results do not depend on the route."""

    def __init__(self, client, uid):
        self.client = client
        self.base = client.apis_base(*FOLDER_API, obj="folder '%s'" % uid)
        self._raw = {}  # uid -> the /apis object as read (metadata.resourceVersion, spec)

    def _obj(self, uid):
        return "folder '%s'" % uid

    def _from_apis(self, body):
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        uid = meta.get("name")
        self._raw[uid] = body
        folder = {
            "uid": uid,
            "title": spec.get("title"),
            "parentUid": (meta.get("annotations") or {}).get(PARENT) or "",
            "url": "/dashboards/f/%s/%s" % (uid, slugify(spec.get("title"))),
            "version": meta.get("generation"),
        }
        internal = (meta.get("labels") or {}).get("grafana.app/deprecatedInternalID")
        if internal and str(internal).isdigit():
            folder["id"] = int(internal)
        if spec.get("description"):
            folder["description"] = spec["description"]
        return folder

    def read(self, uid, obj=None):
        obj = obj or self._obj(uid)
        if self.base:
            try:
                body = self.client.get("%s/%s" % (self.base, path_quote(uid)), "read", obj, missing_ok=True)
            except GrafanaError as exc:
                if exc.status != 403:
                    raise
                # the namespace is refused (Grafana Cloud's stacks-<id>): nothing was written, use the legacy routes
                self.client.apis_refused()
                self.base = None
            else:
                return None if body is None else self._from_apis(body)
        return self.client.get("/api/folders/%s" % path_quote(uid), "read", obj, missing_ok=True)

    def require_parent(self, parent_uid):
        if not parent_uid:
            return
        if self.read(parent_uid, "parent folder '%s'" % parent_uid) is not None:
            return
        if self.client.module.check_mode:
            self.client.module.warn(
                "check mode: parent folder '%s' does not exist (yet); the change is reported as if an earlier task "
                "of this run created it. A real run fails unless it exists by then." % parent_uid
            )
            return
        raise GrafanaError("Grafana: parent folder '%s' not found; create it first or fix parent_uid" % parent_uid)

    def create(self, uid, title, parent_uid):
        """(folder, existed): existed is True when a concurrent create won the race (the uid is taken now)."""
        obj = self._obj(uid)
        try:
            if self.base:
                metadata = {"name": uid}
                if parent_uid:
                    metadata["annotations"] = {PARENT: parent_uid}
                body = {"metadata": metadata, "spec": {"title": title}}
                created = self._from_apis(self.client.request("POST", self.base, "create", obj, json_body=body, expected=(200, 201)) or {})
            else:
                body = {"uid": uid, "title": title}
                if parent_uid:
                    body["parentUid"] = parent_uid
                created = self.client.request("POST", "/api/folders", "create", obj, json_body=body)
        except GrafanaError as exc:
            # A taken uid: 412 on the legacy route (9.x-11.x and later, docs §3/§14.10), 409 through /apis (§13.3).
            if exc.status in (409, 412):
                existing = self.read(uid)
                if existing is not None:
                    return existing, True
            raise
        if parent_uid and isinstance(created, dict) and "parentUid" in created and (created["parentUid"] or "") != parent_uid:
            raise GrafanaError(
                "Grafana: folder '%s' was created but Grafana ignored parent_uid '%s' (nested folders are not enabled on this Grafana)" % (uid, parent_uid)
            )
        return created, False

    def update(self, current, title, parent_uid):
        """Rename and/or move ``current``; return the folder after the change."""
        uid = current["uid"]
        obj = self._obj(uid)
        if self.base:
            raw = self._raw.get(uid) or {}
            meta = raw.get("metadata") or {}
            annotations = dict(meta.get("annotations") or {})
            annotations.pop(PARENT, None)
            if parent_uid:
                annotations[PARENT] = parent_uid
            metadata = {"name": uid, "resourceVersion": meta.get("resourceVersion"), "annotations": annotations}
            spec = dict(raw.get("spec") or {}, title=title)
            try:
                reply = self.client.request("PUT", "%s/%s" % (self.base, path_quote(uid)), "update", obj, json_body={"metadata": metadata, "spec": spec})
            except GrafanaError as exc:
                message = str((exc.body or {}).get("message") or "") if isinstance(exc.body, dict) else ""
                if exc.status == 409 and "modified" in message:
                    raise GrafanaError(
                        "Grafana: failed to update folder '%s': HTTP 409: the folder was changed by someone else since it "
                        "was read (its resourceVersion moved on); re-run to apply on top of the new version" % uid,
                        409,
                    )
                raise
            return self._from_apis(reply) if isinstance(reply, dict) and reply.get("metadata") else self.read(uid)
        if current.get("title") != title:
            body = {"title": title, "version": current.get("version"), "overwrite": False}
            try:
                self.client.request("PUT", "/api/folders/%s" % path_quote(uid), "update", obj, json_body=body)
            except GrafanaError as exc:
                if exc.status == 412:
                    raise GrafanaError(
                        "Grafana: failed to update folder '%s': HTTP 412: the folder was changed by someone "
                        "else since it was read; re-run to apply on top of the new version" % uid,
                        412,
                    )
                raise
        if (current.get("parentUid") or "") != parent_uid:
            self.client.request("POST", "/api/folders/%s/move" % path_quote(uid), "move", obj, json_body={"parentUid": parent_uid or ""})
        return self.read(uid) or current

    def delete(self, uid, force_delete_rules):
        obj = self._obj(uid)
        if self.base and not force_delete_rules:
            self.client.request("DELETE", "%s/%s" % (self.base, path_quote(uid)), "delete", obj, missing_ok=True)
            return
        # forceDeleteRules is an option of the legacy route only (docs §3); 13 still serves it (§13.4)
        params = {"forceDeleteRules": "true"} if force_delete_rules else None
        self.client.request("DELETE", "/api/folders/%s" % path_quote(uid), "delete", obj, params=params, missing_ok=True)


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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grafana's folders for every module that works on them: ``folder.grafana.app`` where ``GET /apis`` offers it,
the legacy ``/api/folders`` routes elsewhere (docs/grafana-behaviour.md §13.3).

grafana_folder manages folders with :class:`Folders`; grafana_dashboard and grafana_alert_rule_group check that
the folder they deploy into exists with :func:`require_folder`, through the same route.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, path_quote, slugify

FOLDER_API = ("folder.grafana.app", "folders", ("v1", "v1beta1"))
PARENT = "grafana.app/folder"
NO_NESTING = (
    "this Grafana does not nest folders, so parent_uid '%s' cannot be applied; nested folders need Grafana 11 or "
    "later, or the nestedFolders feature toggle on Grafana 10 (docs/grafana-behaviour.md section 3)"
)


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
        obj = "parent folder '%s'" % parent_uid
        if self.read(parent_uid, obj) is None:
            self.client.report_missing(obj, "Grafana: parent folder '%s' not found; create it first or fix parent_uid" % parent_uid)

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
        if parent_uid and isinstance(created, dict) and (created.get("parentUid") or "") != parent_uid:
            # Nested folders off (Grafana 10 without the nestedFolders toggle): the folder was made at the root and
            # the reply carries no parentUid (docs/grafana-behaviour.md §3). Take it back so nothing is half-written.
            undone = "and was removed again"
            try:
                self.delete(uid, False)
            except GrafanaError as exc:
                undone = "and is still there (removing it failed: %s)" % exc
            raise GrafanaError("Grafana: folder '%s' was created at the root %s: %s" % (uid, undone, NO_NESTING % parent_uid))
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
        version = current.get("version")
        # The move goes first: on a Grafana that does not nest folders it is refused before anything is written.
        if (current.get("parentUid") or "") != parent_uid:
            try:
                moved = self.client.request("POST", "/api/folders/%s/move" % path_quote(uid), "move", obj, json_body={"parentUid": parent_uid or ""})
            except GrafanaError as exc:
                if exc.status == 404 and "nested folder" in str(exc):
                    raise GrafanaError("Grafana: failed to move folder '%s': %s" % (uid, NO_NESTING % parent_uid), 404)
                raise
            if isinstance(moved, dict) and moved.get("version") is not None:
                version = moved["version"]  # a move bumps the version the rename must carry
        if current.get("title") != title:
            body = {"title": title, "version": version, "overwrite": False}
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
        return self.read(uid) or current

    def delete(self, uid, force_delete_rules):
        obj = self._obj(uid)
        if self.base and not force_delete_rules:
            self.client.request("DELETE", "%s/%s" % (self.base, path_quote(uid)), "delete", obj, missing_ok=True)
            return
        # forceDeleteRules is an option of the legacy route only (docs §3); 13 still serves it (§13.4)
        params = {"forceDeleteRules": "true"} if force_delete_rules else None
        self.client.request("DELETE", "/api/folders/%s" % path_quote(uid), "delete", obj, params=params, missing_ok=True)


def require_folder(client, uid, fail_msg):
    """True when folder ``uid`` exists; raise GrafanaError(``fail_msg``) when it does not.

    The folder is read like grafana_folder reads it (``/apis`` where discovered, else the legacy route; the
    discovery of ``GET /apis`` is cached per run by the client). A missing folder in check mode is a warning
    and returns False, exactly as :meth:`GrafanaClient.require_exists`.
    """
    obj = "folder '%s'" % uid
    if Folders(client, uid).read(uid, obj) is not None:
        return True
    return client.report_missing(obj, fail_msg)

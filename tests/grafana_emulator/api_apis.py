"""The ``/apis`` generation (Grafana 12+): discovery, ``dashboard.grafana.app`` and ``folder.grafana.app``
(docs/grafana-behaviour.md §13.1-§13.3).

Served versions per profile (``profile.apis_dashboard_versions`` / ``apis_folder_versions``): 12.x v1beta1
(+ v2beta1 for schema-v2 dashboards), 13.x v1 (GA) plus v1beta1, v2 and v2beta1.  Objects share the legacy
store, so a dashboard written here is the same row ``/api/dashboards/uid/<uid>`` reads, with one
``resourceVersion`` moved on by every write through either API.

Behaviour (docs §13.1): path ``/apis/<group>/<version>/namespaces/<ns>/<resource>[/<name>]``; namespace
``default`` (org 1) or ``org-<id>``; ``metadata.name`` is the classic uid; ``metadata.generateName`` lets the
server pick it; create 201, name clash 409 AlreadyExists; PUT carrying a stale ``metadata.resourceVersion``
409 Conflict, without one unconditional (Kubernetes convention; inferred for Grafana); delete 200 with a
``Status``; lists ``<Kind>List`` with ``limit``/``continue``.  Errors are Kubernetes ``Status`` objects.
**(chosen)**: a namespace of another org than the caller's -> 403 Forbidden; the 403 for a missing
permission uses the same Status shape; titles are not checked for uniqueness on dashboards; a folder title
clash under one parent -> 409 (#95055 "fix status codes returned on create"); deleting a folder that holds
alert rules -> 400; ``continue`` tokens are decimal offsets; ``generateName`` appends 5 random characters.
"""

import copy
import random
import re
import string

from . import dashboard_schema
from .api_folders import (
    check_uid,
    dashboard_by_uid,
    delete_folder_tree,
    descendants,
    folder_by_uid,
    folder_depth,
    org_folders,
    short_uid,
    title_conflict,
    touch,
)
from .server import ApiError
from .store import now_iso

DASH_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
NS_RE = re.compile(r"^(default|org-(\d+))$")


def k8s_status(code, reason, message, name=None, group=None, kind=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}
    if name is not None:
        body["details"] = {"name": name, "group": group, "kind": kind}
    return ApiError(code, body)


def _resource_list(group, version, resource, kind):
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "%s/%s" % (group, version),
        "resources": [
            {
                "name": resource,
                "singularName": resource[:-1],
                "namespaced": True,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
        ],
    }


def register(app):
    store = app.store
    profile = app.profile
    if not profile.apis:
        return

    groups = [(DASH_GROUP, profile.apis_dashboard_versions, "dashboards", "Dashboard"), (FOLDER_GROUP, profile.apis_folder_versions, "folders", "Folder")]

    @app.route("GET", r"/apis/?")
    def discovery(req):
        """Kubernetes APIGroupList; the preferred version is the first (GA on 13, v1beta1 on 12)."""
        out = []
        for name, versions, _res, _kind in groups:
            vers = [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions]
            out.append({"name": name, "versions": vers, "preferredVersion": vers[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}

    for _name, _versions, _res, _kind in groups:

        def make(name, resource, kind):
            @app.route("GET", r"/apis/%s/?" % re.escape(name))
            def group_info(req):
                versions = dict((g[0], g[1]) for g in groups)[name]
                vers = [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions]
                return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": vers, "preferredVersion": vers[0]}

            @app.route("GET", r"/apis/%s/(?P<version>[^/]+)/?" % re.escape(name))
            def resources(req, version):
                check_version(name, version)
                return _resource_list(name, version, resource, kind)

        make(_name, _res, _kind)

    def check_version(group, version):
        served = dict((g[0], g[1]) for g in groups)[group]
        if version not in served:
            raise ApiError(
                404,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": "the server could not find the requested resource",
                    "reason": "NotFound",
                    "details": {},
                    "code": 404,
                },
            )

    def org_of(req, ns, group, resource, verb):
        m = NS_RE.match(ns)
        org_id = 1 if m and m.group(1) == "default" else (int(m.group(2)) if m else None)
        if org_id != req.org_id:
            raise k8s_status(
                403,
                "Forbidden",
                '%s.%s is forbidden: namespace "%s" is not the caller\'s organization' % (resource, group, ns),
                name="",
                group=group,
                kind=resource,
            )
        action = {"get": "read", "list": "read", "create": "create", "update": "write", "delete": "delete"}[verb]
        needed = "%s:%s" % (resource, action)
        if not req.identity.can(needed) and not (action == "create" and req.identity.can(resource + ":write")):
            raise k8s_status(
                403,
                "Forbidden",
                "%s.%s is forbidden: User cannot %s resource (needs %s)" % (resource, group, verb, needed),
                name="",
                group=group,
                kind=resource,
            )
        return org_id

    def annotations(row, folder_uid):
        ann = {
            "grafana.app/createdBy": "user:%s" % row.get("createdBy", ""),
            "grafana.app/updatedBy": "user:%s" % row.get("updatedBy", ""),
            "grafana.app/updatedTimestamp": row.get("updated", ""),
        }
        if folder_uid:
            ann["grafana.app/folder"] = folder_uid
        return ann

    def metadata(row, ns, folder_uid):
        return {
            "name": row["uid"],
            "namespace": ns,
            "uid": row.setdefault("k8sUid", short_uid()),
            "resourceVersion": str(row.get("resourceVersion", 0)),
            "generation": row.get("generation", 1),
            "creationTimestamp": row["created"],
            "labels": {"grafana.app/deprecatedInternalID": str(row["id"])},
            "annotations": annotations(row, folder_uid),
        }

    def read_meta(body, group, kind):
        if not isinstance(body, dict) or not isinstance(body.get("metadata") or {}, dict) or not isinstance(body.get("spec"), dict):
            raise k8s_status(400, "BadRequest", "the request body must be a %s object with metadata and spec" % kind)
        meta = body.get("metadata") or {}
        for key in ("annotations", "labels"):
            if not isinstance(meta.get(key) or {}, dict):
                raise k8s_status(400, "BadRequest", "metadata.%s must be an object" % key)
        return meta

    def new_name(meta, exists):
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            for _try in range(20):
                candidate = meta["generateName"] + "".join(random.choice(string.ascii_lowercase + string.digits) for _i in range(5))
                if not exists(candidate):
                    return candidate
        if not name:
            raise k8s_status(422, "Invalid", "metadata.name or metadata.generateName is required")
        return name

    def check_name(name, group, kind):
        try:
            check_uid(name)
        except ApiError as exc:
            raise k8s_status(
                422, "Invalid", '%s "%s" is invalid: metadata.name: %s' % (kind, name, exc.body["message"]), name=name, group=group, kind=kind.lower() + "s"
            )

    def check_resource_version(meta, row, group, resource):
        wanted = meta.get("resourceVersion")
        if wanted not in (None, "") and str(wanted) != str(row.get("resourceVersion", 0)):
            raise k8s_status(
                409,
                "Conflict",
                'Operation cannot be fulfilled on %s.%s "%s": the object has been '
                "modified; please apply your changes to the latest version and try again" % (resource, group, row["uid"]),
                name=row["uid"],
                group=group,
                kind=resource,
            )

    def paged(req, items, kind, api_version):
        limit = req.q_int("limit", 0)
        start = req.q_int("continue", 0) if req.q("continue") else 0
        page = items[start : start + limit] if limit > 0 else items[start:]
        meta = {"resourceVersion": str(store.data["seq"].get("resource_version", 0))}
        if limit > 0 and start + limit < len(items):
            meta["continue"] = str(start + limit)
        return {"kind": kind + "List", "apiVersion": api_version, "metadata": meta, "items": page}

    # ------------------------------------------------------------------ dashboards
    def dash_object(row, ns, version):
        api_version = "%s/%s" % (DASH_GROUP, version)
        stored_v2 = row.get("schema") == "v2"
        wants_v2 = version.startswith("v2")
        status = {}
        if wants_v2 and stored_v2:
            spec = copy.deepcopy(row["data"])
        elif wants_v2:
            spec = dashboard_schema.v1_to_v2(row["data"])
            status = {"conversion": {"failed": False, "storedVersion": "v1"}}
        elif stored_v2:
            spec = dashboard_schema.v2_to_v1(row["data"], row["uid"], row["version"], profile.schema_version)
            status = {"conversion": {"failed": False, "storedVersion": profile.apis_dashboard_versions[-1]}}
        else:
            spec = copy.deepcopy(row["data"])
        if not wants_v2:
            for key in ("id", "uid", "version"):  # carried by metadata (name, labels, resourceVersion)
                spec.pop(key, None)
        return {"kind": "Dashboard", "apiVersion": api_version, "metadata": metadata(row, ns, row["folderUid"]), "spec": spec, "status": status}

    def dash_or_404(org_id, name):
        row = dashboard_by_uid(store, org_id, name)
        if row is None:
            raise k8s_status(404, "NotFound", 'dashboards.%s "%s" not found' % (DASH_GROUP, name), name=name, group=DASH_GROUP, kind="dashboards")
        return row

    def dash_write(req, org_id, row, meta, spec, version, created=False):
        """Store a spec (classic for v0/v1, schema v2 for v2*) and keep the legacy view in step."""
        wants_v2 = version.startswith("v2")
        if wants_v2 and not dashboard_schema.is_v2_spec(spec):
            raise k8s_status(400, "BadRequest", "spec is not a schema v2 dashboard (elements and layout required)")
        if not wants_v2 and dashboard_schema.is_v2_spec(spec):
            raise k8s_status(400, "BadRequest", "spec is a schema v2 dashboard; use a v2 version of the API")
        title = spec.get("title")
        if not isinstance(title, str) or not title.strip():
            raise k8s_status(422, "Invalid", "spec.title: Required value: dashboard title cannot be empty")
        folder_uid = (meta.get("annotations") or {}).get("grafana.app/folder") or ""
        if folder_uid and folder_by_uid(store, org_id, folder_uid) is None:
            raise k8s_status(400, "BadRequest", "folder %s not found" % folder_uid)
        login = req.identity.user["login"]
        ts = now_iso()
        if created:
            row.update({"id": store.next_id("dashboard"), "orgId": org_id, "created": ts, "createdBy": login, "version": 0, "provisioned": None})
            store.dashboards[row["id"]] = row
        data = copy.deepcopy(spec)
        row["version"] += 1
        if wants_v2:
            row["schema"] = "v2"
        else:
            row.pop("schema", None)
            data.update({"id": row["id"], "uid": row["uid"], "version": row["version"]})
        row.update(
            {
                "title": title.strip(),
                "folderUid": folder_uid,
                "data": data,
                "updated": ts,
                "updatedBy": login,
                "tags": [t for t in spec.get("tags") or [] if isinstance(t, str)],
            }
        )
        touch(store, row)
        store.dashboard_versions.append(
            {
                "id": store.next_id("dashboard_version"),
                "dashboardId": row["id"],
                "uid": row["uid"],
                "orgId": org_id,
                "parentVersion": row["version"] - 1,
                "restoredFrom": 0,
                "version": row["version"],
                "created": ts,
                "createdBy": login,
                "message": (meta.get("annotations") or {}).get("grafana.app/message", ""),
                "data": copy.deepcopy(data),
            }
        )
        return row

    DASH = r"/apis/dashboard\.grafana\.app/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)/dashboards"

    @app.route("GET", DASH)
    def list_dashboards(req, version, ns):
        check_version(DASH_GROUP, version)
        org_id = org_of(req, ns, DASH_GROUP, "dashboards", "list")
        rows = sorted((d for d in store.dashboards.values() if d["orgId"] == org_id), key=lambda d: d["uid"])
        return paged(req, [dash_object(r, ns, version) for r in rows], "Dashboard", "%s/%s" % (DASH_GROUP, version))

    @app.route("GET", DASH + r"/(?P<name>[^/]+)")
    def get_dashboard(req, version, ns, name):
        check_version(DASH_GROUP, version)
        org_id = org_of(req, ns, DASH_GROUP, "dashboards", "get")
        return dash_object(dash_or_404(org_id, name), ns, version)

    @app.route("POST", DASH)
    def create_dashboard(req, version, ns):
        check_version(DASH_GROUP, version)
        org_id = org_of(req, ns, DASH_GROUP, "dashboards", "create")
        body = req.json()
        meta = read_meta(body, DASH_GROUP, "Dashboard")
        name = new_name(meta, lambda n: dashboard_by_uid(store, org_id, n) or folder_by_uid(store, org_id, n))
        check_name(name, DASH_GROUP, "Dashboard")
        if dashboard_by_uid(store, org_id, name) is not None:
            raise k8s_status(409, "AlreadyExists", 'dashboards.%s "%s" already exists' % (DASH_GROUP, name), name=name, group=DASH_GROUP, kind="dashboards")
        row = dash_write(req, org_id, {"uid": name}, meta, body["spec"], version, created=True)
        return 201, dash_object(row, ns, version)

    @app.route("PUT", DASH + r"/(?P<name>[^/]+)")
    def update_dashboard(req, version, ns, name):
        check_version(DASH_GROUP, version)
        org_id = org_of(req, ns, DASH_GROUP, "dashboards", "update")
        body = req.json()
        meta = read_meta(body, DASH_GROUP, "Dashboard")
        if meta.get("name") not in (None, name):
            raise k8s_status(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)" % (meta.get("name"), name))
        row = dash_or_404(org_id, name)
        if row.get("provisioned") and not row["provisioned"].get("allowUiUpdates"):
            raise k8s_status(403, "Forbidden", "provisioned dashboard cannot be changed", name=name, group=DASH_GROUP, kind="dashboards")
        check_resource_version(meta, row, DASH_GROUP, "dashboards")
        dash_write(req, org_id, row, meta, body["spec"], version)
        return dash_object(row, ns, version)

    @app.route("DELETE", DASH + r"/(?P<name>[^/]+)")
    def delete_dashboard(req, version, ns, name):
        check_version(DASH_GROUP, version)
        org_id = org_of(req, ns, DASH_GROUP, "dashboards", "delete")
        row = dash_or_404(org_id, name)
        if row.get("provisioned"):
            raise k8s_status(403, "Forbidden", "provisioned dashboard cannot be deleted", name=name, group=DASH_GROUP, kind="dashboards")
        del store.dashboards[row["id"]]
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": DASH_GROUP, "kind": "dashboards", "uid": row.get("k8sUid")},
        }

    # ------------------------------------------------------------------ folders
    def folder_object(folder, ns, version):
        obj_meta = metadata(folder, ns, folder.get("parentUid") or "")
        spec = {"title": folder["title"]}
        if folder.get("description"):
            spec["description"] = folder["description"]
        return {"kind": "Folder", "apiVersion": "%s/%s" % (FOLDER_GROUP, version), "metadata": obj_meta, "spec": spec, "status": {}}

    def folder_or_404(org_id, name):
        folder = folder_by_uid(store, org_id, name)
        if folder is None:
            raise k8s_status(404, "NotFound", 'folders.%s "%s" not found' % (FOLDER_GROUP, name), name=name, group=FOLDER_GROUP, kind="folders")
        return folder

    def folder_title(spec):
        title = spec.get("title")
        if not isinstance(title, str) or not title.strip():
            raise k8s_status(422, "Invalid", "spec.title: Required value: folder title cannot be empty")
        return title.strip()

    def check_parent(org_id, folder, parent_uid):
        if not parent_uid:
            return
        parent = folder_by_uid(store, org_id, parent_uid)
        if parent is None:
            raise k8s_status(400, "BadRequest", "parent folder %s not found" % parent_uid)
        if folder is not None and (parent["uid"] == folder["uid"] or parent in descendants(store, folder)):
            raise k8s_status(400, "BadRequest", "circular reference detected")
        height = 1 + max([folder_depth(store, d) - folder_depth(store, folder) for d in descendants(store, folder)] or [0]) if folder is not None else 1
        if folder_depth(store, parent) + height > profile.max_folder_depth:
            raise k8s_status(400, "BadRequest", "Maximum nested folder depth reached")

    def title_clash(org_id, title, parent_uid, exclude_id=None):
        conflict = title_conflict(store, profile, org_id, title, parent_uid, exclude_id=exclude_id)
        if conflict is not None:
            raise k8s_status(409, "Conflict", conflict.body["message"], group=FOLDER_GROUP, kind="folders", name="")

    FOLDER = r"/apis/folder\.grafana\.app/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)/folders"

    @app.route("GET", FOLDER)
    def list_folders(req, version, ns):
        check_version(FOLDER_GROUP, version)
        org_id = org_of(req, ns, FOLDER_GROUP, "folders", "list")
        rows = sorted(org_folders(store, org_id), key=lambda f: f["uid"])
        return paged(req, [folder_object(f, ns, version) for f in rows], "Folder", "%s/%s" % (FOLDER_GROUP, version))

    @app.route("GET", FOLDER + r"/(?P<name>[^/]+)")
    def get_folder(req, version, ns, name):
        check_version(FOLDER_GROUP, version)
        org_id = org_of(req, ns, FOLDER_GROUP, "folders", "get")
        return folder_object(folder_or_404(org_id, name), ns, version)

    @app.route("POST", FOLDER)
    def create_folder(req, version, ns):
        check_version(FOLDER_GROUP, version)
        org_id = org_of(req, ns, FOLDER_GROUP, "folders", "create")
        body = req.json()
        meta = read_meta(body, FOLDER_GROUP, "Folder")
        name = new_name(meta, lambda n: folder_by_uid(store, org_id, n) or dashboard_by_uid(store, org_id, n))
        check_name(name, FOLDER_GROUP, "Folder")
        if folder_by_uid(store, org_id, name) is not None:
            raise k8s_status(409, "AlreadyExists", 'folders.%s "%s" already exists' % (FOLDER_GROUP, name), name=name, group=FOLDER_GROUP, kind="folders")
        title = folder_title(body["spec"])
        parent_uid = (meta.get("annotations") or {}).get("grafana.app/folder") or ""
        check_parent(org_id, None, parent_uid)
        title_clash(org_id, title, parent_uid)
        login = req.identity.user["login"]
        ts = now_iso()
        folder = {
            "id": store.next_id("dashboard"),
            "uid": name,
            "orgId": org_id,
            "title": title,
            "description": body["spec"].get("description") or "",
            "parentUid": parent_uid,
            "version": 1,
            "created": ts,
            "updated": ts,
            "createdBy": login,
            "updatedBy": login,
        }
        store.folders[folder["id"]] = folder
        touch(store, folder)
        return 201, folder_object(folder, ns, version)

    @app.route("PUT", FOLDER + r"/(?P<name>[^/]+)")
    def update_folder(req, version, ns, name):
        check_version(FOLDER_GROUP, version)
        org_id = org_of(req, ns, FOLDER_GROUP, "folders", "update")
        body = req.json()
        meta = read_meta(body, FOLDER_GROUP, "Folder")
        folder = folder_or_404(org_id, name)
        check_resource_version(meta, folder, FOLDER_GROUP, "folders")
        title = folder_title(body["spec"])
        parent_uid = (meta.get("annotations") or {}).get("grafana.app/folder") or ""
        if parent_uid != (folder.get("parentUid") or ""):
            check_parent(org_id, folder, parent_uid)
        if title != folder["title"] or parent_uid != (folder.get("parentUid") or ""):
            title_clash(org_id, title, parent_uid, exclude_id=folder["id"])
        folder.update(
            {
                "title": title,
                "description": body["spec"].get("description") or "",
                "parentUid": parent_uid,
                "version": folder["version"] + 1,
                "updated": now_iso(),
                "updatedBy": req.identity.user["login"],
            }
        )
        touch(store, folder)
        return folder_object(folder, ns, version)

    @app.route("DELETE", FOLDER + r"/(?P<name>[^/]+)")
    def delete_folder(req, version, ns, name):
        check_version(FOLDER_GROUP, version)
        org_id = org_of(req, ns, FOLDER_GROUP, "folders", "delete")
        folder = folder_or_404(org_id, name)
        uids = {f["uid"] for f in [folder] + descendants(store, folder)}
        if any(r["orgID"] == org_id and r["folderUID"] in uids for r in store.alert_rules.values()):
            raise k8s_status(400, "BadRequest", "folder contains alert rules", name=name, group=FOLDER_GROUP, kind="folders")
        delete_folder_tree(store, folder)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": FOLDER_GROUP, "kind": "folders", "uid": folder.get("k8sUid")},
        }

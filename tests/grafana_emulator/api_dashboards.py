"""Dashboards, search and import (docs §4); folders are in api_folders (docs §3)."""

import copy
import os
import re

from . import binding, dashboard_schema
from .api_folders import check_uid, dashboard_by_uid, folder_by_uid, folder_url, namespace, org_folders, short_uid, slugify, touch
from .server import ApiError, error, status_error, bad_request_data
from .store import now_iso

INPUT_RE = re.compile(r"\$\{.+?\}")


# ------------------------------------------------------------------------------------------ dashboards


def dashboard_url(dash):
    return "/d/%s/%s" % (dash["uid"], slugify(dash["title"]))


def save_dashboard(store, profile, org_id, dash_json, folder_uid, overwrite, message, login, provisioned=None, provisioning=False):
    """The decision logic of docs §4 POST /api/dashboards/db.  Raises ApiError before any write."""
    if not isinstance(dash_json, dict):
        raise bad_request_data("dashboard must be an object")
    dash = copy.deepcopy(dash_json)
    title = dash.get("title")
    if not isinstance(title, str) or not title.strip():
        raise status_error(400, "empty-name", "Dashboard title cannot be empty")
    title = title.strip()
    uid = dash.get("uid") or ""
    if not isinstance(uid, str):
        raise bad_request_data("uid must be a string")
    check_uid(uid)
    folder_uid = folder_uid or ""
    if folder_uid and folder_by_uid(store, org_id, folder_uid) is None:
        raise error(400, "Folder not found")
    dash_id = dash.get("id") or 0
    if not isinstance(dash_id, int) or isinstance(dash_id, bool):
        raise bad_request_data("id must be an integer")
    version = dash.get("version") or 0
    if not isinstance(version, int) or isinstance(version, bool):
        version = 0
    existing = None
    # 1. id given but unknown -> 404
    by_id = None
    if dash_id:
        by_id = store.dashboards.get(dash_id)
        if by_id is None or by_id["orgId"] != org_id:
            raise status_error(404, "not-found", "Dashboard not found")
    by_uid = dashboard_by_uid(store, org_id, uid) if uid else None
    # 6. id and uid point to different rows
    if by_id is not None and by_uid is not None and by_id["id"] != by_uid["id"]:
        raise error(400, "A dashboard with the same uid already exists")
    if uid and by_uid is None and folder_by_uid(store, org_id, uid) is not None:
        raise error(400, "Dashboard cannot be changed to a folder")
    existing = by_id or by_uid
    # 2. update of an existing row: version check
    if existing is not None:
        if existing["version"] != version:
            if not overwrite and not provisioning:
                raise status_error(412, "version-mismatch", "The dashboard has been changed by someone else")
        dash_id = existing["id"]
        uid = existing["uid"]
    # 5. title equal to a folder in the same location
    slug = slugify(title)
    for f in org_folders(store, org_id):
        if (f.get("parentUid") or "") == folder_uid and slugify(f["title"]) == slug:
            raise status_error(400, "name-match", "Dashboard name cannot be the same as folder")
    # 3. same title in the same folder, other row
    same_title = next(
        (d for d in store.dashboards.values() if d["orgId"] == org_id and d["folderUid"] == folder_uid and slugify(d["title"]) == slug and d["id"] != dash_id),
        None,
    )
    if same_title is not None:
        if not overwrite and not provisioning:
            raise status_error(412, "name-exists", "A dashboard with the same name in the folder already exists")
        existing = same_title  # replaced, keeps its old id AND uid (your uid is discarded)
        dash_id, uid = same_title["id"], same_title["uid"]
    # provisioned dashboards cannot be saved through the API unless the provider allows UI updates
    if existing is not None and existing.get("provisioned") and not provisioning and not existing["provisioned"].get("allowUiUpdates"):
        raise error(400, "Cannot save provisioned dashboard")
    # ---- write
    ts = now_iso()
    if existing is None:
        dash_id = store.next_id("dashboard")
        uid = uid or short_uid()
        row = {"id": dash_id, "uid": uid, "orgId": org_id, "created": ts, "createdBy": login, "version": 0, "provisioned": None}
        store.dashboards[dash_id] = row
    else:
        row = existing
    row["version"] = row["version"] + 1
    row.pop("schema", None)  # a classic save replaces a schema-v2 dashboard (docs §13.2)
    touch(store, row)
    dash["id"], dash["uid"], dash["version"], dash["title"] = dash_id, uid, row["version"], title
    row.update(
        {
            "title": title,
            "folderUid": folder_uid,
            "data": dash,
            "updated": ts,
            "updatedBy": login,
            "tags": [t for t in dash.get("tags") or [] if isinstance(t, str)],
        }
    )
    if provisioned is not None:
        row["provisioned"] = provisioned
    store.dashboard_versions.append(
        {
            "id": store.next_id("dashboard_version"),
            "dashboardId": dash_id,
            "uid": uid,
            "orgId": org_id,
            "parentVersion": row["version"] - 1,
            "restoredFrom": 0,
            "version": row["version"],
            "created": ts,
            "createdBy": login,
            "message": message or "",
            "data": copy.deepcopy(dash),
        }
    )
    return row


def save_response(row):
    return {
        "id": row["id"],
        "uid": row["uid"],
        "url": dashboard_url(row),
        "status": "success",
        "version": row["version"],
        "slug": slugify(row["title"]),
        "folderUid": row["folderUid"],
    }


def resolve_folder_arg(store, org_id, body):
    """folderUid, or the deprecated folderId (0 = General)."""
    folder_uid = body.get("folderUid")
    if folder_uid:
        return folder_uid
    folder_id = body.get("folderId")
    if folder_id:
        folder = store.folders.get(folder_id)
        if folder is None or folder["orgId"] != org_id:
            raise error(400, "Folder not found")
        return folder["uid"]
    return ""


def register(app):
    store = app.store
    profile = app.profile

    # ------------------------------------------------------------------ dashboards
    @app.route("POST", r"/api/dashboards/db", action="dashboards:write")
    def post_dashboard(req):
        body = req.json(fields=binding.DASHBOARD_SAVE)
        if not isinstance(body.get("dashboard"), dict):
            raise bad_request_data("dashboard is required")
        folder_uid = resolve_folder_arg(store, req.org_id, body)
        row = save_dashboard(
            store, profile, req.org_id, body["dashboard"], folder_uid, bool(body.get("overwrite")), body.get("message"), req.identity.user["login"]
        )
        return save_response(row)

    def dashboard_or_404(req, uid):
        row = dashboard_by_uid(store, req.org_id, uid)
        if row is None:
            raise error(404, "Dashboard not found", go_error="dashboard not found")
        return row

    @app.route("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)", action="dashboards:read")
    def get_dashboard(req, uid):
        row = dashboard_or_404(req, uid)
        if row.get("schema") == "v2":
            # docs §13.2/§14.12: a schema-v2 dashboard on the legacy GET: 406 on 12.x (seen on 12.1), lossy
            # down-conversion on later versions (13 chosen)
            if profile.v2_legacy_get == "406":
                raise error(
                    406,
                    "dashboard api version not supported, use /apis/dashboard.grafana.app/%s/"
                    "namespaces/%s/dashboards/%s instead" % (profile.apis_dashboard_versions[-1], namespace(req.org_id), uid),
                )
            data = dashboard_schema.v2_to_v1(row["data"], row["uid"], row["version"], profile.schema_version)
            data["id"] = row["id"]
        else:
            data = copy.deepcopy(row["data"])
        folder = folder_by_uid(store, req.org_id, row["folderUid"]) if row["folderUid"] else None
        ident = req.identity
        prov = row.get("provisioned") or {}
        can_save = ident.can("dashboards:write")
        annotations = {"canAdd": can_save, "canEdit": can_save, "canDelete": can_save}
        meta = {
            "type": "db",
            "canSave": can_save,
            "canEdit": can_save,
            "canAdmin": ident.role == "Admin",
            "canStar": True,
            "canDelete": ident.can("dashboards:delete"),
            "slug": slugify(row["title"]),
            "url": dashboard_url(row),
            "expires": "0001-01-01T00:00:00Z",
            "created": row["created"],
            "updated": row["updated"],
            "updatedBy": row["updatedBy"],
            "createdBy": row["createdBy"],
            "version": row["version"],
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder["id"] if folder else 0,
            "folderUid": row["folderUid"],
            "folderTitle": folder["title"] if folder else "General",
            "folderUrl": folder_url(folder) if folder else "",
            "provisioned": bool(prov),
            # Grafana reports the file path relative to the provider's options.path
            "provisionedExternalId": os.path.relpath(prov["externalId"], prov["root"]) if prov else "",
            "annotationsPermissions": {"dashboard": dict(annotations), "organization": dict(annotations)},
            "isStarred": False,
        }
        if prov and not prov.get("allowUiUpdates"):
            meta["canSave"] = False
        return {"dashboard": data, "meta": meta}

    @app.route("DELETE", r"/api/dashboards/uid/(?P<uid>[^/]+)", action="dashboards:delete")
    def delete_dashboard(req, uid):
        row = dashboard_or_404(req, uid)
        if row.get("provisioned"):
            raise error(400, "provisioned dashboard cannot be deleted")
        del store.dashboards[row["id"]]
        return {"title": row["title"], "message": "Dashboard %s deleted" % row["title"], "id": row["id"]}

    @app.route("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)/versions", action="dashboards:read")
    def dashboard_versions(req, uid):
        row = dashboard_or_404(req, uid)
        limit = req.q_int("limit", 0)
        start = req.q_int("start", 0)
        versions = [v for v in store.dashboard_versions if v["dashboardId"] == row["id"]]
        versions.sort(key=lambda v: -v["version"])
        versions = versions[start : start + limit] if limit else versions[start:]
        items = [
            {k: v[k] for k in ("id", "dashboardId", "uid", "parentVersion", "restoredFrom", "version", "created", "createdBy", "message")} for v in versions
        ]
        if profile.dashboard_versions_object:
            # §4/§14.7: from 11.6 an object; the emulator never pages beyond one answer (chosen: empty token)
            return {"continueToken": "", "versions": items}
        return items

    @app.route("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)/versions/(?P<version>\d+)", action="dashboards:read")
    def dashboard_version(req, uid, version):
        row = dashboard_or_404(req, uid)
        for v in store.dashboard_versions:
            if v["dashboardId"] == row["id"] and v["version"] == int(version):
                return dict(v)
        raise error(404, "Dashboard version not found")

    @app.route("POST", r"/api/dashboards/import", action="dashboards:write")
    def import_dashboard(req):
        body = req.json(fields=binding.DASHBOARD_IMPORT)
        dash = body.get("dashboard")
        if not isinstance(dash, dict):
            raise ApiError(422, {"message": "Dashboard must be set"})
        variables = {}
        inputs = body.get("inputs") or []
        for wanted in dash.get("__inputs") or []:
            if wanted.get("pluginId") == "__expr__":
                variables[wanted.get("name")] = "__expr__"
                continue
            match = next(
                (i for i in inputs if isinstance(i, dict) and i.get("type") == wanted.get("type") and i.get("name") in (wanted.get("name"), "*")), None
            )
            if match is None:
                raise error(500, "Failed to save dashboard", go_error="Dashboard input variable: %s missing from import command" % wanted.get("name"))
            variables[wanted.get("name")] = match.get("value")

        def substitute(node):
            if isinstance(node, dict):
                return {k: substitute(v) for k, v in node.items() if k not in ("__inputs", "__requires", "__elements")}
            if isinstance(node, list):
                return [substitute(v) for v in node]
            if isinstance(node, str):

                def repl(m):
                    key = m.group(0)[2:-1]
                    value = variables.get(key)
                    return value if isinstance(value, str) else m.group(0)

                return INPUT_RE.sub(repl, node)
            return node

        dash = substitute(dash)
        folder_uid = resolve_folder_arg(store, req.org_id, body)
        row = save_dashboard(store, profile, req.org_id, dash, folder_uid, bool(body.get("overwrite")), "", req.identity.user["login"])
        folder = folder_by_uid(store, req.org_id, folder_uid) if folder_uid else None
        return {
            "uid": row["uid"],
            "pluginId": body.get("pluginId") or "",
            "title": row["title"],
            "imported": True,
            "importedUri": "db/" + slugify(row["title"]),
            "importedUrl": dashboard_url(row),
            "slug": slugify(row["title"]),
            "dashboardId": row["id"],
            "folderId": folder["id"] if folder else 0,
            "folderUid": folder_uid,
            "importedRevision": 0,
            "revision": dash.get("revision") or 0,
            "description": "",
            "path": body.get("path") or "",
            "removed": False,
        }

    # ------------------------------------------------------------------ search
    @app.route("GET", r"/api/search", action="dashboards:read")
    def search(req):
        query = (req.q("query") or "").lower()
        tags = req.query.get("tag", [])
        kind = req.q("type") or ""
        dash_uids = set(req.q_list("dashboardUIDs"))
        folder_uids = set(req.q_list("folderUIDs"))
        folder_ids = set()
        for value in req.query.get("folderIds", []):
            folder_ids.update(int(v) for v in value.split(",") if v.strip().lstrip("-").isdigit())
        limit = min(req.q_int("limit", 1000) or 1000, 5000)
        page = max(req.q_int("page", 1), 1)
        if kind and kind not in ("dash-db", "dash-folder"):
            raise ApiError(400, {"message": "invalid type %s" % kind})
        id_to_uid = {f["id"]: f["uid"] for f in org_folders(store, req.org_id)}
        for fid in folder_ids:
            folder_uids.add(id_to_uid.get(fid, "general" if fid == 0 else "__none__"))

        def in_folder(parent_uid):
            if not folder_uids:
                return True
            return (parent_uid or "general") in folder_uids

        hits = []
        if kind in ("", "dash-folder") and not tags and not dash_uids:
            for f in org_folders(store, req.org_id):
                if query and query not in f["title"].lower():
                    continue
                if folder_uids and not in_folder(f.get("parentUid") or ""):
                    continue
                if not profile.nested_folders and folder_uids:
                    continue
                hit = {
                    "id": f["id"],
                    "uid": f["uid"],
                    "title": f["title"],
                    "uri": "db/" + slugify(f["title"]),
                    "url": folder_url(f),
                    "slug": "",
                    "type": "dash-folder",
                    "tags": [],
                    "isStarred": False,
                    "sortMeta": 0,
                }
                parent = folder_by_uid(store, req.org_id, f.get("parentUid")) if f.get("parentUid") else None
                if parent is not None and profile.nested_folders:
                    hit.update({"folderId": parent["id"], "folderUid": parent["uid"], "folderTitle": parent["title"], "folderUrl": folder_url(parent)})
                hits.append(hit)
        if kind in ("", "dash-db"):
            dashes = []
            for d in store.dashboards.values():
                if d["orgId"] != req.org_id:
                    continue
                if query and query not in d["title"].lower():
                    continue
                if dash_uids and d["uid"] not in dash_uids:
                    continue
                if any(t not in d["tags"] for t in tags):
                    continue
                if not in_folder(d["folderUid"]):
                    continue
                hit = {
                    "id": d["id"],
                    "uid": d["uid"],
                    "title": d["title"],
                    "uri": "db/" + slugify(d["title"]),
                    "url": dashboard_url(d),
                    "slug": "",
                    "type": "dash-db",
                    "tags": sorted(d["tags"]),
                    "isStarred": False,
                    "sortMeta": 0,
                }
                folder = folder_by_uid(store, req.org_id, d["folderUid"]) if d["folderUid"] else None
                if folder is not None:
                    hit.update({"folderId": folder["id"], "folderUid": folder["uid"], "folderTitle": folder["title"], "folderUrl": folder_url(folder)})
                dashes.append(hit)
            hits.sort(key=lambda h: h["title"].lower())
            dashes.sort(key=lambda h: h["title"].lower())
            hits.extend(dashes)
        else:
            hits.sort(key=lambda h: h["title"].lower())
        return hits[(page - 1) * limit : page * limit]

"""Folders (docs §3), dashboards, search and import (docs §4)."""

import copy
import os
import re
import unicodedata
import uuid

from . import binding, dashboard_schema
from .server import ApiError, error, errutil, status_error, bad_request_data
from .store import now_iso

UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
FOLDER_MISMATCH = {"status": "version-mismatch", "message": "the folder has been changed by someone else"}
FOLDER_NOT_FOUND = {"status": "not-found", "message": "folder not found"}
INPUT_RE = re.compile(r"\$\{.+?\}")


def slugify(title):
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def short_uid():
    return uuid.uuid4().hex[:14]


def touch(store, row):
    """Every write moves the object's /apis ``resourceVersion`` and ``generation`` on (docs §13.1); the
    Kubernetes-style ``metadata.uid`` is made once."""
    row["resourceVersion"] = store.next_id("resource_version")
    row["generation"] = row.get("generation", 0) + 1
    row.setdefault("k8sUid", str(uuid.uuid4()))


def namespace(org_id):
    """docs §13.1: ``default`` for org 1, ``org-<id>`` for the others."""
    return "default" if org_id == 1 else "org-%d" % org_id


def check_uid(uid):
    """docs §4 / §3: illegal characters and length > 40 -> 400."""
    if not UID_RE.match(uid):
        raise error(400, "uid contains illegal characters")
    if len(uid) > 40:
        raise error(400, "uid too long, max 40 characters")


# ------------------------------------------------------------------------------------------ folders


def org_folders(store, org_id):
    return [f for f in store.folders.values() if f["orgId"] == org_id]


def folder_by_uid(store, org_id, uid):
    return next((f for f in org_folders(store, org_id) if f["uid"] == uid), None)


def folder_parents(store, folder):
    chain = []
    parent_uid = folder.get("parentUid") or ""
    while parent_uid:
        parent = folder_by_uid(store, folder["orgId"], parent_uid)
        if parent is None:
            break
        chain.insert(0, parent)
        parent_uid = parent.get("parentUid") or ""
    return chain


def folder_depth(store, folder):
    return len(folder_parents(store, folder)) + 1


def descendants(store, folder):
    out = []
    todo = [folder["uid"]]
    while todo:
        uid = todo.pop()
        for child in org_folders(store, folder["orgId"]):
            if (child.get("parentUid") or "") == uid:
                out.append(child)
                todo.append(child["uid"])
    return out


def folder_url(folder):
    return "/dashboards/f/%s/%s" % (folder["uid"], slugify(folder["title"]))


def folder_dto(store, profile, identity, folder, with_parents=True):
    can_edit = identity.can("folders:write")
    dto = {
        "id": folder["id"],
        "uid": folder["uid"],
        "orgId": folder["orgId"],
        "title": folder["title"],
        "url": folder_url(folder),
        "hasAcl": False,
        "canSave": can_edit,
        "canEdit": can_edit,
        "canAdmin": identity.role == "Admin",
        "canDelete": identity.can("folders:delete"),
        "createdBy": folder["createdBy"],
        "created": folder["created"],
        "updatedBy": folder["updatedBy"],
        "updated": folder["updated"],
        "version": folder["version"],
    }
    if folder.get("description"):
        dto["description"] = folder["description"]
    if profile.nested_folders:
        if folder.get("parentUid"):
            dto["parentUid"] = folder["parentUid"]
        if with_parents:
            parents = folder_parents(store, folder)
            if parents:
                dto["parents"] = [folder_dto(store, profile, identity, p, with_parents=False) for p in parents]
    return dto


def title_conflict(store, profile, org_id, title, parent_uid, exclude_id=None):
    """docs §3 duplicate titles: <=10.3 -> one namespace with root dashboards; >=10.4 -> per parent."""
    slug = slugify(title)
    if not profile.folder_dup_titles_across_parents:
        for f in org_folders(store, org_id):
            if f["id"] != exclude_id and slugify(f["title"]) == slug and (not profile.nested_folders or (f.get("parentUid") or "") == parent_uid):
                return error(409, "a folder or dashboard in the general folder with the same name already exists", go_error="folder same name exists")
        for d in store.dashboards.values():
            if d["orgId"] == org_id and not d["folderUid"] and not parent_uid and slugify(d["title"]) == slug:
                return error(409, "a folder or dashboard in the general folder with the same name already exists", go_error="folder same name exists")
        return None
    for f in org_folders(store, org_id):
        if f["id"] != exclude_id and (f.get("parentUid") or "") == parent_uid and f["title"].lower() == title.lower():
            return error(409, "a folder with the same name already exists in the current location", go_error="folder same name exists")
    return None


# ------------------------------------------------------------------------------------------ dashboards


def dashboard_by_uid(store, org_id, uid):
    return next((d for d in store.dashboards.values() if d["orgId"] == org_id and d["uid"] == uid), None)


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


def delete_folder_tree(store, folder):
    doomed = [folder] + descendants(store, folder)
    uids = {f["uid"] for f in doomed}
    for d in [d for d in store.dashboards.values() if d["orgId"] == folder["orgId"] and d["folderUid"] in uids]:
        del store.dashboards[d["id"]]
    for r in [r for r in store.alert_rules.values() if r["orgID"] == folder["orgId"] and r["folderUID"] in uids]:
        del store.alert_rules[r["uid"]]
    for key in [k for k in store.rule_groups if k.split("/", 2)[1] in uids and k.startswith("%d/" % folder["orgId"])]:
        del store.rule_groups[key]
    for f in doomed:
        del store.folders[f["id"]]


def register(app):
    store = app.store
    profile = app.profile

    def folder_or_404(req, uid):
        folder = folder_by_uid(store, req.org_id, uid)
        if folder is None:
            raise ApiError(404, dict(FOLDER_NOT_FOUND))
        return folder

    # ------------------------------------------------------------------ folders
    @app.route("GET", r"/api/folders", action="folders:read")
    def list_folders(req):
        limit = req.q_int("limit", 1000)
        page = max(req.q_int("page", 1), 1)
        folders = org_folders(store, req.org_id)
        if profile.nested_folders:
            parent = req.q("parentUid") or ""
            if parent:
                folder_or_404(req, parent)
            folders = [f for f in folders if (f.get("parentUid") or "") == parent]
        folders.sort(key=lambda f: f["title"].lower())
        if limit > 0:
            folders = folders[(page - 1) * limit : page * limit]
        out = []
        for f in folders:
            item = {"id": f["id"], "uid": f["uid"], "title": f["title"]}
            if profile.nested_folders and f.get("parentUid"):
                item["parentUid"] = f["parentUid"]
            out.append(item)
        return out

    @app.route("GET", r"/api/folders/(?P<uid>[^/]+)", action="folders:read")
    def get_folder(req, uid):
        return folder_dto(store, profile, req.identity, folder_or_404(req, uid))

    @app.route("POST", r"/api/folders", action="folders:create")
    def create_folder(req):
        body = req.json(fields=binding.FOLDER_CREATE)
        title = body.get("title")
        uid = body.get("uid") or ""
        parent_uid = (body.get("parentUid") or "") if profile.nested_folders else ""
        if not isinstance(title, str) or not isinstance(uid, str) or not isinstance(parent_uid, str):
            raise bad_request_data()
        title = title.strip()
        if not title:
            raise error(400, "folder title cannot be empty")
        if title.lower() == "general":
            raise error(400, "A folder with that name already exists")
        check_uid(uid)
        if uid:
            if folder_by_uid(store, req.org_id, uid) is not None:
                # §3/§14.10: 412 version-mismatch (9.x/10.x), 412 {} from 11 (seen on 11.4; later chosen)
                status, shape = profile.folder_uid_taken
                raise ApiError(status, {} if shape == "empty" else dict(FOLDER_MISMATCH))
            if dashboard_by_uid(store, req.org_id, uid) is not None:
                raise error(400, "Dashboard cannot be changed to a folder")
        depth = 1
        if parent_uid:
            parent = folder_by_uid(store, req.org_id, parent_uid)
            if parent is None:
                raise ApiError(404, dict(FOLDER_NOT_FOUND))
            depth = folder_depth(store, parent) + 1
            if depth > profile.max_folder_depth:
                raise errutil(400, "folder.maximum-depth-reached", "Maximum nested folder depth reached")
        conflict = title_conflict(store, profile, req.org_id, title, parent_uid)
        if conflict:
            raise conflict
        ts = now_iso()
        folder = {
            "id": store.next_id("dashboard"),
            "uid": uid or short_uid(),
            "orgId": req.org_id,
            "title": title,
            "description": body.get("description") or "",
            "parentUid": parent_uid,
            "version": 1,
            "created": ts,
            "updated": ts,
            "createdBy": req.identity.user["login"],
            "updatedBy": req.identity.user["login"],
        }
        store.folders[folder["id"]] = folder
        touch(store, folder)
        return folder_dto(store, profile, req.identity, folder)

    @app.route("PUT", r"/api/folders/(?P<uid>[^/]+)", action="folders:write")
    def update_folder(req, uid):
        folder = folder_or_404(req, uid)
        body = req.json(fields=binding.FOLDER_UPDATE)
        overwrite = bool(body.get("overwrite"))
        version = body.get("version") or 0
        if not overwrite and version != folder["version"]:
            raise ApiError(412, dict(FOLDER_MISMATCH))
        title = body.get("title")
        title = folder["title"] if title is None else title
        if not isinstance(title, str) or not title.strip():
            raise error(400, "folder title cannot be empty")
        title = title.strip()
        new_uid = body.get("uid") or folder["uid"]
        if new_uid != folder["uid"]:
            check_uid(new_uid)
            if folder_by_uid(store, req.org_id, new_uid) or dashboard_by_uid(store, req.org_id, new_uid):
                raise ApiError(412, dict(FOLDER_MISMATCH))
        if title != folder["title"]:
            conflict = title_conflict(store, profile, req.org_id, title, folder.get("parentUid") or "", exclude_id=folder["id"])
            if conflict:
                raise conflict
        old_uid = folder["uid"]
        folder.update({"title": title, "uid": new_uid, "version": folder["version"] + 1, "updated": now_iso(), "updatedBy": req.identity.user["login"]})
        if "description" in body:
            folder["description"] = body.get("description") or ""
        touch(store, folder)
        if new_uid != old_uid:
            for d in store.dashboards.values():
                if d["orgId"] == req.org_id and d["folderUid"] == old_uid:
                    d["folderUid"] = new_uid
            for f in org_folders(store, req.org_id):
                if f.get("parentUid") == old_uid:
                    f["parentUid"] = new_uid
        return folder_dto(store, profile, req.identity, folder)

    @app.route("POST", r"/api/folders/(?P<uid>[^/]+)/move", action="folders:write")
    def move_folder(req, uid):
        if not profile.nested_folders:
            raise error(404, "Not found")
        folder = folder_or_404(req, uid)
        new_parent = req.json(fields=binding.FOLDER_MOVE).get("parentUid") or ""
        height = 1 + max([folder_depth(store, d) - folder_depth(store, folder) for d in descendants(store, folder)] or [0])
        if new_parent:
            parent = folder_or_404(req, new_parent)
            if parent["uid"] == folder["uid"] or parent in descendants(store, folder):
                raise errutil(400, "folder.circular-reference", "Circular reference detected")
            if folder_depth(store, parent) + height > profile.max_folder_depth:
                raise errutil(400, "folder.maximum-depth-reached", "Maximum nested folder depth reached")
        conflict = title_conflict(store, profile, req.org_id, folder["title"], new_parent, exclude_id=folder["id"])
        if conflict:
            raise conflict
        folder.update({"parentUid": new_parent, "version": folder["version"] + 1, "updated": now_iso()})
        touch(store, folder)
        return folder_dto(store, profile, req.identity, folder)

    @app.route("GET", r"/api/folders/(?P<uid>[^/]+)/counts", action="folders:read")
    def folder_counts(req, uid):
        """docs §3: 11.x descendant counts (what a DELETE would remove)."""
        if profile.v < (11, 0, 0):
            raise error(404, "Not found")
        folder = folder_or_404(req, uid)
        subs = descendants(store, folder)
        uids = {folder["uid"]} | {f["uid"] for f in subs}
        return {
            "folder": len(subs),
            "dashboard": sum(1 for d in store.dashboards.values() if d["orgId"] == req.org_id and d["folderUid"] in uids),
            "librarypanel": 0,
            "alertrule": sum(1 for r in store.alert_rules.values() if r["orgID"] == req.org_id and r["folderUID"] in uids),
        }

    @app.route("DELETE", r"/api/folders/(?P<uid>[^/]+)", action="folders:delete")
    def delete_folder(req, uid):
        folder = folder_or_404(req, uid)
        uids = {f["uid"] for f in [folder] + descendants(store, folder)}
        has_rules = any(r["orgID"] == req.org_id and r["folderUID"] in uids for r in store.alert_rules.values())
        if has_rules and req.q("forceDeleteRules", "false").lower() != "true":
            raise error(400, "folder contains alert rules", go_error="folder contains alert rules")
        delete_folder_tree(store, folder)
        body = {"message": "Folder deleted"}
        if profile.folder_delete_has_id:
            body = {"title": folder["title"], "message": "Folder %s deleted" % folder["title"], "id": folder["id"]}
        return body

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

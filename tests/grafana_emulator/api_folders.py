"""Folders (docs §3), and the uid, slug and version helpers folders and dashboards share."""

import re
import unicodedata
import uuid

from . import binding
from .server import ApiError, error, errutil, bad_request_data
from .store import now_iso

UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
FOLDER_MISMATCH = {"status": "version-mismatch", "message": "the folder has been changed by someone else"}
FOLDER_NOT_FOUND = {"status": "not-found", "message": "folder not found"}


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


def dashboard_by_uid(store, org_id, uid):
    """Folders and dashboards share one uid space in an org (a folder cannot take a dashboard's uid)."""
    return next((d for d in store.dashboards.values() if d["orgId"] == org_id and d["uid"] == uid), None)


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
            # §3: MoveFolder answers a plain JSON 404 (not response.Error) when the nestedFolders toggle is off
            raise ApiError(404, {"message": "To use this service, you need to activate nested folder feature."})
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

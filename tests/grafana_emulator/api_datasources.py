"""Data sources (docs §2)."""

import re
import uuid
from urllib.parse import urlsplit

from . import binding
from .server import ApiError, error, errutil, bad_request_data
from .store import now_iso

UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
TYPE_NAMES = {
    "postgres": "PostgreSQL",
    "grafana-postgresql-datasource": "PostgreSQL",
    "prometheus": "Prometheus",
    "loki": "Loki",
    "mysql": "MySQL",
    "grafana-testdata-datasource": "TestData",
    "testdata": "TestData",
}
NOT_FOUND_MSG = "Data source not found"


def type_logo(profile, ds_type):
    """docs §2: unknown plugin -> public/img/icn-datasource.svg."""
    resolved = profile.resolve_type(ds_type)
    if profile.is_postgres(ds_type):
        return "public/app/plugins/datasource/%s/img/postgresql_logo.svg" % resolved
    if resolved in ("prometheus", "loki", "mysql"):
        return "public/app/plugins/datasource/%s/img/%s_logo.svg" % (resolved, resolved)
    return "public/img/icn-datasource.svg"


def secure_fields(ds):
    """docs §2: only non-empty secure values are reported, as {key: true}."""
    return {k: True for k, v in sorted(ds["secureJsonData"].items()) if v}


def full_dto(profile, ds):
    """docs §2 full DTO: never a password or secureJsonData."""
    return {
        "id": ds["id"],
        "uid": ds["uid"],
        "orgId": ds["orgId"],
        "name": ds["name"],
        "type": profile.resolve_type(ds["type"]),
        "typeLogoUrl": type_logo(profile, ds["type"]),
        "access": ds["access"],
        "url": ds["url"],
        "user": ds["user"],
        "database": ds["database"],
        "basicAuth": ds["basicAuth"],
        "basicAuthUser": ds["basicAuthUser"],
        "withCredentials": ds["withCredentials"],
        "isDefault": ds["isDefault"],
        "jsonData": ds["jsonData"],
        "secureJsonFields": secure_fields(ds),
        "version": ds["version"],
        "readOnly": ds["readOnly"],
    }


def list_item(profile, ds):
    """docs §2 list item: no version, no secureJsonFields, no basicAuthUser; typeName added."""
    resolved = profile.resolve_type(ds["type"])
    return {
        "id": ds["id"],
        "uid": ds["uid"],
        "orgId": ds["orgId"],
        "name": ds["name"],
        "type": resolved,
        "typeName": TYPE_NAMES.get(resolved, resolved),
        "typeLogoUrl": type_logo(profile, ds["type"]),
        "access": ds["access"],
        "url": ds["url"],
        "user": ds["user"],
        "database": ds["database"],
        "basicAuth": ds["basicAuth"],
        "isDefault": ds["isDefault"],
        "jsonData": ds["jsonData"],
        "readOnly": ds["readOnly"],
    }


def org_datasources(store, org_id):
    return [d for d in store.datasources.values() if d["orgId"] == org_id]


def find(store, org_id, uid=None, name=None):
    for ds in org_datasources(store, org_id):
        if (uid is not None and ds["uid"] == uid) or (name is not None and ds["name"] == name):
            return ds
    return None


def validate_url(ds_type, url):
    """docs §2 validateURL: scheme-less URLs get http:// prepended, then must parse."""
    if not url:
        return
    candidate = url if "://" in url else "http://" + url
    try:
        parts = urlsplit(candidate)
        parts.port  # noqa: B018 - raises on a bad port
        if any(c.isspace() or ord(c) < 32 for c in url) or not parts.netloc and "://" not in url:
            raise ValueError("invalid URL")
    except ValueError as exc:
        raise error(400, "Validation error, invalid URL", go_error=str(exc))


def _str(body, key, default=""):
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request_data("json: cannot unmarshal %s into field %s of type string" % (type(value).__name__, key))
    return value


def _bool(body, key):
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request_data("json: cannot unmarshal into field %s of type bool" % key)
    return value


def parse_command(profile, body, update):
    """Bind AddDataSourceCommand / UpdateDataSourceCommand; binding failures -> 400 bad request data."""
    cmd = {k: _str(body, k) for k in ("name", "type", "access", "url", "user", "database", "basicAuthUser", "uid")}
    for k in ("basicAuth", "withCredentials", "isDefault"):
        cmd[k] = _bool(body, k)
    json_data = body.get("jsonData")
    if json_data is not None and not isinstance(json_data, dict):
        raise bad_request_data("jsonData must be an object")
    cmd["jsonData"] = json_data if json_data is not None else {}
    secure = body.get("secureJsonData") or {}
    if not isinstance(secure, dict) or not all(isinstance(v, str) for v in secure.values()):
        raise bad_request_data("secureJsonData must be a map of strings")
    cmd["secureJsonData"] = secure
    version = body.get("version", 0)
    if version is None:
        version = 0
    if not isinstance(version, int) or isinstance(version, bool):
        raise bad_request_data("version must be an integer")
    cmd["version"] = version
    required = ["type", "access"] + (["name"] if update or not profile.ds_name_optional else [])
    for key in required:
        if not cmd[key]:
            raise bad_request_data(
                "Key: 'Command.%s' Error:Field validation for '%s' failed on the 'required' tag" % (key[0].upper() + key[1:], key[0].upper() + key[1:])
            )
    if profile.ds_length_errors:
        if len(cmd["name"]) > 190:
            raise errutil(400, "datasource.nameInvalid", "Invalid data source name")
        if len(cmd["url"]) > 255:
            raise errutil(400, "datasource.urlInvalid", "Invalid data source URL")
    return cmd


def available_name(store, org_id, ds_type):
    """docs §2: empty name -> <type>, <type>-1, <type>-2 ... (case-insensitive uniqueness)."""
    taken = {d["name"].lower() for d in org_datasources(store, org_id)}
    name, n = ds_type, 0
    while name.lower() in taken:
        n += 1
        name = "%s-%d" % (ds_type, n)
    return name


def set_default(store, org_id, ds):
    """docs §2: isDefault:true clears the flag on all others in the org."""
    if ds["isDefault"]:
        for other in org_datasources(store, org_id):
            if other is not ds:
                other["isDefault"] = False


def insert(store, profile, org_id, cmd, read_only=False):
    """Add a data source; raises ApiError before touching state (nothing half-written)."""
    if not cmd["name"]:
        cmd["name"] = available_name(store, org_id, cmd["type"])
    if find(store, org_id, name=cmd["name"]):
        raise error(409, "data source with the same name already exists", go_error="data source with the same name already exists")
    if cmd["uid"] and find(store, org_id, uid=cmd["uid"]):
        raise error(409, "data source with the same uid already exists", go_error="data source with the same uid already exists")
    first = not org_datasources(store, org_id)
    ds_id = store.next_id("datasource")
    ts = now_iso()
    ds = {
        "id": ds_id,
        "orgId": org_id,
        "uid": cmd["uid"] or uuid.uuid4().hex[:14],
        "name": cmd["name"],
        "type": cmd["type"],
        "access": cmd["access"],
        "url": cmd["url"],
        "user": cmd["user"],
        "database": cmd["database"],
        "basicAuth": cmd["basicAuth"],
        "basicAuthUser": cmd["basicAuthUser"],
        "withCredentials": cmd["withCredentials"],
        "isDefault": cmd["isDefault"] or first,
        "jsonData": cmd["jsonData"],
        "secureJsonData": dict(cmd["secureJsonData"]),
        "version": 1,
        "readOnly": read_only,
        "created": ts,
        "updated": ts,
    }
    store.datasources[ds_id] = ds
    set_default(store, org_id, ds)
    return ds


def update(store, org_id, ds, cmd, force_version=False):
    """docs §2 PUT semantics: version rules, secureJsonData merge, rename conflicts, uid rename."""
    if not force_version and cmd["version"] and cmd["version"] < ds["version"]:
        raise error(409, "Datasource has already been updated by someone else. Please reload and try again", go_error="datasource version mismatch")
    if cmd["name"] != ds["name"] and find(store, org_id, name=cmd["name"]):
        raise error(409, "Failed to update datasource: data source with the same name already exists", go_error="data source with the same name already exists")
    new_uid = cmd["uid"] or ds["uid"]
    if new_uid != ds["uid"] and find(store, org_id, uid=new_uid):
        raise error(409, "Failed to update datasource: data source with the same uid already exists", go_error="data source with the same uid already exists")
    merged = dict(ds["secureJsonData"])
    merged.update(cmd["secureJsonData"])
    ds.update(
        {
            "uid": new_uid,
            "name": cmd["name"],
            "type": cmd["type"],
            "access": cmd["access"],
            "url": cmd["url"],
            "user": cmd["user"],
            "database": cmd["database"],
            "basicAuth": cmd["basicAuth"],
            "basicAuthUser": cmd["basicAuthUser"],
            "withCredentials": cmd["withCredentials"],
            "isDefault": cmd["isDefault"],
            "jsonData": cmd["jsonData"],
            "secureJsonData": merged,
            "version": cmd["version"] + 1,
            "updated": now_iso(),
        }
    )
    set_default(store, org_id, ds)
    return ds


def register(app):
    store = app.store
    profile = app.profile

    def get_or_404(req, uid=None, name=None):
        ds = find(store, req.org_id, uid=uid, name=name)
        if ds is None:
            raise error(404, NOT_FOUND_MSG)
        return ds

    @app.route("GET", r"/api/datasources", action="datasources:read")
    def list_datasources(req):
        items = sorted(org_datasources(store, req.org_id), key=lambda d: d["name"].lower())
        return [list_item(profile, d) for d in items[:5000]]

    @app.route("GET", r"/api/datasources/uid/(?P<uid>[^/]*)", action="datasources:read")
    def get_by_uid(req, uid):
        return full_dto(profile, get_or_404(req, uid=uid))

    @app.route("GET", r"/api/datasources/name/(?P<name>.+)", action="datasources:read")
    def get_by_name(req, name):
        return full_dto(profile, get_or_404(req, name=name))

    @app.route("POST", r"/api/datasources", action="datasources:create")
    def create(req):
        cmd = parse_command(profile, req.json(fields=binding.DATASOURCE), update=False)
        validate_url(cmd["type"], cmd["url"])
        ds = insert(store, profile, req.org_id, cmd)
        return {"message": "Datasource added", "id": ds["id"], "name": ds["name"], "datasource": full_dto(profile, ds)}

    @app.route("PUT", r"/api/datasources/uid/(?P<uid>[^/]*)", action="datasources:write")
    def update_by_uid(req, uid):
        ds = get_or_404(req, uid=uid)
        if ds["readOnly"]:
            raise error(403, "Cannot update read-only data source")
        cmd = parse_command(profile, req.json(fields=binding.DATASOURCE), update=True)
        validate_url(cmd["type"], cmd["url"])
        update(store, req.org_id, ds, cmd)
        return {"message": "Datasource updated", "id": ds["id"], "name": cmd["name"], "datasource": full_dto(profile, ds)}

    def delete(ds):
        if ds["readOnly"]:
            raise error(403, "Cannot delete read-only data source")
        del store.datasources[ds["id"]]
        return {"message": "Data source deleted", "id": ds["id"]}

    @app.route("DELETE", r"/api/datasources/uid/(?P<uid>[^/]*)", action="datasources:delete")
    def delete_by_uid(req, uid):
        return delete(get_or_404(req, uid=uid))

    @app.route("DELETE", r"/api/datasources/name/(?P<name>.+)", action="datasources:delete")
    def delete_by_name(req, name):
        return delete(get_or_404(req, name=name))

    # ---- numeric-id routes (docs §2, §14.1): deprecated since 9.0, served through 12.x; off by default in 13.0
    # unless the feature toggle datasourceLegacyIdApi is on -> the path is then unknown (404 Not found)
    if profile.ds_id_routes:

        def by_id_or_404(req, ds_id):
            ds = store.datasources.get(int(ds_id))
            if ds is None or ds["orgId"] != req.org_id:
                raise error(404, NOT_FOUND_MSG)
            return ds

        @app.route("GET", r"/api/datasources/id/(?P<name>.+)", action="datasources:read")
        def get_id_by_name(req, name):
            return {"id": get_or_404(req, name=name)["id"]}

        @app.route("GET", r"/api/datasources/(?P<ds_id>\d+)", action="datasources:read")
        def get_by_id(req, ds_id):
            return full_dto(profile, by_id_or_404(req, ds_id))

        @app.route("PUT", r"/api/datasources/(?P<ds_id>\d+)", action="datasources:write")
        def update_by_id(req, ds_id):
            """§14.1: the same update body and version rules as PUT by uid (UpdateDataSourceByID)."""
            ds = by_id_or_404(req, ds_id)
            if ds["readOnly"]:
                raise error(403, "Cannot update read-only data source")
            cmd = parse_command(profile, req.json(fields=binding.DATASOURCE), update=True)
            validate_url(cmd["type"], cmd["url"])
            update(store, req.org_id, ds, cmd)
            return {"message": "Datasource updated", "id": ds["id"], "name": cmd["name"], "datasource": full_dto(profile, ds)}

        @app.route("DELETE", r"/api/datasources/(?P<ds_id>\d+)", action="datasources:delete")
        def delete_by_id(req, ds_id):
            """§2: the deprecated id variant answers only {"message":"Data source deleted"}."""
            body = delete(by_id_or_404(req, ds_id))
            return {"message": body["message"]}

    @app.route("GET", r"/api/datasources/uid/(?P<uid>[^/]*)/health", action="datasources:query", lock=False)
    def health(req, uid):
        """docs §2: plugin CheckHealth; unknown well-formed uid -> 500 (not 404); bad uid -> 400."""
        from .pg import check_health

        if not UID_RE.match(uid) or len(uid) > 40:
            raise error(400, "UID is invalid")
        with store.lock:
            ds = find(store, req.org_id, uid=uid)
            ds = dict(ds, secureJsonData=dict(ds["secureJsonData"])) if ds else None
        if ds is None:
            raise error(500, "Unable to load datasource metadata", go_error="data source not found")
        if profile.is_postgres(ds["type"]):
            ok, message = check_health(ds)
        elif profile.resolve_type(ds["type"]) in ("grafana-testdata-datasource", "testdata"):
            ok, message = True, "Data source is working"
        else:
            raise ApiError(400, {"status": "ERROR", "message": "grafana emulator: no health check for plugin %s" % ds["type"]})
        if ok:
            return {"status": "OK", "message": message}
        return 400, {"status": "ERROR", "message": message}

"""Health, signed-in user, frontend settings, orgs, admin users and the emulator's debug endpoints."""

import hashlib
import json
import os
import uuid

from . import binding
from .server import ApiError, error, bad_request_data
from .store import now_iso

DEFAULT_POLICY_RECEIVER = "grafana-default-email"


def _short_uid():
    return uuid.uuid4().hex[:14]


def ensure_org(store, org_id, name):
    """An org plus what Grafana creates with it: the default contact point and notification policy tree."""
    if org_id not in store.orgs:
        store.orgs[org_id] = {"id": org_id, "name": name, "created": now_iso()}
        uid = _short_uid()
        store.contact_points[uid] = {
            "uid": uid,
            "orgId": org_id,
            "name": DEFAULT_POLICY_RECEIVER,
            "type": "email",
            "settings": {"addresses": "<example@email.com>"},
            "secure": {},
            "disableResolveMessage": False,
            "provenance": "",
        }
        store.policies[org_id] = default_policy_tree()
    return store.orgs[org_id]


def default_policy_tree():
    return {"receiver": DEFAULT_POLICY_RECEIVER, "group_by": ["grafana_folder", "alertname"], "provenance": ""}


def bootstrap(store, settings):
    """First start: org 1 "Main Org." and the admin user from [security] (applied once, like Grafana)."""
    if 1 not in store.orgs:
        ensure_org(store, 1, "Main Org.")
        store.data["seq"]["org"] = max(store.data["seq"].get("org", 0), 1)
    if not any(u["login"] == settings.admin_user for u in store.users.values()):
        uid = store.next_id("user")
        store.users[uid] = new_user_row(uid, settings.admin_user, "admin@localhost", "", settings.admin_password, {1: "Admin"}, grafana_admin=True)
    store.save()


def new_user_row(user_id, login, email, name, password, orgs, grafana_admin=False, service_account=False):
    ts = now_iso()
    return {
        "id": user_id,
        "uid": _short_uid(),
        "login": login,
        "email": email,
        "name": name,
        "password": password,
        "isGrafanaAdmin": grafana_admin,
        "isServiceAccount": service_account,
        "isDisabled": False,
        "orgId": sorted(orgs)[0],
        "orgs": dict(orgs),
        "theme": "",
        "created": ts,
        "updated": ts,
    }


def user_profile(user, org_id):
    """docs §1 UserProfileDTO."""
    return {
        "id": user["id"],
        "uid": user["uid"],
        "email": user["email"],
        "name": user["name"],
        "login": user["login"],
        "theme": user.get("theme", ""),
        "orgId": org_id,
        "isGrafanaAdmin": user["isGrafanaAdmin"],
        "isDisabled": user["isDisabled"],
        "isExternal": False,
        "isExternallySynced": False,
        "isGrafanaAdminExternallySynced": False,
        "authLabels": [],
        "updatedAt": user["updated"],
        "createdAt": user["created"],
        "avatarUrl": "/avatar/%s" % uuid.uuid5(uuid.NAMESPACE_DNS, user["login"]).hex,
    }


CORE_DATASOURCES = {
    "prometheus": "Prometheus",
    "loki": "Loki",
    "mysql": "MySQL",
    "mssql": "Microsoft SQL Server",
    "elasticsearch": "Elasticsearch",
    "influxdb": "InfluxDB",
    "graphite": "Graphite",
    "tempo": "Tempo",
    "jaeger": "Jaeger",
    "zipkin": "Zipkin",
    "cloudwatch": "CloudWatch",
    "alertmanager": "Alertmanager",
    "opentsdb": "OpenTSDB",
    "grafana-azure-monitor-datasource": "Azure Monitor",
    "stackdriver": "Google Cloud Monitoring",
    "grafana": "-- Grafana --",
}
CORE_PANELS = (
    "timeseries",
    "stat",
    "table",
    "gauge",
    "bargauge",
    "barchart",
    "piechart",
    "text",
    "heatmap",
    "state-timeline",
    "logs",
    "news",
    "alertlist",
    "dashlist",
)


def installed_plugins(profile):
    """Core plugins of the emulated version: id -> (type, name).  The PostgreSQL plugin id follows docs §2."""
    plugins = {pid: ("datasource", name) for pid, name in CORE_DATASOURCES.items()}
    plugins[profile.postgres_plugin_id] = ("datasource", "PostgreSQL")
    testdata = "grafana-testdata-datasource" if profile.v >= (10, 3, 0) else "testdata"
    plugins[testdata] = ("datasource", "TestData")
    plugins.update({pid: ("panel", pid) for pid in CORE_PANELS})
    return plugins


def register(app):
    store = app.store
    profile = app.profile
    settings = app.settings

    def health_body():
        body = {"database": "failing" if app.database_failing else "ok"}
        if not settings.hide_version:
            body["commit"] = app.commit
            body["version"] = profile.version
        return json.dumps(body, indent=2, sort_keys=True)

    @app.route("GET", r"/api/health", auth=False)
    def health(req):
        """docs §1: no auth, pretty JSON, charset=UTF-8, 503 with database failing."""
        return (503 if app.database_failing else 200, None, {"Content-Type": "application/json; charset=UTF-8"}, health_body())

    @app.route("GET", r"/healthz", auth=False)
    def healthz(req):
        """docs §1: plain ``Ok``."""
        return (200, None, {"Content-Type": "text/plain; charset=utf-8"}, "Ok")

    @app.route("GET", r"/api/user")
    def get_user(req):
        return user_profile(req.identity.user, req.org_id)

    @app.route("GET", r"/api/user/orgs")
    def get_user_orgs(req):
        user = req.identity.user
        return [{"orgId": oid, "name": store.orgs[oid]["name"], "role": role} for oid, role in sorted(user["orgs"].items())]

    @app.route("POST", r"/api/user/using/(?P<org_id>[^/]+)")
    def user_set_using_org(req, org_id):
        """§14.2 UserSetUsingOrg: non-numeric id -> 400 ``id is invalid``; not a member -> 401 ``Not a valid
        organization``; else the user's current org is changed (persisted: later requests without
        X-Grafana-Org-Id use it) -> 200 ``{"message":"Active organization changed"}``."""
        try:
            oid = int(org_id)
        except ValueError:
            raise error(400, "id is invalid", go_error='strconv.ParseInt: parsing "%s": invalid syntax' % org_id)
        user = req.identity.user
        if oid not in user["orgs"]:
            raise error(401, "Not a valid organization")
        user["orgId"] = oid
        return {"message": "Active organization changed"}

    @app.route("GET", r"/api/frontend/settings")
    def frontend_settings(req):
        """docs §1: inside reqSignedIn; buildInfo.version; datasources keyed by name; defaultDatasource."""
        dss = sorted((d for d in store.datasources.values() if d["orgId"] == req.org_id), key=lambda d: d["name"].lower())
        default = next((d["name"] for d in dss if d["isDefault"]), "-- Grafana --")
        hide = settings.hide_version
        return {
            "appUrl": "http://localhost:3000/",
            "appSubUrl": "",
            "defaultDatasource": default,
            "datasources": {
                d["name"]: {
                    "id": d["id"],
                    "uid": d["uid"],
                    "name": d["name"],
                    "type": profile.resolve_type(d["type"]),
                    "isDefault": d["isDefault"],
                    "access": d["access"],
                    "url": "/api/datasources/proxy/uid/%s" % d["uid"],
                    "jsonData": d["jsonData"],
                    "readOnly": d["readOnly"],
                }
                for d in dss
            },
            "buildInfo": {
                "hideVersion": hide,
                "version": "" if hide else profile.version,
                "commit": "" if hide else app.commit,
                "buildstamp": 0,
                "edition": "Open Source",
                "latestVersion": "",
                "hasUpdate": False,
                "env": settings.app_mode,
            },
            "featureToggles": {t: True for t in settings.feature_toggles},
            "unifiedAlertingEnabled": True,
        }

    @app.route("GET", r"/api/plugins/(?P<plugin_id>[^/]+)/settings")
    def plugin_settings(req, plugin_id):
        """Installed plugin lookup; aliases resolve like the plugin registry (postgres on >=10.2.3)."""
        plugins = installed_plugins(profile)
        resolved = profile.resolve_type(plugin_id)
        if resolved not in plugins:
            raise error(404, "Plugin not found, no installed plugin with that id")
        kind, name = plugins[resolved]
        return {
            "name": name,
            "type": kind,
            "id": resolved,
            "enabled": True,
            "pinned": False,
            "module": "core:plugin/%s" % resolved,
            "baseUrl": "public/app/plugins/%s/%s" % (kind, resolved),
            "info": {"version": profile.version, "author": {"name": "Grafana Labs"}},
            "hasUpdate": False,
            "defaultNavUrl": "",
            "state": "",
            "signature": "internal",
            "signatureType": "",
            "signatureOrg": "",
            "autoEnabled": False,
            "jsonData": None,
            "secureJsonFields": None,
            "includes": None,
            "dependencies": {"grafanaVersion": "*", "plugins": []},
            "latestVersion": "",
            "angularDetected": False,
        }

    @app.route("GET", r"/api/plugins")
    def plugin_list(req):
        kind = req.q("type")
        return [
            {"name": name, "type": k, "id": pid, "enabled": True, "pinned": False, "info": {"version": profile.version}, "signature": "internal"}
            for pid, (k, name) in sorted(installed_plugins(profile).items())
            if not kind or kind == k
        ]

    # ------------------------------------------------------------------ orgs & users (server admin)
    @app.route("GET", r"/api/orgs", action="server:admin")
    def list_orgs(req):
        return [{"id": o["id"], "name": o["name"]} for _oid, o in sorted(store.orgs.items())]

    @app.route("POST", r"/api/orgs", action="server:admin")
    def create_org(req):
        body = req.json(fields=binding.ORG)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request_data()
        if any(o["name"] == name for o in store.orgs.values()):
            raise error(409, "Organization name taken", go_error="organization name taken")
        org_id = store.next_id("org")
        ensure_org(store, org_id, name)
        req.identity.user["orgs"][org_id] = "Admin"
        return {"orgId": org_id, "message": "Organization created"}

    @app.route("GET", r"/api/orgs/(?P<org_id>\d+)", action="server:admin")
    def get_org(req, org_id):
        org = store.orgs.get(int(org_id))
        if org is None:
            raise error(404, "Organization not found")
        return {"id": org["id"], "name": org["name"], "address": {}}

    @app.route("GET", r"/api/orgs/(?P<org_id>\d+)/users", action="server:admin")
    def org_users(req, org_id):
        oid = int(org_id)
        return [
            {"orgId": oid, "userId": u["id"], "login": u["login"], "email": u["email"], "name": u["name"], "role": u["orgs"][oid]}
            for _uid, u in sorted(store.users.items())
            if oid in u["orgs"] and not u["isServiceAccount"]
        ]

    @app.route("POST", r"/api/orgs/(?P<org_id>\d+)/users", action="server:admin")
    def add_org_user(req, org_id):
        oid = int(org_id)
        body = req.json(fields=binding.ORG_USER)
        role = body.get("role")
        if role not in ("Viewer", "Editor", "Admin", "None"):
            raise bad_request_data()
        if oid not in store.orgs:
            raise error(404, "Organization not found")
        who = body.get("loginOrEmail")
        user = next((u for u in store.users.values() if not u["isServiceAccount"] and who in (u["login"], u["email"])), None)
        if user is None:
            raise error(404, "User not found")
        if oid in user["orgs"]:
            raise error(409, "User is already member of this organization")
        user["orgs"][oid] = role
        return {"message": "User added to organization", "userId": user["id"]}

    @app.route("PATCH", r"/api/orgs/(?P<org_id>\d+)/users/(?P<user_id>\d+)", action="server:admin")
    def update_org_user(req, org_id, user_id):
        body = req.json(fields=binding.ORG_USER)
        user = store.users.get(int(user_id))
        if body.get("role") not in ("Viewer", "Editor", "Admin", "None"):
            raise bad_request_data()
        if user is None or int(org_id) not in user["orgs"]:
            raise error(404, "User not found")
        user["orgs"][int(org_id)] = body["role"]
        return {"message": "Organization user updated"}

    @app.route("POST", r"/api/admin/users", action="server:admin")
    def admin_create_user(req):
        body = req.json(fields=binding.ADMIN_USER)
        login = body.get("login") or body.get("email")
        password = body.get("password") or ""
        if not login:
            raise bad_request_data()
        if len(password) < 4:
            raise error(400, "Password is missing or too short")
        if any(u["login"] == login or (body.get("email") and u["email"] == body.get("email")) for u in store.users.values()):
            raise error(412, "User already exists", go_error="user already exists")
        org_id = int(body.get("OrgId") or body.get("orgId") or 1)
        if org_id not in store.orgs:
            raise error(400, "Organization not found")
        uid = store.next_id("user")
        store.users[uid] = new_user_row(uid, login, body.get("email") or login, body.get("name") or "", password, {org_id: "Viewer"})
        return {"id": uid, "uid": store.users[uid]["uid"], "message": "User created"}

    # ------------------------------------------------------------------ emulator debug endpoints (not Grafana)
    @app.route("GET", r"/__emulator/requests", action="server:admin")
    def debug_requests(req):
        with app.log_lock:
            return list(app.request_log)

    @app.route("DELETE", r"/__emulator/requests", action="server:admin")
    def debug_requests_reset(req):
        with app.log_lock:
            app.request_log[:] = []
        return {"message": "request log cleared"}

    @app.route("GET", r"/__emulator/faults", action="server:admin")
    def debug_faults(req):
        return app.faults.list()

    @app.route("POST", r"/__emulator/faults", action="server:admin")
    def debug_add_fault(req):
        try:
            return app.faults.add(req.json())
        except (TypeError, ValueError) as exc:
            raise ApiError(400, {"message": "invalid fault: %s" % exc})

    @app.route("DELETE", r"/__emulator/faults", action="server:admin")
    def debug_clear_faults(req):
        app.faults.clear()
        return {"message": "faults cleared"}

    @app.route("POST", r"/__emulator/database", action="server:admin")
    def debug_database(req):
        app.database_failing = bool(req.json().get("failing"))
        return {"failing": app.database_failing}

    @app.route("GET", r"/__emulator/secure-fingerprints", action="server:admin")
    def debug_fingerprints(req):
        """sha256 of every stored secret (data sources and contact points), so tests can prove which secret is
        stored without it ever appearing in any answer."""

        def fp(value):
            return hashlib.sha256(value.encode()).hexdigest()

        return {
            "datasources": {d["uid"]: {k: fp(v) for k, v in d["secureJsonData"].items()} for d in store.datasources.values() if d["orgId"] == req.org_id},
            "contactPoints": {c["uid"]: {k: fp(v) for k, v in c["secure"].items()} for c in store.contact_points.values() if c["orgId"] == req.org_id},
        }

    @app.route("GET", r"/__emulator/info", action="server:admin")
    def debug_info(req):
        return {
            "version": profile.version,
            "profile": profile.as_dict(),
            "pid": os.getpid(),
            "provisioning": settings.provisioning,
            "dataFile": settings.data_file,
            "appMode": settings.app_mode,
            "provisioningErrors": app.provisioning_errors,
        }

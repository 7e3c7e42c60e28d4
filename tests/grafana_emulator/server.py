"""HTTP plumbing: routing, authentication, RBAC, error bodies, fault switches, request log.

Endpoint behaviour lives in the ``api_*`` modules; this module only knows the conventions that
apply to every ``/api`` route (docs §0).
"""

import base64
import json
import random
import re
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import tokens as tokenlib
from .store import now_iso


# ------------------------------------------------------------------------------------------ errors


class ApiError(Exception):
    """An HTTP answer other than success.  ``body=None`` means an empty body (e.g. docs §5 404)."""

    def __init__(self, status, body=None, go_error=None, headers=None):
        Exception.__init__(self, "%s %r" % (status, body))
        self.status = status
        self.body = body
        self.go_error = go_error
        self.headers = headers or {}


def error(status, message, go_error=None):
    """``response.Error`` shape (docs §0): ``{"message"}``, plus ``traceID`` when a Go error is passed,
    plus ``error`` only outside production app_mode."""
    body = {"message": message}
    if go_error is not None:
        body["traceID"] = ""
    return ApiError(status, body, go_error=go_error)


def errutil(status, message_id, message):
    """errutil shape (docs §0): ``{"message","messageId","statusCode","traceID"}``."""
    return ApiError(status, {"message": message, "messageId": message_id, "statusCode": status, "traceID": ""})


def status_error(status, status_text, message):
    """DashboardErr/folder errors with a status field: ``{"status","message"}`` (docs §3, §4)."""
    return ApiError(status, {"status": status_text, "message": message})


def bad_request_data(go_error="bad request data"):
    return error(400, "bad request data", go_error=go_error)


def go_bind(obj, fields):
    """Decode a JSON object into a Go struct's fields the way ``encoding/json`` does (docs §0, §14.3): a key
    matches a field by its JSON name exactly or, failing that, case-insensitively; a later key for the same
    field wins; keys matching no field are dropped (ignored).  ``fields`` are the JSON names of the struct;
    a value of ``(name, subfields)`` binds a nested struct (or a list of them) the same way.  Map-typed fields
    (jsonData, settings, labels, a dashboard's JSON) keep their keys verbatim."""
    if not isinstance(obj, dict):
        return obj
    spec = {}
    for f in fields:
        name, sub = f if isinstance(f, tuple) else (f, None)
        spec[name] = sub
    lower = {}
    for name in spec:
        lower.setdefault(name.lower(), name)
    out = {}
    for key, value in obj.items():
        name = key if key in spec else lower.get(key.lower())
        if name is None:
            continue
        sub = spec[name]
        if sub is not None:
            if isinstance(value, list):
                value = [go_bind(v, sub) for v in value]
            else:
                value = go_bind(value, sub)
        out[name] = value
    return out


# ------------------------------------------------------------------------------------------ RBAC

# Basic roles -> actions (Grafana fixed roles granted by default, simplified to the actions the
# collection touches).  Grafana server admins get "server:admin" for /api/orgs and /api/admin/*.
VIEWER = {"dashboards:read", "folders:read", "datasources:query", "alert.rules:read", "orgs:read"}
EDITOR = VIEWER | {"dashboards:create", "dashboards:write", "dashboards:delete", "folders:create", "folders:write", "folders:delete", "alert.rules:write"}
ADMIN = EDITOR | {
    "datasources:read",
    "datasources:create",
    "datasources:write",
    "datasources:delete",
    "serviceaccounts:read",
    "serviceaccounts:create",
    "serviceaccounts:write",
    "serviceaccounts:delete",
    "alert.provisioning:read",
    "alert.provisioning:write",
    "org.users:read",
    "org.users:add",
    "users:read",
}
ROLE_ACTIONS = {"Viewer": VIEWER, "Editor": EDITOR, "Admin": ADMIN, "None": set()}
ROLE_RANK = {"None": 0, "Viewer": 1, "Editor": 2, "Admin": 3}


class Identity(object):
    def __init__(self, user, org_id, role, token=None):
        self.user = user
        self.org_id = org_id
        self.role = role
        self.token = token

    @property
    def is_server_admin(self):
        return bool(self.user.get("isGrafanaAdmin"))

    def can(self, action):
        if action == "server:admin":
            return self.is_server_admin
        return action in ROLE_ACTIONS.get(self.role, set())


def access_denied(action):
    """docs §0 RBAC denial body (10.x+)."""
    return ApiError(
        403,
        {
            "accessErrorId": "ACE%010d" % random.randint(0, 9999999999),
            "message": "You'll need additional permissions to perform this action. Permissions needed: %s" % action,
            "title": "Access denied",
        },
    )


# ------------------------------------------------------------------------------------------ request


class Request(object):
    def __init__(self, app, method, target, headers, body):
        self.app = app
        self.method = method
        parts = urlsplit(target)
        self.path = unquote(parts.path)
        self.raw_path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.identity = None
        self._json = None

    @property
    def store(self):
        return self.app.store

    @property
    def profile(self):
        return self.app.profile

    @property
    def org_id(self):
        return self.identity.org_id

    def q(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def q_list(self, name):
        out = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v) if name.endswith("UIDs") else out.append(value)
        return out

    def q_int(self, name, default):
        try:
            return int(self.q(name, default))
        except (TypeError, ValueError):
            raise error(400, "invalid value for query parameter %s" % name)

    def json(self, expect=dict, fields=None):
        """The decoded body; binding failures are 400 ``bad request data`` (docs §2).  With ``fields`` the
        object is bound like Go's encoding/json binds a struct (case-insensitive keys, see ``go_bind``)."""
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8") or "null")
            except (ValueError, UnicodeDecodeError) as exc:
                raise bad_request_data(str(exc))
        if expect is not None and not isinstance(self._json, expect):
            raise bad_request_data("json: cannot unmarshal into Go value of the expected type")
        if fields is not None:
            return go_bind(self._json, fields)
        return self._json

    def header(self, name):
        return self.headers.get(name)

    def has_header(self, name):
        return name in self.headers


# ------------------------------------------------------------------------------------------ faults


class FaultSwitches(object):
    """Next N requests matching a path prefix (and method) answer 5xx, are slow, or are dropped."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []

    def add(self, spec):
        fault = {
            "path_prefix": str(spec.get("path_prefix", "/")),
            "method": (spec.get("method") or "").upper(),
            "kind": spec.get("kind", "error"),
            "count": int(spec.get("count", 1)),
            "status": int(spec.get("status", 503)),
            "seconds": float(spec.get("seconds", 1.0)),
            "hits": 0,
        }
        if fault["kind"] not in ("error", "slow", "drop"):
            raise ValueError("fault kind must be error, slow or drop")
        if not 500 <= fault["status"] <= 599:
            raise ValueError("fault status must be 5xx")
        if not 0 < fault["seconds"] <= 120:
            raise ValueError("fault seconds must be in (0, 120]")
        if not 0 < fault["count"] <= 100000:
            raise ValueError("fault count must be in 1..100000")
        with self.lock:
            self.faults.append(fault)
        return fault

    def take(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and path.startswith(fault["path_prefix"]) and (not fault["method"] or fault["method"] == method):
                    fault["count"] -= 1
                    fault["hits"] += 1
                    return dict(fault)
        return None

    def clear(self):
        with self.lock:
            self.faults = []

    def list(self):
        with self.lock:
            return [dict(f) for f in self.faults]


# ------------------------------------------------------------------------------------------ app


class App(object):
    def __init__(self, settings, profile, store):
        self.settings = settings
        self.profile = profile
        self.store = store
        self.routes = []
        self.faults = FaultSwitches()
        self.log_lock = threading.Lock()
        self.request_log = []
        self.commit = "emulator%s" % profile.version.replace(".", "")
        self.database_failing = False
        self.provisioning_errors = []
        for spec in settings.faults:
            self.faults.add(spec)

    def route(self, method, pattern, action=None, auth=True, lock=True):
        """Register a handler.  ``lock=False`` handlers (slow I/O such as PostgreSQL) take the store lock
        themselves for the short time they read state."""
        regex = re.compile("^" + pattern + "$")

        def deco(fn):
            self.routes.append((method, regex, fn, action, auth, lock))
            return fn

        return deco

    def log(self, method, path, status, fault=None):
        if path.startswith("/__emulator"):
            return
        entry = {"method": method, "path": path, "status": status}
        if fault:
            entry["fault"] = fault
        with self.log_lock:
            self.request_log.append(entry)
            del self.request_log[:-10000]

    # -- authentication (docs §0)
    def authenticate(self, req):
        header = req.header("Authorization") or ""
        scheme, _sep, cred = header.partition(" ")
        scheme = scheme.lower()
        store = self.store
        if not header:
            raise error(401, "Unauthorized")
        if scheme == "basic":
            try:
                login, _sep, password = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise self._bad_password()
            user = next((u for u in store.users.values() if not u.get("isServiceAccount") and (u["login"] == login or u.get("email") == login)), None)
            if user is None or user.get("password") != password or user.get("isDisabled"):
                raise self._bad_password()
            org_text = req.q("targetOrgId") or req.header("X-Grafana-Org-Id")
            org_id = user.get("orgId", 1)
            if org_text:
                try:
                    org_id = int(org_text)
                except ValueError:
                    raise error(400, "Invalid org id")
            role = user["orgs"].get(org_id)
            if role is None:
                # unverified: Grafana resolves no membership for that org; answered as unauthenticated
                raise error(401, "Unauthorized")
            return Identity(user, org_id, role)
        if scheme == "bearer":
            key = cred.strip()
            if not tokenlib.is_well_formed(key):
                raise self._bad_token()
            digest = tokenlib.token_hash(key)
            token = next((t for t in store.tokens.values() if t["hash"] == digest), None)
            if token is None:
                raise self._bad_token()
            if token.get("expires_at") and token["expires_at"] < time.time():
                raise errutil(401, "api-key.expired", "Expired API key")
            user = store.users.get(token["saId"])
            if user is None or user.get("isDisabled"):
                raise self._bad_token()
            org_text = req.q("targetOrgId") or req.header("X-Grafana-Org-Id")
            if org_text and org_text != str(token["orgId"]):
                raise errutil(401, "api-key.organization-mismatch", "API key does not belong to the requested organization")
            token["lastUsedAt"] = now_iso()
            return Identity(user, token["orgId"], user["orgs"][token["orgId"]], token=token)
        raise error(401, "Unauthorized")

    def _bad_password(self):
        if self.profile.authn_errutil:
            return errutil(401, "password-auth.failed", "Invalid username or password")
        return error(401, "Invalid username or password")

    def _bad_token(self):
        if self.profile.authn_errutil:
            return errutil(401, "api-key.invalid", "Invalid API key")
        return error(401, "Invalid API key")

    # -- dispatch
    def handle(self, req):
        """Return (status, headers, body_bytes)."""
        path_allowed = False
        for method, regex, fn, action, auth, lock in self.routes:
            m = regex.match(req.path)
            if not m:
                continue
            path_allowed = True
            if method != req.method and not (method == "GET" and req.method == "HEAD"):
                continue
            try:
                with self.store.lock:
                    if auth:
                        req.identity = self.authenticate(req)
                        if action and not req.identity.can(action):
                            raise access_denied(action)
                    if lock:
                        result = fn(req, **m.groupdict())
                        if req.method not in ("GET", "HEAD"):
                            self.store.save()
                if not lock:
                    result = fn(req, **m.groupdict())
                return self._render(result)
            except ApiError as exc:
                body = exc.body
                if isinstance(body, dict) and exc.go_error is not None and self.settings.app_mode != "production":
                    body = dict(body, error=str(exc.go_error))
                return self._render((exc.status, body, exc.headers))
        if path_allowed:
            return self._render((405, {"message": "Method Not Allowed"}))
        if req.path.startswith("/api/"):
            return self._render((404, {"message": "Not found"}))
        return self._render((404, None, {"Content-Type": "text/html; charset=UTF-8"}, b"404 page not found"))

    @staticmethod
    def _render(result):
        headers = {"Content-Type": "application/json"}
        raw = None
        if not isinstance(result, tuple):
            status, body = 200, result
        elif len(result) == 2:
            status, body = result
        elif len(result) == 3:
            status, body, extra = result
            headers.update(extra or {})
        else:
            status, body, extra, raw = result
            headers.update(extra or {})
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is None:
            data = b""
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        return status, headers, data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body are two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per keep-alive request
    disable_nagle_algorithm = True
    server_version = "grafana-emulator"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # request lines go to the request log, not stderr (no secrets anywhere)
        pass

    def _handle(self):
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = Request(app, self.command, self.path, self.headers, body)
        fault = None if req.path.startswith("/__emulator") else app.faults.take(self.command, req.path)
        if fault and fault["kind"] == "drop":
            app.log(self.command, req.path, 0, "drop")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault["kind"] == "slow":
            time.sleep(fault["seconds"])
        if fault and fault["kind"] == "error":
            status = fault["status"]
            data = json.dumps({"message": HTTPStatus(status).phrase}).encode()
            headers = {"Content-Type": "application/json"}
        else:
            try:
                status, headers, data = app.handle(req)
            except Exception as exc:  # a bug in the emulator must be visible, not a hung client
                sys.stderr.write("grafana_emulator: internal error on %s %s: %r\n" % (self.command, req.path, exc))
                status, headers, data = 500, {"Content-Type": "application/json"}, json.dumps({"message": "Internal Server Error", "traceID": ""}).encode()
        app.log(self.command, req.path, status, fault and fault["kind"])
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app):
        self.app = app
        ThreadingHTTPServer.__init__(self, address, Handler)

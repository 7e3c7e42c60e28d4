"""Service accounts and their glsa_ tokens (docs §7, token format docs §0)."""

import datetime
import time

from . import tokens as tokenlib
from .api_core import new_user_row
from . import binding
from .server import ApiError, error, errutil, bad_request_data, access_denied, ROLE_RANK
from .store import now_iso

ROLES = ("Viewer", "Editor", "Admin", "None")


def sa_login(profile, org_id, name):
    """docs §7: ``sa-`` + lower-cased name with spaces -> ``-`` (newer: ``sa-<orgId>-<name>``)."""
    base = name.lower().replace(" ", "-")
    return "sa-%d-%s" % (org_id, base) if profile.sa_login_with_org else "sa-" + base


def sa_dto(store, sa, org_id):
    return {
        "id": sa["id"],
        "uid": sa["uid"],
        "name": sa["name"],
        "login": sa["login"],
        "orgId": org_id,
        "isDisabled": sa["isDisabled"],
        "role": sa["orgs"][org_id],
        "tokens": sum(1 for t in store.tokens.values() if t["saId"] == sa["id"]),
        "avatarUrl": "/avatar/%032x" % sa["id"],
    }


def token_dto(token):
    expires = token.get("expires_at")
    out = {
        "id": token["id"],
        "name": token["name"],
        "created": token["created"],
        "lastUsedAt": token.get("lastUsedAt"),
        "isRevoked": False,
        "hasExpired": bool(expires and expires < time.time()),
    }
    if expires:
        out["expiration"] = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out["secondsUntilExpiration"] = max(0.0, expires - time.time())
    return out


def register(app):
    store = app.store
    profile = app.profile

    def sa_or_404(req, sa_id, message="service account not found"):
        sa = store.users.get(int(sa_id))
        if sa is None or not sa["isServiceAccount"] or req.org_id not in sa["orgs"]:
            raise errutil(404, "serviceaccounts.ErrNotFound", message)
        return sa

    def check_role(req, role):
        if role not in ROLES:
            raise bad_request_data("invalid role %r" % role)
        if ROLE_RANK[role] > ROLE_RANK.get(req.identity.role, 0) and not req.identity.is_server_admin:
            raise access_denied("serviceaccounts:write")

    @app.route("POST", r"/api/serviceaccounts", action="serviceaccounts:create")
    def create(req):
        body = req.json(fields=binding.SERVICE_ACCOUNT)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request_data("name is required")
        role = body.get("role") or "Viewer"
        check_role(req, role)
        login = sa_login(profile, req.org_id, name)
        if any(u["login"] == login for u in store.users.values()):
            raise errutil(400, "serviceaccounts.ErrAlreadyExists", "Failed to create service account")
        sa_id = store.next_id("user")
        sa = new_user_row(sa_id, login, "", name, None, {req.org_id: role}, service_account=True)
        sa["isDisabled"] = bool(body.get("isDisabled"))
        store.users[sa_id] = sa
        return 201, sa_dto(store, sa, req.org_id)

    @app.route("GET", r"/api/serviceaccounts/search", action="serviceaccounts:read")
    def search(req):
        query = (req.q("query") or "").lower()
        per_page = req.q_int("perpage", 1000) or 1000
        page = max(req.q_int("page", 1), 1)
        found = [
            u
            for _uid, u in sorted(store.users.items())
            if u["isServiceAccount"] and req.org_id in u["orgs"] and (query in u["name"].lower() or query in u["login"].lower())
        ]
        return {
            "totalCount": len(found),
            "page": page,
            "perPage": per_page,
            "serviceAccounts": [sa_dto(store, u, req.org_id) for u in found[(page - 1) * per_page : page * per_page]],
        }

    @app.route("GET", r"/api/serviceaccounts/(?P<sa_id>\d+)", action="serviceaccounts:read")
    def get(req, sa_id):
        return sa_dto(store, sa_or_404(req, sa_id), req.org_id)

    @app.route("PATCH", r"/api/serviceaccounts/(?P<sa_id>\d+)", action="serviceaccounts:write")
    def patch(req, sa_id):
        sa = sa_or_404(req, sa_id)
        body = req.json(fields=binding.SERVICE_ACCOUNT)
        if body.get("role") is not None:
            check_role(req, body["role"])
        if body.get("name"):
            login = sa_login(profile, req.org_id, body["name"])
            if any(u["login"] == login and u["id"] != sa["id"] for u in store.users.values()):
                raise errutil(400, "serviceaccounts.ErrAlreadyExists", "Failed to update service account")
            sa["name"], sa["login"] = body["name"], login
        if body.get("role") is not None:
            sa["orgs"][req.org_id] = body["role"]
        if body.get("isDisabled") is not None:
            sa["isDisabled"] = bool(body["isDisabled"])
        sa["updated"] = now_iso()
        dto = sa_dto(store, sa, req.org_id)
        return {"id": sa["id"], "name": sa["name"], "serviceaccount": dto, "message": "Service account updated"}

    @app.route("DELETE", r"/api/serviceaccounts/(?P<sa_id>\d+)", action="serviceaccounts:delete")
    def delete(req, sa_id):
        sa = sa_or_404(req, sa_id)
        for tid in [t["id"] for t in store.tokens.values() if t["saId"] == sa["id"]]:
            del store.tokens[tid]
        del store.users[sa["id"]]
        return {"message": "Service account deleted"}

    @app.route("GET", r"/api/serviceaccounts/(?P<sa_id>\d+)/tokens", action="serviceaccounts:read")
    def list_tokens(req, sa_id):
        sa = sa_or_404(req, sa_id)
        return [token_dto(t) for _tid, t in sorted(store.tokens.items()) if t["saId"] == sa["id"]]

    @app.route("POST", r"/api/serviceaccounts/(?P<sa_id>\d+)/tokens", action="serviceaccounts:write")
    def create_token(req, sa_id):
        sa = sa_or_404(req, sa_id, message="Failed to retrieve service account")
        body = req.json(fields=binding.SA_TOKEN)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request_data("name is required")
        ttl = body.get("secondsToLive") or 0
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            raise bad_request_data("secondsToLive must be a non-negative integer")
        if any(t["orgId"] == req.org_id and t["name"] == name for t in store.tokens.values()):
            raise error(409, "Token with the given name already exists", go_error="api key already exists")
        key = tokenlib.new_token()
        token_id = store.next_id("token")
        store.tokens[token_id] = {
            "id": token_id,
            "name": name,
            "saId": sa["id"],
            "orgId": req.org_id,
            "hash": tokenlib.token_hash(key),
            "created": now_iso(),
            "expires_at": time.time() + ttl if ttl else None,
        }
        return {"id": token_id, "name": name, "key": key}

    @app.route("DELETE", r"/api/serviceaccounts/(?P<sa_id>\d+)/tokens/(?P<token_id>\d+)", action="serviceaccounts:write")
    def delete_token(req, sa_id, token_id):
        sa = sa_or_404(req, sa_id)
        token = store.tokens.get(int(token_id))
        if token is None or token["saId"] != sa["id"]:
            raise ApiError(404, {"message": "Failed to delete API key"})
        del store.tokens[token["id"]]
        return {"message": "API key deleted"}

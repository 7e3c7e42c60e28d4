"""Health, authentication, RBAC, orgs and tokens (docs §0, §1, §7)."""

import base64
import json
import struct
import time
import zlib

import pytest
import requests

from conftest import PLANTED
from emu_client import Client
from grafana_emulator import tokens


def test_health_no_auth_pretty_json_and_head(grafana_emulator):
    """docs §1 GET /api/health: no auth, 2-space pretty JSON, charset=UTF-8, answers HEAD."""
    resp = requests.get(grafana_emulator.url + "/api/health")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert resp.text == json.dumps({"commit": resp.json()["commit"], "database": "ok", "version": grafana_emulator.version}, indent=2, sort_keys=True)
    head = requests.head(grafana_emulator.url + "/api/health")
    assert head.status_code == 200 and head.text == ""


def test_healthz_plain_ok(grafana_emulator):
    """docs §1: /healthz returns plain ``Ok`` (200, no JSON)."""
    resp = requests.get(grafana_emulator.url + "/healthz")
    assert resp.status_code == 200 and resp.text == "Ok"


def test_health_database_failing_503(grafana_emulator):
    """docs §1: DB unreachable -> 503 with "database":"failing"."""
    grafana_emulator.api("POST", "/__emulator/database", {"failing": True})
    resp = requests.get(grafana_emulator.url + "/api/health")
    assert resp.status_code == 503 and resp.json()["database"] == "failing"


def test_health_hide_version(grafana_emulator_factory):
    """docs §1: version/commit omitted when [auth.anonymous] hide_version = true."""
    emu = grafana_emulator_factory(env={"GF_AUTH_ANONYMOUS_HIDE_VERSION": "true"})
    body = requests.get(emu.url + "/api/health").json()
    assert body == {"database": "ok"}


def test_no_credentials_401_unauthorized(grafana_emulator):
    """docs §0: no credentials -> 401 {"message":"Unauthorized"} on every /api route incl. frontend settings."""
    for path in ("/api/user", "/api/frontend/settings", "/api/datasources", "/api/search"):
        resp = requests.get(grafana_emulator.url + path)
        assert resp.status_code == 401 and resp.json() == {"message": "Unauthorized"}, path


def test_bad_basic_auth_errutil_body(grafana_emulator):
    """docs §0: bad Basic auth -> 401 errutil password-auth.failed / Invalid username or password."""
    resp = requests.get(grafana_emulator.url + "/api/user", auth=("admin", "wrong"))
    assert resp.status_code == 401
    assert resp.json() == {"message": "Invalid username or password", "messageId": "password-auth.failed", "statusCode": 401, "traceID": ""}


@pytest.mark.parametrize(
    "token",
    [
        PLANTED["grafana_token"],  # right shape, wrong checksum
        "glsa_" + "a" * 31 + "_00000000",  # wrong length
        "not-a-token",
        "well-formed-unknown",  # replaced by a fresh valid-looking key
    ],
)
def test_bad_token_api_key_invalid(grafana_emulator, token):
    """docs §0: invalid bearer token -> 401 errutil api-key.invalid (shape/checksum checked before lookup)."""
    if token == "well-formed-unknown":
        token = tokens.new_token()
        assert tokens.is_well_formed(token)
    resp = requests.get(grafana_emulator.url + "/api/user", headers={"Authorization": "Bearer " + token})
    assert resp.status_code == 401
    assert resp.json() == {"message": "Invalid API key", "messageId": "api-key.invalid", "statusCode": 401, "traceID": ""}


def test_token_format_crc32_checksum(grafana_emulator):
    """docs §0 token format: glsa_ + 32 alnum + _ + CRC32-IEEE of "glsa_<secret>" as little-endian hex."""
    key = grafana_emulator.create_token("Viewer")
    prefix, secret, check = key.split("_")
    assert prefix == "glsa" and len(secret) == 32 and secret.isalnum()
    assert check == struct.pack("<I", zlib.crc32(("glsa_" + secret).encode()) & 0xFFFFFFFF).hex()
    # flipping one checksum digit makes it invalid before any lookup
    bad = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert requests.get(grafana_emulator.url + "/api/user", headers={"Authorization": "Bearer " + bad}).status_code == 401


def test_user_with_token_is_service_account(grafana_emulator):
    """docs §1: /api/user with an SA token returns the SA's own user row (login sa-...)."""
    key = grafana_emulator.create_token("Editor", name="CI Bot")
    resp = Client(grafana_emulator, token=key).get("/api/user")
    assert resp.status == 200 and resp.json["login"] == "sa-1-ci-bot"


def test_viewer_write_rbac_403(grafana_emulator):
    """docs §0: RBAC denial -> 403 {accessErrorId, message "...Permissions needed: <action>", title}."""
    viewer = Client(grafana_emulator, token=grafana_emulator.create_token("Viewer"))
    resp = viewer.post("/api/folders", {"title": "x"})
    assert resp.status == 403
    assert set(resp.json) == {"accessErrorId", "message", "title"}
    assert resp.json["title"] == "Access denied" and resp.json["accessErrorId"].startswith("ACE")
    assert resp.json["message"].endswith("Permissions needed: folders:create")
    editor = Client(grafana_emulator, token=grafana_emulator.create_token("Editor"))
    assert editor.post("/api/folders", {"title": "x"}).status == 200
    assert editor.post("/api/datasources", {"name": "a", "type": "x", "access": "proxy"}).status == 403


def test_frontend_settings_build_info(grafana_emulator_factory):
    """docs §1: /api/frontend/settings requires auth and carries buildInfo.version."""
    emu = grafana_emulator_factory(version="10.4.2")
    resp = Client(emu).get("/api/frontend/settings")
    assert resp.status == 200 and resp.json["buildInfo"]["version"] == "10.4.2"


def test_org_isolation_with_org_header(grafana_emulator):
    """docs §0: X-Grafana-Org-Id selects the org for Basic users; objects are scoped per org."""
    admin = Client(grafana_emulator)
    resp = admin.post("/api/orgs", {"name": "Second"})
    assert resp.status == 200 and resp.json["orgId"] == 2
    assert admin.post("/api/folders", {"title": "Only in 1", "uid": "one"}).status == 200
    org2 = Client(grafana_emulator, org_id=2)
    assert org2.get("/api/folders/one").status == 404
    assert org2.post("/api/folders", {"title": "Only in 1", "uid": "one"}).status == 200
    assert [f["uid"] for f in org2.get("/api/folders").json] == ["one"]
    # query parameter targetOrgId takes precedence over the header
    both = admin.get("/api/user", headers={"X-Grafana-Org-Id": "1"}, params={"targetOrgId": "2"})
    assert both.json["orgId"] == 2


def test_token_bound_to_its_org(grafana_emulator):
    """docs §0: tokens are bound to the org they were created in; another org id is refused."""
    Client(grafana_emulator).post("/api/orgs", {"name": "Second"})
    key = grafana_emulator.create_token("Admin", org_id=2)
    client = Client(grafana_emulator, token=key)
    assert client.get("/api/user").json["orgId"] == 2
    resp = client.get("/api/user", headers={"X-Grafana-Org-Id": "1"})
    assert resp.status == 401 and resp.json["messageId"] == "api-key.organization-mismatch"


def test_admin_created_user_roles(grafana_emulator):
    """Basic users created via POST /api/admin/users get the org role set through /api/orgs/:id/users."""
    admin = Client(grafana_emulator)
    resp = admin.post("/api/admin/users", {"name": "Ed", "login": "ed", "email": "ed@x", "password": "edpassword"})
    assert resp.status == 200
    ed = Client(grafana_emulator, auth=("ed", "edpassword"))
    assert ed.post("/api/folders", {"title": "t"}).status == 403  # Viewer by default
    assert admin.patch("/api/orgs/1/users/%d" % resp.json["id"], {"role": "Editor"}).status == 200
    assert ed.post("/api/folders", {"title": "t"}).status == 200
    assert admin.post("/api/admin/users", {"login": "ed", "password": "edpassword"}).status == 412


def test_service_account_lifecycle(grafana_emulator):
    """docs §7: SA create 201, duplicate 400, token 200 {id,name,key}, list, token delete, SA delete."""
    admin = Client(grafana_emulator)
    sa = admin.post("/api/serviceaccounts", {"name": "kpi deployer", "role": "Editor"})
    assert sa.status == 201 and sa.json["login"] == "sa-1-kpi-deployer" and sa.json["role"] == "Editor"
    dup = admin.post("/api/serviceaccounts", {"name": "kpi deployer"})
    assert dup.status == 400 and dup.json["message"] == "Failed to create service account"
    tok = admin.post("/api/serviceaccounts/%d/tokens" % sa.json["id"], {"name": "t1"})
    assert tok.status == 200 and set(tok.json) == {"id", "name", "key"}
    assert admin.post("/api/serviceaccounts/%d/tokens" % sa.json["id"], {"name": "t1"}).status == 409
    assert admin.post("/api/serviceaccounts/999/tokens", {"name": "t"}).status == 404
    listed = admin.get("/api/serviceaccounts/%d/tokens" % sa.json["id"])
    assert [t["name"] for t in listed.json] == ["t1"] and "key" not in listed.json[0]
    found = admin.get("/api/serviceaccounts/search", params={"query": "deployer"})
    assert found.json["totalCount"] == 1 and found.json["serviceAccounts"][0]["tokens"] == 1
    assert Client(grafana_emulator, token=tok.json["key"]).get("/api/user").status == 200
    assert admin.delete("/api/serviceaccounts/%d/tokens/%d" % (sa.json["id"], tok.json["id"])).json == {"message": "API key deleted"}
    assert Client(grafana_emulator, token=tok.json["key"]).get("/api/user").status == 401
    assert admin.delete("/api/serviceaccounts/%d" % sa.json["id"]).json == {"message": "Service account deleted"}


def test_sa_role_above_caller_forbidden(grafana_emulator):
    """docs §7: creating an SA with a role above the caller's -> 403."""
    admin = Client(grafana_emulator)
    admin.post("/api/admin/users", {"login": "ed", "password": "edpassword"})
    # an Editor lacks serviceaccounts:create altogether; an org Admin that is not server admin can create Admin SAs
    ed = Client(grafana_emulator, auth=("ed", "edpassword"))
    assert ed.post("/api/serviceaccounts", {"name": "x", "role": "Admin"}).status == 403


def test_basic_auth_header_garbage(grafana_emulator):
    """docs §0: undecodable Basic credentials are bad credentials (401 password-auth.failed)."""
    resp = requests.get(grafana_emulator.url + "/api/user", headers={"Authorization": "Basic %%%"})
    assert resp.status_code == 401 and resp.json()["messageId"] == "password-auth.failed"
    creds = base64.b64encode(b"nobody:x").decode()
    resp = requests.get(grafana_emulator.url + "/api/user", headers={"Authorization": "Basic " + creds})
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "version,plugin,status",
    [
        ("11.3.0", "grafana-postgresql-datasource", 200),
        ("11.3.0", "postgres", 200),
        ("10.2.2", "grafana-postgresql-datasource", 404),
        ("10.2.2", "postgres", 200),
        ("11.3.0", "acme-nope", 404),
    ],
)
def test_plugin_settings(grafana_emulator_factory, version, plugin, status):
    """docs §2: the PostgreSQL plugin id is grafana-postgresql-datasource from 10.2.3, postgres kept as alias."""
    r = Client(grafana_emulator_factory(version=version)).get("/api/plugins/%s/settings" % plugin)
    assert r.status == status
    if status == 200:
        assert r.json["type"] == "datasource"
    else:
        assert r.json == {"message": "Plugin not found, no installed plugin with that id"}


@pytest.mark.parametrize("version,login", [("10.3.0", "sa-deploy-bot"), ("10.4.0", "sa-1-deploy-bot"), ("12.0.0", "sa-1-deploy-bot")])
def test_sa_login_embeds_org_from_10_4(grafana_emulator_factory, version, login):
    """docs §7/§14.9: sa-<orgId>-<name> from the 10.4.x backport (#83953) on; <= 10.3: sa-<name>."""
    assert Client(grafana_emulator_factory(version=version)).post("/api/serviceaccounts", {"name": "Deploy Bot"}).json["login"] == login


def test_token_seconds_to_live_expires(grafana_emulator):
    """docs §7: secondsToLive bounds a token; an expired token -> 401 (errutil api-key.expired)."""
    admin = Client(grafana_emulator)
    sa = admin.post("/api/serviceaccounts", {"name": "short", "role": "Viewer"}).json
    key = admin.post("/api/serviceaccounts/%d/tokens" % sa["id"], {"name": "t", "secondsToLive": 1}).json["key"]
    listed = admin.get("/api/serviceaccounts/%d/tokens" % sa["id"]).json[0]
    assert listed["hasExpired"] is False and 0 < listed["secondsUntilExpiration"] <= 1
    time.sleep(1.2)
    resp = requests.get(grafana_emulator.url + "/api/user", headers={"Authorization": "Bearer " + key})
    assert resp.status_code == 401 and resp.json()["messageId"] == "api-key.expired"


def test_error_field_only_outside_production(grafana_emulator_factory):
    """docs §0: "error" (the Go error) is added only when app_mode != production; traceID always with an error."""
    prod = Client(grafana_emulator_factory()).post("/api/datasources", {"name": "x"})
    assert prod.status == 400 and prod.json == {"message": "bad request data", "traceID": ""}
    dev = Client(grafana_emulator_factory(extra_args=["--app-mode", "development"])).post("/api/datasources", {"name": "x"})
    assert dev.status == 400 and set(dev.json) == {"message", "traceID", "error"}

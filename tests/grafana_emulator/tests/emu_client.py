"""A small HTTP client for the emulator's own tests: every exchange with an endpoint present in the
OpenAPI file is validated by openapi_check (request body and response body for that status)."""

import atexit
import json
import os

import requests

import openapi_check

CHECKED_OPERATIONS = set()


@atexit.register
def _write_coverage():
    """EMULATOR_OPENAPI_COVERAGE=FILE: list the spec operations whose traffic was validated."""
    target = os.environ.get("EMULATOR_OPENAPI_COVERAGE")
    if target and CHECKED_OPERATIONS:
        with open(target, "w") as fh:
            fh.write("\n".join(sorted(CHECKED_OPERATIONS)) + "\n")


class Response(object):
    def __init__(self, resp):
        self.status = resp.status_code
        self.headers = resp.headers
        self.text = resp.text
        try:
            self.json = resp.json() if resp.content else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<Response %s %s>" % (self.status, self.text[:300])


class Client(object):
    def __init__(self, emu, token=None, auth=None, org_id=None, validate=True):
        self.emu = emu
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = "Bearer " + token
        else:
            self.session.auth = auth or (emu.admin_user, emu.admin_password)
        if org_id:
            self.session.headers["X-Grafana-Org-Id"] = str(org_id)
        self.validate = validate

    def call(self, method, path, body=None, headers=None, params=None, timeout=30, invalid_request=False):
        """``invalid_request=True`` marks a deliberately invalid body: only the response is validated."""
        data = json.dumps(body) if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        resp = Response(self.session.request(method, self.emu.url + path, data=data, headers=hdrs, params=params, timeout=timeout))
        if self.validate:
            op = openapi_check.check(method, path, body, resp.status, resp.json, check_request=not invalid_request)
            if op is not None:
                CHECKED_OPERATIONS.add(op.operation_id)
        return resp

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)


def pg_datasource(pg_server, dbname, name="KPI PostgreSQL", uid=None, password=None, sslmode="disable", **extra):
    """A POST /api/datasources body for the test PostgreSQL (password from the planted secrets)."""
    body = {
        "name": name,
        "type": "grafana-postgresql-datasource",
        "access": "proxy",
        "url": "%s:%d" % (pg_server.host, pg_server.port),
        "user": pg_server.superuser,
        "jsonData": {"database": dbname, "sslmode": sslmode},
        "secureJsonData": {"password": pg_server.password if password is None else password},
    }
    if uid:
        body["uid"] = uid
    body.update(extra)
    return body

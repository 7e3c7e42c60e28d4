"""Fault switches, request log, command line / grafana.ini handling, version profiles."""

import os
import subprocess
import sys
import time

import pytest
import requests

import openapi_check
from emu_client import Client
from grafana_emulator import config
from grafana_emulator.pytest_plugin import PACKAGE_PARENT


def test_fault_5xx_then_normal(grafana_emulator):
    """Fault switch: the next N requests under a prefix answer the given 5xx, then normal service resumes."""
    grafana_emulator.set_fault("/api/folders", kind="error", count=2, status=502)
    api = Client(grafana_emulator, validate=False)
    assert [api.get("/api/folders").status for _attempt in range(3)] == [502, 502, 200]
    assert api.get("/api/search").status == 200  # other prefixes untouched
    log = grafana_emulator.request_log()
    assert [e["status"] for e in log if e["path"] == "/api/folders"] == [502, 502, 200]


def test_fault_slow_bounded(grafana_emulator):
    """Fault switch: a slow answer is delayed by the given seconds (measured), only once."""
    grafana_emulator.set_fault("/api/health", kind="slow", count=1, seconds=0.6)
    start = time.monotonic()
    assert requests.get(grafana_emulator.url + "/api/health", timeout=10).status_code == 200
    slow = time.monotonic() - start
    start = time.monotonic()
    requests.get(grafana_emulator.url + "/api/health", timeout=10)
    fast = time.monotonic() - start
    assert 0.6 <= slow < 3.0 and fast < 0.5
    with pytest.raises(requests.exceptions.ReadTimeout):
        grafana_emulator.set_fault("/api/health", kind="slow", count=1, seconds=2)
        requests.get(grafana_emulator.url + "/api/health", timeout=0.5)


def test_fault_drop_connection(grafana_emulator):
    """Fault switch: a dropped connection gives the client a connection error, not an HTTP answer."""
    grafana_emulator.set_fault("/api/user", kind="drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(grafana_emulator.url + "/api/user", auth=("admin", grafana_emulator.admin_password), timeout=5)
    assert requests.get(grafana_emulator.url + "/api/user", auth=("admin", grafana_emulator.admin_password)).status_code == 200
    user_calls = [e for e in grafana_emulator.request_log() if e["path"] == "/api/user"]
    assert user_calls == [{"method": "GET", "path": "/api/user", "status": 0, "fault": "drop"}, {"method": "GET", "path": "/api/user", "status": 200}]


def test_fault_from_cli_flag(grafana_emulator_factory):
    """--fault PREFIX:KIND:COUNT[:ARG] arms a fault at start-up."""
    emu = grafana_emulator_factory(extra_args=["--fault", "/api/datasources:error:1:500"])
    api = Client(emu, validate=False)
    assert api.get("/api/datasources").status == 500
    assert api.get("/api/datasources").status == 200


def test_debug_endpoints_admin_only(grafana_emulator):
    """The debug endpoints live outside /api and need the server admin."""
    viewer = grafana_emulator.create_token("Admin")  # an org admin token is not a server admin
    r = requests.get(grafana_emulator.url + "/__emulator/requests", headers={"Authorization": "Bearer " + viewer})
    assert r.status_code == 403
    assert requests.get(grafana_emulator.url + "/__emulator/requests").status_code == 401
    grafana_emulator.reset_request_log()
    assert grafana_emulator.request_log() == []


def test_grafana_cli_shape_and_ini(tmp_path):
    """Grafana's CLI: `server --config=F --homepath=H cfg:default.paths.provisioning=P`; ini [server]/[security]/
    [paths]; GF_<SECTION>_<KEY> env beats the ini; cfg: beats env; -v prints the version."""
    ini = tmp_path / "grafana.ini"
    ini.write_text(
        "app_mode = development\n[server]\nhttp_addr = 127.0.0.1\nhttp_port = 3999\n"
        "[security]\nadmin_user = boss\nadmin_password = from-ini\n[paths]\nprovisioning = /ini/prov\n"
    )
    s = config.parse(
        ["server", "--config=%s" % ini, "--homepath=/usr/share/grafana", "--packaging=deb", "cfg:default.paths.provisioning=/cli/prov"],
        environ={"GF_SERVER_HTTP_PORT": "4001", "GF_PATHS_PROVISIONING": "/env/prov"},
    )
    assert (s.host, s.port, s.admin_user, s.admin_password) == ("127.0.0.1", 4001, "boss", "from-ini")
    assert s.provisioning == "/cli/prov" and s.app_mode == "development" and s.homepath == "/usr/share/grafana"
    s = config.parse(["-config", str(ini)], environ={"GF_SECURITY_ADMIN_PASSWORD": "from-env"})
    assert s.admin_password == "from-env" and s.port == 3999
    with pytest.raises(config.ConfigError):
        config.parse(["--port", "notaport"], environ={})
    with pytest.raises(config.ConfigError):
        config.parse(["--bogus"], environ={})
    out = subprocess.run(
        [sys.executable, "-m", "grafana_emulator", "-v"],
        cwd=PACKAGE_PARENT,
        capture_output=True,
        text=True,
        env=dict(os.environ, GF_EMULATOR_VERSION="10.4.3"),
        timeout=30,
        check=False,
    )
    assert out.returncode == 0 and out.stdout.startswith("Version 10.4.3")


def test_ini_started_server_and_pidfile(tmp_path):
    """Started like the packaged grafana-server: grafana.ini with port 0 on loopback, pidfile written and removed."""
    ini = tmp_path / "grafana.ini"
    ini.write_text("[server]\nhttp_addr = 127.0.0.1\nhttp_port = 0\n[security]\nadmin_password = $__env{ADMIN_PW}\n")
    pidfile = tmp_path / "grafana.pid"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grafana_emulator", "--config=%s" % ini, "--pidfile=%s" % pidfile],
        cwd=PACKAGE_PARENT,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, ADMIN_PW="ini-secret"),
    )
    try:
        url = proc.stdout.readline().split("listening on ")[1].strip()
        assert int(pidfile.read_text()) == proc.pid
        assert requests.get(url + "/api/user", auth=("admin", "ini-secret")).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    assert not pidfile.exists()


# A small OpenAPI 2.0 document in the shape of Grafana's file (paths under basePath /api, alerting paths stored
# with their /api prefix, responses by $ref into "responses", schemas by $ref into "definitions"): the validator's
# own test runs on any clone, with or without Grafana's file beside it.
MINI_SPEC = {
    "swagger": "2.0",
    "basePath": "/api",
    "paths": {
        "/datasources/uid/{uid}": {"get": {"operationId": "getDataSourceByUID", "responses": {"200": {"$ref": "#/responses/getDataSourceResponse"}}}},
        "/datasources": {
            "post": {
                "operationId": "addDataSource",
                "parameters": [{"in": "body", "name": "body", "schema": {"$ref": "#/definitions/AddDataSourceCommand"}}],
                "responses": {"200": {"$ref": "#/responses/createOrUpdateDatasourceResponse"}},
            }
        },
        "/dashboards/db": {
            "post": {
                "operationId": "postDashboard",
                "parameters": [{"in": "body", "name": "body", "schema": {"$ref": "#/definitions/SaveDashboardCommand"}}],
                "responses": {"200": {"schema": {"type": "object", "required": ["status", "uid", "version"]}}},
            }
        },
        "/dashboards/uid/{uid}": {"delete": {"operationId": "deleteDashboardByUID", "responses": {"200": {"description": "deleted"}}}},
        "/api/v1/provisioning/alert-rules": {"get": {"operationId": "RouteGetAlertRules", "responses": {"200": {"schema": {"type": "array"}}}}},
    },
    "responses": {
        "getDataSourceResponse": {"schema": {"$ref": "#/definitions/DataSource"}},
        "createOrUpdateDatasourceResponse": {
            "schema": {
                "type": "object",
                "required": ["id", "name", "message", "datasource"],
                "properties": {"datasource": {"$ref": "#/definitions/DataSource"}, "id": {"type": "integer"}, "name": {"type": "string"}},
            }
        },
    },
    "definitions": {
        "DataSource": {"type": "object", "properties": {"id": {"type": "integer"}, "uid": {"type": "string"}, "name": {"type": "string"}}},
        "AddDataSourceCommand": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
        "SaveDashboardCommand": {"type": "object", "properties": {"dashboard": {"type": "object"}, "overwrite": {"type": "boolean"}}},
    },
}


def assert_validator_rejects_what_is_wrong():
    """The same exchanges, judged by whichever spec is loaded: a valid body passes; a wrong type, a missing
    required field, an invalid request and an undeclared success status are reported; alerting paths are not
    doubled under basePath /api; a path the spec lacks is not checked."""
    op = openapi_check.check("GET", "/api/datasources/uid/x", None, 200, {"id": 1, "uid": "x", "name": "n"})
    assert op.operation_id == "getDataSourceByUID"
    with pytest.raises(openapi_check.SpecViolation, match="response 200 id"):
        openapi_check.check("GET", "/api/datasources/uid/x", None, 200, {"id": "one"})
    with pytest.raises(openapi_check.SpecViolation, match="'datasource' is a required property"):
        openapi_check.check("POST", "/api/datasources", None, 200, {"id": 1, "name": "n", "message": "m"})
    with pytest.raises(openapi_check.SpecViolation, match="request overwrite"):
        openapi_check.check("POST", "/api/dashboards/db", {"dashboard": {}, "overwrite": "yes"}, 200, None)
    with pytest.raises(openapi_check.SpecViolation):
        openapi_check.check("POST", "/api/dashboards/db", {"dashboard": {}}, 200, {"status": "success"})
    assert openapi_check.check("GET", "/api/not-in-spec", None, 200, {}) is None
    with pytest.raises(openapi_check.SpecViolation, match="status 204 is not declared"):
        openapi_check.check("DELETE", "/api/dashboards/uid/x", None, 204, None)
    assert openapi_check.find_operation("GET", "/api/v1/provisioning/alert-rules").operation_id == "RouteGetAlertRules"


def test_openapi_validator_detects_violations(monkeypatch):
    """The validator is not a rubber stamp (on MINI_SPEC, so on any clone), and an EXCEPTIONS entry excuses
    exactly the error it names, nothing else."""
    monkeypatch.setattr(openapi_check, "_SPEC", MINI_SPEC)
    monkeypatch.setattr(openapi_check, "_COMPILED", None)
    assert openapi_check.available()
    assert_validator_rejects_what_is_wrong()
    excuse = ("getDataSourceByUID", "response", 200, r"^id$", "type", "is not of type 'integer'", "a test's own exception")
    monkeypatch.setattr(openapi_check, "EXCEPTIONS", [excuse])
    assert openapi_check.check("GET", "/api/datasources/uid/x", None, 200, {"id": "one"}).operation_id == "getDataSourceByUID"
    with pytest.raises(openapi_check.SpecViolation, match="response 200 name"):  # another field is not excused
        openapi_check.check("GET", "/api/datasources/uid/x", None, 200, {"id": "one", "name": 5})


@pytest.mark.skipif(not openapi_check.available(), reason=openapi_check.status_line())
def test_openapi_validator_on_grafanas_file():
    """The same judgements on Grafana's own OpenAPI file (when a copy is present: docs/grafana-behaviour.md §12),
    and every listed exception carries its reason."""
    assert_validator_rejects_what_is_wrong()
    for entry in openapi_check.EXCEPTIONS:
        assert len(entry) == 7 and entry[-1], entry  # every exception carries its reason

"""grafana_datasource: exact HTTP calls, secret drift via salted hash, version conflicts."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import PLANTED, run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import (  # noqa: E402
    secret_hash,
    secret_hash_matches,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_datasource  # noqa: E402

PW = PLANTED["reader_password"]
ARGS = {
    "name": "Support Database",
    "uid": "support-postgres",
    "host": "db.internal",
    "port": 5432,
    "database": "support_system",
    "user": "kpi_reader",
    "password": PW,
    "sslmode": "require",
    "max_open_conns": 10,
    "max_idle_conns": 2,
    "conn_max_lifetime": 14400,
    "postgres_version": 1500,
    "timescaledb": False,
}
NOT_FOUND = {"message": "Data source not found"}


def stored(password=PW, **over):
    ds = {
        "id": 3,
        "uid": "support-postgres",
        "orgId": 1,
        "name": "Support Database",
        "type": "grafana-postgresql-datasource",
        "access": "proxy",
        "url": "db.internal:5432",
        "user": "kpi_reader",
        "database": "support_system",
        "basicAuth": False,
        "basicAuthUser": "",
        "withCredentials": False,
        "isDefault": True,
        "version": 4,
        "readOnly": False,
        "secureJsonFields": {"password": True},
        "jsonData": {
            "database": "support_system",
            "sslmode": "require",
            "maxOpenConns": 10,
            "maxIdleConns": 2,
            "connMaxLifetime": 14400,
            "postgresVersion": 1500,
            "timescaledb": False,
            "cxSecretHash": secret_hash({"password": password}),
        },
    }
    ds.update(over)
    return ds


def assert_no_password(result, fake):
    assert PW not in json.dumps(result)
    for call in fake.calls:
        if call.method == "GET":
            assert call.json is None


def test_create_posts_everything_once_with_hash():
    result, fake = run_module(
        grafana_datasource,
        ARGS,
        [
            ("GET", "/api/datasources/uid/support-postgres", 404, NOT_FOUND),
            ("GET", "/api/datasources/name/Support Database", 404, NOT_FOUND),
            ("POST", "/api/datasources", 200, {"message": "Datasource added", "id": 3, "datasource": stored()}),
        ],
        diff=True,
    )
    assert result["changed"] is True and result["secret_changed"] is True
    body = fake.calls[2].json
    assert body["secureJsonData"] == {"password": PW}
    assert body["url"] == "db.internal:5432" and body["type"] == "grafana-postgresql-datasource"
    assert body["jsonData"]["database"] == "support_system" and body["database"] == "support_system"
    assert body["uid"] == "support-postgres" and body["access"] == "proxy"
    assert secret_hash_matches({"password": PW}, body["jsonData"]["cxSecretHash"])
    assert "version" not in body
    assert_no_password(result, fake)


def test_rerun_one_get_no_change_no_secret_sent():
    result, fake = run_module(
        grafana_datasource,
        ARGS,
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
        ],
    )
    assert result["changed"] is False and result["secret_changed"] is False
    assert len(fake.calls) == 1


def test_postgres_alias_is_equal():
    result, dummy = run_module(
        grafana_datasource,
        dict(ARGS, type="postgres"),
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
        ],
    )
    assert result["changed"] is False


def test_changed_password_detected_and_sent_with_current_version():
    result, fake = run_module(
        grafana_datasource,
        ARGS,
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored(password="old-password")),
            ("PUT", "/api/datasources/uid/support-postgres", 200, {"datasource": stored()}),
        ],
        diff=True,
    )
    assert result["changed"] is True and result["secret_changed"] is True
    body = fake.calls[1].json
    assert body["version"] == 4
    assert body["secureJsonData"] == {"password": PW}
    assert result["diff"]["after"]["secrets"].startswith("changed")
    assert_no_password(result, fake)


def test_non_secret_change_does_not_resend_secret():
    current = stored()
    result, fake = run_module(
        grafana_datasource,
        dict(ARGS, sslmode="verify-full"),
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, current),
            ("PUT", "/api/datasources/uid/support-postgres", 200, {"datasource": stored()}),
        ],
        diff=True,
    )
    body = fake.calls[1].json
    assert "secureJsonData" not in body
    assert body["jsonData"]["sslmode"] == "verify-full"
    assert body["jsonData"]["cxSecretHash"] == current["jsonData"]["cxSecretHash"]
    assert result["diff"]["before"]["jsonData"]["sslmode"] == "require"


def test_pdc_options_land_in_json_data():
    dummy, fake = run_module(
        grafana_datasource,
        dict(ARGS, enable_pdc=True, pdc_network="cx-private"),
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
            ("PUT", "/api/datasources/uid/support-postgres", 200, {"datasource": stored()}),
        ],
    )
    body = fake.calls[1].json
    assert body["jsonData"]["enableSecureSocksProxy"] is True
    assert body["jsonData"]["secureSocksProxyUsername"] == "cx-private"


def test_check_mode_sends_no_write():
    result, fake = run_module(
        grafana_datasource,
        ARGS,
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored(password="old")),
        ],
        check=True,
    )
    assert result["changed"] is True and fake.writes == []


def test_version_conflict_is_clear():
    result, dummy = run_module(
        grafana_datasource,
        dict(ARGS, sslmode="disable"),
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
            (
                "PUT",
                "/api/datasources/uid/support-postgres",
                409,
                {"message": "Datasource has already been updated by someone else. Please reload and try again"},
            ),
        ],
    )
    assert result["failed"] is True
    assert "changed by someone else" in result["msg"] and "409" in result["msg"]


def test_found_by_name_gets_uid():
    other = stored(uid="P1234ABCD")
    dummy, fake = run_module(
        grafana_datasource,
        ARGS,
        [
            ("GET", "/api/datasources/uid/support-postgres", 404, NOT_FOUND),
            ("GET", "/api/datasources/name/Support Database", 200, other),
            ("PUT", "/api/datasources/uid/P1234ABCD", 200, {"datasource": stored()}),
        ],
    )
    assert fake.calls[2].json["uid"] == "support-postgres"


def test_explicit_is_default_false_overrides_grafana_first_default():
    dummy, fake = run_module(
        grafana_datasource,
        dict(ARGS, is_default=False),
        [
            ("GET", "/api/datasources/uid/support-postgres", 404, NOT_FOUND),
            ("GET", "/api/datasources/name/Support Database", 404, NOT_FOUND),
            ("POST", "/api/datasources", 200, {"datasource": stored(version=1)}),
            ("PUT", "/api/datasources/uid/support-postgres", 200, {"datasource": stored(isDefault=False)}),
        ],
    )
    assert fake.calls[3].json["isDefault"] is False and fake.calls[3].json["version"] == 1
    assert "secureJsonData" not in fake.calls[3].json


def test_unknown_type_fails_before_writing():
    result, fake = run_module(
        grafana_datasource,
        {"name": "x", "uid": "x", "type": "no-such-plugin", "datasource_url": "http://x"},
        [
            ("GET", "/api/datasources/uid/x", 404, NOT_FOUND),
            ("GET", "/api/datasources/name/x", 404, NOT_FOUND),
            ("GET", "/api/plugins/no-such-plugin/settings", 404, {"message": "Plugin not found"}),
        ],
    )
    assert result["failed"] is True and "unknown datasource type 'no-such-plugin'" in result["msg"]
    assert fake.writes == []


def test_delete():
    result, fake = run_module(
        grafana_datasource,
        {"uid": "support-postgres", "state": "absent"},
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
            ("DELETE", "/api/datasources/uid/support-postgres", 200, {"message": "Data source deleted", "id": 3}),
        ],
    )
    assert result["changed"] is True
    result, fake = run_module(
        grafana_datasource,
        {"uid": "support-postgres", "state": "absent"},
        [
            ("GET", "/api/datasources/uid/support-postgres", 404, NOT_FOUND),
        ],
    )
    assert result["changed"] is False


def test_health_check_failure_reports_driver_message():
    result, dummy = run_module(
        grafana_datasource,
        dict(ARGS, health_check=True),
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
            (
                "GET",
                "/api/datasources/uid/support-postgres/health",
                400,
                {"status": "ERROR", "message": 'password authentication failed for user "kpi_reader"'},
            ),
        ],
    )
    assert result["failed"] is True
    assert "health check" in result["msg"] and "password authentication failed" in result["msg"]


def test_health_check_failure_after_create_says_it_was_saved():
    created = stored()
    result, fake = run_module(
        grafana_datasource,
        dict(ARGS, health_check=True),
        [
            ("GET", "/api/datasources/uid/support-postgres", 404, NOT_FOUND),
            ("GET", "/api/datasources/name/Support Database", 404, NOT_FOUND),
            ("POST", "/api/datasources", 200, {"datasource": created, "id": 1, "message": "Datasource added"}),
            ("GET", "/api/datasources/uid/support-postgres/health", 400, {"status": "ERROR", "message": "connection refused"}),
        ],
    )
    assert result["failed"] is True
    assert "was created in Grafana (the change is saved) but its health check failed: connection refused" in result["msg"], result["msg"]
    assert PW not in result["msg"]


def test_health_check_status_error_in_a_200_fails_and_says_unchanged():
    result, dummy = run_module(
        grafana_datasource,
        dict(ARGS, health_check=True),
        [
            ("GET", "/api/datasources/uid/support-postgres", 200, stored()),
            ("GET", "/api/datasources/uid/support-postgres/health", 200, {"status": "ERROR", "message": "db down"}),
        ],
    )
    assert result["failed"] is True
    assert "is unchanged in Grafana but its health check failed: db down" in result["msg"], result["msg"]


def test_error_message_never_contains_the_password():
    result, dummy = run_module(
        grafana_datasource,
        ARGS,
        [
            ("GET", "/api/datasources/uid/support-postgres", 404, NOT_FOUND),
            ("GET", "/api/datasources/name/Support Database", 404, NOT_FOUND),
            ("POST", "/api/datasources", 400, {"message": "bad request data", "error": "password %s rejected" % PW}),
        ],
    )
    assert result["failed"] is True and "bad request data" in result["msg"]
    assert PW not in json.dumps(result)


def test_invalid_uid_fails_before_any_request():
    result, fake = run_module(grafana_datasource, dict(ARGS, uid="bad uid!"), [])
    assert result["failed"] is True and "uid 'bad uid!' is invalid" in result["msg"]
    assert fake.calls == []
    assert_no_password(result, fake)

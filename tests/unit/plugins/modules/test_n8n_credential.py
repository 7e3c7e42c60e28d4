"""n8n_credential: exact HTTP calls, schema check before any write, secret drift through the salted hash."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from n8n_fake import API, run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import (  # noqa: E402
    secret_hash,
    secret_hash_matches,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import n8n_credential  # noqa: E402

SECRET = "sk-ant-admin01-PlantedUnitSecret-77aa"
DATA = {"name": "x-api-key", "value": SECRET}
NAME = "Anthropic Admin API"
SCHEMA = {
    "additionalProperties": False,
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "value": {"type": "string"},
        "useCustomAuth": {"type": "notice"},
        "allowedHttpRequestDomains": {"type": "string", "enum": ["all", "domains", "none"]},
    },
    "allOf": [{"if": {"properties": {"allowedHttpRequestDomains": {"enum": ["domains"]}}}, "then": {"required": ["allowedDomains"]}}],
}
CRED = {"id": "c9", "name": NAME, "type": "httpHeaderAuth", "createdAt": "2026-11-01T00:00:00.000Z", "updatedAt": "2026-11-02T10:00:00.000Z"}
TABLE = {"id": "t1", "name": "cx_kpi_dashboard_secret_hashes"}
ARGS = {"name": NAME, "type": "httpHeaderAuth", "data": DATA}


def page(*items):
    return {"data": list(items), "nextCursor": None}


def row(data=None, updated=CRED["updatedAt"]):
    return {"id": 1, "object": "credential:c9", "secret_hash": secret_hash(DATA if data is None else data), "credential_updated_at": updated}


def no_secret(result, fake):
    assert SECRET not in json.dumps(result)


def test_create_posts_data_and_stores_the_hash():
    result, fake = run_module(
        n8n_credential,
        ARGS,
        [
            ("GET", API + "/credentials", 200, page()),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("GET", API + "/data-tables", 200, page()),
            ("POST", API + "/credentials", 200, CRED),
            ("POST", API + "/data-tables", 201, TABLE),
            ("POST", API + "/data-tables/t1/rows/upsert", 200, True),
        ],
        diff=True,
        secrets=(SECRET,),
    )
    assert result["changed"] is True and result["secret_changed"] is True and result["credential_id"] == "c9"
    assert fake.calls[3].json == {"name": NAME, "type": "httpHeaderAuth", "data": DATA}
    assert [c["name"] for c in fake.calls[4].json["columns"]] == ["object", "secret_hash", "credential_updated_at"]
    stored = fake.calls[5].json
    assert stored["filter"]["filters"] == [{"columnName": "object", "condition": "eq", "value": "credential:c9"}]
    assert secret_hash_matches(DATA, stored["data"]["secret_hash"])
    assert stored["data"]["credential_updated_at"] == CRED["updatedAt"]
    assert result["diff"]["after"]["fields"] == ["name", "value"]
    no_secret(result, fake)


def test_rerun_with_same_data_reads_only():
    result, fake = run_module(
        n8n_credential,
        ARGS,
        [
            ("GET", API + "/credentials", 200, page(CRED)),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("GET", API + "/data-tables", 200, page(TABLE)),
            ("GET", API + "/data-tables/t1/rows", 200, page(row())),
        ],
        secrets=(SECRET,),
    )
    assert result["changed"] is False and fake.writes == []


def test_changed_secret_is_patched():
    result, fake = run_module(
        n8n_credential,
        ARGS,
        [
            ("GET", API + "/credentials", 200, page(CRED)),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("GET", API + "/data-tables", 200, page(TABLE)),
            ("GET", API + "/data-tables/t1/rows", 200, page(row(data={"name": "x-api-key", "value": "old"}))),
            ("PATCH", API + "/credentials/c9", 200, dict(CRED, updatedAt="2026-11-30T10:00:00.000Z")),
            ("POST", API + "/data-tables/t1/rows/upsert", 200, True),
        ],
        secrets=(SECRET,),
    )
    assert result["changed"] is True and fake.calls[4].json == {"data": DATA}
    assert fake.calls[5].json["data"]["credential_updated_at"] == "2026-11-30T10:00:00.000Z"


def test_credential_edited_since_is_sent_again():
    result, fake = run_module(
        n8n_credential,
        ARGS,
        [
            ("GET", API + "/credentials", 200, page(dict(CRED, updatedAt="2026-11-20T00:00:00.000Z"))),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("GET", API + "/data-tables", 200, page(TABLE)),
            ("GET", API + "/data-tables/t1/rows", 200, page(row())),
            ("PATCH", API + "/credentials/c9", 200, CRED),
            ("POST", API + "/data-tables/t1/rows/upsert", 200, True),
        ],
        check=False,
        secrets=(SECRET,),
    )
    assert result["changed"] is True


def test_check_mode_reports_without_writing():
    result, fake = run_module(
        n8n_credential,
        ARGS,
        [
            ("GET", API + "/credentials", 200, page(CRED)),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("GET", API + "/data-tables", 200, page(TABLE)),
            ("GET", API + "/data-tables/t1/rows", 200, page()),
        ],
        check=True,
        secrets=(SECRET,),
    )
    assert result["changed"] is True and fake.writes == []


def test_schema_violations_fail_before_any_write():
    bad = {"name": 5, "value": SECRET, "allowedHttpRequestDomains": "domains", "extra": "extra-value"}
    result, fake = run_module(
        n8n_credential,
        dict(ARGS, data=bad),
        [
            ("GET", API + "/credentials", 200, page()),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
        ],
        secrets=(SECRET,),
    )
    assert result["failed"] is True and fake.writes == []
    for part in ("unknown field(s) extra", "missing required field(s) allowedDomains", "field name must be a string"):
        assert part in result["msg"]
    no_secret(result, fake)


def test_server_without_data_tables_fails_before_writing_unless_told():
    result, fake = run_module(
        n8n_credential,
        ARGS,
        [
            ("GET", API + "/credentials", 200, page()),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("GET", API + "/data-tables", 404, {"message": "not found"}),
        ],
        secrets=(SECRET,),
    )
    assert result["failed"] is True and "no data tables API" in result["msg"] and fake.writes == []
    result, fake = run_module(
        n8n_credential,
        dict(ARGS, update_secrets="on_create"),
        [
            ("GET", API + "/credentials", 200, page(CRED)),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
        ],
        secrets=(SECRET,),
    )
    assert result["changed"] is False


def test_error_from_n8n_is_scrubbed():
    result, fake = run_module(
        n8n_credential,
        dict(ARGS, update_secrets="always"),
        [
            ("GET", API + "/credentials", 200, page(CRED)),
            ("GET", API + "/credentials/schema/httpHeaderAuth", 200, SCHEMA),
            ("PATCH", API + "/credentials/c9", 400, {"message": "bad value %s" % SECRET}),
        ],
        secrets=(SECRET,),
    )
    assert result["failed"] is True
    assert result["msg"] == ("n8n: failed to update credential 'Anthropic Admin API' (type httpHeaderAuth): HTTP 400: bad value ********")


def test_delete_removes_the_hash_row():
    result, fake = run_module(
        n8n_credential,
        {"name": NAME, "type": "httpHeaderAuth", "state": "absent"},
        [
            ("GET", API + "/credentials", 200, page(CRED)),
            ("DELETE", API + "/credentials/c9", 200, CRED),
            ("GET", API + "/data-tables", 200, page(TABLE)),
            ("DELETE", API + "/data-tables/t1/rows/delete", 200, True),
        ],
    )
    assert result["changed"] is True
    assert json.loads(fake.calls[3].params["filter"])["filters"][0]["value"] == "credential:c9"

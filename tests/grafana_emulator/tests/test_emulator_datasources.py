"""Data sources (docs §2), health checks against the real PostgreSQL from tests/conftest.py."""

import pytest

from conftest import PLANTED
from emu_client import Client, pg_datasource
from grafana_emulator.profiles import Profile


def _ds(name="DS", **kw):
    body = {"name": name, "type": "prometheus", "access": "proxy", "url": "http://prom:9090"}
    body.update(kw)
    return body


def test_create_returns_full_dto_without_secrets(grafana_emulator):
    """docs §2 POST: 200 {message:"Datasource added", id, name, datasource:{full DTO}}; no secureJsonData."""
    api = Client(grafana_emulator)
    resp = api.post("/api/datasources", _ds(secureJsonData={"password": PLANTED["db_password"]}))
    assert resp.status == 200
    assert resp.json["message"] == "Datasource added" and resp.json["name"] == "DS"
    dto = resp.json["datasource"]
    assert dto["secureJsonFields"] == {"password": True} and dto["version"] == 1
    assert PLANTED["db_password"] not in resp.text
    assert "secureJsonData" not in dto and "password" not in dto
    got = api.get("/api/datasources/uid/" + dto["uid"])
    assert got.json == dto
    assert PLANTED["db_password"] not in api.get("/api/datasources").text


def test_list_sorted_case_insensitive_and_trimmed(grafana_emulator):
    """docs §2 list: sorted case-insensitively by name; no version, secureJsonFields, basicAuthUser."""
    api = Client(grafana_emulator)
    for name in ("beta", "Alpha", "gamma"):
        assert api.post("/api/datasources", _ds(name)).status == 200
    items = api.get("/api/datasources").json
    assert [d["name"] for d in items] == ["Alpha", "beta", "gamma"]
    for item in items:
        assert not {"version", "secureJsonFields", "basicAuthUser"} & set(item)
        assert item["typeName"] == "Prometheus"


def test_conflicts_409(grafana_emulator):
    """docs §2: same name or same uid -> 409 with the raw error text (+traceID)."""
    api = Client(grafana_emulator)
    api.post("/api/datasources", _ds("A", uid="uid-a"))
    resp = api.post("/api/datasources", _ds("A"))
    assert resp.status == 409
    assert resp.json == {"message": "data source with the same name already exists", "traceID": ""}
    resp = api.post("/api/datasources", _ds("B", uid="uid-a"))
    assert resp.status == 409 and resp.json["message"] == "data source with the same uid already exists"
    assert len(api.get("/api/datasources").json) == 1  # nothing half-written


def test_first_datasource_forced_default_and_is_default_clears_others(grafana_emulator):
    """docs §2: first DS in an org forced isDefault; isDefault:true clears the flag on all others."""
    api = Client(grafana_emulator)
    first = api.post("/api/datasources", _ds("one", isDefault=False)).json["datasource"]
    assert first["isDefault"] is True
    second = api.post("/api/datasources", _ds("two", isDefault=True)).json["datasource"]
    assert second["isDefault"] is True
    assert api.get("/api/datasources/uid/" + first["uid"]).json["isDefault"] is False


def test_put_version_semantics(grafana_emulator):
    """docs §2 PUT: stored = request.version+1; omitted -> reset to 1; >= stored ok; stale -> 409."""
    api = Client(grafana_emulator)
    uid = api.post("/api/datasources", _ds()).json["datasource"]["uid"]
    r = api.put("/api/datasources/uid/" + uid, _ds(version=1, url="http://a"))
    assert r.status == 200 and r.json["datasource"]["version"] == 2 and r.json["message"] == "Datasource updated"
    r = api.put("/api/datasources/uid/" + uid, _ds(version=7))
    assert r.json["datasource"]["version"] == 8
    r = api.put("/api/datasources/uid/" + uid, _ds(version=3, url="http://stale"))
    assert r.status == 409
    assert r.json["message"] == "Datasource has already been updated by someone else. Please reload and try again"
    assert api.get("/api/datasources/uid/" + uid).json["url"] != "http://stale"
    r = api.put("/api/datasources/uid/" + uid, _ds())
    assert r.status == 200 and r.json["datasource"]["version"] == 1


def test_put_secure_json_merge_and_json_data_replace(grafana_emulator):
    """docs §2 PUT: secureJsonData keys absent keep stored values, "" removes from secureJsonFields;
    jsonData replaced not merged."""
    api = Client(grafana_emulator)
    uid = api.post("/api/datasources", _ds(jsonData={"a": 1, "b": 2}, secureJsonData={"password": "p", "token": "t"})).json["datasource"]["uid"]
    r = api.put("/api/datasources/uid/" + uid, _ds(jsonData={"b": 3}))
    assert r.json["datasource"]["secureJsonFields"] == {"password": True, "token": True}
    assert r.json["datasource"]["jsonData"] == {"b": 3}
    r = api.put("/api/datasources/uid/" + uid, _ds(secureJsonData={"token": ""}))
    assert r.json["datasource"]["secureJsonFields"] == {"password": True}


def test_put_required_fields_and_unknown_uid(grafana_emulator):
    """docs §2 PUT: name/type/access required (400 bad request data); unknown uid -> 404."""
    api = Client(grafana_emulator)
    uid = api.post("/api/datasources", _ds()).json["datasource"]["uid"]
    r = api.put("/api/datasources/uid/" + uid, {"type": "prometheus", "access": "proxy"})
    assert r.status == 400 and r.json["message"] == "bad request data"
    r = api.put("/api/datasources/uid/nope", _ds())
    assert r.status == 404 and r.json == {"message": "Data source not found"}


def test_put_rename_conflict_and_uid_rename(grafana_emulator):
    """docs §2: renaming onto an existing name -> 409 "Failed to update datasource: ..."; body uid renames."""
    api = Client(grafana_emulator)
    api.post("/api/datasources", _ds("taken"))
    uid = api.post("/api/datasources", _ds("mine")).json["datasource"]["uid"]
    r = api.put("/api/datasources/uid/" + uid, _ds("taken"))
    assert r.status == 409
    assert r.json["message"] == "Failed to update datasource: data source with the same name already exists"
    r = api.put("/api/datasources/uid/" + uid, _ds("mine", uid="new-uid"))
    assert r.status == 200 and api.get("/api/datasources/uid/new-uid").status == 200


def test_lookup_by_name_id_and_delete(grafana_emulator):
    """docs §2: GET by name (exact), /id/:name -> {"id":N}; DELETE -> {"message":"Data source deleted","id":N}."""
    api = Client(grafana_emulator)
    created = api.post("/api/datasources", _ds("My DS")).json
    assert api.get("/api/datasources/name/My DS").json["id"] == created["id"]
    assert api.get("/api/datasources/name/my ds").status == 404
    by_id = api.get("/api/datasources/id/My DS")
    if Profile(grafana_emulator.version).ds_id_routes:
        assert by_id.json == {"id": created["id"]}
    else:  # §13.5: the numeric-id routes are off by default on 13
        assert by_id.status == 404
    r = api.delete("/api/datasources/uid/" + created["datasource"]["uid"])
    assert r.json == {"message": "Data source deleted", "id": created["id"]}
    assert api.delete("/api/datasources/uid/" + created["datasource"]["uid"]).status == 404
    api.post("/api/datasources", _ds("By Name"))
    assert api.delete("/api/datasources/name/By Name").status == 200


@pytest.mark.parametrize("version,expected", [("10.2.2", "postgres"), ("10.2.3", "grafana-postgresql-datasource"), ("12.0.0", "grafana-postgresql-datasource")])
def test_postgres_type_alias_by_version(grafana_emulator_factory, version, expected):
    """docs §2/§9: a DS stored with type "postgres" is reported as grafana-postgresql-datasource on >=10.2.3."""
    api = Client(grafana_emulator_factory(version=version))
    dto = api.post("/api/datasources", _ds("pg", type="postgres", url="db:5432")).json["datasource"]
    assert dto["type"] == expected
    assert api.get("/api/datasources").json[0]["type"] == expected


@pytest.mark.parametrize("version,status", [("10.4.0", 400), ("11.3.0", 200), ("12.0.0", 200)])
def test_name_optional_by_version(grafana_emulator_factory, version, status):
    """docs §2/§9: name required up to 10.x; optional in 11/12 (auto-named <type>, <type>-1, ...)."""
    api = Client(grafana_emulator_factory(version=version))
    body = {"type": "prometheus", "access": "proxy"}
    r = api.post("/api/datasources", body)
    assert r.status == status
    if status == 200:
        assert r.json["name"] == "prometheus"
        assert api.post("/api/datasources", body).json["name"] == "prometheus-1"


def test_unknown_plugin_logo_and_invalid_url(grafana_emulator):
    """docs §2: unknown plugin -> default logo and type echoed; URL validation failure -> 400."""
    api = Client(grafana_emulator)
    dto = api.post("/api/datasources", _ds(type="acme-thing")).json["datasource"]
    assert dto["type"] == "acme-thing" and dto["typeLogoUrl"] == "public/img/icn-datasource.svg"
    r = api.post("/api/datasources", _ds("bad", url="http://exa mple:99999"))
    assert r.status == 400 and r.json["message"].startswith("Validation error, invalid URL")


def test_health_postgres_really_connects(grafana_emulator, pg_server, pg_db):
    """docs §2 health: PostgreSQL plugin connects for real -> 200 {status OK, message Database Connection OK}."""
    api = Client(grafana_emulator)
    uid = api.post("/api/datasources", pg_datasource(pg_server, pg_db, uid="pg")).json["datasource"]["uid"]
    r = api.get("/api/datasources/uid/%s/health" % uid)
    assert r.status == 200 and r.json == {"status": "OK", "message": "Database Connection OK"}


def test_health_postgres_wrong_password_400_driver_error(grafana_emulator, pg_server, pg_db):
    """docs §2 health: plugin error -> 400 {status ERROR, message: driver error}; no secret in the text."""
    api = Client(grafana_emulator)
    api.post("/api/datasources", pg_datasource(pg_server, pg_db, uid="pg", password="Wrong-" + PLANTED["reader_password"]))
    r = api.get("/api/datasources/uid/pg/health")
    assert r.status == 400 and r.json["status"] == "ERROR"
    assert "password authentication failed" in r.json["message"]
    assert PLANTED["reader_password"] not in r.text


def test_health_postgres_sslmode_default_requires_tls(grafana_emulator, pg_server, pg_db):
    """docs §2 health: sslmode unset is passed empty to lib/pq (default require); the test server has no TLS."""
    api = Client(grafana_emulator)
    body = pg_datasource(pg_server, pg_db, uid="pg")
    body["jsonData"].pop("sslmode")
    api.post("/api/datasources", body)
    r = api.get("/api/datasources/uid/pg/health")
    assert r.status == 400 and "SSL" in r.json["message"]


def test_health_database_from_json_data_then_legacy(grafana_emulator, pg_server, pg_db):
    """docs §2: jsonData.database is read first, then the legacy top-level database."""
    api = Client(grafana_emulator)
    body = pg_datasource(pg_server, pg_db, uid="pg")
    body["jsonData"].pop("database")
    body["database"] = pg_db
    api.post("/api/datasources", body)
    assert api.get("/api/datasources/uid/pg/health").status == 200
    body = pg_datasource(pg_server, "no_such_db_here", uid="pg2", name="other")
    body["database"] = pg_db
    api.post("/api/datasources", body)
    r = api.get("/api/datasources/uid/pg2/health")
    assert r.status == 400 and "no_such_db_here" in r.json["message"]


def test_health_uid_rules(grafana_emulator):
    """docs §2 health: illegal uid -> 400 UID is invalid; unknown well-formed uid -> 500 (not 404)."""
    api = Client(grafana_emulator)
    r = api.get("/api/datasources/uid/bad$uid/health")
    assert r.status == 400 and r.json["message"] == "UID is invalid"
    r = api.get("/api/datasources/uid/unknown/health")
    assert r.status == 500 and r.json["message"] == "Unable to load datasource metadata"

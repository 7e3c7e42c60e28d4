"""n8n_credential and n8n_bootstrap on a real n8n (2.41.1, PostgreSQL), through ansible-playbook -vvv."""

import os
import stat
import time

import requests

from conftest import PLANTED

CRED = "cx_catalyst.kpi_dashboard.n8n_credential"
BOOT = "cx_catalyst.kpi_dashboard.n8n_bootstrap"
SECRET = PLANTED["n8n_credential_secret"]
SECRET2 = PLANTED["n8n_credential_secret"] + "-rotated"


def unique(prefix):
    return "%s %d" % (prefix, time.monotonic_ns())


def result_of(res):
    return res.results[0]


def test_credential_create_noop_rotate_edit_delete(n8n_server, n8n_recorder, n8n_ansible):
    n8n_ansible.add_secret(SECRET2)
    name = unique("Anthropic Admin API")
    # generous time-out: the first data-table call of a fresh n8n is slow on a busy machine
    base = {"url": n8n_recorder.url, "api_key": n8n_server.api_key, "name": name, "type": "httpHeaderAuth", "retries": 2, "timeout": 180}
    data = {"name": "x-api-key", "value": SECRET}

    # check mode: nothing written
    r = result_of(n8n_ansible.module(CRED, dict(base, data=data), check=True, diff=True))
    assert r["changed"] is True and r["credential_id"] == "(new)" and n8n_recorder.writes() == []
    assert r["diff"]["after"]["fields"] == ["name", "value"] and "values not shown" in r["diff"]["after"]["secrets"]
    assert n8n_server.credential_by_name(name) is None

    # create: credential + hash row in the state data table
    r = result_of(n8n_ansible.module(CRED, dict(base, data=data), diff=True))
    assert r["changed"] is True and r["secret_changed"] is True, r
    cred = n8n_server.credential_by_name(name)
    assert cred["id"] == r["credential_id"] and cred["type"] == "httpHeaderAuth"
    tables = [t for t in n8n_server.list_all("/data-tables") if t["name"] == "cx_kpi_dashboard_secret_hashes"]
    assert len(tables) == 1
    rows = [row for row in n8n_server.list_all("/data-tables/%s/rows" % tables[0]["id"]) if row["object"] == "credential:%s" % cred["id"]]
    assert len(rows) == 1 and rows[0]["secret_hash"].startswith("pbkdf2-sha256$")
    assert SECRET not in rows[0]["secret_hash"] and rows[0]["credential_updated_at"] == cred["updatedAt"]

    # re-run: no write at all
    n8n_recorder.reset()
    r2 = result_of(n8n_ansible.module(CRED, dict(base, data=data)))
    assert r2["changed"] is False and r2["credential_id"] == cred["id"]
    assert n8n_recorder.writes() == []

    # rotated secret: one PATCH (+ the hash row), then quiet again
    n8n_recorder.reset()
    r3 = result_of(n8n_ansible.module(CRED, dict(base, data={"name": "x-api-key", "value": SECRET2})))
    assert r3["changed"] is True and r3["secret_changed"] is True
    assert [w for w in n8n_recorder.writes() if w[0] == "PATCH"] == [("PATCH", "/api/v1/credentials/%s" % cred["id"])]
    r4 = result_of(n8n_ansible.module(CRED, dict(base, data={"name": "x-api-key", "value": SECRET2})))
    assert r4["changed"] is False

    # edited in n8n since (updatedAt moved): sent again
    n8n_server.api("PATCH", "/credentials/%s" % cred["id"], {"data": {"name": "x-api-key", "value": "typed-in-ui"}})
    r5 = result_of(n8n_ansible.module(CRED, dict(base, data={"name": "x-api-key", "value": SECRET2})))
    assert r5["changed"] is True

    # on_create / always
    r6 = result_of(n8n_ansible.module(CRED, dict(base, data=data, update_secrets="on_create")))
    assert r6["changed"] is False
    r7 = result_of(n8n_ansible.module(CRED, dict(base, data=data, update_secrets="always")))
    assert r7["changed"] is True

    # delete, idempotent
    r8 = result_of(n8n_ansible.module(CRED, dict(base, state="absent")))
    assert r8["changed"] is True and n8n_server.credential_by_name(name) is None
    r9 = result_of(n8n_ansible.module(CRED, dict(base, state="absent")))
    assert r9["changed"] is False


def test_credential_data_checked_against_the_server_schema(n8n_server, n8n_recorder, n8n_ansible):
    base = {"url": n8n_recorder.url, "api_key": n8n_server.api_key, "name": unique("KPI PostgreSQL"), "type": "postgres", "retries": 0}
    r = result_of(
        n8n_ansible.module(
            CRED,
            dict(base, data={"host": "127.0.0.1", "port": "5432", "ssl": "sometimes", "pasword": SECRET}),  # codespell:ignore
            expect_rc=None,
        )
    )
    assert r["failed"] is True
    for part in (
        "credential type postgres",
        "unknown field(s) pasword",  # codespell:ignore
        "field port must be a number",
        "field ssl must be one of allow, disable, require",
    ):
        assert part in r["msg"]
    r = result_of(n8n_ansible.module(CRED, dict(base, type="noSuchType", data={"a": SECRET}), expect_rc=None))
    assert r["failed"] is True and "does not know the credential type noSuchType" in r["msg"]
    r = result_of(n8n_ansible.module(CRED, dict(base, name="ab", data={"host": "x"}), expect_rc=None))
    assert r["failed"] is True and "3 to 128" in r["msg"]
    assert n8n_recorder.writes() == []


def test_bootstrap_brand_new_n8n(n8n_factory, n8n_ansible, tmp_path):
    fresh = n8n_factory(bootstrap=False)
    keyfile = tmp_path / "n8n-api-key"
    args = {"url": fresh.url, "owner_email": "admin@kpi.test", "owner_password": PLANTED["n8n_owner_password"], "api_key_file": str(keyfile), "retries": 0}

    r = result_of(n8n_ansible.module(BOOT, args, check=True, diff=True))
    assert r["changed"] is True and r["owner_created"] is True and not keyfile.exists()
    assert r["diff"]["before"]["owner"] == "missing"
    assert requests.get(fresh.url + "/rest/settings", timeout=10).json()["data"]["userManagement"]["showSetupOnFirstLoad"] is True

    res = n8n_ansible.module(BOOT, args)
    r = result_of(res)
    assert r["changed"] is True and r["owner_created"] is True and r["api_key_created"] is True, r
    key = keyfile.read_text().strip()
    n8n_ansible.add_secret(key)
    n8n_ansible.check_no_secret(res.output)
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert requests.get(fresh.url + "/api/v1/workflows", headers={"X-N8N-API-KEY": key}, timeout=10).status_code == 200

    # re-run: the owner exists and the key works -> no change, same key
    r2 = result_of(n8n_ansible.module(BOOT, args))
    assert r2["changed"] is False and keyfile.read_text().strip() == key

    # a rejected key is replaced (owner kept)
    keyfile.write_text("not-a-valid-key\n")
    r3 = result_of(n8n_ansible.module(BOOT, args))
    assert r3["changed"] is True and r3["owner_created"] is False and r3["api_key_created"] is True, r3
    new_key = keyfile.read_text().strip()
    n8n_ansible.add_secret(new_key)
    assert new_key != key
    assert requests.get(fresh.url + "/api/v1/workflows", headers={"X-N8N-API-KEY": new_key}, timeout=10).status_code == 200

    # the key from the file drives the other modules
    r4 = result_of(
        n8n_ansible.module("cx_catalyst.kpi_dashboard.n8n_workflow", {"url": fresh.url, "api_key": new_key, "name": "bootstrapped", "state": "absent"})
    )
    assert r4["changed"] is False

    # wrong owner password: a clear error, the key file untouched
    keyfile.unlink()
    r5 = result_of(n8n_ansible.module(BOOT, dict(args, owner_password="Wrong-Password-123"), expect_rc=None))
    assert r5["failed"] is True and "log in as owner 'admin@kpi.test': HTTP 401" in r5["msg"]
    assert not keyfile.exists()

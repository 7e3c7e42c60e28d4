"""The n8n test fixtures themselves: a real n8n on PostgreSQL, bootstrapped, reachable only on 127.0.0.1."""

import os
import socket

import requests

from n8n_support import RecordingProxy


def test_session_n8n_is_ready_on_loopback_with_its_own_ports(n8n_server):
    assert n8n_server.url.startswith("http://127.0.0.1:")
    assert 5679 not in (n8n_server.port, n8n_server.broker_port)
    assert n8n_server.port != n8n_server.broker_port
    assert requests.get(n8n_server.url + "/healthz/readiness", timeout=10).status_code == 200
    # the task broker listens on loopback on the port the fixture chose
    with socket.create_connection(("127.0.0.1", n8n_server.broker_port), timeout=5):
        pass
    # and the process is the one the fixture started
    os.kill(n8n_server.pid, 0)


def test_n8n_runs_on_the_pg_server_database(n8n_server, pg_server):
    tables = pg_server.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'workflow_entity'", dbname=n8n_server.db_name)
    assert tables[0][0] == 1
    owners = pg_server.execute('SELECT u.email FROM "user" u WHERE u."roleSlug" = \'global:owner\'', dbname=n8n_server.db_name)
    assert owners == [(n8n_server.owner_email,)]


def test_api_key_authenticates_and_a_wrong_key_does_not(n8n_server):
    page = n8n_server.api("GET", "/workflows")
    assert page["data"] == [] or isinstance(page["data"], list)
    resp = requests.get(n8n_server.url + "/api/v1/workflows", timeout=10, headers={"X-N8N-API-KEY": "not-a-key"})
    assert resp.status_code == 401
    resp = requests.get(n8n_server.url + "/api/v1/workflows", timeout=10)
    assert resp.status_code == 401


def test_repr_never_shows_the_key(n8n_server):
    assert n8n_server.api_key not in repr(n8n_server)
    assert n8n_server.owner_password not in repr(n8n_server)


def test_recording_proxy_forwards_and_records(n8n_server):
    proxy = RecordingProxy(n8n_server.url)
    try:
        resp = requests.get(proxy.url + "/api/v1/workflows", timeout=10, headers={"X-N8N-API-KEY": n8n_server.api_key})
        assert resp.status_code == 200 and "data" in resp.json()
        resp = requests.post(proxy.url + "/api/v1/workflows", timeout=10, json={"bad": 1}, headers={"X-N8N-API-KEY": n8n_server.api_key})
        assert resp.status_code == 400
        assert proxy.calls == [("GET", "/api/v1/workflows"), ("POST", "/api/v1/workflows")]
        assert proxy.writes() == [("POST", "/api/v1/workflows")]
    finally:
        proxy.close()

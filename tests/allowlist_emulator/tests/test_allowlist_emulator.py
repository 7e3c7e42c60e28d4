"""The Allowlist API emulator answers the documented shape (docs/grafana-cloud-allowlist.md §2) and breaks on
request in the ways the role must survive."""

import json
import urllib.error
import urllib.request

import pytest

from allowlist_emulator import AllowlistServer


@pytest.fixture
def server():
    srv = AllowlistServer(region="prod-eu-west-2")
    yield srv
    srv.stop()


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _put(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


def test_service_and_region_documents(server):
    """§2: {metadata:{schemaVersion v1, region}, services:{name:{direction, ipv4:[CIDR]}}}; one service per path."""
    status, raw = _get(server.url + "/v1/grafana")
    doc = json.loads(raw)
    assert status == 200 and doc["metadata"] == {"schemaVersion": "v1", "region": "prod-eu-west-2"}
    assert list(doc["services"]) == ["grafana"]
    assert doc["services"]["grafana"]["direction"] == "egress-from-grafana"
    assert all("/" in c for c in doc["services"]["grafana"]["ipv4"])
    status, raw = _get(server.url + "/v1/")
    assert status == 200 and set(json.loads(raw)["services"]) == {"grafana", "metrics"}
    assert _get(server.url + "/v1/nope")[0] == 404


@pytest.mark.parametrize(
    "mode,check",
    [
        ("malformed", lambda s, raw: s == 200 and raw.startswith(b"{") and not raw.rstrip().endswith(b"}")),
        ("empty", lambda s, raw: s == 200 and json.loads(raw)["services"]["grafana"]["ipv4"] == []),
        ("error", lambda s, raw: s == 503),
        ("wrong-schema", lambda s, raw: json.loads(raw)["metadata"]["schemaVersion"] == "v2"),
    ],
)
def test_broken_answers_on_request(server, mode, check):
    assert _put(server.url + "/__emulator/mode", {"mode": mode}) == 200
    status, raw = _get(server.url + "/v1/grafana")
    assert check(status, raw)


def test_services_replaced_and_requests_logged(server):
    _put(server.url + "/__emulator/services", {"grafana": {"direction": "egress-from-grafana", "ipv4": ["192.0.2.0/28"]}})
    assert json.loads(_get(server.url + "/v1/grafana")[1])["services"]["grafana"]["ipv4"] == ["192.0.2.0/28"]
    assert json.loads(_get(server.url + "/__emulator/requests")[1]) == ["/v1/grafana"]

"""grafana_cloud_source_ips against the Allowlist API emulator: valid lists are returned and cached; every bad
answer fails the task and keeps the last good list (docs/grafana-cloud-allowlist.md §7)."""

import json
import urllib.request

import pytest

from allowlist_emulator import AllowlistServer

MODULE = "cx_catalyst.kpi_dashboard.grafana_cloud_source_ips"


@pytest.fixture
def api():
    srv = AllowlistServer(region="prod-eu-west-2")
    yield srv
    srv.stop()


def _control(api, what, body):
    req = urllib.request.Request(api.url + "/__emulator/" + what, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()


def _args(api, cache):
    return {"region": "prod-eu-west-2", "url": api.url + "/v1/grafana", "cache_path": str(cache)}


def test_fetch_validate_cache_and_changes(ansible, api, tmp_path):
    cache = tmp_path / "state" / "allowlist.json"
    r = ansible.module(MODULE, _args(api, cache), check=True).results[0]
    assert r["changed"] is True and r["cidrs"] == ["203.0.113.20/32", "203.0.113.21/32"] and not cache.exists()
    r = ansible.module(MODULE, _args(api, cache), diff=True).results[0]
    assert r["changed"] is True and r["added"] == r["cidrs"] and r["diff"]["before"] == {"cidrs": []}
    stored = json.loads(cache.read_text())
    assert stored["cidrs"] == r["cidrs"] and stored["direction"] == "egress-from-grafana" and stored["fetched_at"]
    assert ansible.module(MODULE, _args(api, cache)).results[0]["changed"] is False
    _control(api, "services", {"grafana": {"direction": "egress-from-grafana", "ipv4": ["203.0.113.21/32", "192.0.2.0/28"]}})
    r = ansible.module(MODULE, _args(api, cache)).results[0]
    assert r["changed"] is True and r["added"] == ["192.0.2.0/28"] and r["removed"] == ["203.0.113.20/32"]
    assert r["cidrs"] == ["192.0.2.0/28", "203.0.113.21/32"]


@pytest.mark.parametrize(
    "breakage,expect",
    [
        ({"mode": "malformed"}, "not JSON"),
        ({"mode": "empty"}, "ipv4 is empty"),
        ({"mode": "error"}, "answered 503"),
        ({"mode": "wrong-schema"}, "schemaVersion"),
        ({"services": {"grafana": {"direction": "ingress-to-grafana", "ipv4": ["203.0.113.9/32"]}}}, "direction"),
        ({"services": {"grafana": {"direction": "egress-from-grafana", "ipv4": ["203.0.113.9"]}}}, "not an IPv4 CIDR"),
        ({"services": {"grafana": {"direction": "egress-from-grafana", "ipv4": ["2001:db8::/32"]}}}, "not an IPv4 CIDR"),
        ({"services": {"metrics": {"direction": "ingress-to-grafana", "ipv4": ["198.51.100.1/32"]}}}, "answered 404"),
    ],
)
def test_bad_answer_fails_and_keeps_last_good_list(ansible, api, tmp_path, breakage, expect):
    cache = tmp_path / "allowlist.json"
    good = ansible.module(MODULE, _args(api, cache)).results[0]["cidrs"]
    before = cache.read_text()
    if "mode" in breakage:
        _control(api, "mode", breakage)
    else:
        _control(api, "services", breakage["services"])
    r = ansible.module(MODULE, _args(api, cache), expect_rc=None).results[0]
    assert r["failed"] and expect in r["msg"] and "last good list (2 CIDRs" in r["msg"]
    assert r["last_good_cidrs"] == good
    assert cache.read_text() == before

"""Failure paths of the Grafana client through real ansible-playbook: clear errors, nothing written, bounded time.

wrong token (401), viewer token (403), Grafana answering 500 then recovering (retried), a write answered 500
(never retried), Grafana down (a listening socket on 127.0.0.1 that never answers -> time-out, not a hang),
nothing listening (connection refused).
"""

import socket
import time

import pytest

from conftest import PLANTED
from grafana_emulator.pytest_plugin import CURRENT_PROFILES
from grafana_emulator.profiles import Profile

# The tests that take the ``grafana_emulator`` fixture run on every supported profile (10.4.19 and 11.6.3: legacy /api;
# 12.4.0: /apis v1beta1; 13.3.0: /apis v1).
pytestmark = pytest.mark.grafana_profiles()

NS = "cx_catalyst.kpi_dashboard."
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def run(ansible, module, args, expect_failed):
    res = ansible.module(NS + module, args)
    result = res.results[0]
    assert bool(result.get("failed")) == expect_failed, result.get("msg")
    return result


def writes(emu):
    return [r for r in emu.request_log() if r["method"] in WRITES]


def test_wrong_token_is_401_and_clear(ansible, grafana_emulator):
    emu = grafana_emulator
    emu.reset_request_log()
    r = run(ansible, "grafana_folder", {"url": emu.url, "token": PLANTED["grafana_token"], "uid": "x", "title": "X"}, expect_failed=True)
    # the first request (API discovery) names the folder the run is for
    assert "folder 'x': HTTP 401 (authentication failed" in r["msg"]
    assert writes(emu) == []


def test_viewer_token_is_403_and_nothing_written(ansible, grafana_emulator):
    emu = grafana_emulator
    token = emu.create_token("Viewer")
    ansible.add_secret(token)
    emu.reset_request_log()
    r = run(ansible, "grafana_folder", {"url": emu.url, "token": token, "uid": "x", "title": "X"}, expect_failed=True)
    assert "create folder 'x': HTTP 403 (permission denied" in r["msg"]
    assert emu.api("GET", "/api/folders/x")[0] == 404
    r = run(
        ansible,
        "grafana_datasource",
        {"url": emu.url, "token": token, "name": "pg", "uid": "pg", "host": "127.0.0.1", "password": PLANTED["db_password"]},
        expect_failed=True,
    )
    assert "HTTP 403" in r["msg"]
    assert emu.api("GET", "/api/datasources")[1] == []


# The folder routes per API generation: legacy /api before 12 (API discovery answers 404), folder.grafana.app from
# 12 on (v1 in 13), so the faults hit the route the module really uses on each profile.
def folder_routes(version):
    """(discovery status, read route, create route) the module uses on ``version``."""
    base = Profile(version).apis_path("folder")
    if not base:
        return 404, "/api/folders/cx-kpi", "/api/folders"
    return 200, base + "/cx-kpi", base


FOLDER_ROUTES = {version: folder_routes(version) for version in CURRENT_PROFILES}


@pytest.mark.parametrize("version", sorted(FOLDER_ROUTES))
def test_500_then_recovering_is_retried(ansible, grafana_emulator_factory, version):
    emu = grafana_emulator_factory(version=version)
    discovery, read, create = FOLDER_ROUTES[version]
    emu.set_fault(read, kind="error", count=2, status=500, method="GET")
    emu.reset_request_log()
    r = run(
        ansible,
        "grafana_folder",
        {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password, "uid": "cx-kpi", "title": "KPIs", "retries": 3},
        expect_failed=False,
    )
    assert r["changed"] is True
    log = [(x["method"], x["path"], x["status"]) for x in emu.request_log()]
    # API discovery first, then the folder read, retried through the two 500s
    assert log[:4] == [("GET", "/apis", discovery), ("GET", read, 500), ("GET", read, 500), ("GET", read, 404)]
    assert [(m, p) for m, p, status in log if m == "POST" and status in (200, 201)] == [("POST", create)]


@pytest.mark.parametrize("version", sorted(FOLDER_ROUTES))
def test_500_on_create_is_not_retried(ansible, grafana_emulator_factory, version):
    emu = grafana_emulator_factory(version=version)
    create = FOLDER_ROUTES[version][2]
    emu.set_fault(create, kind="error", count=1, status=500, method="POST")
    emu.reset_request_log()
    r = run(
        ansible,
        "grafana_folder",
        {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password, "uid": "cx-kpi", "title": "KPIs"},
        expect_failed=True,
    )
    assert "create folder 'cx-kpi': HTTP 500" in r["msg"]
    assert [x["method"] for x in emu.request_log()].count("POST") == 1


@pytest.fixture
def silent_socket():
    """A socket on 127.0.0.1 that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield "http://127.0.0.1:%d" % sock.getsockname()[1]
    finally:
        sock.close()


def test_grafana_down_times_out_not_hangs(ansible, silent_socket):
    started = time.monotonic()
    r = run(
        ansible,
        "grafana_folder",
        {"url": silent_socket, "url_username": "admin", "url_password": PLANTED["grafana_password"], "uid": "x", "title": "X", "timeout": 2, "retries": 1},
        expect_failed=True,
    )
    elapsed = time.monotonic() - started
    assert "no answer within 2 seconds (time-out)" in r["msg"] and "after 2 attempts" in r["msg"]
    assert elapsed < 60


def test_nothing_listening_is_clear(ansible, free_port):
    r = run(
        ansible,
        "grafana_dashboard_verify",
        {"url": "http://127.0.0.1:%d" % free_port, "token": PLANTED["grafana_token"], "uid": "x", "retries": 0},
        expect_failed=True,
    )
    assert "read dashboard 'x': cannot connect" in r["msg"]


def test_dropped_and_slow_reads_are_retried(ansible, grafana_emulator):
    emu = grafana_emulator
    args = {"url": emu.url, "url_username": emu.admin_user, "url_password": emu.admin_password, "uid": "cx-kpi", "title": "KPIs", "retries": 2, "timeout": 2}
    emu.set_fault("/api/folders/cx-kpi", kind="drop", count=1, method="GET")
    assert run(ansible, "grafana_folder", args, expect_failed=False)["changed"] is True
    emu.set_fault("/api/folders/cx-kpi", kind="slow", count=1, seconds=5, method="GET")
    started = time.monotonic()
    assert run(ansible, "grafana_folder", args, expect_failed=False)["changed"] is False
    assert time.monotonic() - started < 60

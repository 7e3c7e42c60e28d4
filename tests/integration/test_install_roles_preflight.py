"""Preflight of the install roles: bad input fails with a clear message before anything changes.

The roles run against this machine (localhost, connection local) but every scenario here stops in the
preflight or checksum stage, so nothing is installed and no service is touched. Every target path the
roles would write is pointed into the test's temp dir and asserted absent afterwards. The ``ansible``
fixture runs at -vvv and fails the test when a planted secret (admin password, PDC token) shows up.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tarfile
from pathlib import Path

import pytest

from conftest import PLANTED, REPO


def _play(tmp_path: Path, role: str, **play_kw) -> Path:
    pb = tmp_path / f"play-{role}.yml"
    play = {"name": f"preflight of {role}", "hosts": "localhost", "gather_facts": True,
            "roles": [{"role": f"cx_catalyst.kpi_dashboard.{role}"}]}
    play.update(play_kw)
    pb.write_text(json.dumps([play]))
    return pb


def _fail_message(output: str) -> str:
    """The msg of the failed task, so assertions are about the error the user sees."""
    msgs = []
    for line in output.splitlines():
        if line.startswith("fatal:") or '"msg"' in line:
            msgs.append(line)
    return "\n".join(msgs)


def _assert_absent(*paths: Path) -> None:
    for p in paths:
        assert not Path(p).exists(), f"{p} was written although the role failed in preflight"


# --------------------------------------------------------------------------------------- grafana_package


def _package_vars(tmp_path: Path, port: int) -> dict:
    return {
        "grafana_package_admin_password": PLANTED["grafana_password"],
        "grafana_package_http_port": port,
        "grafana_package_apt_keyring": str(tmp_path / "keyrings" / "grafana.asc"),
        "grafana_package_config_file": str(tmp_path / "etc-grafana" / "grafana.ini"),
        "grafana_package_provisioning_dir": str(tmp_path / "etc-grafana" / "provisioning"),
        "grafana_package_env_file": str(tmp_path / "default" / "grafana-server"),
        "grafana_package_dashboards_dir": str(tmp_path / "dashboards"),
        "grafana_package_datasource_env": {"DB_HOST": "127.0.0.1", "DB_PASSWORD": PLANTED["reader_password"]},
        # The real provisioning files are not what these tests are about (and may be work in progress).
        "grafana_package_provision": False,
    }


def _package_paths(tmp_path: Path) -> list[Path]:
    return [tmp_path / "keyrings", tmp_path / "etc-grafana", tmp_path / "default", tmp_path / "dashboards",
            Path("/etc/apt/sources.list.d/grafana.sources")]


def test_package_unsupported_os_family(ansible, tmp_path, free_port):
    ev = _package_vars(tmp_path, free_port) | {"grafana_package_os_family": "Solaris"}
    res = ansible.playbook(_play(tmp_path, "grafana_package"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert "unsupported OS family 'Solaris'" in msg
    assert "Debian, RedHat, Darwin, Windows" in msg
    _assert_absent(*_package_paths(tmp_path))


def test_package_missing_admin_password(ansible, tmp_path, free_port):
    ev = _package_vars(tmp_path, free_port)
    del ev["grafana_package_admin_password"]
    res = ansible.playbook(_play(tmp_path, "grafana_package"), extra_vars=ev, expect_rc=2)
    assert "grafana_package_admin_password is not set" in _fail_message(res.output)
    _assert_absent(*_package_paths(tmp_path))


def test_package_empty_admin_password(ansible, tmp_path, free_port):
    ev = _package_vars(tmp_path, free_port) | {"grafana_package_admin_password": ""}
    res = ansible.playbook(_play(tmp_path, "grafana_package"), extra_vars=ev, expect_rc=2)
    assert "grafana_package_admin_password is not set" in _fail_message(res.output)
    _assert_absent(*_package_paths(tmp_path))


def test_package_bad_version(ansible, tmp_path, free_port):
    ev = _package_vars(tmp_path, free_port) | {"grafana_package_version": "latest; rm -rf /"}
    res = ansible.playbook(_play(tmp_path, "grafana_package"), extra_vars=ev, expect_rc=2)
    assert "grafana_package_version 'latest; rm -rf /' is not usable" in _fail_message(res.output)
    _assert_absent(*_package_paths(tmp_path))


def test_package_missing_placeholder_value(ansible, tmp_path, free_port):
    ds = tmp_path / "datasources.yaml"
    ds.write_text("apiVersion: 1\ndatasources:\n  - name: KPI\n    url: ${DB_HOST}:${DB_PORT}\n"
                  "    secureJsonData:\n      password: ${DB_PASSWORD}\n")
    other = tmp_path / "other.json"
    other.write_text("{}")
    ev = _package_vars(tmp_path, free_port) | {
        "grafana_package_provision": True,
        "grafana_package_datasources_src": str(ds),
        "grafana_package_dashboard_provider_src": str(other),
        "grafana_package_dashboard_src": str(other),
    }
    res = ansible.playbook(_play(tmp_path, "grafana_package"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert "missing: DB_PORT" in msg, msg
    _assert_absent(*_package_paths(tmp_path))


def test_package_port_taken_by_other_program(ansible, tmp_path, free_port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", free_port))
        sock.listen(8)
        ev = _package_vars(tmp_path, free_port)
        res = ansible.playbook(_play(tmp_path, "grafana_package"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert f"TCP port {free_port}" in msg and "already in use by another program" in msg, msg
    assert "not Grafana" in msg
    _assert_absent(*_package_paths(tmp_path))

"""grafana_docker waits the way users reach Grafana, and fails with the proxy's own error (issue 8 defect 5).

The role used to wait for Grafana's health on Grafana's own port, so a crash-looping nginx proxy
(``host not found in upstream "grafana:3000"``) ended in success. These tests run the role's wait step
(``tasks_from: wait.yml``) against local servers on 127.0.0.1 (free ports, stopped at the end):

* proxy enabled, the proxy's HTTPS port answering healthy while Grafana's own port is dead -> success
  (the wait goes through the proxy);
* proxy enabled, nothing answering on the proxy port -> failure naming the URL, the containers' state and
  the proxy's last log lines. The build machine has no Docker engine (docs/DEVELOPMENT.md, machine facts), so the
  Docker CLI here is a script printing what ``docker inspect`` / ``docker logs`` print for a crash-looping nginx; the real
  engine path is the molecule ``docker`` scenario.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import subprocess
import threading

import pytest

NGINX_ERROR = '2026/11/30 10:00:00 [emerg] 1#1: host not found in upstream "grafana:3000" in /etc/nginx/nginx.conf:13'


def _dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        body = json.dumps({"database": "ok", "version": "11.3.0"}).encode()
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_health(tmp_path):
    """A healthy Grafana behind a TLS server with a self-signed certificate, like the role's proxy."""
    crt, key = tmp_path / "proxy.crt", tmp_path / "proxy.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(crt)],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _wait_play(tmp_path, extra):
    cli = tmp_path / "docker"
    cli.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  inspect) echo '/cx-grafana: running, exit code 0, restarts 0 ';"
        " echo '/cx-grafana-nginx: restarting, exit code 1, restarts 7 ' ;;\n"
        f"  logs) echo '{NGINX_ERROR}' >&2 ;;\n"
        "esac\n"
    )
    cli.chmod(0o755)
    pb = tmp_path / "wait.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "grafana_docker wait",
                            "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_docker", "tasks_from": "wait.yml"},
                        }
                    ],
                }
            ]
        )
    )
    ev = {
        "grafana_docker_cli": str(cli),
        "grafana_docker_container_name": "cx-grafana",
        "grafana_docker_health_retries": 2,
        "grafana_docker_health_delay": 0,
        "grafana_docker_http_port": _dead_port(),
        "grafana_docker_nginx_bind_address": "127.0.0.1",
    }
    ev.update(extra)
    return pb, ev


def test_wait_goes_through_the_proxy(ansible, tmp_path, https_health):
    pb, ev = _wait_play(tmp_path, {"grafana_docker_nginx_enabled": True, "grafana_docker_nginx_https_port": https_health})
    res = ansible.playbook(pb, extra_vars=ev)
    assert f"https://127.0.0.1:{https_health}/api/health" in res.output
    assert "failed=0" in res.output.split("PLAY RECAP")[-1]


def test_a_dead_proxy_fails_with_its_own_error(ansible, tmp_path):
    port = _dead_port()
    # Grafana's own port would be healthy: the role must not be satisfied by it.
    pb, ev = _wait_play(tmp_path, {"grafana_docker_nginx_enabled": True, "grafana_docker_nginx_https_port": port})
    res = ansible.playbook(pb, extra_vars=ev, expect_rc=2)
    fail = res.output.split("Fail with the container's own error")[-1]
    assert f"https://127.0.0.1:{port}/api/health did not report a healthy Grafana after 2 attempts" in fail
    assert "/cx-grafana-nginx: restarting, exit code 1, restarts 7" in fail
    assert "Last log lines of cx-grafana-nginx" in fail and 'host not found in upstream \\"grafana:3000\\"' in fail


def test_without_the_proxy_the_wait_uses_grafanas_port(ansible, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        pb, ev = _wait_play(tmp_path, {"grafana_docker_nginx_enabled": False, "grafana_docker_http_port": port})
        res = ansible.playbook(pb, extra_vars=ev)
        assert f"http://127.0.0.1:{port}/api/health" in res.output
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

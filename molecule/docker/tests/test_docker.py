"""Verify of the docker scenario: project files, the running stack, and Grafana served through the TLS proxy."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "_shared"))

from cxtest import PLANTED, grafana_api, process_args  # noqa: E402

PROJECT = "/var/tmp/cx-kpi-molecule-docker/grafana-kpi"
SOCK = "unix:///run/cx-kpi-molecule-podman/podman.sock"
GRAFANA_PORT = os.environ.get("CX_MOLECULE_DOCKER_GRAFANA_PORT", "23000")
HTTP_PORT = os.environ.get("CX_MOLECULE_DOCKER_HTTP_PORT", "23080")
HTTPS_PORT = os.environ.get("CX_MOLECULE_DOCKER_HTTPS_PORT", "23443")


def compose_ps(host):
    res = host.run("docker --host %s ps --format '{{json .}}' --filter label=com.docker.compose.project=cx-kpi-molecule" % SOCK)
    assert res.rc == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def test_project_files_and_modes(host):
    env = host.file(PROJECT + "/grafana.env")
    assert env.exists and env.mode == 0o600
    has_pw = PLANTED["grafana_password"] in env.content_string
    assert has_pw, "grafana.env lacks the admin password"
    compose = host.file(PROJECT + "/compose.yaml")
    assert compose.exists
    leaked = [n for n, v in PLANTED.items() if v in compose.content_string]
    assert not leaked, "secrets in compose.yaml: %s" % leaked
    assert host.file(PROJECT + "/nginx.conf").exists
    key = host.file(PROJECT + "/ssl/grafana.key")
    assert key.exists and key.mode & 0o077 == 0


def test_compose_plugin_is_the_real_binary(host):
    res = host.run("docker compose version")
    assert res.rc == 0 and "Docker Compose version v2" in res.stdout, res.stdout + res.stderr


def test_both_containers_running(host):
    running = {c["Names"]: c for c in compose_ps(host)}
    assert set(running) >= {"cx-kpi-molecule-grafana", "cx-kpi-molecule-grafana-nginx"}, running
    for c in running.values():
        assert c["State"] == "running", c


def test_ports_bound_to_loopback_only(host):
    for c in compose_ps(host):
        for mapping in filter(None, (p.strip() for p in c["Ports"].split(","))):
            assert mapping.startswith("127.0.0.1:"), "%s publishes %s" % (c["Names"], mapping)


def test_grafana_served_through_the_tls_proxy(host):
    base = "https://localhost:%s" % HTTPS_PORT
    res = grafana_api(
        host,
        base,
        ["/api/health", "/api/datasources/uid/support-postgres", "/api/dashboards/uid/cx-catalyst-kpi"],
        env_file=PROJECT + "/grafana.env",
        cafile=PROJECT + "/ssl/grafana.crt",
    )
    assert res["/api/health"]["status"] == 200, res["/api/health"]
    ds = res["/api/datasources/uid/support-postgres"]
    assert ds["status"] == 200, ds
    assert ds["body"]["url"] == "db.example.invalid:5432"
    dash = res["/api/dashboards/uid/cx-catalyst-kpi"]
    assert dash["status"] == 200, dash
    assert len(dash["body"]["dashboard"]["panels"]) > 0


def test_http_redirects_to_https(host):
    res = host.run("curl -s -o /dev/null -w '%%{http_code} %%{redirect_url}' http://localhost:%s/login" % HTTP_PORT)
    code, _sep, location = res.stdout.partition(" ")
    assert code == "301" and location.startswith("https://"), res.stdout


def test_no_secret_in_process_list(host):
    args = process_args(host)
    leaked = [n for n, v in PLANTED.items() if v in args]
    assert not leaked, "secrets in the process list: %s" % leaked

"""Verify of the default scenario, grafana_package's part: the APT path, the in-place upgrade, the config, the service.

Runs after side_effect.yml upgraded the held, pinned package from 11.6.3 to 13.3.0 (molecule.yml); what the
server serves after site.yml's API provisioning is also checked in test_default.py."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "_shared"))

import pytest  # noqa: E402
from cxtest import CACHE, PLANTED, grafana_api, process_args, systemd_analyze_verify  # noqa: E402

# The version side_effect.yml upgrades to (converge installed 11.6.3, host_vars/cx-kpi-molecule-default.yml).
VERSION = "13.3.0"
GRAFANA_PORT = os.environ.get("CX_MOLECULE_DEFAULT_GRAFANA_PORT", "23001")
REPO_PORT = os.environ.get("CX_MOLECULE_DEFAULT_REPO_PORT", "28765")
PG_PORT = os.environ.get("CX_MOLECULE_DEFAULT_PG_PORT", "25432")
BASE = "http://127.0.0.1:" + GRAFANA_PORT
REPO = "http://127.0.0.1:%s/apt-repo" % REPO_PORT


def test_keyring_is_the_test_repository_key(host):
    keyring = host.file("/etc/apt/keyrings/grafana.asc")
    assert keyring.exists and keyring.user == "root" and keyring.mode == 0o644
    assert keyring.content_string.strip() == (CACHE / "published" / "apt-repo" / "gpg.key").read_text().strip()


def test_deb822_source(host):
    src = host.file("/etc/apt/sources.list.d/grafana.sources")
    assert src.exists
    fields = {}
    for line in src.content_string.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    assert fields.get("Types") == "deb"
    assert fields.get("URIs") == REPO
    assert fields.get("Suites") == "stable"
    assert fields.get("Components") == "main"
    assert fields.get("Signed-By") == "/etc/apt/keyrings/grafana.asc"
    assert not host.file("/etc/apt/sources.list.d/grafana.list").exists


def test_apt_verifies_the_signature(host):
    res = host.run("apt-get update 2>&1")
    assert res.rc == 0, res.stdout
    assert "NO_PUBKEY" not in res.stdout and "not signed" not in res.stdout
    assert REPO.split("//", 1)[1] + " stable InRelease" in res.stdout


def test_package_installed_pinned_and_held(host):
    pkg = host.package("grafana")
    assert pkg.is_installed and pkg.version == VERSION
    assert host.run("dpkg --get-selections grafana").stdout.split() == ["grafana", "hold"]
    policy = host.run("apt-cache policy grafana").stdout
    assert REPO + " stable/main" in policy
    # The upgrade replaced 11.6.3 (no second copy, the old one is not left half-configured).
    assert host.run("dpkg-query -W -f='${Version} ${db:Status-Abbrev}' grafana").stdout.split() == [VERSION, "hi"]


def test_grafana_ini(host):
    ini = host.file("/etc/grafana/grafana.ini")
    assert ini.exists and ini.user == "root" and ini.group == "grafana"
    assert ini.mode & 0o007 == 0, "grafana.ini must not be world-readable"
    text = ini.content_string
    assert "http_addr = 127.0.0.1" in text.replace("http_addr=", "http_addr = ")
    assert ("http_port = " + GRAFANA_PORT) in text.replace("http_port=", "http_port = ")
    leaked = PLANTED["grafana_password"] in text
    assert not leaked, "the admin password belongs in the environment file, not grafana.ini"


def test_environment_file_carries_the_secrets_privately(host):
    env = host.file("/etc/default/grafana-server")
    assert env.exists and env.mode & 0o007 == 0
    text = env.content_string
    has_admin = ("GF_SECURITY_ADMIN_PASSWORD=" + PLANTED["grafana_password"]) in text.replace('"', "")
    assert has_admin, "GF_SECURITY_ADMIN_PASSWORD missing from the environment file"
    has_reader = PLANTED["reader_password"] in text
    assert has_reader, "DB_PASSWORD for the datasource missing from the environment file"


@pytest.mark.parametrize(
    "path",
    [
        "/etc/grafana/provisioning/datasources",
        "/etc/grafana/provisioning/dashboards",
    ],
)
def test_provisioning_files(host, path):
    d = host.file(path)
    assert d.is_directory
    assert any(name.endswith((".yaml", ".yml")) for name in d.listdir()), d.listdir()


def test_datasource_provisioning_keeps_placeholders(host):
    files = host.run("cat /etc/grafana/provisioning/datasources/*.y*ml").stdout
    assert "support-postgres" in files
    # The file names the connection by placeholders; the values live in the private environment file.
    assert "url: ${DB_HOST}" in files
    env = host.file("/etc/default/grafana-server").content_string.replace('"', "")
    assert ("DB_HOST=127.0.0.1:" + PG_PORT) in env.splitlines(), "DB_HOST missing from the environment file"
    leaked = PLANTED["reader_password"] in files
    assert not leaked, "the provisioning file must reference ${DB_PASSWORD}, not hold the password"


def test_service_running_and_enabled(host):
    svc = host.service("grafana-server")
    assert svc.is_running and svc.is_enabled
    assert host.socket("tcp://127.0.0.1:" + GRAFANA_PORT).is_listening
    assert not host.socket("tcp://0.0.0.0:" + GRAFANA_PORT).is_listening


def test_no_secret_in_process_list(host):
    args = process_args(host)
    assert "grafana_emulator" in args or "grafana-server" in args
    leaked = [name for name, value in PLANTED.items() if value in args]
    assert not leaked, "secrets in the process list: %s" % leaked


def test_unit_files_pass_systemd_analyze_verify(host):
    units = host.run(
        "ls /lib/systemd/system/grafana-server.service /etc/systemd/system/grafana-server.service "
        "/etc/systemd/system/grafana-server.service.d/*.conf 2>/dev/null"
    ).stdout.split()
    assert "/lib/systemd/system/grafana-server.service" in units
    rc, out = systemd_analyze_verify(host, "grafana-server.service")
    assert rc == 0, out
    assert "grafana-server.service" not in out, out


def test_health_and_version(host):
    res = grafana_api(host, BASE, ["/api/health"], env_file="-")
    assert res["/api/health"]["status"] == 200
    assert res["/api/health"]["body"]["database"] == "ok"
    assert res["/api/health"]["body"]["version"] == VERSION


def test_provisioned_datasource_and_dashboard_are_served(host):
    res = grafana_api(
        host,
        BASE,
        [
            "/api/datasources/uid/support-postgres",
            "/api/dashboards/uid/cx-catalyst-kpi",
            "/api/folders/support-dashboards",
        ],
    )
    ds = res["/api/datasources/uid/support-postgres"]
    assert ds["status"] == 200, ds
    assert ds["body"]["type"] in ("postgres", "grafana-postgresql-datasource")
    # site.yml's kpi_grafana rewrites this file-provisioned datasource through the API with the same address,
    # so the expansion of ${DB_HOST} itself is not observable here; the exact address is.
    assert ds["body"]["url"] == "127.0.0.1:" + PG_PORT, ds["body"]["url"]
    leaked = PLANTED["reader_password"] in str(ds["body"])
    assert not leaked, "the datasource API answer shows the password"
    dash = res["/api/dashboards/uid/cx-catalyst-kpi"]
    assert dash["status"] == 200, dash
    assert dash["body"]["dashboard"]["title"] == "CX-Catalyst KPI Dashboard"
    assert len(dash["body"]["dashboard"]["panels"]) > 0
    assert dash["body"]["meta"].get("provisioned") is True
    assert res["/api/folders/support-dashboards"]["status"] == 200

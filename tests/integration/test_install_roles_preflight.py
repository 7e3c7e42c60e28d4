"""Preflight of the install roles: bad input fails with a clear message before anything changes.

The roles run against this machine (localhost, connection local) but every scenario here stops in the
preflight or checksum stage, so nothing is installed and no service is touched. Every target path the
roles would write is pointed into the test's temp dir and asserted absent afterwards. The ``ansible``
fixture runs at -vvv and fails the test when a planted secret (admin password, PDC token) shows up.
"""

from __future__ import annotations

import configparser
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
from pathlib import Path

import yaml

from conftest import PLANTED


def _play(tmp_path: Path, role: str, **play_kw) -> Path:
    pb = tmp_path / f"play-{role}.yml"
    play = {"name": f"preflight of {role}", "hosts": "localhost", "gather_facts": True, "roles": [{"role": f"cx_catalyst.kpi_dashboard.{role}"}]}
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
    return [tmp_path / "keyrings", tmp_path / "etc-grafana", tmp_path / "default", tmp_path / "dashboards", Path("/etc/apt/sources.list.d/grafana.sources")]


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
    ds.write_text("apiVersion: 1\ndatasources:\n  - name: KPI\n    url: ${DB_HOST}:${DB_PORT}\n    secureJsonData:\n      password: ${DB_PASSWORD}\n")
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
    # The listener is this pytest process; ss names it.
    assert "(python" in msg, msg
    _assert_absent(*_package_paths(tmp_path))


# --------------------------------------------------------------------------------------- grafana_docker

COMPOSE_BIN = Path(__import__("compose").__file__).parent / "docker-compose"


def _docker_vars(tmp_path: Path, port: int) -> dict:
    return {
        "grafana_docker_admin_password": PLANTED["grafana_password"],
        "grafana_docker_http_port": port,
        "grafana_docker_project_dir": str(tmp_path / "grafana-kpi"),
        "grafana_docker_compose_plugin_path": str(tmp_path / "cli-plugins" / "docker-compose"),
        "grafana_docker_provision": False,
    }


def test_docker_missing_admin_password(ansible, tmp_path, free_port):
    ev = _docker_vars(tmp_path, free_port)
    del ev["grafana_docker_admin_password"]
    res = ansible.playbook(_play(tmp_path, "grafana_docker"), extra_vars=ev, expect_rc=2)
    assert "grafana_docker_admin_password is not set" in _fail_message(res.output)
    _assert_absent(tmp_path / "grafana-kpi", tmp_path / "cli-plugins")


def test_docker_port_taken_by_other_program(ansible, tmp_path, free_port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", free_port))
        sock.listen(8)
        res = ansible.playbook(_play(tmp_path, "grafana_docker"), extra_vars=_docker_vars(tmp_path, free_port), expect_rc=2)
    msg = _fail_message(res.output)
    assert f"TCP port {free_port}" in msg and "not Grafana" in msg, msg
    _assert_absent(tmp_path / "grafana-kpi", tmp_path / "cli-plugins")


def test_docker_missing_cli(ansible, tmp_path, free_port):
    ev = _docker_vars(tmp_path, free_port) | {"grafana_docker_cli": str(tmp_path / "no-such-docker")}
    res = ansible.playbook(_play(tmp_path, "grafana_docker"), extra_vars=ev, expect_rc=2)
    assert "the Docker CLI" in _fail_message(res.output) and "was not found" in _fail_message(res.output)
    _assert_absent(tmp_path / "grafana-kpi")


def test_docker_project_files_are_valid_compose(ansible, tmp_path, free_port):
    """Render the project (compose file, env file, provisioning, nginx) and let the real Compose v2 binary
    parse it: no obsolete `version:`, secrets only in the 0600 env file, and the values arrive intact."""
    tricky_pw = PLANTED["grafana_password"] + "'$x\"\\"
    ansible.add_secret(tricky_pw)
    ev = _docker_vars(tmp_path, free_port) | {
        "grafana_docker_admin_password": tricky_pw,
        # The collection's own provisioning files (datasource with ${DB_*} placeholders, provider, dashboard).
        "grafana_docker_provision": True,
        "grafana_docker_datasource_env": {
            "DB_HOST": "db.internal:5432",
            "DB_NAME": "support_system",
            "DB_USER": "kpi_grafana_reader",
            "DB_SSLMODE": "require",
            "DB_PASSWORD": PLANTED["reader_password"],
        },
        "grafana_docker_env": {"GF_LOG_LEVEL": "warn"},
        "grafana_docker_image": "localhost/test-grafana:1",
        "grafana_docker_nginx_enabled": True,
        "grafana_docker_nginx_image": "localhost/test-nginx:1",
        "grafana_docker_nginx_server_name": "grafana.test",
        "grafana_docker_nginx_bind_address": "127.0.0.1",
    }
    pb = tmp_path / "project.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "project files",
                            "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_docker", "tasks_from": "project.yml"},
                        },
                        {
                            "name": "nginx files",
                            "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_docker", "tasks_from": "nginx.yml"},
                        },
                    ],
                }
            ]
        )
    )
    ansible.playbook(pb, extra_vars=ev)
    project = tmp_path / "grafana-kpi"
    compose_text = (project / "compose.yaml").read_text()
    for secret in (tricky_pw, PLANTED["reader_password"]):
        assert secret not in compose_text
    assert oct((project / "grafana.env").stat().st_mode & 0o777) == "0o600"
    assert oct((project / "ssl" / "grafana.key").stat().st_mode & 0o777) == "0o600"
    proc = subprocess.run(
        [str(COMPOSE_BIN), "--project-directory", str(project), "-f", str(project / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads(proc.stdout)
    assert "version" not in cfg
    # `config` prints values ready for re-interpolation, i.e. with every literal $ doubled.
    env = {k: v.replace("$$", "$") for k, v in cfg["services"]["grafana"]["environment"].items()}
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == tricky_pw
    assert env["DB_PASSWORD"] == PLANTED["reader_password"]
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_LOG_LEVEL"] == "warn"
    assert cfg["services"]["grafana"]["image"] == "localhost/test-grafana:1"
    assert cfg["services"]["nginx"]["image"] == "localhost/test-nginx:1"
    assert {v["target"] for v in cfg["services"]["grafana"]["volumes"]} == {"/var/lib/grafana", "/etc/grafana/provisioning"}
    # The dashboard lands where the provider file looks (options.path) with its datasource input resolved.
    provider = yaml.safe_load((project / "provisioning" / "dashboards" / "kpi-dashboards.yaml").read_text())
    json_dir = provider["providers"][0]["options"]["path"]
    assert json_dir.startswith("/etc/grafana/provisioning/")
    dash_file = project / "provisioning" / json_dir[len("/etc/grafana/provisioning/") :] / "grafana-dashboard.json"
    dash_text = dash_file.read_text()
    assert "${DS_SUPPORT_DB}" not in dash_text and '"uid": "support-postgres"' in dash_text
    json.loads(dash_text)
    ds_text = (project / "provisioning" / "datasources" / "kpi-datasources.yaml").read_text()
    assert "${DB_PASSWORD}" in ds_text and PLANTED["reader_password"] not in ds_text
    assert [p["published"] for p in cfg["services"]["grafana"]["ports"]] == [str(free_port)]
    assert {p["host_ip"] for p in cfg["services"]["nginx"]["ports"]} == {"127.0.0.1"}
    # The self-signed certificate is real and names the server.
    out = subprocess.run(
        ["openssl", "x509", "-in", str(project / "ssl" / "grafana.crt"), "-noout", "-subject"], capture_output=True, text=True, check=True
    ).stdout
    assert "grafana.test" in out
    # Re-run: nothing changes.
    res = ansible.playbook(pb, extra_vars=ev)
    assert "changed=0" in res.stdout.split("PLAY RECAP")[-1]


# --------------------------------------------------------------------------------------- grafana_pdc_agent

ARCHIVE_NAME = "pdc-agent_Linux_x86_64.tar.gz"


def _pdc_archive(tmp_path: Path) -> tuple[Path, str]:
    """A tiny release-shaped archive: pdc-agent_Linux_x86_64/pdc (a shell script standing in for the agent)."""
    path = tmp_path / "release" / ARCHIVE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = b"#!/bin/sh\necho v0.0.63\n"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("pdc-agent_Linux_x86_64/pdc")
        info.size, info.mode = len(payload), 0o755
        tar.addfile(info, io.BytesIO(payload))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _pdc_vars(tmp_path: Path) -> dict:
    user = f"pdct{os.getpid() % 100000}"
    return {
        "grafana_pdc_agent_token": PLANTED["pdc_token"],
        "grafana_pdc_agent_hosted_grafana_id": "123456",
        "grafana_pdc_agent_cluster": "prod-us-east-0",
        "grafana_pdc_agent_arch": "x86_64",
        "grafana_pdc_agent_user": user,
        "grafana_pdc_agent_group": user,
        "grafana_pdc_agent_cache_dir": str(tmp_path / "cache"),
        "grafana_pdc_agent_install_dir": str(tmp_path / "bin"),
        "grafana_pdc_agent_state_dir": str(tmp_path / "state"),
        "grafana_pdc_agent_env_file": str(tmp_path / "etc-default" / "pdc-agent"),
        "grafana_pdc_agent_unit_dir": str(tmp_path / "units"),
    }


def _pdc_paths(tmp_path: Path) -> list[Path]:
    return [tmp_path / "cache", tmp_path / "bin", tmp_path / "state", tmp_path / "etc-default", tmp_path / "units"]


def _assert_no_user(name: str) -> None:
    proc = subprocess.run(["getent", "passwd", name], capture_output=True, check=False)
    assert proc.returncode == 2, f"user {name} was created although the role failed"


def test_pdc_wrong_sha256_for_local_archive(ansible, tmp_path):
    archive, good = _pdc_archive(tmp_path)
    bad = "0" * 64
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_sha256": bad}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert f"checksum mismatch for {archive}" in msg and f"expected sha256 {bad}, got {good}" in msg, msg
    assert "Nothing was installed" in msg
    _assert_absent(*_pdc_paths(tmp_path))
    _assert_no_user(ev["grafana_pdc_agent_user"])


def test_pdc_wrong_checksum_in_checksums_file(ansible, tmp_path):
    archive, good = _pdc_archive(tmp_path)
    bad = hashlib.sha256(b"another archive").hexdigest()
    sums = tmp_path / "release" / "checksums.txt"
    sums.write_text(f"{'1' * 64}  pdc-agent_Linux_arm64.tar.gz\n{bad}  {ARCHIVE_NAME}\n")
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_checksums_src": str(sums)}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert f"expected sha256 {bad}, got {good}" in msg, msg
    _assert_absent(*_pdc_paths(tmp_path))
    _assert_no_user(ev["grafana_pdc_agent_user"])


def test_pdc_archive_missing_from_checksums_file(ansible, tmp_path):
    archive = _pdc_archive(tmp_path)[0]
    sums = tmp_path / "release" / "checksums.txt"
    sums.write_text(f"{'1' * 64}  pdc-agent_Linux_arm64.tar.gz\n")
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_checksums_src": str(sums)}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    assert f"no usable sha256 for {ARCHIVE_NAME}" in _fail_message(res.output)
    _assert_absent(*_pdc_paths(tmp_path))


def test_pdc_wrong_checksum_for_downloaded_archive(ansible, tmp_path):
    """URL path: get_url verifies before moving the file into place; the role removes the cache dir it made."""
    archive, good = _pdc_archive(tmp_path)
    bad = "f" * 64
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_url": archive.as_uri(), "grafana_pdc_agent_sha256": bad}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert f"could not fetch a verified {ARCHIVE_NAME}" in msg and f"expected sha256 {bad}" in msg, msg
    assert "Nothing was installed" in msg
    _assert_absent(*_pdc_paths(tmp_path))
    _assert_no_user(ev["grafana_pdc_agent_user"])


def test_pdc_missing_token(ansible, tmp_path):
    archive, good = _pdc_archive(tmp_path)
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_sha256": good}
    del ev["grafana_pdc_agent_token"]
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert "grafana_pdc_agent_token (no default" in msg and "token set: False" in msg, msg
    _assert_absent(*_pdc_paths(tmp_path))


def test_pdc_token_flag_in_extra_args_is_refused(ansible, tmp_path):
    archive, good = _pdc_archive(tmp_path)
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_sha256": good, "grafana_pdc_agent_extra_args": ["-token=abc"]}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    assert "must not set -token" in _fail_message(res.output)
    _assert_absent(*_pdc_paths(tmp_path))


def test_pdc_old_openssh_is_refused(ansible, tmp_path):
    fake_ssh = tmp_path / "old-ssh"
    fake_ssh.write_text("#!/bin/sh\necho 'OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w  11 Sep 2023' >&2\n")
    fake_ssh.chmod(0o755)
    archive, good = _pdc_archive(tmp_path)
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_sha256": good, "grafana_pdc_agent_ssh_command": str(fake_ssh)}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    msg = _fail_message(res.output)
    assert "needs the OpenSSH client 9.2 or newer" in msg and "found: 8.4" in msg, msg
    _assert_absent(*_pdc_paths(tmp_path))


def test_pdc_missing_openssh_is_refused(ansible, tmp_path):
    archive, good = _pdc_archive(tmp_path)
    ev = _pdc_vars(tmp_path) | {
        "grafana_pdc_agent_archive_src": str(archive),
        "grafana_pdc_agent_sha256": good,
        "grafana_pdc_agent_ssh_command": str(tmp_path / "no-ssh-here"),
    }
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, expect_rc=2)
    assert "found: no usable ssh" in _fail_message(res.output)
    _assert_absent(*_pdc_paths(tmp_path))


def test_pdc_check_mode_with_good_archive_writes_nothing(ansible, tmp_path):
    """The whole role in --check --diff with a correct archive: passes, changes nothing, leaks no token."""
    archive, good = _pdc_archive(tmp_path)
    sums = tmp_path / "release" / "checksums.txt"
    sums.write_text(f"{good}  {ARCHIVE_NAME}\n")
    ev = _pdc_vars(tmp_path) | {"grafana_pdc_agent_archive_src": str(archive), "grafana_pdc_agent_checksums_src": str(sums)}
    res = ansible.playbook(_play(tmp_path, "grafana_pdc_agent"), extra_vars=ev, check=True, diff=True)
    assert "failed=0" in res.stdout.split("PLAY RECAP")[-1]
    _assert_absent(*_pdc_paths(tmp_path))
    _assert_no_user(ev["grafana_pdc_agent_user"])


def test_package_configuration_files(ansible, tmp_path, free_port):
    """Preflight + configure stages (no install, no service) into a temp dir: grafana.ini from the nested
    dictionary, secrets only in the 0600 environment-file block (systemd/shell quoting), provisioning files,
    dashboard inputs resolved; a re-run changes nothing; --check --diff shows the ini diff, never a secret."""
    tricky = PLANTED["grafana_password"] + '$HOME"`x`\\'
    ansible.add_secret(tricky)
    env_file = tmp_path / "default" / "grafana-server"
    env_file.parent.mkdir()
    env_file.write_text("# package settings\nCONF_FILE=/etc/grafana/grafana.ini\n")
    ev = _package_vars(tmp_path, free_port) | {
        "grafana_package_admin_password": tricky,
        "grafana_package_provision": True,
        "grafana_package_manage_service": False,
        "grafana_package_datasource_env": {
            "DB_HOST": "db.internal:5432",
            "DB_NAME": "support_system",
            "DB_USER": "kpi_grafana_reader",
            "DB_SSLMODE": "require",
            "DB_PASSWORD": PLANTED["reader_password"],
        },
        "grafana_package_ini": {"log": {"level": "warn"}, "security": {"cookie_secure": True}, "server": {"enforce_domain": False}},
        # The build machine has no grafana group (docs/DEVELOPMENT.md, machine facts); the real role uses the package's.
        "__grafana_package_os_group": "root",
    }
    pb = tmp_path / "configure.yml"
    stages = [
        {"name": f"grafana_package {stage}", "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_package", "tasks_from": stage}}
        for stage in ("preflight.yml", "configure.yml")
    ]
    pb.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": stages}]))
    ansible.playbook(pb, extra_vars=ev)

    ini = (tmp_path / "etc-grafana" / "grafana.ini").read_text()
    assert "[log]\nlevel = warn\n" in ini
    assert "[security]\nadmin_user = admin\ncookie_secure = true\n" in ini
    assert f"http_port = {free_port}\n" in ini and "enforce_domain = false\n" in ini
    assert "[users]\nallow_sign_up = false\n" in ini
    assert "admin_password" not in ini and PLANTED["grafana_password"] not in ini

    env_text = env_file.read_text()
    assert env_text.startswith("# package settings\nCONF_FILE=/etc/grafana/grafana.ini\n")
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    # What a shell (and systemd, same escaping rules inside double quotes) reads back is the exact value.
    got = subprocess.run(
        ["sh", "-c", f'set -a; . "{env_file}"; printf %s "$GF_SECURITY_ADMIN_PASSWORD"; printf "|%s" "$DB_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert got == f"{tricky}|{PLANTED['reader_password']}"

    prov = tmp_path / "etc-grafana" / "provisioning"
    assert "${DB_PASSWORD}" in (prov / "datasources" / "kpi-datasources.yaml").read_text()
    assert (prov / "dashboards" / "kpi-dashboards.yaml").exists()
    dash = (tmp_path / "dashboards" / "grafana-dashboard.json").read_text()
    assert "${DS_SUPPORT_DB}" not in dash and '"uid": "support-postgres"' in dash

    res = ansible.playbook(pb, extra_vars=ev)
    assert "changed=0" in res.stdout.split("PLAY RECAP")[-1], res.stdout.split("PLAY RECAP")[-1]

    res = ansible.playbook(pb, extra_vars=ev | {"grafana_package_ini": {"log": {"level": "debug"}}}, check=True, diff=True)
    assert "-level = warn" in res.stdout and "+level = debug" in res.stdout
    assert "[log]\nlevel = warn\n" in (tmp_path / "etc-grafana" / "grafana.ini").read_text()


def test_package_redhat_repository_file(ansible, tmp_path):
    """The RHEL/Fedora repository file (no RHEL-family container can be built, docs/DEVELOPMENT.md, so molecule cannot
    converge this path): rendered into a temp reposdir, gpgcheck and repo_gpgcheck on, re-run unchanged."""
    reposdir = tmp_path / "yum.repos.d"
    reposdir.mkdir()
    ev = {
        "grafana_package_yum_reposdir": str(reposdir),
        "grafana_package_yum_baseurl": "http://127.0.0.1:9/rpm-repo",
        "grafana_package_yum_gpgkey": "http://127.0.0.1:9/rpm-repo/gpg.key",
    }
    pb = tmp_path / "repo.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "repository",
                            "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_package", "tasks_from": "repo-RedHat.yml"},
                        }
                    ],
                }
            ]
        )
    )
    ansible.playbook(pb, extra_vars=ev)
    cfg = configparser.ConfigParser()
    cfg.read(reposdir / "grafana.repo")
    repo = dict(cfg["grafana"])
    assert repo["baseurl"] == "http://127.0.0.1:9/rpm-repo"
    assert repo["gpgkey"] == "http://127.0.0.1:9/rpm-repo/gpg.key"
    assert repo["gpgcheck"] == "1" and repo["repo_gpgcheck"] == "1" and repo["enabled"] == "1"
    assert repo["sslverify"] == "1" and repo["sslcacert"] == "/etc/pki/tls/certs/ca-bundle.crt"
    res = ansible.playbook(pb, extra_vars=ev)
    assert "changed=0" in res.stdout.split("PLAY RECAP")[-1]

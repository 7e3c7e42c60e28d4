"""Secrets of grafana.ini and of the compose environment never appear in a diff (issue 8 defect 4).

An SMTP password set the way Grafana documents it (``grafana_package_ini: {smtp: {password: ...}}``, or
``GF_SMTP_PASSWORD`` in ``grafana_docker_env``) used to be written into grafana.ini / compose.yaml and printed by
``--diff``. Now such keys are refused (naming the option to use instead, never the value), and the secret
options (``*_smtp_password``, ``*_secret_ini``) are written only into the 0600 environment file, with no diff.
Every run goes through the ``ansible`` fixture, which fails on any planted secret in the -vvv output.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from test_install_roles_preflight import _docker_vars, _package_vars

SMTP_PW = "Planted-Smtp-Pw-41c9e2"
SMTP_PW_2 = "Planted-Smtp-Pw-Rotated-77ad10"
OAUTH_SECRET = "Planted-OAuth-Client-Secret-0b3f"


def _package_play(tmp_path):
    pb = tmp_path / "configure.yml"
    stages = [
        {"name": f"grafana_package {stage}", "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_package", "tasks_from": stage}}
        for stage in ("preflight.yml", "configure.yml")
    ]
    pb.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": stages}]))
    return pb


def _package_ev(tmp_path, port, **over):
    ev = _package_vars(tmp_path, port) | {
        "grafana_package_provision": False,
        "grafana_package_manage_service": False,
        "__grafana_package_os_group": "root",
        "grafana_package_ini": {"smtp": {"enabled": True, "host": "smtp.example.com:587", "user": "grafana"}},
    }
    ev.update(over)
    return ev


def _env_values(env_file, *names):
    script = 'set -a; . "$1"; shift; for n in "$@"; do eval "printf \'%s|\' \\"\\$$n\\""; done'
    return subprocess.run(["sh", "-c", script, "sh", str(env_file), *names], capture_output=True, text=True, check=True).stdout.split("|")[:-1]


def test_package_secret_ini_goes_only_to_the_0600_env_file_and_never_into_a_diff(ansible, tmp_path, free_port):
    for secret in (SMTP_PW, SMTP_PW_2, OAUTH_SECRET):
        ansible.add_secret(secret)
    pb = _package_play(tmp_path)
    ev = _package_ev(
        tmp_path, free_port, grafana_package_smtp_password=SMTP_PW, grafana_package_secret_ini={"auth.generic_oauth": {"client_secret": OAUTH_SECRET}}
    )
    ansible.playbook(pb, extra_vars=ev, check=True, diff=True)  # first check run: nothing written
    assert not (tmp_path / "etc-grafana" / "grafana.ini").exists()
    ansible.playbook(pb, extra_vars=ev, diff=True)
    ini = (tmp_path / "etc-grafana" / "grafana.ini").read_text()
    assert "[smtp]\nenabled = true\nhost = smtp.example.com:587\nuser = grafana\n" in ini
    assert SMTP_PW not in ini and OAUTH_SECRET not in ini and "password" not in ini
    env_file = tmp_path / "default" / "grafana-server"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert _env_values(env_file, "GF_SMTP_PASSWORD", "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET") == [SMTP_PW, OAUTH_SECRET]
    # a rotated password: changed, restart notified, and --diff still shows nothing of it
    res = ansible.playbook(pb, extra_vars=ev | {"grafana_package_smtp_password": SMTP_PW_2}, diff=True)
    assert "changed=1" in res.stdout.split("PLAY RECAP")[-1]
    assert _env_values(env_file, "GF_SMTP_PASSWORD") == [SMTP_PW_2]


@pytest.mark.parametrize(
    "ini, key",
    [
        ({"smtp": {"host": "smtp.example.com:587", "password": SMTP_PW}}, "smtp"),
        ({"auth.generic_oauth": {"client_secret": OAUTH_SECRET}}, "auth.generic_oauth"),
        ({"security": {"secret_key": SMTP_PW}}, "security"),
        ({"database": {"password": SMTP_PW}}, "database"),
    ],
)
def test_package_refuses_secret_keys_in_the_plain_ini(ansible, tmp_path, free_port, ini, key):
    ansible.add_secret(SMTP_PW)
    ansible.add_secret(OAUTH_SECRET)
    res = ansible.playbook(_package_play(tmp_path), extra_vars=_package_ev(tmp_path, free_port, grafana_package_ini=ini), diff=True, expect_rc=2)
    assert f"grafana_package_ini.{key} has secret-looking keys" in res.output
    assert "grafana_package_secret_ini" in res.output
    if key == "smtp":
        assert "grafana_package_smtp_password" in res.output
    assert not (tmp_path / "etc-grafana").exists()


def test_package_accepts_a_file_reference_in_the_plain_ini(ansible, tmp_path, free_port):
    ev = _package_ev(tmp_path, free_port, grafana_package_ini={"smtp": {"password": "$__file{/etc/grafana/secrets/smtp}"}})
    ansible.playbook(_package_play(tmp_path), extra_vars=ev)
    assert "password = $__file{/etc/grafana/secrets/smtp}\n" in (tmp_path / "etc-grafana" / "grafana.ini").read_text()


def _docker_play(tmp_path):
    pb = tmp_path / "project.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": f"grafana_docker {stage}",
                            "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_docker", "tasks_from": stage},
                        }
                        for stage in ("preflight.yml", "project.yml")
                    ],
                }
            ]
        )
    )
    return pb


def _docker_ev(tmp_path, port, **over):
    ev = _docker_vars(tmp_path, port) | {
        "grafana_docker_provision": False,
        "grafana_docker_nginx_enabled": False,
        "grafana_docker_check_port": False,
        "grafana_docker_cli": "/bin/true",
    }
    ev.update(over)
    return ev


def test_docker_smtp_password_only_in_grafana_env(ansible, tmp_path, free_port):
    for secret in (SMTP_PW, SMTP_PW_2, OAUTH_SECRET):
        ansible.add_secret(secret)
    pb = _docker_play(tmp_path)
    ev = _docker_ev(
        tmp_path,
        free_port,
        grafana_docker_smtp_password=SMTP_PW,
        grafana_docker_env={"GF_SMTP_ENABLED": "true", "GF_SMTP_HOST": "smtp.example.com:587"},
        grafana_docker_secret_ini={"auth.generic_oauth": {"client_secret": OAUTH_SECRET}},
    )
    ansible.playbook(pb, extra_vars=ev, diff=True)
    project = tmp_path / "grafana-kpi"
    compose_text = (project / "compose.yaml").read_text()
    assert "GF_SMTP_HOST" in compose_text and SMTP_PW not in compose_text and OAUTH_SECRET not in compose_text
    env_text = (project / "grafana.env").read_text()
    assert oct((project / "grafana.env").stat().st_mode & 0o777) == "0o600"
    assert f"GF_SMTP_PASSWORD='{SMTP_PW}'\n" in env_text
    assert f"GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET='{OAUTH_SECRET}'\n" in env_text
    res = ansible.playbook(pb, extra_vars=ev | {"grafana_docker_smtp_password": SMTP_PW_2}, diff=True)
    assert "changed=1" in res.stdout.split("PLAY RECAP")[-1]
    assert f"GF_SMTP_PASSWORD='{SMTP_PW_2}'\n" in (project / "grafana.env").read_text()


@pytest.mark.parametrize("name", ["GF_SMTP_PASSWORD", "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", "GF_SECURITY_SECRET_KEY", "GF_DATABASE_PASSWORD", "MY_API_KEY"])
def test_docker_refuses_secret_names_in_the_plain_env(ansible, tmp_path, free_port, name):
    ansible.add_secret(SMTP_PW)
    res = ansible.playbook(_docker_play(tmp_path), extra_vars=_docker_ev(tmp_path, free_port, grafana_docker_env={name: SMTP_PW}), diff=True, expect_rc=2)
    assert f"grafana_docker_env has secret-looking names ({name})" in res.output
    assert "grafana_docker_smtp_password" in res.output and "grafana_docker_secret_ini" in res.output
    assert not (tmp_path / "grafana-kpi").exists()

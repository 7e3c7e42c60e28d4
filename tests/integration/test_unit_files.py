"""Every systemd unit template of the collection renders to a unit that `systemd-analyze verify` accepts.

Each ``roles/<role>/templates/*.service.j2`` is rendered by ansible's own ``template`` module with the role's
defaults and vars plus the sample values below (executables pointed at files that exist in the test's temp
dir, because verify checks that ExecStart's binary exists), then checked with ``systemd-analyze verify``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PLANTED, REPO

UNIT_TEMPLATES = sorted(REPO.glob("roles/*/templates/*.service.j2"))


def _sample_vars(role: str, tmp_path: Path) -> dict:
    """Values that make a role's unit verifiable here; executables are created by the test."""
    if role == "grafana_pdc_agent":
        return {
            "grafana_pdc_agent_install_dir": str(tmp_path / "bin"),
            "grafana_pdc_agent_env_file": str(tmp_path / "pdc-agent.env"),
            "grafana_pdc_agent_state_dir": str(tmp_path / "state"),
            "grafana_pdc_agent_token": PLANTED["pdc_token"],
            "grafana_pdc_agent_hosted_grafana_id": "123456",
            "grafana_pdc_agent_cluster": "prod-us-east-0",
            "grafana_pdc_agent_extra_args": ["-connections", "2", "-metrics-addr=127.0.0.1:8090"],
            "ansible_facts": {"architecture": "x86_64"},
        }
    if role == "kpi_reports":  # the role renders the unit once per report (loop item)
        return {
            "item": "daily",
            "kpi_reports_ansible_playbook": str(tmp_path / "bin" / "ansible-playbook"),
            "kpi_reports_user": "root",
            "kpi_reports_group": "root",
            "kpi_reports_output_dir": str(tmp_path / "state"),
            "kpi_reports_config_dir": str(tmp_path / "state"),
        }
    return {}


def _executables(unit_text: str) -> list[str]:
    exes = []
    for line in unit_text.splitlines():
        m = re.match(r"^Exec\w+=[-@:+!]*(\S+)", line)
        if m:
            exes.append(m.group(1))
    return exes


def test_there_are_unit_templates():
    assert any("grafana_pdc_agent" in str(p) for p in UNIT_TEMPLATES), UNIT_TEMPLATES


@pytest.mark.parametrize("template", UNIT_TEMPLATES, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_unit_template_passes_systemd_analyze_verify(ansible, tmp_path, template):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd"
    role = template.parts[-3]
    role_dir = REPO / "roles" / role
    (tmp_path / "bin").mkdir()
    (tmp_path / "state").mkdir()
    # Pre-create the binary the role installs, so ExecStart points at an existing executable.
    for name in ("pdc", "ansible-playbook"):
        exe = tmp_path / "bin" / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    unit_name = template.name[: -len(".j2")]
    out_dir = tmp_path / "units"
    out_dir.mkdir()
    vars_files = [str(p) for p in (role_dir / "defaults" / "main.yml", role_dir / "vars" / "main.yml") if p.exists()]
    pb = tmp_path / "render.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": vars_files,
                    "vars": {"role_path": str(role_dir)},
                    "tasks": [
                        {"name": "render the unit", "ansible.builtin.template": {"src": str(template), "dest": str(out_dir / unit_name), "mode": "0644"}}
                    ],
                }
            ]
        )
    )
    ansible.playbook(pb, extra_vars=_sample_vars(role, tmp_path))
    unit = out_dir / unit_name
    text = unit.read_text()
    for secret in PLANTED.values():
        assert secret not in text, "a secret was rendered into the unit file"
    exes = _executables(text)
    assert exes, f"{unit_name} has no Exec line"
    for exe in exes:
        assert os.access(exe, os.X_OK), f"ExecStart binary {exe} does not exist in the test set-up"
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60, env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"), check=False
    )
    assert proc.returncode == 0, f"systemd-analyze verify {unit_name}:\n{proc.stdout}{proc.stderr}\n---\n{text}"
    # verify prints warnings without failing; a clean unit prints nothing about itself.
    assert unit_name not in proc.stderr, proc.stderr


def test_pdc_unit_keeps_the_token_off_the_command_line(ansible, tmp_path):
    template = REPO / "roles" / "grafana_pdc_agent" / "templates" / "pdc-agent.service.j2"
    role_dir = template.parent.parent
    pb = tmp_path / "render.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [str(role_dir / "defaults" / "main.yml"), str(role_dir / "vars" / "main.yml")],
                    "tasks": [
                        {
                            "name": "render the unit",
                            "ansible.builtin.template": {"src": str(template), "dest": str(tmp_path / "pdc-agent.service"), "mode": "0644"},
                        }
                    ],
                }
            ]
        )
    )
    (tmp_path / "bin").mkdir()
    (tmp_path / "state").mkdir()
    ansible.playbook(pb, extra_vars=_sample_vars("grafana_pdc_agent", tmp_path))
    text = (tmp_path / "pdc-agent.service").read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert "-token" not in exec_line and "-gcloud-hosted-grafana-id" not in exec_line
    assert "-cluster ${PDC_CLUSTER}" in exec_line
    assert f"EnvironmentFile={tmp_path / 'pdc-agent.env'}" in text
    assert "Restart=always" in text
    assert "User=pdc-agent" in text

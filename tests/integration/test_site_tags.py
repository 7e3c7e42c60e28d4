"""An operator re-runs one phase: ``ansible-playbook site.yml --tags <role>_<phase>`` selects that phase.

``--list-tasks`` on the real playbooks/site.yml (every group has a host, nothing connects) shows what a
selection would run: the phase's own tasks, the role's preflight (it carries every phase tag of its role,
the later phases use what it resolves) and Ansible's ``always`` tasks (argument validation); nothing of any
other phase or role. The statically listed roles are checked task by task; the install roles are included
dynamically by playbooks/install_grafana.yml, so there the include itself must be selected by its phase tags.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

INVENTORY = """
all:
  children:
    kpi_control: {hosts: {ctl: {}}}
    kpi_db_servers: {hosts: {db: {}}}
    grafana_servers: {hosts: {gf: {}}}
    pdc_agents: {hosts: {pdc: {}}}
    n8n_control: {hosts: {n8n: {}}}
"""


def _listed(ansible, tmp_path: Path, tags: str) -> list[tuple[str, list[str]]]:
    inv = tmp_path / "hosts.yml"
    inv.write_text(INVENTORY)
    res = ansible.playbook(REPO / "playbooks" / "site.yml", inventory=str(inv), tags=tags, extra_args=["--list-tasks"])
    tasks = []
    for line in res.stdout.splitlines():
        m = re.match(r"^\s{6}(\S.*?)\tTAGS: \[(.*)\]\s*$", line)
        if m:
            tasks.append((m.group(1), [t.strip() for t in m.group(2).split(",") if t.strip()]))
    return tasks


def _names(role: str, filename: str, rescue: bool = True) -> set[str]:
    """Names of the tasks (blocks unrolled) of one tasks file, as --list-tasks prints them; --list-tasks leaves
    out rescue and always sections, so rescue=False gives the names it must show."""

    def walk(items):
        for item in items or []:
            if "block" in item:
                for key in ("block", "rescue", "always") if rescue else ("block",):
                    yield from walk(item.get(key))
            elif "name" in item:
                yield f"cx_catalyst.kpi_dashboard.{role} : {item['name']}"

    return set(walk(yaml.safe_load((REPO / "roles" / role / "tasks" / filename).read_text())))


@pytest.mark.parametrize(
    ("role", "phase", "filename"),
    [("kpi_grafana", "dashboard", "dashboard.yml"), ("kpi_database", "schema", "schema.yml"), ("kpi_n8n", "workflows", "workflows.yml")],
)
def test_one_phase_lists_only_its_tasks(ansible, tmp_path, role, phase, filename):
    tag = f"{role}_{phase}"
    listed = _listed(ansible, tmp_path, tag)
    phase_tasks = _names(role, filename)
    preflight_tasks = _names(role, "preflight.yml")
    shown = _names(role, filename, rescue=False)
    assert shown and shown <= {name for name, _tags in listed}, f"{tag}: phase tasks missing from\n{listed}"
    for name, tags in listed:
        assert tag in tags or "always" in tags, f"{name} listed under --tags {tag} with tags {tags}"
        if "always" not in tags:
            assert name in phase_tasks | preflight_tasks, f"{name} is neither in {filename} nor in the preflight"
    # Other phases of the same role are not selected.
    others = {n for f in (REPO / "roles" / role / "tasks").glob("*.yml") if f.name not in (filename, "preflight.yml", "main.yml") for n in _names(role, f.name)}
    assert not others & {name for name, _tags in listed}


def test_an_install_phase_selects_only_its_role(ansible, tmp_path):
    listed = {name: tags for name, tags in _listed(ansible, tmp_path, "grafana_package_configure") if "always" not in tags}
    assert "Install Grafana from packages" in listed, listed
    assert "Run Grafana with Docker Compose" not in listed
    # nothing of another role (apart from the always-run argument validations filtered out above)
    assert not any(name.startswith("cx_catalyst.kpi_dashboard.") for name in listed), listed

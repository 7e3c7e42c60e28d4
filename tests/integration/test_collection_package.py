"""The collection as users get it: `ansible-galaxy collection build`, installed into a fresh virtualenv, and
`ansible-playbook cx_catalyst.kpi_dashboard.site` run from the installed artefact by its FQCN.

* the tarball holds the collection and leaves the deployment project out (build_ignore in galaxy.yml);
* galaxy.yml's dependencies and requirements.yml name the same collections, and every collection a role
  or playbook calls is one of them (or ansible.builtin, or ansible.windows for the documented-only
  Windows path);
* the site playbook, run from the install (no checkout on any path), puts the schema into a real
  PostgreSQL and the dashboard into the Grafana emulator, and verifies every panel; planted secrets never
  appear in its -vvv output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from conftest import PLANTED, REPO, AnsibleRunner

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cx-kpi-dashboard")
OPTIONAL_COLLECTIONS = {"ansible.builtin", "ansible.windows"}


def _galaxy():
    return yaml.safe_load((REPO / "galaxy.yml").read_text())


def test_dependencies_are_declared_once_and_cover_the_roles():
    deps = _galaxy()["dependencies"]
    requirements = {c["name"]: c["version"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    assert deps == requirements
    used = set()
    for path in list((REPO / "roles").rglob("*.yml")) + list((REPO / "playbooks").glob("*.yml")):
        used |= set(re.findall(r"\b((?:community|ansible|containers|kubernetes)\.[a-z_]+)\.[a-z_0-9]+\s*:", path.read_text()))
        used |= set(re.findall(r"'((?:community|ansible)\.[a-z_]+)\.[a-z_0-9]+'", path.read_text()))
    assert used - OPTIONAL_COLLECTIONS <= set(deps), f"used but not declared: {sorted(used - OPTIONAL_COLLECTIONS - set(deps))}"
    assert set(deps) <= used, f"declared but never used: {sorted(set(deps) - used)}"
    for name, spec in deps.items():
        assert re.fullmatch(r">=\d+\.\d+\.\d+,<\d+\.\d+\.\d+", spec), f"{name}: give a version range, not {spec!r}"


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (path,) = out.glob("cx_catalyst-kpi_dashboard-*.tar.gz")
    return path


def test_tarball_holds_the_collection_only(tarball):
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    for needed in (
        "MANIFEST.json",
        "meta/runtime.yml",
        "playbooks/site.yml",
        "plugins/modules/kpi_schema.py",
        "roles/kpi_database/tasks/main.yml",
        # the internal role the install roles import (its name starts with "_", which galaxy accepts)
        "roles/_common/tasks/port_preflight.yml",
        "roles/_common/meta/argument_specs.yml",
        "roles/_common/templates/dashboard.json.j2",
        "files/sql/schema-additions.sql",
        "files/grafana-dashboard.json",
        "files/demo/generate_demo_data.py",
        "README.md",
        "LICENSE",
    ):
        assert needed in names, needed
    top = {n.split("/", 1)[0] for n in names}
    for left_out in (
        "inventories",
        "tests",
        "molecule",
        "bench",
        "scripts",
        ".ci",
        "site.yml",
        "ansible.cfg",
        "requirements-dev.txt",
        ".venv",
        ".collections",
        ".config",
        ".ansible-lint-ignore",
    ):
        assert left_out not in top, f"{left_out} must not be in the artefact"
    assert not any("vault" in n or "password" in n for n in names), "no vault or password file ships"


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A new virtualenv with ansible-core (same version as the suite's), psycopg2 and requests only."""
    import ansible

    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = dict(os.environ, PIP_CACHE_DIR=os.path.join(CACHE, "pip"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"ansible-core=={ansible.__version__}", "psycopg2-binary", "requests"],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    return venv


def test_site_playbook_runs_by_fqcn_from_the_installed_tarball(tarball, fresh_venv, tmp_path, pg_server, pg_db, grafana_emulator):
    collections = tmp_path / "collections"
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    subprocess.run(
        [str(fresh_venv / "bin" / "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "-p", str(collections), str(tarball)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=clean_env,
    )
    # Galaxy is out of reach on the build machine (docs/DEVELOPMENT.md, machine facts): the dependencies come from
    # the same `ansible` wheel the bootstrap uses.
    for dep in _galaxy()["dependencies"]:
        ns, name = dep.split(".")
        shutil.copytree(REPO / ".collections" / "ansible_collections" / ns / name, collections / "ansible_collections" / ns / name, symlinks=False)
    installed = collections / "ansible_collections" / "cx_catalyst" / "kpi_dashboard"
    assert (installed / "playbooks" / "site.yml").is_file() and not installed.is_symlink()

    emu = grafana_emulator
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "kpi_control": {
                            "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(fresh_venv / "bin" / "python")}}
                        },
                        "kpi_db_servers": {"hosts": {}},
                        "grafana_servers": {"hosts": {}},
                        "pdc_agents": {"hosts": {}},
                    }
                }
            }
        )
    )
    reader = f"reader_{pg_db}"
    extra = {
        "kpi_database_host": pg_server.host,
        "kpi_database_port": pg_server.port,
        "kpi_database_name": pg_db,
        "kpi_database_admin_user": pg_server.superuser,
        "kpi_database_admin_password": pg_server.password,
        "kpi_database_ssl_mode": "disable",
        "kpi_database_install_core_schema": True,
        "kpi_database_reader_role": reader,
        "kpi_database_reader_password": PLANTED["reader_password"],
        "kpi_database_load_demo_data": True,
        "kpi_database_demo_days": 5,
        "kpi_database_demo_cases_per_day": 40,
        "kpi_database_demo_python": str(fresh_venv / "bin" / "python"),
        "kpi_grafana_url": emu.url,
        "kpi_grafana_auth": "basic",
        "kpi_grafana_username": emu.admin_user,
        "kpi_grafana_password": emu.admin_password,
        "kpi_grafana_datasource_host": pg_server.host,
        "kpi_grafana_datasource_port": pg_server.port,
        "kpi_grafana_datasource_database": pg_db,
        "kpi_grafana_datasource_user": reader,
        "kpi_grafana_datasource_password": PLANTED["reader_password"],
        "kpi_grafana_datasource_sslmode": "disable",
        "kpi_grafana_alert_slack_webhook_url": PLANTED["slack_webhook"],
        "kpi_grafana_alert_email_addresses": ["team-lead@example.com"],
    }
    (tmp_path / "tmp").mkdir()
    (tmp_path / "rtmp").mkdir()
    runner = AnsibleRunner(tmp_path, list(PLANTED.values()) + [pg_server.password, emu.admin_password])
    # nothing of the checkout: no ansible.cfg, no roles path, only the install
    for key in ("ANSIBLE_CONFIG", "ANSIBLE_ROLES_PATH"):
        runner.env.pop(key, None)
    runner.env = {k: v for k, v in runner.env.items() if k not in os.environ or not k.startswith("ANSIBLE_") or k in ("ANSIBLE_NOCOLOR", "ANSIBLE_FORCE_COLOR")}
    runner.env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_PYTHON_INTERPRETER": str(fresh_venv / "bin" / "python"),
            "PATH": f"{fresh_venv / 'bin'}:{os.environ['PATH']}",
        }
    )
    ev = tmp_path / "vars.json"
    ev.write_text(json.dumps(extra))
    cmd = [str(fresh_venv / "bin" / "ansible-playbook"), "cx_catalyst.kpi_dashboard.site", "-vvv", "-i", str(inventory), "-e", f"@{ev}"]
    first = runner._run(cmd, expect_rc=0, timeout=900)
    assert str(installed) in first.output and str(REPO) not in first.output.replace(str(REPO / ".venv"), "")
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=[1-9]", first.output)
    tables = pg_server.execute("SELECT count(*) FROM kpi_schema_migrations", dbname=pg_db)
    assert tables[0][0] >= 3
    dashboards = grafana_emulator._ok("GET", "/api/search?type=dash-db")
    assert any(d["title"] == json.loads((installed / "files" / "grafana-dashboard.json").read_text())["title"] for d in dashboards)
    second = runner._run(cmd, expect_rc=0, timeout=900)
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=0\s", second.output), second.output[-3000:]

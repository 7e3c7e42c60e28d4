"""Role kpi_reports, pip method, on this host (the install phase; systemd is not needed for it): from a private
index with credentials in its URL (a PEP 503 index over HTTP on 127.0.0.1, made here from the wheels of a
wheelhouse): pip bootstrapped with ensurepip, the URL only in the venv's 0600 pip.conf, never in the output, a
second run changing nothing.

The wheelhouse is built with tools/build_wheelhouse.py for this host's /usr/bin/python3 (PyPI; cached under
~/.cache/cx-kpi-dashboard/wheelhouse/). The offline install FROM a wheelhouse (shipped to the host as one archive,
venv made --without-pip, pip bootstrapped from its wheel, --no-index; check mode on a fresh host first writing
nothing, a second run changing nothing, the services' ExecStart / interpreter in the venv) is the molecule scenario
`reports` (molecule/reports/: check + side_effect.yml, converge, idempotence, tests/test_reports.py), which runs the
whole role on real systemd in a container without network."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PLANTED, free_tcp_port, stop_pid, wait_for_port

REPO = Path(__file__).resolve().parents[2]
BASE_PYTHON = "/usr/bin/python3"
REQUIREMENTS = yaml.safe_load((REPO / "roles" / "kpi_reports" / "defaults" / "main.yml").read_text())["kpi_reports_pip_packages"]
INDEX_PASSWORD = PLANTED["smtp_password"] + "-index"


def target():
    out = subprocess.run(
        [BASE_PYTHON, "-c", "import json, platform, sys; print(json.dumps(['%d.%d' % sys.version_info[:2], platform.machine(), platform.libc_ver()[1]]))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def wheelhouse():
    if not Path(BASE_PYTHON).exists():
        pytest.fail(BASE_PYTHON + " is missing (Debian's python3)")
    sys.path.insert(0, str(REPO / "tools"))
    from build_wheelhouse import build

    python, machine, glibc = target()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cx-kpi-dashboard" / "wheelhouse"
    dest = cache / ("host-cp%s-%s-glibc%s" % (python.replace(".", ""), machine, glibc))
    assert build(str(dest), python, machine, glibc, REQUIREMENTS) == 0
    return dest


def role_vars(tmp_path, **extra):
    base = tmp_path / "host"
    (base / "units").mkdir(parents=True, exist_ok=True)
    out = {
        "kpi_reports_install_method": "pip",
        "kpi_reports_pip_base_python": BASE_PYTHON,
        "kpi_reports_start_timers": False,
        "kpi_reports_install_dir": str(base / "opt"),
        "kpi_reports_config_dir": str(base / "etc"),
        "kpi_reports_output_dir": str(base / "var"),
        "kpi_reports_unit_dir": str(base / "units"),
        "kpi_reports_create_user": False,
        "kpi_reports_user": "root",
        "kpi_reports_group": "root",
        "kpi_reports_db_password": PLANTED["reader_password"],
    }
    out.update(extra)
    return out


def write_playbook(tmp_path, variables, name="role.yml"):
    playbook = tmp_path / name
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "vars": variables, "roles": ["cx_catalyst.kpi_dashboard.kpi_reports"]}]))
    return playbook


def isolate_pip(ansible, tmp_path):
    """No PIP_* variables of this machine in the role's environment (a variable beats every pip.conf; the timer's
    hosts have none). The user-wide ~/.config/pip/pip.conf of this machine (extra indexes and find-links with the
    same projects) stays: the venv's pip.conf must override it, or pip would take wheels from there."""
    for key in [k for k in ansible.env if k.startswith("PIP_")]:
        del ansible.env[key]


def recap_line(stdout):
    return [line for line in stdout.splitlines() if line.startswith("localhost")][-1]


def venv_versions(venv):
    code = "import json, ansible.release, matplotlib, psycopg2, requests; print(json.dumps(ansible.release.__version__))"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def simple_index(root, wheels):
    """A PEP 503 simple index of the given wheels: root/simple/<project>/index.html, root/files/*.whl."""
    (root / "files").mkdir(parents=True)
    projects = {}
    for wheel in wheels:
        (root / "files" / wheel.name).symlink_to(wheel)
        projects.setdefault(re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower(), []).append(wheel.name)
    for project, names in projects.items():
        (root / "simple" / project).mkdir(parents=True)
        links = "".join('<a href="../../files/%s">%s</a>\n' % (n, n) for n in names)
        (root / "simple" / project / "index.html").write_text("<!DOCTYPE html><html><body>\n%s</body></html>\n" % links)


def test_private_index_with_credentials(ansible, tmp_path, wheelhouse):
    if subprocess.run([BASE_PYTHON, "-c", "import ensurepip"], capture_output=True, check=False).returncode != 0:
        pytest.fail(BASE_PYTHON + " has no ensurepip (apt-get install python3-venv): the index path bootstraps pip with it")
    simple_index(tmp_path / "index", sorted(wheelhouse.glob("*.whl")))
    isolate_pip(ansible, tmp_path)
    port = free_tcp_port()
    log = open(tmp_path / "index.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(tmp_path / "index"), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        url = "http://kpi-reader:%s@127.0.0.1:%d/simple/" % (INDEX_PASSWORD, port)
        ansible.add_secret(INDEX_PASSWORD)
        variables = role_vars(tmp_path, kpi_reports_pip_index_url=url)
        playbook = write_playbook(tmp_path, variables)
        first = ansible.playbook(playbook)
        assert "failed=0" in recap_line(first.stdout)
        second = ansible.playbook(playbook)
        assert "changed=0" in recap_line(second.stdout), recap_line(second.stdout)
    finally:
        stop_pid(server.pid)
        log.close()
    # pip got matplotlib from this index (the only source it had)
    served = (tmp_path / "index.log").read_text()
    assert "GET /simple/matplotlib/ " in served and "GET /files/matplotlib-" in served, served[-2000:]
    venv = Path(variables["kpi_reports_install_dir"]) / "venv"
    assert tuple(int(x) for x in venv_versions(venv).split(".")[:2]) >= (2, 17)
    conf = venv / "pip.conf"
    assert oct(conf.stat().st_mode & 0o777) == "0o600"
    assert "index-url = " + url in conf.read_text()
    assert "no-index" not in conf.read_text()
    assert "extra-index-url =\n" in conf.read_text()
    assert not (Path(variables["kpi_reports_install_dir"]) / "wheelhouse").exists()
    for path in Path(variables["kpi_reports_unit_dir"]).iterdir():
        assert INDEX_PASSWORD not in path.read_text()

"""Fixtures shared by every test directory: real servers on 127.0.0.1 and an ansible runner.

* ``pg_server``   one throwaway PostgreSQL 15 cluster for the session (initdb + pg_ctl as user postgres).
* ``pg_db``       a fresh, empty database on it for one test (dropped afterwards).
* ``ansible``     runs ansible-playbook / ansible ad-hoc with this checkout as the collection, at -vvv,
                  and fails the test if a planted secret shows up anywhere in the output.
* ``free_port``   a free TCP port on 127.0.0.1.
* n8n fixtures (``n8n_server``, ``n8n_factory``, ``n8n_recorder``, ``n8n_ansible``): tests/n8n_support.py.

Every server is started on 127.0.0.1 on a free port and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".collections"
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(REPO / "tests"))

import pgserver  # noqa: E402  (tests/pgserver.py: the one throwaway-PostgreSQL helper of tests, bench and demo)
from pgserver import PG_BIN, PgServer, free_tcp_port, stop_pid  # pylint: disable=unused-import  # noqa: E402,F401  (re-exported to the tests)

pytest_plugins = ["grafana_emulator.pytest_plugin", "n8n_support", "usage_api_emulator.pytest_plugin"]

# Planted secrets (defined once in tests/planted.yml): every test that needs a password/token uses one of
# these, and the ansible fixture asserts they never reach stdout/stderr (which includes -vvv module logs).
from planted import PLANTED  # noqa: E402


@pytest.fixture
def free_port() -> int:
    return free_tcp_port()


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def start_pg_server(base: Path) -> PgServer:
    """The tests' throwaway cluster in ``base`` (tests/pgserver.py): 127.0.0.1, a free port, the planted password."""
    try:
        return pgserver.start(base, password=PLANTED["db_password"], settings=pgserver.TEST_SETTINGS, timeout=30)
    except pgserver.PgServerError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    base = Path(tempfile.mkdtemp(prefix="kpi-pg-"))
    os.chmod(base, 0o755)
    server = start_pg_server(base)
    try:
        yield server
    finally:
        server.stop(keep_files=False)


_db_counter = [0]


@pytest.fixture
def pg_db(pg_server, request):
    """A fresh database for one test; yields its name."""
    _db_counter[0] += 1
    name = f"t{os.getpid()}_{_db_counter[0]}"
    pg_server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        pg_server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", params=(name,))
        pg_server.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --------------------------------------------------------------------------------------------- ansible


@dataclass
class AnsibleResult:
    rc: int
    stdout: str
    stderr: str
    results: list = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class AnsibleRunner:
    """Runs ansible against localhost with this checkout as the collection.

    Every run is made at -vvv and scanned for planted secrets, so each test that uses it also
    proves no secret leaks into logs, results, diffs or errors.
    """

    def __init__(self, workdir: Path, secrets: list[str]):
        self.workdir = workdir
        self.secrets = list(secrets)
        self.env = dict(os.environ)
        self.env.update(
            {
                "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
                "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
                "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
                "ANSIBLE_REMOTE_TEMP": str(workdir / "rtmp"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
                "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
                # tests/ansible_plugins/callback/cx_module_result.py: the result of a one-task playbook (module())
                "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "ansible_plugins" / "callback"),
                "ANSIBLE_CALLBACKS_ENABLED": "cx_module_result",
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                "ANSIBLE_HOST_KEY_CHECKING": "False",
            }
        )

    def add_secret(self, value: str) -> None:
        self.secrets.append(value)

    def check_no_secret(self, text: str) -> None:
        for secret in self.secrets:
            if secret and secret in text:
                raise AssertionError(f"planted secret leaked into ansible output: {secret[:6]}…")

    def playbook(
        self,
        playbook: str | Path,
        extra_vars: dict | None = None,
        check: bool = False,
        diff: bool = False,
        inventory: str | None = None,
        tags: str | None = None,
        expect_rc: int | None = 0,
        timeout: int = 600,
        extra_args: list[str] | None = None,
    ) -> AnsibleResult:
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-vvv", "-i", inventory or "localhost,", "-c", "local"]
        if extra_vars:
            ev = self.workdir / f"extra-vars-{time.monotonic_ns()}.json"
            ev.write_text(json.dumps(extra_vars))
            cmd += ["-e", f"@{ev}"]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if tags:
            cmd += ["--tags", tags]
        cmd += extra_args or []
        return self._run(cmd, expect_rc, timeout)

    def module(self, module: str, args: dict, check: bool = False, diff: bool = False, expect_rc: int | None = 0, timeout: int = 300) -> AnsibleResult:
        """Run one module through a one-task playbook; result JSON in ``.results[0]``."""
        pb = self.workdir / f"one-task-{time.monotonic_ns()}.yml"
        pb.write_text(
            json.dumps(
                [
                    {
                        "hosts": "localhost",
                        "gather_facts": False,
                        # its result is written to <playbook>.result.json by tests/ansible_plugins/callback/cx_module_result.py
                        "tasks": [{"name": "module under test", module: args, "ignore_errors": True}],
                    }
                ]
            )
        )
        res = self.playbook(pb, check=check, diff=diff, expect_rc=None, timeout=timeout)
        result_file = Path(str(pb) + ".result.json")
        if result_file.exists():
            data = json.loads(result_file.read_text())
            self.check_no_secret(json.dumps(data))
            res.results = [data]
        if expect_rc is not None:
            assert res.rc == expect_rc, f"rc={res.rc}\n{res.output[-6000:]}"
        return res

    def _run(self, cmd, expect_rc, timeout) -> AnsibleResult:
        proc = subprocess.run(cmd, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        res = AnsibleResult(proc.returncode, proc.stdout, proc.stderr)
        self.check_no_secret(res.output)
        if expect_rc is not None:
            assert proc.returncode == expect_rc, f"rc={proc.returncode}\n{res.output[-6000:]}"
        return res


@pytest.fixture
def ansible(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "rtmp").mkdir()
    return AnsibleRunner(tmp_path, list(PLANTED.values()))


def recap(output: str) -> dict:
    """The PLAY RECAP counters of localhost in an ansible-playbook output."""
    match = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


@pytest.fixture
def inventory(tmp_path):
    """An inventory with localhost (local connection) in the kpi_control group."""
    inv = tmp_path / "hosts.ini"
    inv.write_text("[kpi_control]\nlocalhost ansible_connection=local\n")
    return str(inv)

"""pytest fixtures that run the Grafana emulator as a subprocess on 127.0.0.1 (free port), stopped by PID.

* ``grafana_emulator``          function scope, default version (11.3.0, or ``$CX_GRAFANA_EMULATOR_VERSION``); a test or module
                                marked ``@pytest.mark.grafana_profiles`` runs once per profile (default: every supported one)
* ``grafana_emulator_session``  session scope (share it only between tests that tolerate each other's objects)
* ``grafana_emulator_factory``  ``factory(version="10.4.0", provisioning=DIR, env={...}, data_file=...)``

Each yields an ``EmulatorProcess`` with ``.url``, ``.admin_user``, ``.admin_password`` (the planted
password), ``.pid``, ``.version``, ``.request_log()``, ``.reset_request_log()``, ``.set_fault(...)``,
``.clear_faults()``, ``.create_token(role)`` and ``.api(method, path, ...)``.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import base64
import urllib.error
import urllib.request

import pytest
from .profiles import SUPPORTED_VERSIONS

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _planted_password():
    from planted import PLANTED  # tests/planted.py (tests/ is on sys.path)

    return PLANTED["grafana_password"]


class EmulatorError(Exception):
    pass


class EmulatorProcess(object):
    def __init__(self, version=None, provisioning=None, env=None, data_file=None, extra_args=None, admin_user="admin", admin_password=None, workdir=None):
        from grafana_emulator import DEFAULT_GRAFANA_VERSION

        # CX_GRAFANA_EMULATOR_VERSION runs every test that takes the default profile on another one, e.g. the whole
        # integration suite on 13.3.0: CX_GRAFANA_EMULATOR_VERSION=13.3.0 pytest tests/integration
        self.version = version or os.environ.get("CX_GRAFANA_EMULATOR_VERSION") or DEFAULT_GRAFANA_VERSION
        self.admin_user = admin_user
        self.admin_password = admin_password or _planted_password()
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="grafana-emulator-")
        pwfile = os.path.join(self.workdir, "admin-password")
        with open(pwfile, "w") as fh:
            fh.write(self.admin_password)
        os.chmod(pwfile, 0o600)
        cmd = [
            sys.executable,
            "-m",
            "grafana_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--version",
            self.version,
            "--admin-user",
            admin_user,
            "--admin-password-file",
            pwfile,
            "--homepath",
            self.workdir,
        ]
        if provisioning:
            cmd += ["--provisioning", str(provisioning)]
        if data_file:
            cmd += ["--data", str(data_file)]
        cmd += list(extra_args or [])
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = PACKAGE_PARENT + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        self.stdout_path = os.path.join(self.workdir, "stdout.log")
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        self._out = open(self.stdout_path, "w")
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=self._err, env=full_env, cwd=self.workdir)
        self.pid = self.proc.pid
        self.url = self._wait_listening()
        self._wait_healthy()

    # -- lifecycle
    def _wait_listening(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.stdout_path) as fh:
                for line in fh:
                    if line.startswith("listening on "):
                        return line.split("listening on ", 1)[1].strip()
            if self.proc.poll() is not None:
                raise EmulatorError("grafana emulator exited with %s: %s" % (self.proc.returncode, self.stderr()))
            time.sleep(0.05)
        self.stop()
        raise EmulatorError("grafana emulator did not start within %ss" % timeout)

    def _wait_healthy(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise EmulatorError("grafana emulator /api/health not OK within %ss" % timeout)

    def stderr(self):
        with open(self.stderr_path) as fh:
            return fh.read()

    def stop(self, timeout=10.0):
        """Stop by PID: SIGTERM, then SIGKILL."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        self._out.close()
        self._err.close()

    def cleanup(self):
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- HTTP helpers (stdlib only, so the plugin has no test-only dependencies)
    def api(self, method, path, body=None, token=None, auth=None, headers=None, timeout=30):
        """Return (status, decoded body or None, headers)."""
        hdrs = {"Accept": "application/json"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        else:
            user, password = auth or (self.admin_user, self.admin_password)
            hdrs["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw, status, rh = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, rh = exc.read(), exc.code, dict(exc.headers)
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode("utf-8", "replace")
        return status, decoded, rh

    def _ok(self, method, path, body=None, expect=(200,)):
        status, data, _headers = self.api(method, path, body)
        if status not in expect:
            raise EmulatorError("%s %s -> %s %s" % (method, path, status, data))
        return data

    def request_log(self):
        """List of {method, path, status} the server handled (debug endpoints excluded)."""
        return self._ok("GET", "/__emulator/requests")

    def reset_request_log(self):
        self._ok("DELETE", "/__emulator/requests")

    def set_fault(self, path_prefix, kind="error", count=1, status=503, seconds=1.0, method=None):
        """Next ``count`` requests under ``path_prefix`` answer ``status`` (kind=error), are delayed by
        ``seconds`` (kind=slow) or have their connection dropped (kind=drop)."""
        return self._ok(
            "POST", "/__emulator/faults", {"path_prefix": path_prefix, "kind": kind, "count": count, "status": status, "seconds": seconds, "method": method}
        )

    def clear_faults(self):
        self._ok("DELETE", "/__emulator/faults")

    def create_token(self, role="Admin", name=None, org_id=None):
        """A real glsa_ token made through the service-account API."""
        headers = {"X-Grafana-Org-Id": str(org_id)} if org_id else None
        name = name or "pytest-%s-%d" % (role.lower(), time.monotonic_ns())
        status, sa, _headers = self.api("POST", "/api/serviceaccounts", {"name": name, "role": role}, headers=headers)
        if status != 201:
            raise EmulatorError("create service account -> %s %s" % (status, sa))
        status, tok, _headers = self.api("POST", "/api/serviceaccounts/%d/tokens" % sa["id"], {"name": name}, headers=headers)
        if status != 200:
            raise EmulatorError("create token -> %s %s" % (status, tok))
        return tok["key"]


@pytest.fixture
def grafana_emulator_factory():
    started = []

    def factory(**kwargs):
        emu = EmulatorProcess(**kwargs)
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.cleanup()


#: The profiles a test marked ``@pytest.mark.grafana_profiles`` (no arguments) runs on: every supported release line
#: (issue 11), two that serve only the legacy /api routes for dashboards and folders (10.4 without nested folders,
#: 11.6) and two served through /apis (12.4: v1beta1, 13.3: v1; docs/grafana-behaviour.md §13).
CURRENT_PROFILES = SUPPORTED_VERSIONS


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "grafana_profiles(*versions): run the test once per Grafana emulator profile (default: %s); "
        "its ``grafana_emulator`` fixture starts that profile" % ", ".join(CURRENT_PROFILES),
    )


OWN_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests") + os.sep


def pytest_generate_tests(metafunc):
    """``@pytest.mark.grafana_profiles`` (on a test or a whole module) parametrises the ``grafana_emulator`` fixture.

    The emulator's own tests (``tests/grafana_emulator/tests/``) count as marked: each one that takes the fixture runs
    on every supported profile, and asks ``Profile(grafana_emulator.version)`` where a behaviour differs per version.
    """
    if "grafana_emulator" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("grafana_profiles")
    if marker is None and not str(metafunc.definition.fspath).startswith(OWN_TESTS):
        return
    versions = list(marker.args if marker is not None else ()) or list(CURRENT_PROFILES)
    metafunc.parametrize("grafana_emulator", versions, indirect=True, ids=versions)


@pytest.fixture
def grafana_emulator(request, grafana_emulator_factory):
    """The default profile, or the one ``@pytest.mark.grafana_profiles`` parametrised this test with."""
    return grafana_emulator_factory(version=getattr(request, "param", None))


@pytest.fixture(scope="session")
def grafana_emulator_session():
    emu = EmulatorProcess()
    yield emu
    emu.cleanup()


def pytest_terminal_summary(terminalreporter):
    """Say plainly whether the emulator's own tests validated bodies against Grafana's OpenAPI file (also under
    xdist, where the controller never imported the checker)."""
    ran = any("grafana_emulator/tests/" in getattr(rep, "nodeid", "") for reports in terminalreporter.stats.values() for rep in reports)
    if not ran:
        return
    check = sys.modules.get("openapi_check")
    if check is None:
        import importlib.util

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "openapi_check.py")
        spec = importlib.util.spec_from_file_location("_emulator_openapi_check", path)
        check = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(check)
    terminalreporter.write_line(check.status_line())

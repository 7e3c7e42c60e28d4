"""Real n8n for the tests: installed once into ~/.cache, started on PostgreSQL on 127.0.0.1, stopped by PID.

pytest plugin (listed in ``pytest_plugins`` of tests/conftest.py). Fixtures:

* ``n8n_install``   session: the install directory of n8n (``scripts/install-n8n.sh``; the first call installs
                    it under the heavy-job lock, later calls reuse the cache). Environment:
                    ``KPI_N8N_VERSION`` (default 2.41.1) and ``KPI_N8N_NODE_SPEC`` (default ``24.*``).
* ``n8n_server``    session: one running n8n with an owner account and an API key (all scopes the owner may
                    grant), shared by every test of the session. An :class:`N8nServer`.
* ``n8n_factory``   function: ``factory(bootstrap=False)`` starts another n8n of its own (own database, own
                    ports), e.g. a brand-new one without an owner; stopped at the end of the test.
* ``n8n_recorder``  function: a recording HTTP proxy in front of ``n8n_server``: point a module at
                    ``recorder.url`` and read ``recorder.calls`` (``(method, path)`` pairs) and
                    ``recorder.writes()`` (every call that is not GET/HEAD).
* ``n8n_ansible``   function: the ``ansible`` fixture that also fails on the session's API key and owner
                    password in any output.

Everything listens on 127.0.0.1 on free ports (the n8n server and its task broker; never 5679). The API key is
kept in the object and never printed (``repr`` hides it).
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from planted import PLANTED  # tests/planted.py (tests/ is on sys.path)

REPO = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = REPO / "scripts" / "install-n8n.sh"
DEFAULT_VERSION = os.environ.get("KPI_N8N_VERSION", "2.41.1")
DEFAULT_NODE_SPEC = os.environ.get("KPI_N8N_NODE_SPEC", "24.*")
OWNER_EMAIL = "owner@n8n.kpi.test"
HEAVY_LOCK = "/tmp/heavy.lock"
READY_TIMEOUT = float(os.environ.get("KPI_N8N_READY_TIMEOUT", "600"))  # ~20 s idle; minutes on a busy CI box


class N8nError(Exception):
    pass


# --------------------------------------------------------------------------------------------- install
def install_n8n(version: str = DEFAULT_VERSION, node_spec: str = DEFAULT_NODE_SPEC) -> Path:
    """Run scripts/install-n8n.sh (idempotent) and return the install directory.

    A finished install is detected without any lock; otherwise the script runs under the machine's
    heavy-job lock (it also serialises itself with a lock of its own in the cache).
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))) / "cx-kpi-dashboard"
    dest = cache / ("n8n-%s" % version)
    env = dict(os.environ, N8N_VERSION=version, N8N_NODE_SPEC=node_spec)
    if not (dest / ".complete").exists():
        cmd = ["bash", str(INSTALL_SCRIPT)]
        if shutil.which("flock"):
            cmd = ["flock", HEAVY_LOCK] + cmd
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, check=False)
        if proc.returncode != 0:
            raise N8nError("installing n8n %s failed (rc=%s):\n%s" % (version, proc.returncode, proc.stderr[-4000:]))
    if not (dest / ".complete").exists():
        raise N8nError("n8n %s install in %s is incomplete" % (version, dest))
    return dest


def read_install_env(install_dir: Path) -> dict:
    out = {}
    for line in (Path(install_dir) / "env").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


# --------------------------------------------------------------------------------------------- server
def _free_port(avoid=(5678, 5679)) -> int:
    import socket

    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port


class N8nServer:
    """One n8n process on 127.0.0.1 with its own PostgreSQL database and user folder."""

    def __init__(self, install_dir: Path, pg_server, workdir: Path | None = None, db_name: str | None = None):
        self.install_dir = Path(install_dir)
        env_file = read_install_env(self.install_dir)
        self.node = env_file["NODE"]
        self.n8n_bin = env_file["N8N_BIN"]
        self.version = env_file["N8N_VERSION"]
        self.pg_server = pg_server
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kpi-n8n-"))
        self.port = _free_port()
        self.broker_port = _free_port(avoid=(5678, 5679, self.port))
        self.url = "http://127.0.0.1:%d" % self.port
        self.db_name = db_name or "n8n_%d_%d" % (os.getpid(), self.port)
        self.owner_email = OWNER_EMAIL
        self.owner_password = PLANTED["n8n_owner_password"]
        self._api_key = None
        self.proc = None
        self.pid = 0
        self.log_path = self.workdir / "n8n.log"

    def __repr__(self):  # the API key stays out of pytest's output
        return "N8nServer(url=%r, version=%r, pid=%r, db=%r)" % (self.url, self.version, self.pid, self.db_name)

    @property
    def api_key(self) -> str:
        if not self._api_key:
            raise N8nError("this n8n has no API key yet (bootstrap() first)")
        return self._api_key

    # ------------------------------------------------------------------ lifecycle
    def environment(self) -> dict:
        pg = self.pg_server
        env = {k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "DB_", "PG"))}
        env.update(
            {
                "PATH": os.path.dirname(self.node) + os.pathsep + os.environ.get("PATH", ""),
                "N8N_USER_FOLDER": str(self.workdir),
                "N8N_ENCRYPTION_KEY": self._encryption_key(),
                "N8N_LISTEN_ADDRESS": "127.0.0.1",
                "N8N_HOST": "127.0.0.1",
                "N8N_PORT": str(self.port),
                "N8N_PROTOCOL": "http",
                "WEBHOOK_URL": self.url + "/",
                "N8N_RUNNERS_BROKER_PORT": str(self.broker_port),
                "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1",
                "N8N_SECURE_COOKIE": "false",
                "N8N_PUBLIC_API_DISABLED": "false",
                "N8N_DIAGNOSTICS_ENABLED": "false",
                "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
                "N8N_TEMPLATES_ENABLED": "false",
                "N8N_PERSONALIZATION_ENABLED": "false",
                "N8N_HIRING_BANNER_ENABLED": "false",
                "N8N_SSRF_PROTECTION_ENABLED": "false",
                "GENERIC_TIMEZONE": "UTC",
                "TZ": "UTC",
                "DB_TYPE": "postgresdb",
                "DB_POSTGRESDB_HOST": pg.host,
                "DB_POSTGRESDB_PORT": str(pg.port),
                "DB_POSTGRESDB_DATABASE": self.db_name,
                "DB_POSTGRESDB_USER": pg.superuser,
                "DB_POSTGRESDB_PASSWORD": pg.password,
                "DB_POSTGRESDB_POOL_SIZE": "4",
            }
        )
        return env

    def _encryption_key(self) -> str:
        keyfile = self.workdir / "encryption-key"
        if not keyfile.exists():
            keyfile.write_text(secrets.token_hex(24))
            os.chmod(keyfile, 0o600)
        return keyfile.read_text().strip()

    def start(self, timeout: float = READY_TIMEOUT) -> "N8nServer":
        self.pg_server.execute('CREATE DATABASE "%s"' % self.db_name)
        self._log = open(self.log_path, "ab")
        # A session of its own, so the task runner n8n spawns can be stopped with it (group id = our PID).
        self.proc = subprocess.Popen(
            [self.node, self.n8n_bin, "start"],
            cwd=str(self.workdir),
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        try:
            self.wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise N8nError("n8n exited with %s before it was ready; log tail:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                if requests.get(self.url + "/healthz/readiness", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise N8nError("n8n not ready on %s/healthz/readiness within %ss; log tail:\n%s" % (self.url, timeout, self.log_tail()))

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to our n8n by PID (n8n stops its task runner), then SIGKILL to its process group."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        if self.pid:
            try:  # a task runner left behind in the group we created
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        self.stop()
        try:
            self.pg_server.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", params=(self.db_name,)
            )
            self.pg_server.execute('DROP DATABASE IF EXISTS "%s"' % self.db_name)
        except Exception:  # the PostgreSQL fixture may already be gone
            pass
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ bootstrap (owner + API key)
    def rest_session(self) -> requests.Session:
        """A session logged in as the owner through n8n's internal REST API (/rest/login)."""
        sess = requests.Session()
        resp = sess.post(self.url + "/rest/login", timeout=30, json={"emailOrLdapLoginId": self.owner_email, "password": self.owner_password})
        if resp.status_code != 200:
            raise N8nError("n8n login as %s failed: HTTP %s %s" % (self.owner_email, resp.status_code, resp.text[:300]))
        return sess

    def setup_owner(self) -> None:
        resp = requests.post(
            self.url + "/rest/owner/setup",
            timeout=30,
            json={"email": self.owner_email, "firstName": "KPI", "lastName": "Owner", "password": self.owner_password},
        )
        if resp.status_code != 200:
            raise N8nError("n8n owner setup failed: HTTP %s %s" % (resp.status_code, resp.text[:300]))

    def create_api_key(self, label: str | None = None, scopes: list | None = None) -> str:
        """A new API key of the owner (all scopes the owner may grant unless ``scopes``); returned, never printed."""
        sess = self.rest_session()
        if scopes is None:
            resp = sess.get(self.url + "/rest/api-keys/scopes", timeout=30)
            if resp.status_code != 200:
                raise N8nError("n8n: reading API key scopes failed: HTTP %s" % resp.status_code)
            scopes = resp.json()["data"]
        resp = sess.post(
            self.url + "/rest/api-keys", timeout=30, json={"label": label or "pytest-%d" % time.monotonic_ns(), "scopes": scopes, "expiresAt": None}
        )
        if resp.status_code != 200:
            raise N8nError("n8n: creating an API key failed: HTTP %s" % resp.status_code)
        return resp.json()["data"]["rawApiKey"]

    def bootstrap(self) -> "N8nServer":
        self.setup_owner()
        self._api_key = self.create_api_key(label="pytest-session")
        return self

    # ------------------------------------------------------------------ public API helper
    def api(self, method: str, path: str, body=None, params=None, expect=(200,), api_key: str | None = None):
        """One call to the public API (``/api/v1`` + path) with the session's key; returns the decoded body."""
        resp = requests.request(
            method,
            self.url + "/api/v1" + path,
            json=body,
            params=params,
            timeout=60,
            headers={"X-N8N-API-KEY": api_key or self.api_key, "Accept": "application/json"},
        )
        if expect and resp.status_code not in expect:
            raise N8nError("%s %s -> HTTP %s %s" % (method, path, resp.status_code, resp.text[:500]))
        try:
            return resp.json() if resp.content else None
        except ValueError:
            return resp.text

    def list_all(self, path: str, params=None) -> list:
        """Every item of a paged list endpoint (``data`` + ``nextCursor``)."""
        out, cursor = [], None
        while True:
            query = dict(params or {}, limit=250)
            if cursor:
                query["cursor"] = cursor
            page = self.api("GET", path, params=query)
            out.extend(page.get("data", []))
            cursor = page.get("nextCursor")
            if not cursor:
                return out

    def delete_workflow(self, workflow_id: str) -> None:
        """Unpublish (when published) and delete, waiting while n8n finishes the unpublish (409 meanwhile)."""
        wf = self.api("GET", "/workflows/%s" % workflow_id, expect=(200, 404))
        if not isinstance(wf, dict) or "id" not in wf:
            return
        if wf.get("activeVersionId") or wf.get("active"):
            self.api("POST", "/workflows/%s/unpublish" % workflow_id)
        deadline = time.monotonic() + 30
        while True:
            resp = requests.delete(self.url + "/api/v1/workflows/%s" % workflow_id, timeout=60, headers={"X-N8N-API-KEY": self.api_key})
            if resp.status_code in (200, 404):
                return
            if resp.status_code != 409 or time.monotonic() > deadline:
                raise N8nError("DELETE /workflows/%s -> HTTP %s %s" % (workflow_id, resp.status_code, resp.text[:300]))
            time.sleep(0.5)

    def workflow_by_name(self, name: str):
        matches = [w for w in self.list_all("/workflows", {"name": name}) if w.get("name") == name]
        return matches[0] if matches else None

    def credential_by_name(self, name: str):
        matches = [c for c in self.list_all("/credentials") if c.get("name") == name]
        return matches[0] if matches else None


def start_n8n(pg_server, bootstrap: bool = True, version: str = DEFAULT_VERSION, workdir=None) -> N8nServer:
    server = N8nServer(install_n8n(version), pg_server, workdir=workdir)
    server.start()
    if bootstrap:
        try:
            server.bootstrap()
        except Exception:
            server.cleanup()
            raise
    return server


# --------------------------------------------------------------------------------------------- proxy
class RecordingProxy:
    """A plain HTTP forwarder to ``target`` that records every request as ``(method, path)``."""

    def __init__(self, target: str):
        self.target = urlsplit(target)
        self.calls: list = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.calls.append((self.command, self.path))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length", "accept-encoding")}
                conn = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for key, value in resp.getheaders():
                        if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def writes(self) -> list:
        return [c for c in self.calls if c[0] not in ("GET", "HEAD")]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def n8n_install():
    try:
        return install_n8n()
    except N8nError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def n8n_server(n8n_install, pg_server):
    server = N8nServer(n8n_install, pg_server)
    try:
        server.start()
        server.bootstrap()
    except N8nError as exc:
        server.cleanup()
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def n8n_factory(n8n_install, pg_server):
    started = []

    def factory(bootstrap: bool = False) -> N8nServer:
        server = N8nServer(n8n_install, pg_server)
        started.append(server)
        server.start()
        if bootstrap:
            server.bootstrap()
        return server

    yield factory
    for server in started:
        server.cleanup()


@pytest.fixture
def n8n_recorder(n8n_server):
    proxy = RecordingProxy(n8n_server.url)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def n8n_ansible(ansible, n8n_server):
    ansible.add_secret(n8n_server.api_key)
    ansible.add_secret(n8n_server.owner_password)
    return ansible

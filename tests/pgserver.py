"""The one throwaway PostgreSQL cluster helper of the tests, the benchmarks and the demo.

``start(base, ...)`` runs ``initdb`` (once) and ``pg_ctl start`` as user postgres: the cluster lives in
``base`` (``data/``, ``sock/``, ``server.log``, ``port``), listens on 127.0.0.1 on a free port and is stopped by
its PID (``PgServer.stop``). A cluster already initialised in ``base`` is reused (its data kept); one already
running there is reused as it is. The superuser is ``postgres`` with scram-sha-256 password authentication;
the password is the caller's, or a random one kept in ``base/superuser-password`` (0600) so a later run can
reuse the cluster.

Used by ``tests/conftest.py`` (fixture ``pg_server``), ``bench/`` and ``scripts/demo.sh``, which calls it as::

    .venv/bin/python tests/pgserver.py start --dir .demo/pg --password-stdin < password   # prints the port
    .venv/bin/python tests/pgserver.py stop --dir .demo/pg

The password is read from stdin or a file, never from the command line.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("KPI_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_VERSION = "15"

# What every cluster gets; callers add their own (the tests: durability off; the bench: bulk-load memory).
BASE_SETTINGS = {"listen_addresses": "127.0.0.1"}
# Throwaway data: no durability needed, and the tests open many connections at once.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


class PgServerError(RuntimeError):
    """The cluster could not be set up or started (the message says why)."""


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user (postgres) that exists
        return True
    return True


def stop_pid(pid: int, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started, by its PID: ``sig`` (SIGTERM by default), then SIGKILL after ``timeout``."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class PgServer:
    host: str
    port: int
    socket_dir: str
    superuser: str
    password: str
    datadir: str
    pid: int = 0
    base: str = ""
    reused: bool = False

    def dsn(self, dbname: str = "postgres", user: str | None = None, password: str | None = None, connect_timeout: int = 5) -> str:
        return (
            f"host={self.host} port={self.port} dbname={dbname} user={user or self.superuser} "
            f"password={password if password is not None else self.password} connect_timeout={connect_timeout}"
        )

    def connect(self, dbname: str = "postgres", **kw):
        import psycopg2

        return psycopg2.connect(self.dsn(dbname, **kw))

    def execute(self, sql: str, dbname: str = "postgres", params=None, fetch: bool = True):
        conn = self.connect(dbname)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                if fetch and cur.description is not None:
                    return cur.fetchall()
                return None
        finally:
            conn.close()

    def stop(self, keep_files: bool = True, timeout: float = 60.0) -> None:
        """Fast shutdown (SIGINT: open sessions are ended) by PID; the files go too unless ``keep_files``."""
        if self.pid:
            stop_pid(self.pid, timeout=timeout, sig=signal.SIGINT)
            self.pid = 0
        if not keep_files and self.base:
            shutil.rmtree(self.base, ignore_errors=True)


def _as_postgres(cmd: list[str]) -> subprocess.CompletedProcess:
    what = Path(cmd[0]).name
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PgServerError("%s failed (exit %d): %s" % (what, proc.returncode, (proc.stderr or proc.stdout).strip()[-2000:]))
    return proc


def _chown_postgres(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def _running_pid(datadir: Path) -> int:
    pidfile = datadir / "postmaster.pid"
    if not pidfile.exists():
        return 0
    try:
        pid = int(pidfile.read_text().split("\n")[0])
    except (OSError, ValueError):
        return 0
    return pid if pid_alive(pid) else 0


def start(base: Path | str | None = None, password: str | None = None, settings: dict | None = None, timeout: int = 60) -> PgServer:
    """Initialise (once) and start the cluster in ``base`` (a new temporary directory when None).

    ``password``: the superuser's; None reuses ``base/superuser-password`` or makes a random one kept there.
    ``settings``: server settings added to BASE_SETTINGS (``-c name=value``).
    """
    if not (PG_BIN / "initdb").exists():
        raise PgServerError(f"PostgreSQL {PG_VERSION} server binaries not found in {PG_BIN} (apt-get install postgresql-{PG_VERSION}, or set KPI_PG_BIN)")
    base = Path(base or tempfile.mkdtemp(prefix="kpi-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    datadir, sockdir, secret_file, port_file = base / "data", base / "sock", base / "superuser-password", base / "port"
    initialised = (datadir / "PG_VERSION").exists()
    if password is None:
        if initialised and not secret_file.exists():
            raise PgServerError(f"{base} holds a cluster but no superuser-password file: give its password or remove the directory")
        password = secret_file.read_text().strip() if secret_file.exists() else secrets.token_urlsafe(18)
        if not secret_file.exists():
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
    sockdir.mkdir(exist_ok=True)
    _chown_postgres(base, sockdir)
    if not initialised:
        pwfile = base / ".pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        _chown_postgres(pwfile)
        try:
            initdb = [str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "scram-sha-256", f"--pwfile={pwfile}"]
            _as_postgres(initdb + ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        finally:
            pwfile.unlink(missing_ok=True)
    pid = _running_pid(datadir)
    if pid and port_file.exists():
        port = int(port_file.read_text().strip())
        return PgServer("127.0.0.1", port, str(sockdir), "postgres", password, str(datadir), pid, str(base), reused=True)
    port = free_tcp_port()
    port_file.write_text("%d\n" % port)
    opts = f"-p {port} -k {sockdir} " + " ".join(f"-c {k}={v}" for k, v in {**BASE_SETTINGS, **(settings or {})}.items())
    _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(base / "server.log"), "-w", "-t", str(timeout), "start"])
    pid = _running_pid(datadir)
    if not pid:
        raise PgServerError(f"PostgreSQL in {datadir} did not stay up (see {base / 'server.log'})")
    return PgServer("127.0.0.1", port, str(sockdir), "postgres", password, str(datadir), pid, str(base), reused=initialised)


def stop(base: Path | str, timeout: float = 60.0) -> bool:
    """Stop the cluster running in ``base`` (its files stay); False when none was running."""
    pid = _running_pid(Path(base) / "data")
    if pid:
        stop_pid(pid, timeout=timeout, sig=signal.SIGINT)
    return bool(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start or stop a throwaway PostgreSQL cluster on 127.0.0.1 (the demo's).")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, required=True, help="the cluster's directory (data/, sock/, server.log, port)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help="read the superuser password from stdin (first line)")
    source.add_argument("--password-file", type=Path, help="read the superuser password from this file (first line)")
    args = parser.parse_args(argv)
    try:
        if args.action == "stop":
            stop(args.dir)
            return 0
        password = None
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif args.password_file:
            password = args.password_file.read_text().split("\n", 1)[0]
        if password == "":
            parser.error("the password is empty")
        server = start(args.dir, password=password)
    except PgServerError as exc:
        sys.stderr.write("error: %s\n" % exc)
        return 1
    sys.stdout.write("%d\n" % server.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

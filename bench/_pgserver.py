"""A throwaway PostgreSQL cluster for benchmarks: 127.0.0.1, a free port, stopped by its PID."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("KPI_PG_BIN", "/usr/lib/postgresql/15/bin"))

# Bulk-load friendly but query-realistic: work_mem stays at its default (what Grafana's sessions get).
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "2GB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "jit": "off",  # JIT compile time (100+ ms) dwarfs these queries; typical OLTP setting
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


class PgCluster:
    def __init__(self, base: Path | None = None):
        self.base = Path(base or tempfile.mkdtemp(prefix="kpi-bench-pg-"))
        self.base.mkdir(parents=True, exist_ok=True)
        self.secret_file = self.base / "superuser-password"  # 0600, kept only with the cluster (--cluster-dir)
        self.reused = (self.base / "data" / "PG_VERSION").exists() and self.secret_file.exists()
        self.password = self.secret_file.read_text().strip() if self.reused else secrets.token_urlsafe(18)
        self.port = 0
        self.pid = 0

    def start(self) -> "PgCluster":
        if not (PG_BIN / "initdb").exists():
            raise SystemExit(f"PostgreSQL server binaries not found in {PG_BIN} (set KPI_PG_BIN)")
        os.chmod(self.base, 0o755)
        datadir, sockdir, pwfile = self.base / "data", self.base / "sock", self.base / "pw"
        sockdir.mkdir(exist_ok=True)
        if not self.reused:
            pwfile.write_text(self.password + "\n")
            if os.geteuid() == 0:
                for p in (self.base, sockdir, pwfile):
                    shutil.chown(p, "postgres", "postgres")
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-A",
                    "scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            )
            pwfile.unlink()
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(self.password + "\n")
        elif os.geteuid() == 0:
            shutil.chown(sockdir, "postgres", "postgres")
        self.port = free_port()
        opts = f"-p {self.port} -k {sockdir} " + " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(self.base / "server.log"), "-w", "-t", "60", "start"])
        self.pid = int((datadir / "postmaster.pid").read_text().split("\n")[0])
        return self

    def dsn(self, dbname="postgres", user="postgres", password=None) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user} password={password or self.password} connect_timeout=10"

    def stop(self, keep_files: bool = False) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(self.pid, signal.SIGKILL)
            self.pid = 0
        if not keep_files:
            shutil.rmtree(self.base, ignore_errors=True)

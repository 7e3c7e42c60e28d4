"""Control-host side of the `reports` scenario (run with the repo's venv Python by prepare/converge/cleanup).

``wheelhouse --dest D --python-version 3.11 --machine x86_64 --glibc 2.36 REQ...``
    tools/build_wheelhouse.py for the instance's Python and platform (cached: a re-run finds D/.complete).

``start --instance NAME --state DIR``
    The instance has no network (``network: none``). PostgreSQL 15 (the host's binaries) and the SMTP sink
    (tests/smtp_sink, aiosmtpd) are started on the host but inside the instance's network namespace
    (``nsenter -n``), so they listen on the instance's own 127.0.0.1 while their files stay on the host:
    PostgreSQL on 127.0.0.1:5432 there plus a Unix socket in DIR/pg (the loader below connects through it),
    the sink on 127.0.0.1:2525 there with its maildir in DIR/smtp/mail. The KPI database ``support_system``
    gets the collection's schema, views, read-only role (PLANTED reader password) and demo data. The sink's
    AUTH password is PLANTED["smtp_password"], read from a 0600 file.

``stop --state DIR``
    Stops both by their PIDs and removes DIR.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "integration"), str(REPO / "tools")]

PG_BIN = Path(os.environ.get("KPI_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PORT = 5432
SMTP_PORT = 2525
SMTP_USER = "reports@example.test"
DB_NAME = "support_system"


def wheelhouse(args):
    from build_wheelhouse import build

    return build(args.dest, args.python_version, args.machine, args.glibc, args.requirements)


def instance_pid(name):
    out = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", name], capture_output=True, text=True, check=True)
    pid = int(out.stdout.strip())
    if pid <= 0:
        raise SystemExit("instance %s is not running" % name)
    return pid


def as_postgres(cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + cmd, check=True, capture_output=True, text=True, **kw)


def start(args):
    from pgserver import PgServer
    from planted import PLANTED
    from kpi_grafana_support import load_kpi_database
    from smtp_sink.fixture import make_cert

    state = Path(args.state)
    if state.exists():
        stop(args)
    netns = ["nsenter", "--target", str(instance_pid(args.instance)), "--net", "--"]
    state.mkdir(parents=True, mode=0o755)
    os.chmod(state, 0o755)

    # PostgreSQL: local (socket) connections trusted, TCP (the instance's loopback) by scram password only.
    pg = state / "pg"
    pg.mkdir()
    shutil.chown(pg, "postgres", "postgres")
    as_postgres(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(pg / "data"),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (PG_PORT, pg)
    subprocess.run(
        netns
        + ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(pg / "data"), "-o", opts, "-l", str(pg / "log"), "-w", "-t", "30", "start"],
        check=True,
        capture_output=True,
        text=True,
    )
    server = PgServer(str(pg), PG_PORT, str(pg), "postgres", "unused-trust-auth", str(pg / "data"))
    server.execute('CREATE DATABASE "%s"' % DB_NAME)
    summary = load_kpi_database(server, DB_NAME, PLANTED["reader_password"], cases_per_day=20, days=10)

    # SMTP sink (STARTTLS + AUTH) with a certificate for 127.0.0.1; the instance gets the certificate as CA.
    smtp = state / "smtp"
    (smtp / "mail").mkdir(parents=True)
    cert, key = make_cert(str(smtp))
    pwfile = smtp / "password"
    pwfile.touch(mode=0o600)
    pwfile.write_text(PLANTED["smtp_password"])
    env = dict(os.environ, PYTHONPATH=str(REPO / "tests"))
    cmd = netns + [sys.executable, "-m", "smtp_sink", "--port", str(SMTP_PORT), "--maildir", str(smtp / "mail"), "--cert", cert, "--key", key]
    cmd += ["--mode", "starttls", "--user", SMTP_USER, "--password-file", str(pwfile)]
    log = open(smtp / "log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    (smtp / "pid").write_text("%d\n" % proc.pid)
    deadline = time.monotonic() + 20
    while "listening on" not in (smtp / "log").read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("SMTP sink did not start: " + (smtp / "log").read_text()[-2000:])
        time.sleep(0.1)
    print(json.dumps({"pg_port": PG_PORT, "smtp_port": SMTP_PORT, "smtp_ca": cert, "demo": str(summary)[:200]}))
    return 0


def stop(args):
    from pgserver import stop_pid

    state = Path(args.state)
    pidfile = state / "smtp" / "pid"
    if pidfile.exists():
        stop_pid(int(pidfile.read_text().strip()))
    postmaster = state / "pg" / "data" / "postmaster.pid"
    if postmaster.exists():
        pid = int(postmaster.read_text().split("\n")[0])
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(postmaster.parent), "-m", "fast", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        stop_pid(pid)
    shutil.rmtree(state, ignore_errors=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hostside")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wheelhouse")
    w.add_argument("--dest", required=True)
    w.add_argument("--python-version", required=True)
    w.add_argument("--machine", required=True)
    w.add_argument("--glibc", required=True)
    w.add_argument("requirements", nargs="+")
    s = sub.add_parser("start")
    s.add_argument("--instance", required=True)
    s.add_argument("--state", required=True)
    t = sub.add_parser("stop")
    t.add_argument("--state", required=True)
    args = parser.parse_args(argv)
    return {"wheelhouse": wheelhouse, "start": start, "stop": stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

"""tests/pgserver.py as scripts/demo.sh runs it: start (initdb once), reuse while running, stop, start again
with the data kept; the password only through stdin; clear errors."""

import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest

from conftest import REPO
from planted import PLANTED

HELPER = REPO / "tests" / "pgserver.py"
PASSWORD = PLANTED["db_password"]


def cli(*args, password=None):
    return subprocess.run([sys.executable, str(HELPER), *args], input=password, capture_output=True, text=True, timeout=180, check=False)


def query(port, sql):
    conn = psycopg2.connect(host="127.0.0.1", port=port, dbname="postgres", user="postgres", password=PASSWORD, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


@pytest.fixture
def cluster_dir():
    parent = Path(tempfile.mkdtemp(prefix="kpi-pgserver-test-"))
    parent.chmod(0o755)
    yield parent / "pg"
    cli("stop", "--dir", str(parent / "pg"))
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def test_start_reuse_stop_restart_keeps_data(cluster_dir):
    first = cli("start", "--dir", str(cluster_dir), "--password-stdin", password=PASSWORD + "\n")
    assert first.returncode == 0, first.stderr
    port = int(first.stdout)
    assert PASSWORD not in first.stdout + first.stderr
    assert query(port, "SHOW listen_addresses") == [("127.0.0.1",)]
    query(port, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")

    again = cli("start", "--dir", str(cluster_dir), "--password-stdin", password=PASSWORD + "\n")
    assert again.returncode == 0 and int(again.stdout) == port  # running: reused as it is

    assert cli("stop", "--dir", str(cluster_dir)).returncode == 0
    with pytest.raises(psycopg2.OperationalError):
        query(port, "SELECT 1")

    restarted = cli("start", "--dir", str(cluster_dir), "--password-stdin", password=PASSWORD + "\n")
    assert restarted.returncode == 0, restarted.stderr
    assert query(int(restarted.stdout), "SELECT x FROM kept") == [(42,)]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host="127.0.0.1", port=int(restarted.stdout), dbname="postgres", user="postgres", password="wrong", connect_timeout=10)


def test_refuses_an_empty_password_and_a_cluster_without_one(cluster_dir):
    empty = cli("start", "--dir", str(cluster_dir), "--password-stdin", password="\n")
    assert empty.returncode != 0 and "the password is empty" in empty.stderr
    assert not (cluster_dir / "data").exists()
    started = cli("start", "--dir", str(cluster_dir), "--password-stdin", password=PASSWORD + "\n")
    assert started.returncode == 0, started.stderr
    assert cli("stop", "--dir", str(cluster_dir)).returncode == 0
    # initialised with a caller's password: without one there is nothing to log in with
    anonymous = cli("start", "--dir", str(cluster_dir))
    assert anonymous.returncode == 1 and "no superuser-password file" in anonymous.stderr

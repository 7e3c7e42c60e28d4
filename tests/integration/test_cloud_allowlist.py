"""grafana_cloud_allowlist against a real PostgreSQL 15 cluster started by the test.

The role manages a marked block in the cluster's pg_hba.conf and reloads the server through its handler.
To prove the block is both written and *loaded*, the test adds 127.0.0.1/32 with method `reject` for a probe
role: after the run that role can no longer log in over 127.0.0.1; after the address is removed from the
list it can again (so removal is real, not just a stale line left behind).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from conftest import PG_BIN, PLANTED, start_pg_server, stop_pid

US = ["35.226.75.195/32", "35.202.127.210/32", "34.134.66.194/32"]
EU = ["34.90.196.48/32", "34.91.96.108/32", "35.204.174.85/32"]
PROBE_USER = "kpi_probe"


@pytest.fixture
def cluster():
    base = Path(tempfile.mkdtemp(prefix="kpi-allowlist-pg-"))
    base.chmod(0o755)
    server = start_pg_server(base)
    try:
        server.execute(f"CREATE ROLE {PROBE_USER} LOGIN PASSWORD %s", params=(PLANTED["reader_password"],))
        server.execute("CREATE DATABASE support_system")
        yield server
    finally:
        stop_pid(server.pid)
        shutil.rmtree(base, ignore_errors=True)


def _probe_can_login(server) -> bool:
    try:
        psycopg2.connect(server.dsn("support_system", user=PROBE_USER, password=PLANTED["reader_password"])).close()
        return True
    except psycopg2.OperationalError as exc:
        assert "rejects connection" in str(exc), exc
        return False


def _wait_for_login_state(server, expected: bool, timeout: float = 10.0) -> None:
    # pg_ctl reload signals the postmaster, which re-reads pg_hba.conf asynchronously.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _probe_can_login(server) == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"probe login was not {'allowed' if expected else 'rejected'} within {timeout}s")


def _vars(server, **over) -> dict:
    hba = Path(server.datadir) / "pg_hba.conf"
    ev = {
        # the role's default source is api; these tests use the static lists unless they say otherwise
        "grafana_cloud_allowlist_source": "static",
        # the explicit lists for offline use (no list ships with the role)
        "grafana_cloud_allowlist_regions": ["us", "eu"],
        "grafana_cloud_allowlist_region_cidrs": {"us": US, "eu": EU},
        "grafana_cloud_allowlist_pg_hba_file": str(hba),
        "grafana_cloud_allowlist_pg_hba_type": "host",
        "grafana_cloud_allowlist_auth_method": "reject",
        "grafana_cloud_allowlist_databases": ["support_system"],
        "grafana_cloud_allowlist_users": [PROBE_USER],
        "grafana_cloud_allowlist_extra_cidrs": ["127.0.0.1/32"],
        "grafana_cloud_allowlist_pg_reload_command": ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "reload", "-D", server.datadir],
    }
    ev.update(over)
    return dict((k, v) for k, v in ev.items() if v is not None)  # None: leave the role's default


def _play(tmp_path: Path) -> Path:
    pb = tmp_path / "allowlist.yml"
    pb.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "cx_catalyst.kpi_dashboard.grafana_cloud_allowlist"}]}]))
    return pb


def _recap(res) -> str:
    return res.stdout.split("PLAY RECAP")[-1]


def _our_rules(server) -> list[tuple]:
    rows = server.execute(
        "SELECT address, netmask, database, user_name, auth_method, error FROM pg_hba_file_rules WHERE user_name = %s ORDER BY line_number",
        params=([PROBE_USER],),
    )
    return rows


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_allowlist_adds_reloads_and_really_removes(ansible, tmp_path, cluster):
    hba = Path(cluster.datadir) / "pg_hba.conf"
    assert _probe_can_login(cluster)

    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster))
    assert "changed=" in _recap(res) and "changed=0" not in _recap(res)
    text = hba.read_text()
    for cidr in US + EU + ["127.0.0.1/32"]:
        assert cidr in text
    rules = _our_rules(cluster)
    assert len(rules) == 7 and all(r[5] is None for r in rules), rules
    assert {r[0] for r in rules} == {c.split("/", maxsplit=1)[0] for c in US + EU + ["127.0.0.1/32"]}
    assert all(r[4] == "reject" and r[2] == ["support_system"] for r in rules)
    # The block comes first (pg_hba.conf is first-match) and the handler reloaded the server.
    assert text.lstrip().startswith("# BEGIN cx_catalyst.kpi_dashboard.grafana_cloud_allowlist")
    _wait_for_login_state(cluster, expected=False)
    cluster.execute("SELECT 1")  # the superuser's own rule is untouched

    # Re-run: nothing changes, no reload.
    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster))
    assert "changed=0" in _recap(res), _recap(res)

    # Check mode with a shorter list reports the change and a diff but writes nothing.
    before = _sha(hba)
    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster, grafana_cloud_allowlist_extra_cidrs=[]), check=True, diff=True)
    assert "changed=1" in _recap(res)
    assert "-host" in res.stdout and "127.0.0.1/32" in res.stdout
    assert _sha(hba) == before

    # Remove 127.0.0.1 and the EU region: the lines are gone and the probe logs in again.
    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster, grafana_cloud_allowlist_extra_cidrs=[], grafana_cloud_allowlist_regions=["us"]))
    text = hba.read_text()
    assert "127.0.0.1/32" not in text.split("# END cx_catalyst")[0]
    for cidr in EU:
        assert cidr not in text
    assert {r[0] for r in _our_rules(cluster)} == {c.split("/", maxsplit=1)[0] for c in US}
    _wait_for_login_state(cluster, expected=True)

    # An empty list removes the whole block.
    ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster, grafana_cloud_allowlist_extra_cidrs=[], grafana_cloud_allowlist_regions=[]))
    assert "grafana_cloud_allowlist" not in hba.read_text()
    assert _our_rules(cluster) == []


@pytest.mark.parametrize("bad", ["35.226.75.300/32", "35.226.75.195", "10.0.0.0/33", "db.example.com/32", "1.2.3.4/32 trust"])
def test_allowlist_rejects_bad_cidr_and_changes_nothing(ansible, tmp_path, cluster, bad):
    hba = Path(cluster.datadir) / "pg_hba.conf"
    before = _sha(hba)
    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster, grafana_cloud_allowlist_extra_cidrs=[bad]), expect_rc=2)
    assert "not an IPv4/IPv6 address with prefix length" in res.stdout and bad in res.stdout
    assert _sha(hba) == before
    assert _probe_can_login(cluster)


def test_allowlist_rejects_unknown_region(ansible, tmp_path, cluster):
    hba = Path(cluster.datadir) / "pg_hba.conf"
    before = _sha(hba)
    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster, grafana_cloud_allowlist_regions=["us", "mars"]), expect_rc=2)
    assert "unknown region(s) mars" in res.stdout
    assert _sha(hba) == before


def test_allowlist_from_the_api_keeps_last_good_list(ansible, tmp_path, cluster):
    """source api: the Allowlist API's egress list goes into pg_hba.conf; an empty, malformed or unreachable answer
    fails the play and leaves every rule (and the cached last good list) as it was (docs/grafana-cloud-allowlist.md)."""
    from allowlist_emulator import AllowlistServer
    import urllib.request

    api = AllowlistServer(region="prod-eu-west-2")
    try:
        hba = Path(cluster.datadir) / "pg_hba.conf"
        state = tmp_path / "state"
        ev = _vars(
            cluster,
            grafana_cloud_allowlist_source=None,  # api is the default
            grafana_cloud_allowlist_api_region="prod-eu-west-2",
            grafana_cloud_allowlist_api_url=api.url + "/v1/grafana",
            grafana_cloud_allowlist_state_dir=str(state),
        )
        ansible.playbook(_play(tmp_path), extra_vars=ev)
        text = hba.read_text()
        for cidr in ["203.0.113.20/32", "203.0.113.21/32", "127.0.0.1/32"]:
            assert cidr in text
        assert not any(cidr in text for cidr in US + EU)
        _wait_for_login_state(cluster, expected=False)
        res = ansible.playbook(_play(tmp_path), extra_vars=ev)
        assert "changed=0" in _recap(res), _recap(res)
        before = _sha(hba)
        for mode in ("empty", "malformed", "error"):
            req = urllib.request.Request(
                api.url + "/__emulator/mode", data=json.dumps({"mode": mode}).encode(), method="PUT", headers={"Content-Type": "application/json"}
            )
            urllib.request.urlopen(req, timeout=10).close()
            res = ansible.playbook(_play(tmp_path), extra_vars=ev, expect_rc=2)
            assert "Nothing was changed; the last good list (2 CIDRs" in res.stdout, mode
            assert _sha(hba) == before
        assert not _probe_can_login(cluster)
    finally:
        api.stop()


def test_default_source_is_the_api_and_needs_the_region(ansible, tmp_path, cluster):
    """source api is the default: without grafana_cloud_allowlist_api_region preflight fails clearly, naming the
    variable and the offline alternative, and pg_hba.conf is left as it was."""
    hba = Path(cluster.datadir) / "pg_hba.conf"
    before = _sha(hba)
    res = ansible.playbook(_play(tmp_path), extra_vars=_vars(cluster, grafana_cloud_allowlist_source=None), expect_rc=2)
    out = " ".join(res.stdout.split())
    assert "source api (the default) needs grafana_cloud_allowlist_api_region" in out, res.stdout[-3000:]
    assert "grafana_cloud_allowlist_source: static" in out and "Nothing was changed" in out
    assert _sha(hba) == before

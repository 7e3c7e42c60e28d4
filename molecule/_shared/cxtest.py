"""Helpers shared by the scenarios' testinfra checks (molecule/<scenario>/tests/test_*.py)."""

import json
import shlex
from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "cx-kpi-dashboard" / "molecule"

# The planted secrets the scenarios feed to the roles (tests/planted.yml, their one definition).
PLANTED = yaml.safe_load((SHARED.parent.parent / "tests" / "planted.yml").read_text(encoding="utf-8"))


def grafana_api(host, base, paths, env_file="/etc/default/grafana-server", env_key="GF_SECURITY_ADMIN_PASSWORD", user="admin", cafile=None):
    """GET each path from inside the instance; returns {path: {"status", "body"}}.

    The password is read inside the instance from env_file, so it never appears in a command line."""
    source = (SHARED / "grafana_api_probe.py").read_text()
    cmd = "{}python3 -c {} {} {} {} {} {}".format(
        "CX_PROBE_CAFILE={} ".format(shlex.quote(cafile)) if cafile else "",
        shlex.quote(source),
        shlex.quote(base),
        shlex.quote(env_file),
        shlex.quote(env_key),
        shlex.quote(user),
        " ".join(shlex.quote(p) for p in paths),
    )
    res = host.run(cmd)
    assert res.rc == 0, "API probe failed: " + res.stderr[-2000:]
    return json.loads(res.stdout)


def systemd_analyze_verify(host, unit_path):
    """`systemd-analyze verify` a unit file inside the instance; returns (rc, output)."""
    res = host.run("systemd-analyze verify {} 2>&1".format(shlex.quote(unit_path)))
    return res.rc, res.stdout + res.stderr


def process_args(host):
    return host.run("ps -eo args").stdout

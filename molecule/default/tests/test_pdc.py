"""Verify of the default scenario, grafana_pdc_agent's part: user, unit, token file, running service, where the token went.

The release is the test one molecule-prepare.sh publishes (pdc-release/v0.0.63, whose `pdc` is a test double
recording its arguments and environment); host_vars/cx-kpi-molecule-default.yml points the role at it."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "_shared"))

from cxtest import PLANTED, process_args, systemd_analyze_verify  # noqa: E402

UNIT = "/etc/systemd/system/pdc-agent.service"
ENV_FILE = "/etc/default/pdc-agent"
STATE = "/var/lib/pdc-agent"
RECORD = STATE + "/pdc-test-double.record"


def record(host):
    """The test double's record: {"args": [...], "env": {...}, "user": ...}."""
    text = host.run("cat " + RECORD).stdout
    out = {"args": [], "env": {}}
    for line in text.splitlines():
        key, _sep, value = line.partition("=")
        if key == "arg":
            out["args"].append(value)
        elif key == "env":
            name, _sep2, val = value.partition("=")
            out["env"][name] = val
        else:
            out[key] = value
    return out


def test_service_user(host):
    user = host.user("pdc-agent")
    assert user.exists
    assert user.shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
    assert user.uid < 1000, "a system account"
    assert host.group("pdc-agent").exists


def test_binary_installed_from_the_release(host):
    binary = host.file("/usr/local/bin/pdc")
    assert binary.exists and binary.mode & 0o111
    assert host.run("/usr/local/bin/pdc -version").stdout.strip() == "v0.0.63"
    # The real download path ran: the verified archive is kept in the cache directory.
    assert host.run("ls /var/cache/pdc-agent").stdout.strip() != ""


def test_token_file_mode_0600(host):
    env = host.file(ENV_FILE)
    assert env.exists
    assert env.mode == 0o600
    assert env.user == "root"
    has_token = ('GCLOUD_PDC_SIGNING_TOKEN="%s"' % PLANTED["pdc_token"]) in env.content_string or (
        "GCLOUD_PDC_SIGNING_TOKEN=%s" % PLANTED["pdc_token"]
    ) in env.content_string
    assert has_token, "the token is not in the environment file"


def test_unit_file(host):
    unit = host.file(UNIT)
    assert unit.exists and unit.mode & 0o022 == 0
    text = unit.content_string
    assert "User=pdc-agent" in text
    assert "EnvironmentFile=" + ENV_FILE in text
    leaked = PLANTED["pdc_token"] in text
    assert not leaked, "the token must not be in the unit file"
    assert "-token" not in text


def test_unit_passes_systemd_analyze_verify(host):
    rc, out = systemd_analyze_verify(host, UNIT)
    assert rc == 0, out
    assert "pdc-agent.service" not in out, out


def test_service_running_and_enabled(host):
    svc = host.service("pdc-agent")
    assert svc.is_running and svc.is_enabled
    main_pid = host.run("systemctl show -p MainPID --value pdc-agent").stdout.strip()
    assert main_pid not in ("", "0")
    assert host.run("ps -o user= -p " + main_pid).stdout.strip() == "pdc-agent"


def test_agent_in_process_list(host):
    # That no planted secret (the token included) is in `ps -eo args` is test_package.test_no_secret_in_process_list.
    args = process_args(host)
    assert "/usr/local/bin/pdc" in args, "the agent process is not in the process list"


def test_agent_got_token_from_environment_not_arguments(host):
    rec = record(host)
    assert rec.get("user") == "pdc-agent"
    has_token = rec["env"].get("GCLOUD_PDC_SIGNING_TOKEN", "").strip('"') == PLANTED["pdc_token"]
    assert has_token, "the agent's environment lacks GCLOUD_PDC_SIGNING_TOKEN"
    assert rec["env"].get("GCLOUD_HOSTED_GRAFANA_ID", "").strip('"') == "123456"
    args = rec["args"]
    assert "-cluster" in args and args[args.index("-cluster") + 1] == "prod-test-0"
    leaked = any(PLANTED["pdc_token"] in a for a in args)
    assert not leaked, "the token was passed as an argument"
    assert "-token" not in args


def test_record_is_private(host):
    rec = host.file(RECORD)
    assert rec.exists and rec.mode == 0o600 and rec.user == "pdc-agent"


def test_journal_has_no_token(host):
    journal = host.run("journalctl -u pdc-agent --no-pager -o cat").stdout
    assert "pdc test double" in journal
    leaked = PLANTED["pdc_token"] in journal
    assert not leaked, "the token reached the journal"

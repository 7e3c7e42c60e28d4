"""Verify of the reports scenario: kpi_reports installed offline (pip, wheelhouse) on real systemd.

The wheelhouse on the instance is the control host's one, whole (its checksum list, `sha1sum -c`), nothing left of
the unpacking; pip in the venv is the wheelhouse's pip (not ensurepip's) and reads only the wheelhouse
(`no-index`); every service's ExecStart and every report playbook's interpreter are the venv's.
Timers enabled and active, each OnCalendar as systemd itself reads it (`systemd-analyze calendar`, time zone
included), one `systemctl start` of the daily service renders PDF/PNG/CSV and delivers one mail to the SMTP sink,
the SMTP password only in its 0600 file (never in a unit, `systemctl show`, the journal or a process list).
"""

import hashlib
import json
import os
import re
import shlex
import sys
from pathlib import Path

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "_shared"))

from cxtest import PLANTED, process_args, systemd_analyze_verify  # noqa: E402

STATE = Path("/var/tmp/cx-kpi-molecule-reports")  # cx_test_reports_state (molecule.yml)
MAILDIR = STATE / "smtp" / "mail"
VENV = "/opt/cx-kpi-reports/venv"
WHEELHOUSE = "/opt/cx-kpi-reports/wheelhouse"
MANIFEST = ".cx-kpi-reports-wheelhouse.sha1"  # the role's __kpi_reports_wheelhouse_manifest_name
REPO = Path(__file__).resolve().parents[3]
OUTPUT = "/var/lib/cx-kpi-reports"
CONFIG = "/etc/cx-kpi-reports"
TZ = "Europe/Berlin"
SCHEDULE = {"daily": "*-*-* 07:30:00", "weekly": "Mon *-*-* 08:00:00", "monthly": "*-*-01 09:15:00"}  # converge.yml
SECRETS = (PLANTED["smtp_password"], PLANTED["reader_password"])


def unit(report, kind):
    return "cx-kpi-report-%s.%s" % (report, kind)


def leaked(text):
    return [s[:8] + "..." for s in SECRETS if s in text]


def test_renderer_installed_offline_in_the_venv(host):
    conf = host.file(VENV + "/pip.conf")
    assert conf.mode == 0o600 and conf.user == "root"
    assert "no-index = true" in conf.content_string
    assert "/opt/cx-kpi-reports/wheelhouse" in conf.content_string
    assert host.file("/opt/cx-kpi-reports/wheelhouse").is_directory
    versions = host.run(
        VENV
        + "/bin/python -c "
        + shlex.quote("import json, ansible.release, matplotlib, psycopg2; print(json.dumps([ansible.release.__version__, matplotlib.__version__]))")
    )
    assert versions.rc == 0, versions.stderr
    ansible_core, _mpl = json.loads(versions.stdout)
    assert tuple(int(x) for x in ansible_core.split(".")[:2]) >= (2, 17), ansible_core  # the collection's requires_ansible
    # no Debian python3-matplotlib: the renderer's libraries come from the venv only
    assert host.run("/usr/bin/python3 -c 'import matplotlib'").rc != 0
    # the instance has no route anywhere (network: none): only loopback
    routes = host.run("ip -o route show").stdout.strip()
    assert routes == "", routes


def control_wheelhouse(host):
    """The control host's wheelhouse for this instance (the cache directory molecule/reports/tasks/wheelhouse.yml names)."""
    code = "import json, platform, sys; print(json.dumps(['%d.%d' % sys.version_info[:2], platform.machine(), platform.libc_ver()[1]]))"
    python, machine, glibc = json.loads(host.check_output("/usr/bin/python3 -c " + shlex.quote(code)))
    requirements = yaml.safe_load((REPO / "roles" / "kpi_reports" / "defaults" / "main.yml").read_text())["kpi_reports_pip_packages"]
    key = "cp%s-%s-glibc%s-%s" % (python.replace(".", ""), machine, glibc, hashlib.sha256(" ".join(requirements).encode()).hexdigest()[:12])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = cache / "cx-kpi-dashboard" / "wheelhouse" / key
    assert (path / ".complete").is_file(), path
    return path


def test_collection_files_are_the_checkouts_root_0644(host):
    """The report module and its module_utils (shipped as one archive) are the checkout's files, root:root 0644,
    and their directories stay traversable (unpacking must not touch the directories' modes)."""
    role_vars = yaml.safe_load((REPO / "roles/kpi_reports/vars/main.yml").read_text(encoding="utf-8"))
    collection = "/opt/cx-kpi-reports/collections/ansible_collections/cx_catalyst/kpi_dashboard"
    for rel in role_vars["__kpi_reports_collection_files"]:
        installed = host.file(collection + "/" + rel)
        assert installed.is_file, rel
        assert installed.sha256sum == hashlib.sha256((REPO / rel).read_bytes()).hexdigest(), rel
        assert (installed.user, installed.group, installed.mode) == ("root", "root", 0o644), rel
    for rel in ("", "/plugins", "/plugins/modules", "/plugins/module_utils", "/meta"):
        assert host.file(collection + rel).mode & 0o005 == 0o005, rel or collection


def test_wheelhouse_is_the_control_hosts_whole(host):
    local = control_wheelhouse(host)
    expected = {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in local.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert any(name.startswith("pip-") and name.endswith(".whl") for name in expected), sorted(expected)
    manifest = host.file(WHEELHOUSE + "/" + MANIFEST)
    assert manifest.user == "root" and manifest.mode == 0o644
    listed = dict(reversed(line.split("  ", 1)) for line in manifest.content_string.splitlines())
    assert listed == expected
    # every file on the instance is what the list says, and there is nothing else
    checked = host.run("cd %s && sha1sum --check --strict %s" % (WHEELHOUSE, MANIFEST))
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert sorted(host.check_output("ls -A " + WHEELHOUSE).split()) == sorted([*expected, MANIFEST])
    for name in expected:
        f = host.file(WHEELHOUSE + "/" + name)
        assert f.user == "root" and f.group == "root" and f.mode == 0o644, name
    assert not host.file(WHEELHOUSE + ".new").exists


def test_pip_bootstrapped_from_the_wheelhouse_and_offline(host):
    (pip_wheel,) = [n for n in host.check_output("ls -A " + WHEELHOUSE).split() if n.startswith("pip-") and n.endswith(".whl")]
    version = host.check_output(VENV + "/bin/python -m pip --version")
    # the wheelhouse's pip (Debian 12's own pip, the one ensurepip would use, is 23.0.1)
    assert version.startswith("pip %s from %s/lib/" % (pip_wheel.split("-")[1], VENV)), version
    config = host.check_output(VENV + "/bin/python -m pip config list")
    assert "global.no-index='true'" in config, config
    assert "global.index-url" not in config, config
    # pip looks nowhere but the wheelhouse: a project that is not in it is not found, and no index is tried
    missing = host.run(VENV + "/bin/python -m pip download --dest /tmp/cx-pip-probe --no-deps setuptools")
    assert missing.rc != 0 and "No matching distribution found for setuptools" in missing.stderr, missing.stderr
    assert "Retrying" not in missing.stderr and "Connection" not in missing.stderr, missing.stderr


def test_services_and_reports_run_from_the_venv(host):
    for report in SCHEDULE:
        service = host.file("/etc/systemd/system/" + unit(report, "service")).content_string
        exec_start = [line for line in service.splitlines() if line.startswith("ExecStart=")]
        assert len(exec_start) == 1 and exec_start[0].startswith("ExecStart=%s/bin/ansible-playbook " % VENV), exec_start
        loaded = host.check_output("systemctl show -p ExecStart --value " + unit(report, "service"))
        assert "path=%s/bin/ansible-playbook " % VENV in loaded, loaded
        playbook = yaml.safe_load(host.file("%s/%s.yml" % (CONFIG, report)).content_string)
        assert playbook[0]["vars"]["ansible_python_interpreter"] == VENV + "/bin/python"


def test_units_verify_and_carry_no_secret(host):
    for report in SCHEDULE:
        for kind in ("service", "timer"):
            path = "/etc/systemd/system/" + unit(report, kind)
            rc, out = systemd_analyze_verify(host, path)
            assert rc == 0 and "cx-kpi-report" not in out, out
            assert not leaked(host.file(path).content_string)
    service = host.file("/etc/systemd/system/" + unit("daily", "service")).content_string
    assert "ExecStart=%s/bin/ansible-playbook " % VENV in service


def test_timers_enabled_and_active(host):
    for report in SCHEDULE:
        name = unit(report, "timer")
        assert host.run("systemctl is-enabled " + name).stdout.strip() == "enabled"
        assert host.run("systemctl is-active " + name).stdout.strip() == "active"
        assert host.run("systemctl show -p NextElapseUSecRealtime --value " + name).stdout.strip() not in ("", "0")


def test_calendar_is_the_role_schedule_in_its_time_zone(host):
    for report, schedule in SCHEDULE.items():
        expected = "%s %s" % (schedule, TZ)
        on_calendar = [
            line.split("=", 1)[1]
            for line in host.file("/etc/systemd/system/" + unit(report, "timer")).content_string.splitlines()
            if line.startswith("OnCalendar=")
        ]
        assert on_calendar == [expected]
        analyzed = host.run("systemd-analyze calendar " + shlex.quote(on_calendar[0]))
        assert analyzed.rc == 0, analyzed.stderr
        assert "Normalized form: " + expected in analyzed.stdout, analyzed.stdout
        # what the running systemd loaded for the timer
        loaded = host.run("systemctl show -p TimersCalendar --value " + unit(report, "timer")).stdout
        assert "OnCalendar=" + expected in loaded, loaded
    # 07:30 in Berlin is 06:30 UTC in winter, 05:30 UTC in summer
    daily = host.run("TZ=UTC systemd-analyze calendar " + shlex.quote(SCHEDULE["daily"] + " " + TZ)).stdout
    assert re.search(r"Next elapse: .* 0[56]:30:00 UTC", daily), daily


def test_secret_files_0600(host):
    for name, value in (("smtp-password", PLANTED["smtp_password"]), ("db-password", PLANTED["reader_password"])):
        f = host.file(CONFIG + "/" + name)
        assert f.mode == 0o600 and f.user == "cx-kpi-reports"
        assert f.content_string.strip() == value
    for report in SCHEDULE:
        assert not leaked(host.file("%s/%s.yml" % (CONFIG, report)).content_string)


def test_triggered_run_renders_and_mails_once(host):
    before = sorted(MAILDIR.glob("*.json"))
    assert before == []
    run = host.run("systemctl start " + unit("daily", "service"))
    journal = host.run("journalctl --no-pager -o cat -u " + unit("daily", "service")).stdout
    assert run.rc == 0, run.stderr + journal[-3000:]
    assert host.run("systemctl show -p Result --value " + unit("daily", "service")).stdout.strip() == "success"
    files = host.run("ls -1 " + OUTPUT + "/daily").stdout.split()
    assert [f for f in files if re.fullmatch(r"kpi-daily-.*\.pdf", f)], files
    assert [f for f in files if re.fullmatch(r"kpi-daily-.*-page-\d+\.png", f)], files
    assert [f for f in files if f.endswith(".csv")], files
    owner = host.run("stat -c %U " + shlex.quote(OUTPUT + "/daily")).stdout.strip()
    assert owner == "cx-kpi-reports"
    mails = [json.loads(p.read_text()) for p in sorted(MAILDIR.glob("*.json"))]
    assert len(mails) == 1
    assert sorted(mails[0]["rcpt_tos"]) == ["cto@example.test", "cx-team@example.test"]
    assert mails[0]["mail_from"] == "kpi@example.test"
    assert "application/pdf" in mails[0]["content"]
    # the timer firing again for the same period delivers nothing more
    again = host.run("systemctl start " + unit("daily", "service"))
    assert again.rc == 0 and len(sorted(MAILDIR.glob("*.json"))) == 1
    assert not leaked(journal)


def test_secrets_not_in_systemctl_show_or_processes(host):
    for report in SCHEDULE:
        for kind in ("service", "timer"):
            shown = host.run("systemctl show " + unit(report, kind)).stdout
            assert shown and not leaked(shown)
            assert not leaked(host.run("systemctl cat " + unit(report, kind)).stdout)
    assert not leaked(process_args(host))

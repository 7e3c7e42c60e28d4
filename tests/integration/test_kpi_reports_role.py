"""Role kpi_reports on this host, without starting systemd (PID 1 of the build machine is not systemd, see
docs/DEVELOPMENT.md, "Facts about the build/CI machine"): the role installs the report
module (this collection's code) into its own collections path, writes 0600 secret files and one playbook per
report, and the service + timer units; the units pass `systemd-analyze verify`, each timer's OnCalendar is what
`systemd-analyze calendar` expects in the configured time zone, a second run changes nothing, and running the
daily service's ExecStart with the unit's environment renders the report and mails it (real PostgreSQL, aiosmtpd).
The same role on real systemd (timers enabled and started) is NOT covered here: no molecule scenario yet.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import PLANTED
from kpi_grafana_support import READER, load_kpi_database
from smtp_sink.fixture import SmtpSink

SMTP_USER = "reports@example.test"
SMTP_PASSWORD = "Planted-SMTP-Role-Pw-90ab1c"


def unit_settings(path):
    """[(key, value)] of a unit file, in order."""
    out = []
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _sep, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def test_role_installs_schedules_and_one_run_mails(ansible, pg_server, pg_db, tmp_path):
    load_kpi_database(pg_server, pg_db, PLANTED["reader_password"], cases_per_day=20, days=10)
    ansible.add_secret(SMTP_PASSWORD)
    sink = SmtpSink(SMTP_USER, SMTP_PASSWORD)
    try:
        base = tmp_path / "host"
        units = base / "units"
        units.mkdir(parents=True)
        role_vars = {
            "kpi_reports_install_packages": False,
            "kpi_reports_start_timers": False,
            "kpi_reports_install_dir": str(base / "opt"),
            "kpi_reports_config_dir": str(base / "etc"),
            "kpi_reports_output_dir": str(base / "var"),
            "kpi_reports_unit_dir": str(units),
            "kpi_reports_ansible_playbook": str(Path(sys.executable).parent / "ansible-playbook"),
            "kpi_reports_python": sys.executable,
            "kpi_reports_create_user": False,
            "kpi_reports_user": "root",
            "kpi_reports_group": "root",
            "kpi_reports_timezone": "Europe/Berlin",
            "kpi_reports_db_host": pg_server.host,
            "kpi_reports_db_port": pg_server.port,
            "kpi_reports_db_name": pg_db,
            "kpi_reports_db_user": READER,
            "kpi_reports_db_password": PLANTED["reader_password"],
            "kpi_reports_db_ssl_mode": "disable",
            "kpi_reports_email_enabled": True,
            "kpi_reports_smtp_host": "127.0.0.1",
            "kpi_reports_smtp_port": sink.port,
            "kpi_reports_smtp_username": SMTP_USER,
            "kpi_reports_smtp_password": SMTP_PASSWORD,
            "kpi_reports_smtp_ca_path": sink.cert,
            "kpi_reports_email_sender": "kpi@example.test",
            "kpi_reports_email_recipients": ["cx-team@example.test", "cto@example.test"],
        }
        playbook = tmp_path / "role.yml"
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "vars": role_vars, "roles": ["cx_catalyst.kpi_dashboard.kpi_reports"]}]))
        first = ansible.playbook(playbook)
        assert "failed=0" in first.stdout
        second = ansible.playbook(playbook)
        recap = [line for line in second.stdout.splitlines() if line.startswith("localhost")][-1]
        assert "changed=0" in recap, recap

        etc = base / "etc"
        for name, value in (("db-password", PLANTED["reader_password"]), ("smtp-password", SMTP_PASSWORD)):
            assert oct((etc / name).stat().st_mode & 0o777) == "0o600"
            assert (etc / name).read_text().strip() == value
        assert not (etc / "slack-bot-token").exists() and not (etc / "grafana-token").exists()
        for report in ("daily", "weekly", "monthly"):
            text = (etc / ("%s.yml" % report)).read_text()
            assert PLANTED["reader_password"] not in text and SMTP_PASSWORD not in text
            assert "password_file" in text

        # units: valid, schedule as configured, secrets nowhere in them
        expected = {"daily": "*-*-* 08:00:00 Europe/Berlin", "weekly": "Mon *-*-* 08:00:00 Europe/Berlin", "monthly": "*-*-01 08:00:00 Europe/Berlin"}
        for report, calendar in expected.items():
            service, timer = units / ("cx-kpi-report-%s.service" % report), units / ("cx-kpi-report-%s.timer" % report)
            verify = subprocess.run(["systemd-analyze", "verify", str(service), str(timer)], capture_output=True, text=True, check=False)
            problems = [line for line in (verify.stdout + verify.stderr).splitlines() if str(units) in line or "cx-kpi-report" in line]
            assert verify.returncode == 0 and not problems, verify.stdout + verify.stderr
            settings = dict(unit_settings(timer))
            assert settings["OnCalendar"] == calendar and settings["Persistent"] == "true"
            assert settings["Unit"] == service.name
            normalized = subprocess.run(["systemd-analyze", "calendar", settings["OnCalendar"]], capture_output=True, text=True, check=True).stdout
            assert "Normalized form: %s" % calendar in normalized
            # 08:00 in Berlin is 07:00 UTC in winter, 06:00 UTC in summer
            assert re.search(r"Next elapse: .* 0[67]:00:00 UTC", normalized), normalized
            for text in (service.read_text(), timer.read_text()):
                assert PLANTED["reader_password"] not in text and SMTP_PASSWORD not in text

        # one triggered run: the daily service's ExecStart with the unit's Environment=
        service = dict(unit_settings(units / "cx-kpi-report-daily.service"))
        env = dict(os.environ)
        for key, value in unit_settings(units / "cx-kpi-report-daily.service"):
            if key == "Environment":
                name, _sep, val = value.partition("=")
                env[name] = val
        env.pop("ANSIBLE_CONFIG", None)
        for key in ("ANSIBLE_LOCAL_TEMP",):
            Path(env[key]).mkdir(parents=True, exist_ok=True)
        run = subprocess.run(shlex.split(service["ExecStart"]), capture_output=True, text=True, env=env, cwd=str(base), timeout=600, check=False)
        output = run.stdout + run.stderr
        assert PLANTED["reader_password"] not in output and SMTP_PASSWORD not in output
        assert run.returncode == 0, output[-3000:]
        daily = base / "var" / "daily"
        pdfs = sorted(daily.glob("kpi-daily-*.pdf"))
        assert len(pdfs) == 1 and sorted(daily.glob("kpi-daily-*-page-*.png"))
        mails = sink.messages()
        assert len(mails) == 1
        assert sorted(mails[0]["rcpt_tos"]) == ["cto@example.test", "cx-team@example.test"]
        assert any(part.get_content_type() == "application/pdf" for part in mails[0]["message"].walk())
        # the timer firing again for the same period sends nothing
        again = subprocess.run(shlex.split(service["ExecStart"]), capture_output=True, text=True, env=env, cwd=str(base), timeout=600, check=False)
        assert again.returncode == 0 and len(sink.messages()) == 1
    finally:
        sink.stop()


def test_bad_settings_fail_with_their_message_not_hidden(ansible, tmp_path):
    """The settings check reads the report secrets (no_log), but its failure names the settings: the rescue of
    the secret-carrying task pattern re-raises it instead of "the output has been hidden"."""
    pb = tmp_path / "preflight.yml"
    task = {"name": "kpi_reports preflight", "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.kpi_reports", "tasks_from": "preflight.yml"}}
    pb.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    res = ansible.playbook(pb, extra_vars={"kpi_reports_source": "bogus", "kpi_reports_grafana_token": PLANTED["grafana_token"]}, expect_rc=2)
    # -vvv prints each failure as indented JSON: the message follows the last "fatal:" (the rescue's)
    last_failure = res.output.rsplit("fatal:", 1)[-1]
    assert '"msg": "kpi_reports: check kpi_reports_source (database|grafana' in last_failure, last_failure[:2000]
    assert "rescued=1" in res.output.split("PLAY RECAP")[-1]

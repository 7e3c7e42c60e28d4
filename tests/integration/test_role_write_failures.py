"""A write Grafana refuses fails the play, with the module's message and no secret (issue 8 defect 1).

The kpi_grafana tasks that carry a secret (datasource, contact points, service account) hide their output with
``no_log``; they used to run with ``failed_when: false`` so the message survived, which also made every
failure look like success (``failed=0``). Now they follow the secret-carrying task pattern of
docs/DEVELOPMENT.md: a block whose rescue fails with the module's (already scrubbed) message.

The emulator's fault switch answers the chosen write with HTTP 500 (writes are never retried on 500).
"""

from __future__ import annotations

import pytest
import yaml

from conftest import PLANTED, REPO
from kpi_grafana_support import load_kpi_database
from test_kpi_grafana_role import ROLE_PLAY, _admin_get, _recap, _run, _vars

ROTATED = "https://hooks.slack.invalid/services/T000/B000/RotatedWebhook4b7e"
# Every role, the internal _common included, so a new role follows the same rules the day it is added.
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
# The one expression every re-raising rescue uses (docs/DEVELOPMENT.md "Secret-carrying task pattern"): the failed
# task's own message, one per failed loop item.
RERAISE = "ansible_failed_result.results | default([ansible_failed_result])"


@pytest.fixture
def kpi_db(pg_server, pg_db):
    load_kpi_database(pg_server, pg_db, reader_password=PLANTED["reader_password"])
    return pg_db


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "kpi_grafana.yml"
    path.write_text(yaml.safe_dump(ROLE_PLAY))
    return path


def _posts(emulator, prefix):
    return [r for r in emulator.request_log() if r.get("method") == "POST" and str(r.get("path", "")).startswith(prefix)]


def test_refused_contact_point_rotation_fails_the_play(grafana_emulator, ansible, pg_server, kpi_db, playbook):
    extra = _vars(grafana_emulator, pg_server, kpi_db, kpi_grafana_verify_enabled=False)
    _run(ansible, playbook, extra)
    ansible.add_secret(ROTATED)
    grafana_emulator.set_fault("/api/v1/provisioning/contact-points/", status=500, method="PUT", count=5)
    res = _run(ansible, playbook, dict(extra, kpi_grafana_alert_slack_webhook_url=ROTATED), expect_rc=2)
    assert _recap(res.output)["failed"] == 1
    assert "Grafana: failed to update contact point" in res.output and "HTTP 500" in res.output, res.output[-4000:]
    # the old webhook is still the one Grafana holds: the failure is not hidden behind a success
    assert "Alerting | Fail with the module's message" in res.output


def test_refused_datasource_write_stops_the_role(grafana_emulator, ansible, pg_server, kpi_db, playbook):
    extra = _vars(grafana_emulator, pg_server, kpi_db, kpi_grafana_verify_enabled=False, kpi_grafana_alerting_enabled=False)
    grafana_emulator.set_fault("/api/datasources", status=500, method="POST", count=5)
    grafana_emulator.reset_request_log()
    res = _run(ansible, playbook, extra, expect_rc=2)
    assert _recap(res.output)["failed"] == 1
    assert "Datasource support-postgres: Grafana: failed to create datasource" in res.output, res.output[-4000:]
    assert "HTTP 500" in res.output
    # the role did not carry on deploying a dashboard against a datasource that is not there
    assert _posts(grafana_emulator, "/api/dashboards") == []
    assert _admin_get(grafana_emulator, "/api/datasources/uid/support-postgres")[0] == 404


def test_refused_service_account_write_fails_the_play(grafana_emulator, ansible, pg_server, kpi_db, playbook, tmp_path):
    extra = _vars(
        grafana_emulator,
        pg_server,
        kpi_db,
        kpi_grafana_verify_enabled=False,
        kpi_grafana_alerting_enabled=False,
        kpi_grafana_service_account_enabled=True,
        kpi_grafana_service_account_token_file=str(tmp_path / "sa-token"),
    )
    grafana_emulator.set_fault("/api/serviceaccounts", status=500, method="POST", count=5)
    res = _run(ansible, playbook, extra, expect_rc=2)
    assert _recap(res.output)["failed"] == 1
    assert "Service account" in res.output and "HTTP 500" in res.output, res.output[-4000:]
    assert not (tmp_path / "sa-token").exists()


@pytest.mark.parametrize("role", ROLES)
def test_no_write_task_swallows_its_failure(role):
    """failed_when: false / ignore_errors appear only on read-only probes followed by an assert."""
    allowed_modules = {
        "ansible.builtin.command",
        "ansible.builtin.wait_for",
        "ansible.builtin.uri",
        "community.general.listen_ports_facts",
        "ansible.builtin.slurp",
    }
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text()) or []):
            if task.get("ignore_errors"):
                raise AssertionError("%s: task %r uses ignore_errors" % (path.name, task.get("name")))
            if task.get("failed_when") is False:
                module = next((k for k in task if "." in k), None)
                assert module in allowed_modules, "%s: write task %r has failed_when: false" % (path.name, task.get("name"))
                assert task.get("check_mode") is False or module == "ansible.builtin.slurp", path.name


def _tasks(items):
    for item in items:
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key) or [])


def _covered(items, rescue=None):
    """(task, rescue) for every task, rescue being the rescue list of the nearest enclosing block that has one."""
    for item in items:
        yield item, rescue
        for key in ("block", "rescue", "always"):
            inner = (item.get("rescue") or rescue) if key == "block" else rescue
            yield from _covered(item.get(key) or [], inner)


def _reraises(rescue) -> bool:
    return any(RERAISE in " ".join(str((t.get("ansible.builtin.fail") or {}).get("msg", "")).split()) for t in rescue or [])


def test_roles_found():
    assert {"_common", "kpi_grafana", "kpi_database", "kpi_n8n", "kpi_reports", "grafana_package", "grafana_docker"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_every_no_log_task_has_a_rescue_that_reraises(role):
    """The secret-carrying task pattern, one way in every role: a no_log task sits in a block with a rescue (its
    own, or the role's block that imports its file) that fails with the failed task's own message through the
    one expression of docs/DEVELOPMENT.md, so the message reaches the user instead of "output has been hidden"."""
    tasks_dir = REPO / "roles" / role / "tasks"
    imported_under_rescue = {}
    main = tasks_dir / "main.yml"
    for task, rescue in _covered((yaml.safe_load(main.read_text()) if main.is_file() else None) or []):
        target = task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks")
        if rescue and isinstance(target, str):
            imported_under_rescue[target] = rescue
    for path in sorted(tasks_dir.glob("*.yml")):
        for task, rescue in _covered(yaml.safe_load(path.read_text()) or []):
            if task.get("no_log") and "block" not in task:
                guard = rescue or imported_under_rescue.get(path.name)
                assert guard, "%s: no_log task %r has no rescue re-raising its message" % (path.name, task.get("name"))
                assert _reraises(guard), "%s: the rescue of no_log task %r does not fail with %r" % (path.name, task.get("name"), RERAISE)

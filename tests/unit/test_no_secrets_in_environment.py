"""Guard: no task passes a secret through ``environment:``.

Ansible prints a task's environment in the ``-vvv`` EXEC line even when the task has ``no_log: true``
(verified in session 1), so secrets must travel in 0600 files or no_log module options instead. This test
reads every task and play in the roles, playbooks, site.yml and molecule scenarios and fails on an
``environment:`` value that mentions a secret-looking variable.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"(password|passwd|token|secret|webhook|api_?key|private_key)", re.I)
SOURCES = sorted(
    [REPO / "site.yml"]
    + list((REPO / "playbooks").glob("*.yml"))
    + list((REPO / "roles").glob("*/tasks/*.yml"))
    + list((REPO / "roles").glob("*/handlers/*.yml"))
    + list((REPO / "molecule").glob("*/*.yml"))
)


def environments(node, where=""):
    """Yield (location, environment dict) for every task/play/block below ``node``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from environments(item, "%s[%d]" % (where, i))
    elif isinstance(node, dict):
        if isinstance(node.get("environment"), (dict, str)):
            yield "%s %s" % (where, node.get("name", "")), node["environment"]
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if key in node:
                yield from environments(node[key], "%s.%s" % (where, key))


def offending(env):
    text = yaml.safe_dump(env) if not isinstance(env, str) else env
    return [m.group(0) for m in re.finditer(r"\{\{[^}]*\}\}", text) if SECRET_NAME.search(m.group(0))] + (
        [k for k in env if SECRET_NAME.search(str(k)) and k != "PGPASSFILE"] if isinstance(env, dict) else []
    )


def test_sources_found():
    assert len(SOURCES) > 20, SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_secret_in_environment(path):
    data = yaml.safe_load(path.read_text())
    bad = [(where, found) for where, env in environments(data) if (found := offending(env))]
    assert not bad, "secrets passed through environment: (printed at -vvv): %s" % bad


def test_guard_catches_a_secret():
    play = [{"name": "p", "tasks": [{"block": [{"name": "t", "environment": {"PGPASSWORD": "{{ db_password }}"}}]}]}]
    found = [offending(env) for _where, env in environments(play)]
    assert found == [["{{ db_password }}", "PGPASSWORD"]]
    ok = [{"name": "t", "environment": {"PGPASSFILE": "{{ __pgpass.path }}", "PGUSER": "{{ user }}"}}]
    assert [offending(env) for _where, env in environments(ok)] == [[]]

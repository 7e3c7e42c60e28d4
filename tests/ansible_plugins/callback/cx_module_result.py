# Test infrastructure (not shipped): the `ansible` fixture's one-task playbooks (tests/conftest.py,
# AnsibleRunner.module) name their task "module under test"; this callback writes that task's result, as ansible
# hands it to every callback (the module's own no_log masking applied), to <playbook>.result.json. It replaces a
# second task that copied the registered result to a file, which cost each module test about one second (the
# copy action runs two modules).
from __future__ import annotations

import json
import os

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: cx_module_result
type: aggregate
short_description: write the result of the task named "module under test" next to the playbook
description: Test infrastructure of cx_catalyst.kpi_dashboard; enabled only by the test suite's ansible fixture.
"""

TASK_NAME = "module under test"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cx_module_result"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._target = None

    def v2_playbook_on_start(self, playbook):
        self._target = os.path.abspath(playbook._file_name) + ".result.json"

    def _write(self, result, **status):
        if self._target is None or result._task.get_name() != TASK_NAME:
            return
        data = {key: value for key, value in result._result.items() if not key.startswith("_ansible")}
        data.update(status)  # as in the registered variable: "failed" (and "skipped") are set by the executor
        with open(self._target, "w", encoding="utf-8") as handle:
            json.dump(data, handle, cls=AnsibleJSONEncoder)

    def v2_runner_on_ok(self, result):
        self._write(result, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._write(result, skipped=True, changed=False)

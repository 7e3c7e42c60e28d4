"""Run a kpi_* module through the real AnsibleModule against a fake psycopg2 connection.

``run()`` calls the module's ``main()`` with the arguments patched in as Ansible hands them over (so every
option goes through the real argument checking: types, choices, required, no_log masking) and with
``psycopg2.connect`` answering a :class:`FakeConnection`, or raising an error. The fake connection answers
SELECTs from canned rows (matched by a substring of the SQL) and records every statement executed, so a test
can assert exactly which SQL reached the "server" (e.g. none but SELECTs in check mode).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(__file__))

from http_fake import patch_module_args  # noqa: E402  (works on ansible-core 2.17 too; puts tests/ on sys.path)
from planted import PLANTED  # noqa: E402  (tests/planted.py: the planted secrets, defined once)

from ansible.module_utils.common.parameters import PASS_VARS  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_postgres  # noqa: E402

SECRET = PLANTED["db_password"]
CONNECTION = dict(login_host="127.0.0.1", login_port=5432, login_db="kpi", login_user="postgres", login_password=SECRET, ssl_mode="disable")


class Args:
    """The arguments of one module run: ``base`` (the connection options above) plus ``params`` (None values
    left out, as if the option were not given), and the check/diff mode flags."""

    def __init__(self, params, check_mode=False, diff=False, base=None):
        self.params = dict(CONNECTION if base is None else base)
        self.params.update(params)
        self.check_mode = check_mode
        self.diff = diff

    def module_args(self):
        args = dict((k, v) for k, v in self.params.items() if v is not None)
        args["_ansible_check_mode"] = self.check_mode
        args["_ansible_diff"] = self.diff
        # ansible-core 2.21 and later echo the ``invocation`` only when the controller asks (INJECT_INVOCATION,
        # off by default); ask, as earlier versions always did, so the no_log masking in it is checked on every core.
        if "inject_invocation" in PASS_VARS:
            args["_ansible_inject_invocation"] = True
        return args


def run(module_mod, args, conn, monkeypatch):
    """Run ``module_mod.main()`` with ``args`` (an :class:`Args` or a dict); ``psycopg2.connect`` returns
    ``conn``, or raises it when it is an exception (``None``: any connection attempt fails the test).

    Returns the module's JSON result (``failed=True`` on failure), after checking that the password is
    nowhere in it. ``conn.connect_kwargs`` holds what the module handed to ``psycopg2.connect``.
    """
    if isinstance(args, dict):
        args = Args(args)

    def connect(**kwargs):
        if conn is None:
            raise AssertionError("the module connected, but must fail before connecting")
        if isinstance(conn, BaseException):
            raise conn
        conn.connect_kwargs = kwargs
        return conn

    monkeypatch.setattr(_kpi_postgres.psycopg2, "connect", connect)
    out = io.StringIO()
    with patch_module_args(args.module_args()), contextlib.redirect_stdout(out):
        try:
            module_mod.main()
        except SystemExit:
            pass
    text = out.getvalue()
    assert SECRET not in text, "the database password leaked into the module output"
    return json.loads(text)


def _literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple)):
        return "ARRAY[%s]" % ", ".join(_literal(v) for v in value)
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return str(value)
    return "'%s'" % str(value).replace("'", "''")


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self._rows = []
        self.rowcount = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def mogrify(self, sql, params=None):
        if params is None:
            return sql.encode()
        return (sql % tuple(_literal(p) for p in params)).encode()

    def execute(self, sql, params=None):
        text = self.mogrify(sql, params).decode()
        self.conn.executed.append(text)
        if self.conn.fail_on and self.conn.fail_on in text:
            raise self.conn.error
        for needle, rows in self.conn.answers:
            if needle in text:
                self._rows = [dict(r) for r in rows]
                self.description = [("col",)]
                return
        self._rows, self.description, self.rowcount = [], None, 1

    def fetchall(self):
        return self._rows


class FakeConnection:
    def __init__(self, answers=(), fail_on=None, error=None):
        self.answers = list(answers)  # [(substring of SQL, rows)], first match wins
        self.executed = []
        self.fail_on, self.error = fail_on, error
        self.committed = self.rolled_back = self.closed = 0
        self.autocommit = False
        self.connect_kwargs = None

    def cursor(self, cursor_factory=None):
        return FakeCursor(self)

    def commit(self):
        self.committed += 1

    def rollback(self):
        self.rolled_back += 1

    def close(self):
        self.closed += 1

    def writes(self):
        """Executed statements that are not plain reads."""
        return [s for s in self.executed if not s.lstrip().upper().startswith("SELECT")]


def pg_error(message, pgcode=None):
    """A psycopg2 error as the server would raise it (``pgcode`` is only ever set by the server)."""

    class ServerError(psycopg2.OperationalError):
        pass

    ServerError.pgcode = pgcode
    return ServerError(message)


def assert_password_masked(result):
    """The invocation Ansible echoes shows the no_log password masked, never its value."""
    assert result["invocation"]["module_args"]["login_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

"""A fake AnsibleModule and psycopg2 connection for unit tests of the kpi_* PostgreSQL modules.

The fake connection answers SELECTs from canned rows (matched by a substring of the SQL) and records every
statement executed, so a test can assert exactly which SQL reached the "server" (e.g. none but SELECTs in
check mode).
"""

from __future__ import annotations

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_postgres


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


class ModuleFail(ModuleExit):
    pass


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        base = dict(
            login_host="127.0.0.1",
            login_port=5432,
            login_db="kpi",
            login_user="postgres",
            login_password="Unit-Secret-Pw",
            ssl_mode="disable",
            ca_cert=None,
            connect_timeout=10,
        )
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def exit_json(self, **kw):
        raise ModuleExit(kw)

    def fail_json(self, **kw):
        kw["failed"] = True
        raise ModuleFail(kw)

    def warn(self, msg):
        self.warnings.append(msg)


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
        self.committed = self.rolled_back = 0
        self.autocommit = False

    def cursor(self, cursor_factory=None):
        return FakeCursor(self)

    def commit(self):
        self.committed += 1

    def rollback(self):
        self.rolled_back += 1

    def close(self):
        pass

    def writes(self):
        """Executed statements that are not plain reads."""
        return [s for s in self.executed if not s.lstrip().upper().startswith("SELECT")]


def run(module_mod, module, conn, monkeypatch):
    """Run ``module_mod.run_module`` against ``conn``; returns the result dict (failed=True on failure)."""
    monkeypatch.setattr(module_mod, "connect", lambda m: _kpi_postgres.KpiDb(m, conn))
    try:
        module_mod.run_module(module)
    except ModuleExit as exc:
        return exc.result
    raise AssertionError("module returned without exit_json/fail_json")

"""Unit tests of plugins/module_utils/_kpi_postgres.py: argument spec, redaction, numbers, connect errors."""

from __future__ import annotations

import datetime
from decimal import Decimal

import psycopg2
import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_postgres as kp

SECRET = "Unit-Secret-Pw"


class Module:
    def __init__(self, **params):
        self.params = dict(
            login_host="127.0.0.1",
            login_port=5432,
            login_db="kpi",
            login_user="postgres",
            login_password=SECRET,
            ssl_mode="prefer",
            ca_cert=None,
            connect_timeout=10,
        )
        self.params.update(params)
        self.check_mode = False

    def fail_json(self, **kw):
        raise RuntimeError(kw["msg"])


def test_argument_spec_shape():
    spec = kp.kpi_postgres_argument_spec()
    assert set(spec) == {"login_host", "login_port", "login_db", "login_user", "login_password", "ssl_mode", "ca_cert", "connect_timeout"}
    assert spec["login_password"]["no_log"] is True
    assert spec["connect_timeout"]["default"] == 10
    assert spec["login_db"]["required"] is True
    assert spec["ssl_mode"]["choices"] == ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    # every call returns a fresh dict, so one module's update() cannot leak into another's
    spec["extra"] = 1
    assert "extra" not in kp.kpi_postgres_argument_spec()


def test_connection_kwargs_never_build_a_dsn():
    kwargs = kp.connection_kwargs(Module(ca_cert="/etc/ca.pem").params)
    assert kwargs["password"] == SECRET and kwargs["sslrootcert"] == "/etc/ca.pem"
    assert kwargs["connect_timeout"] == 10 and kwargs["dbname"] == "kpi"
    assert "password" not in kp.connection_kwargs(Module(login_password=None).params)
    assert "sslrootcert" not in kp.connection_kwargs(Module().params)


@pytest.mark.parametrize(
    "text",
    [
        "FATAL: bad thing for %s" % SECRET,
        "invalid dsn: host=x password=%s dbname=y" % SECRET,
        "invalid dsn: host=x password='%s' dbname=y" % SECRET,
    ],
)
def test_redact_removes_secret(text):
    out = kp.redact(text, [SECRET])
    assert SECRET not in out and kp.REDACTED in out


def test_redact_removes_any_dsn_password_even_unknown():
    assert kp.redact("password=other-value host=x", []) == "password=******** host=x"
    assert kp.redact("password authentication failed", [SECRET]) == "password authentication failed"


def test_connect_error_is_clear_and_redacted(monkeypatch):
    def boom(**kwargs):
        assert kwargs["password"] == SECRET
        raise psycopg2.OperationalError(
            'connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed for user "postgres" (%s)' % SECRET
        )

    monkeypatch.setattr(kp.psycopg2, "connect", boom)
    with pytest.raises(kp.KpiConnectionError) as err:
        kp.open_connection(Module().params)
    msg = str(err.value)
    assert msg.startswith("could not connect to PostgreSQL as postgres@127.0.0.1:5432/kpi: ")
    assert "password authentication failed" in msg and SECRET not in msg


def test_connect_timeout_message(monkeypatch):
    def slow(**kwargs):
        raise psycopg2.OperationalError('connection to server at "127.0.0.1", port 1 failed: timeout expired')

    monkeypatch.setattr(kp.psycopg2, "connect", slow)
    with pytest.raises(kp.KpiConnectionError, match=r"timeout expired \(no answer within connect_timeout=3s\)"):
        kp.open_connection(Module(connect_timeout=3).params)


@pytest.mark.parametrize(
    "params, expected",
    [
        (dict(login_port=0), "login_port must be between 1 and 65535"),
        (dict(connect_timeout=0), "connect_timeout must be at least 1 second"),
    ],
)
def test_connect_rejects_bad_params_before_connecting(monkeypatch, params, expected):
    monkeypatch.setattr(kp.psycopg2, "connect", lambda **kw: pytest.fail("must not connect"))
    with pytest.raises(kp.KpiValidationError, match=expected):
        kp.open_connection(Module(**params).params)


class FakeConn:
    def __init__(self):
        self.rolled_back = self.closed = 0

    def rollback(self):
        self.rolled_back += 1

    def close(self):
        self.closed += 1


class Exit(Exception):
    pass


class RunModule(Module):
    """Records what run_module hands to exit_json / fail_json."""

    def exit_json(self, **kw):
        self.result = dict(kw)
        raise Exit()

    def fail_json(self, **kw):
        self.result = dict(kw, failed=True)
        raise Exit()


def run_module(run, db=None, errors=()):
    module = RunModule()
    with pytest.raises(Exit):
        kp.run_module(module, run, db, errors)
    return module.result


def test_db_connects_on_first_use_only(monkeypatch):
    conns = []
    monkeypatch.setattr(kp.psycopg2, "connect", lambda **kw: conns.append(FakeConn()) or conns[-1])
    db = kp.KpiDb(Module())
    assert not db.connected and conns == []
    db.abort()
    db.close()  # nothing to roll back or close yet: still no connection
    assert conns == []
    assert db.conn is conns[0] and db.conn is conns[0] and db.connected


def test_run_module_exits_with_the_result_and_closes():
    conn = FakeConn()
    result = run_module(lambda module, db: dict(changed=False, x=1), kp.KpiDb(Module(), conn))
    assert result == dict(changed=False, x=1)
    assert conn.closed == 1 and conn.rolled_back == 0


@pytest.mark.parametrize(
    "error, expected",
    [
        (kp.KpiValidationError("token_limit must be greater than 0 (%s)" % SECRET), "token_limit must be greater than 0 (********)"),
        (kp.KpiConnectionError("could not connect: password=%s" % SECRET), "could not connect: password=********"),
        (kp.KpiSqlError("could not save: password=%s" % "unknown-value"), "could not save: password=********"),
    ],
)
def test_typed_error_fails_once_redacted_after_rollback(error, expected):
    conn = FakeConn()

    def run(module, db):
        db.queries.append("UPDATE t SET x = 1")
        raise error

    result = run_module(run, kp.KpiDb(Module(), conn))
    assert result == dict(failed=True, msg=expected, queries=["UPDATE t SET x = 1"])
    assert conn.rolled_back == 1 and conn.closed == 1


def test_error_before_connecting_has_no_queries_and_details_pass_through():
    def run(module, db):
        raise kp.KpiSqlError("boom", file="a.sql", statement=2, line=7)

    assert run_module(run) == dict(failed=True, msg="boom", file="a.sql", statement=2, line=7)


def test_step_names_the_action_and_lets_other_errors_through():
    class LockNotAvailable(psycopg2.OperationalError):
        pgcode = "55P03"  # set by the server on a real error

    db = kp.KpiDb(Module(), FakeConn())
    error = LockNotAvailable("canceling statement due to lock timeout")
    with pytest.raises(kp.KpiSqlError, match=r"^could not read x: canceling statement due to lock timeout$"):
        with db.step("read x"):
            raise psycopg2.OperationalError("canceling statement due to lock timeout")
    with pytest.raises(kp.KpiSqlError, match=r"^could not take the lock: canceling statement due to lock timeout \(SQLSTATE 55P03\)$"):
        with db.step("read x", {"55P03": "take the lock"}):
            raise error
    with pytest.raises(KeyError):
        with db.step("read x"):
            raise KeyError("not a database error")


def test_checking_input_prefixes_value_errors_only():
    with pytest.raises(kp.KpiValidationError, match=r"^kpi_x B: cost_limit_usd must be a number, got 'abc'$"):
        with kp.checking_input("kpi_x B"):
            kp.to_decimal("abc", "cost_limit_usd")
    with pytest.raises(kp.KpiConnectionError, match=r"^unchanged$"):
        with kp.checking_input("kpi_x B"):
            raise kp.KpiConnectionError("unchanged")


def test_other_errors_map_through_the_errors_argument():
    class ReportError(Exception):
        pass

    def run(module, db):
        raise ReportError("renderer failed for %s" % SECRET)

    assert run_module(run, errors=(ReportError,)) == dict(failed=True, msg="renderer failed for ********")
    with pytest.raises(ReportError):
        kp.run_module(RunModule(), run)


def test_with_diff_adds_changed_and_diff_in_diff_mode():
    module = Module()
    module._diff = False
    assert kp.with_diff(module, {"a": 1}, {"a": 2}, x=1) == dict(changed=True, x=1)
    module._diff = True
    assert kp.with_diff(module, {"a": 1}, {"a": 1}, changed=True) == dict(changed=True, diff=dict(before={"a": 1}, after={"a": 1}))


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [
        (25, {}, Decimal("25")),
        ("25.00", {}, Decimal("25.00")),
        (4500.1, dict(quantum=kp.MONEY_QUANTUM), Decimal("4500.1000")),
        ("0.00005", dict(quantum=kp.MONEY_QUANTUM), Decimal("0.0001")),
        (0, dict(minimum=0), Decimal("0")),
    ],
)
def test_to_decimal_ok(value, kwargs, expected):
    result = kp.to_decimal(value, "x", **kwargs)
    assert result == expected and str(result) == str(expected)


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [
        ("abc", {}, "price must be a number, got 'abc'"),
        (True, {}, "price must be a number, got True"),
        ("NaN", {}, "price must be a finite number"),
        ("Infinity", {}, "price must be a finite number"),
        (-0.5, dict(minimum=0), "price must be >= 0, got -0.5"),
        (None, {}, "price must be a number"),
    ],
)
def test_to_decimal_errors_name_the_option(value, kwargs, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        kp.to_decimal(value, "price", **kwargs)


def test_numbers_equal_and_differing_fields():
    assert kp.numbers_equal(25, Decimal("25.00")) and kp.numbers_equal("25.0", 25)
    assert not kp.numbers_equal(25, Decimal("25.01"))
    assert kp.numbers_equal(None, None) and not kp.numbers_equal(None, 0)
    current = dict(a=Decimal("4500.0000"), b="x", c=datetime.date(2026, 1, 1), d=None)
    desired = dict(a=Decimal("4500"), b="x", c=datetime.date(2026, 2, 1), d=5)
    assert kp.differing_fields(current, desired) == ["c", "d"]
    assert kp.differing_fields(None, dict(a=1)) == ["a"]


def test_jsonable():
    assert kp.jsonable({"a": Decimal("25.00"), "b": Decimal("2.5"), "c": datetime.date(2026, 1, 2), "d": [Decimal("1")]}) == {
        "a": 25,
        "b": 2.5,
        "c": "2026-01-02",
        "d": [1],
    }


def test_parse_date():
    assert kp.parse_date("2026-02-01", "d") == datetime.date(2026, 2, 1)
    assert kp.parse_date(None, "d") is None
    with pytest.raises(ValueError, match="period_start must be a date in the form YYYY-MM-DD, got '2026-13-01'"):
        kp.parse_date("2026-13-01", "period_start")

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
    with pytest.raises(RuntimeError) as err:
        kp.connect(Module())
    msg = str(err.value)
    assert msg.startswith("could not connect to PostgreSQL as postgres@127.0.0.1:5432/kpi: ")
    assert "password authentication failed" in msg and SECRET not in msg


def test_connect_timeout_message(monkeypatch):
    def slow(**kwargs):
        raise psycopg2.OperationalError('connection to server at "127.0.0.1", port 1 failed: timeout expired')

    monkeypatch.setattr(kp.psycopg2, "connect", slow)
    with pytest.raises(RuntimeError, match=r"timeout expired \(no answer within connect_timeout=3s\)"):
        kp.connect(Module(connect_timeout=3))


@pytest.mark.parametrize(
    "params, expected",
    [
        (dict(login_port=0), "login_port must be between 1 and 65535"),
        (dict(connect_timeout=0), "connect_timeout must be at least 1 second"),
    ],
)
def test_connect_rejects_bad_params_before_connecting(monkeypatch, params, expected):
    monkeypatch.setattr(kp.psycopg2, "connect", lambda **kw: pytest.fail("must not connect"))
    with pytest.raises(RuntimeError, match=expected):
        kp.connect(Module(**params))


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

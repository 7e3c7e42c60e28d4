# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared PostgreSQL plumbing for the kpi_* modules.

Private to this collection (the leading underscore): the argument spec every DB module merges, the one
place that opens a connection, a small transaction wrapper that records the SQL it runs (or would run in
check mode) as ``queries``, helpers for numbers, and the typed errors with the one place that turns them
into ``fail_json`` (:func:`run_module`).

Every kpi_* module has the shape of the grafana_* ones: ``main()`` builds the module from its argument spec
and calls ``run_module(module, run)``; ``run(module, db)`` returns the result dict or raises a
:class:`KpiError` (``KpiValidationError`` for wrong options, ``KpiConnectionError``, ``KpiSqlError`` for a
failed statement, raised by ``with db.step("<action>"):``), which ``run_module`` reports.

Secrets: the login password is only ever handed to libpq as a keyword argument; every text that leaves
this file for the user (error messages, recorded queries) goes through ``redact()`` first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import re
import traceback
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native, to_text

PSYCOPG2_IMPORT_ERROR = None
try:
    import psycopg2
    import psycopg2.extras
    import psycopg2.sql
except ImportError:  # pragma: no cover - exercised only on hosts without psycopg2
    psycopg2 = None
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
REDACTED = "********"
# Money columns are numeric(14,4): compare desired and stored values at that scale.
MONEY_QUANTUM = Decimal("0.0001")


def kpi_postgres_argument_spec():
    """The connection options every kpi_* module accepts (documented in the kpi_postgres doc fragment)."""
    return dict(
        login_host=dict(type="str", default="localhost"),
        login_port=dict(type="int", default=5432),
        login_db=dict(type="str", required=True, aliases=["db"]),
        login_user=dict(type="str", default="postgres"),
        login_password=dict(type="str", no_log=True),
        ssl_mode=dict(type="str", default="prefer", choices=SSL_MODES),
        ca_cert=dict(type="path", aliases=["ssl_rootcert"]),
        connect_timeout=dict(type="int", default=10),
    )


def kpi_module(options, **kwargs):
    """AnsibleModule with the shared connection options (doc fragment kpi_postgres) plus the module's ``options``."""
    argument_spec = kpi_postgres_argument_spec()
    argument_spec.update(options)
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)


class KpiError(Exception):
    """A failed kpi_* module run. ``str()`` is the message for the user (``run_module`` redacts the secrets
    before reporting it); ``details`` are extra keys of the failed result (e.g. the file and line of a
    failed statement)."""

    def __init__(self, msg, **details):
        super(KpiError, self).__init__(msg)
        self.msg = msg
        self.details = details


class KpiValidationError(KpiError):
    """An option (or an input file) is wrong; found before anything is written."""


class KpiConnectionError(KpiError):
    """PostgreSQL could not be reached (or psycopg2 is missing)."""


class KpiSqlError(KpiError):
    """A statement failed; the transaction is rolled back, nothing the run did is kept."""


@contextlib.contextmanager
def checking_input(prefix):
    """Turn a ValueError of the block (the option checks of this file and the modules) into a
    KpiValidationError ``'<prefix>: <message>'``; typed errors pass unchanged."""
    try:
        yield
    except KpiError:
        raise
    except ValueError as exc:
        raise KpiValidationError("%s: %s" % (prefix, to_native(exc)))


def with_diff(module, before, after, changed=None, **result):
    """``result`` with ``changed`` (default: before != after) and, in diff mode, the diff."""
    result["changed"] = before != after if changed is None else changed
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    return result


def run_module(module, run, db=None, errors=()):
    """Run ``run(module, db)`` and exit with the result dict it returns: the one place a kpi_* module fails.

    ``db`` is a :class:`KpiDb` for the module (it connects on first use, so option checks come first) unless
    the module brings its own object with ``abort()``, ``close()`` and ``failure(exc)`` (kpi_report: the
    secrets it read). A :class:`KpiError`, or an exception of a class in ``errors``, rolls back, closes and
    fails with ``db.failure(exc)``: the message with every secret redacted, the error's details and, once a
    connection was open, the queries recorded so far.
    """
    db = KpiDb(module) if db is None else db
    try:
        result = run(module, db)
    except (KpiError,) + tuple(errors) as exc:
        db.abort()
        db.close()
        module.fail_json(**db.failure(exc))
    db.close()
    module.exit_json(**result)


def redact(text, secrets):
    """Return ``text`` with every secret value and any ``password=...`` DSN fragment replaced."""
    text = to_text(text, errors="surrogate_or_replace")
    for secret in secrets:
        if secret:
            text = text.replace(to_text(secret), REDACTED)
    return re.sub(r"(password\s*=\s*)(\'[^\']*\'|\S+)", r"\1" + REDACTED, text, flags=re.IGNORECASE)


def connection_kwargs(params):
    """libpq keyword arguments built from module params (never a DSN string, so nothing to leak)."""
    kwargs = dict(
        host=params["login_host"],
        port=params["login_port"],
        dbname=params["login_db"],
        user=params["login_user"],
        sslmode=params["ssl_mode"],
        connect_timeout=params["connect_timeout"],
        application_name="cx_catalyst.kpi_dashboard",
    )
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    return kwargs


def pg_error_text(exc):
    """First meaningful line(s) of a psycopg2 error, with SQLSTATE when the server sent one."""
    text = to_native(exc).strip()
    code = getattr(exc, "pgcode", None)
    if code:
        text = "%s (SQLSTATE %s)" % (text, code)
    return text


def check_connection_params(params):
    """Raise KpiValidationError for connection options that are wrong before we even try."""
    if not 1 <= params["login_port"] <= 65535:
        raise KpiValidationError("login_port must be between 1 and 65535, got %s" % params["login_port"])
    if params["connect_timeout"] < 1:
        raise KpiValidationError("connect_timeout must be at least 1 second, got %s" % params["connect_timeout"])


def open_connection(params):
    """A psycopg2 connection for the module ``params`` (autocommit off, READ COMMITTED); typed errors with
    a clear, redacted message otherwise."""
    if psycopg2 is None:
        raise KpiConnectionError(missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    check_connection_params(params)
    where = "%s@%s:%s/%s" % (params["login_user"], params["login_host"], params["login_port"], params["login_db"])
    try:
        conn = psycopg2.connect(**connection_kwargs(params))
    except psycopg2.Error as exc:
        detail = pg_error_text(exc)
        if "timeout expired" in detail:
            detail += " (no answer within connect_timeout=%ss)" % params["connect_timeout"]
        raise KpiConnectionError(redact("could not connect to PostgreSQL as %s: %s" % (where, detail), [params.get("login_password")]))
    conn.autocommit = False
    return conn


class KpiDb:
    """One connection, one transaction.

    The connection opens on first use of ``conn`` (a run that fails its option checks never connects).
    ``write()`` records the statement (parameters interpolated, secrets redacted) in ``queries`` and runs it
    unless in check mode; ``read()`` always runs. ``finish()`` commits, or rolls back in check mode, so a
    module has exactly one place where its work becomes visible. ``with db.step("<action>"):`` turns a
    psycopg2 error of the block into a KpiSqlError ``could not <action>: <cause>``.
    """

    def __init__(self, module, conn=None):
        self.module = module
        self._conn = conn
        self.check_mode = module.check_mode
        self.queries = []
        self.secrets = [module.params.get("login_password")]

    @property
    def conn(self):
        if self._conn is None:
            self._conn = open_connection(self.module.params)
        return self._conn

    @property
    def connected(self):
        return self._conn is not None

    @contextlib.contextmanager
    def step(self, action, sqlstate_actions=None):
        """Run the block as '<action>': a psycopg2 error becomes KpiSqlError('could not <action>: <cause>').
        ``sqlstate_actions`` names another action for some SQLSTATEs (e.g. a lock timeout)."""
        try:
            yield
        except Exception as exc:  # psycopg2 may be missing: then the block raised KpiConnectionError
            if psycopg2 is None or not isinstance(exc, psycopg2.Error):
                raise
            action = (sqlstate_actions or {}).get(getattr(exc, "pgcode", None), action)
            raise KpiSqlError("could not %s: %s" % (action, pg_error_text(exc)))

    def _mogrify(self, sql, params):
        with self.conn.cursor() as cur:
            return to_text(cur.mogrify(sql, params) if params is not None else sql)

    def record(self, sql, params=None):
        self.queries.append(redact(self._mogrify(sql, params), self.secrets))

    def read(self, sql, params=None):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(row) for row in cur.fetchall()] if cur.description else []

    def read_one(self, sql, params=None):
        rows = self.read(sql, params)
        return rows[0] if rows else None

    def lock(self, name):
        """Serialise concurrent runs on one object (transaction-level advisory lock on a hash of ``name``):
        a second run waits, then reads what the first committed, instead of both inserting the same row.
        Not taken in check mode, which writes nothing."""
        if not self.check_mode:
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("cx_catalyst.kpi:" + name,))

    def table_missing_in_check_mode(self, table):
        """True when, in check mode only, ``table`` does not exist yet (a first run's kpi_schema would create
        it): the module then plans against an empty table instead of failing. Outside check mode a missing
        table stays an error."""
        if not self.check_mode:
            return False
        if self.read_one("SELECT to_regclass(%s) IS NOT NULL AS present", (table,))["present"]:
            return False
        self.module.warn("table %s does not exist yet; check mode assumes it is empty (kpi_schema creates it)" % table)
        return True

    def write(self, sql, params=None):
        self.record(sql, params)
        if not self.check_mode:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.rowcount
        return None

    def finish(self):
        if self.check_mode:
            self.conn.rollback()
        else:
            self.conn.commit()

    def abort(self):
        if not self.connected:
            return
        try:
            self._conn.rollback()
        except Exception:  # connection may already be gone; nothing was committed either way
            pass

    def close(self):
        if not self.connected:
            return
        try:
            self._conn.close()
        except Exception:
            pass

    def failure(self, exc):
        """fail_json arguments for ``exc``: its message (secrets redacted), its details, and the queries
        recorded so far when a connection was open."""
        result = dict(getattr(exc, "details", None) or {})
        result["msg"] = redact(to_native(exc), self.secrets)
        if self.connected:
            result["queries"] = self.queries
        return result


def to_decimal(value, name, minimum=None, quantum=None, digits=None):
    """Parse ``value`` as a Decimal for option ``name``; raise ValueError naming the option when wrong.

    ``digits`` is the column's ``(precision, scale)`` (``numeric(p,s)``): the value must then be below
    ``10**(p-s)`` in magnitude, and the message names the option and the allowed range. Any number too
    long for Python's decimal context (more than 28 significant digits after rounding) is refused the
    same way, never with a bare ``decimal.InvalidOperation``.
    """
    if isinstance(value, bool):
        raise ValueError("%s must be a number, got %r" % (name, value))
    try:
        number = Decimal(to_text(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError("%s must be a number, got %r" % (name, value))
    if not number.is_finite():
        raise ValueError("%s must be a finite number, got %r" % (name, value))
    if minimum is not None and number < minimum:
        raise ValueError("%s must be >= %s, got %s" % (name, minimum, value))
    if digits is not None:
        precision, scale = digits
        limit = Decimal(10) ** (precision - scale)
        if abs(number) >= limit:
            raise ValueError(
                "%s is out of range: it must be %s and below %s (at most %d digits before the decimal "
                "point and %d after, column type numeric(%d,%d)), got %s"
                % (name, "at least %s" % minimum if minimum is not None else "above -%s" % limit, limit, precision - scale, scale, precision, scale, value)
            )
    if quantum is not None:
        try:
            number = number.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ValueError("%s has too many digits: at most 28 significant digits are supported, got %s" % (name, value))
    return number


def numbers_equal(a, b):
    """Numeric equality that treats 25, '25' and Decimal('25.00') alike; None only equals None."""
    if a is None or b is None:
        return a is None and b is None
    return Decimal(to_text(a)) == Decimal(to_text(b))


def jsonable(value):
    """Values from psycopg2 (Decimal, date, datetime) as plain JSON types for results and diffs."""
    if isinstance(value, dict):
        return dict((k, jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        # integral values print without a trailing '.0000' so diffs read naturally
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _is_number(value):
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def differing_fields(current, desired):
    """Keys of ``desired`` whose value differs from ``current`` (numbers compared numerically)."""
    changed = []
    for key, want in desired.items():
        have = current.get(key) if current else None
        if _is_number(want) or _is_number(have):
            same = numbers_equal(have, want)
        else:
            same = have == want
        if not same:
            changed.append(key)
    return changed


def parse_date(value, name):
    """'YYYY-MM-DD' (or a date) as a datetime.date; ValueError naming the option otherwise."""
    if value is None or isinstance(value, datetime.date):
        return value
    try:
        return datetime.datetime.strptime(to_text(value).strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ValueError("%s must be a date in the form YYYY-MM-DD, got %r" % (name, value))

"""Unit tests of kpi_schema: file loading, checksums, planning, error locations, check mode, and every run through the
real AnsibleModule (the statement splitter is tested in tests/unit/plugins/module_utils/test__kpi_sql.py)."""

from __future__ import annotations

import hashlib

import psycopg2
import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_schema as ks
from kpi_pg_fake import SECRET, Args, FakeConnection, assert_password_masked, pg_error, run


def test_load_file_checksum_is_sha256_of_bytes(tmp_path):
    f = tmp_path / "x.sql"
    f.write_bytes(b"SELECT 1;\r\nSELECT 2;\n")
    item = ks.load_file(dict(path=str(f), kind="once", name=None))
    assert item["checksum"] == hashlib.sha256(b"SELECT 1;\r\nSELECT 2;\n").hexdigest()
    assert item["name"] == "x.sql" and len(item["statements"]) == 2
    item = ks.load_file(dict(path=str(f), kind="repeatable", name="custom", depends_on=["a"]))
    assert item["name"] == "custom" and item["depends_on"] == ["a"]


def test_load_file_rejects_commit_and_bad_encoding(tmp_path):
    f = tmp_path / "tx.sql"
    f.write_text("CREATE TABLE a (id int);\n\nCOMMIT;\n")
    with pytest.raises(ks.SqlFileError, match=r"tx.sql line 3: transaction control \(COMMIT\) is not allowed"):
        ks.load_file(dict(path=str(f), kind="once"))
    f.write_bytes(b"SELECT '\xff';")
    with pytest.raises(ks.SqlFileError, match="not valid UTF-8"):
        ks.load_file(dict(path=str(f), kind="once"))
    with pytest.raises(ks.SqlFileError, match="cannot read SQL file"):
        ks.load_file(dict(path=str(tmp_path / "missing.sql"), kind="once"))


def item(name, kind, checksum, depends_on=()):
    return dict(name=name, path="/sql/" + name, kind=kind, checksum=checksum, statements=[(1, "SELECT 1")], depends_on=list(depends_on))


def test_plan_reasons():
    files = [
        item("a.sql", "once", "A"),
        item("b.sql", "once", "B"),
        item("v.sql", "repeatable", "V2"),
        item("g.sql", "repeatable", "G", depends_on=["v.sql"]),
        item("s.sql", "repeatable", "S"),
    ]
    ledger = {
        "a.sql": dict(checksum="A", settings_checksum="old"),
        "v.sql": dict(checksum="V1", settings_checksum="s1"),
        "g.sql": dict(checksum="G", settings_checksum="s1"),
        "s.sql": dict(checksum="S", settings_checksum="s0"),
    }
    would, skipped = ks.plan(files, ledger, "s1")
    assert [(w["file"], w["reason"]) for w in would] == [
        ("b.sql", "new"),
        ("v.sql", "checksum changed"),
        ("g.sql", "dependency v.sql applied"),
        ("s.sql", "settings changed"),
    ]
    assert skipped == ["a.sql"]  # a once-file ignores settings changes


def test_plan_refuses_changed_once_file():
    with pytest.raises(ks.SqlFileError, match=r"/sql/a.sql \(ledger name a.sql\) was applied as a once-file"):
        ks.plan([item("a.sql", "once", "NEW")], {"a.sql": dict(checksum="OLD", settings_checksum="")}, "")


def test_lock_key_is_stable_signed_bigint():
    key = ks.lock_key("kpi_schema_migrations")
    assert key == ks.lock_key("kpi_schema_migrations") != ks.lock_key("other.ledger")
    assert -(2**63) <= key < 2**63


def test_error_location_uses_statement_position():
    class Diag:
        statement_position = "15"

    class Exc(Exception):
        diag = Diag()

    statement = "SELECT 1 FROM\n  widgets WHERE;"
    assert ks.error_location(3, 10, statement, Exc()) == "statement 3 starting at line 10, error at line 11"
    assert ks.error_location(1, 1, "x", Exception()) == "statement 1 starting at line 1"


def test_settings_checksum_is_order_independent():
    assert ks.settings_checksum({"a.b": "1", "c.d": "2"}) == ks.settings_checksum({"c.d": "2", "a.b": "1"})
    assert ks.settings_checksum({"a.b": "1"}) != ks.settings_checksum({"a.b": "2"})


# ---------------------------------------------------------------------------------- run_module with a fake DB


def schema_module(tmp_path, check_mode=False, **params):
    f = tmp_path / "one.sql"
    f.write_text("CREATE TABLE one (id int);\nINSERT INTO one VALUES (1);\n")
    base = dict(
        files=[dict(path=str(f), kind="once", name=None, depends_on=[])],
        settings={"kpi.reader_role": "r"},
        ledger_table="kpi_schema_migrations",
        lock_timeout=300,
    )
    base.update(params)
    return Args(base, check_mode=check_mode, diff=True)


def test_check_mode_sends_only_reads(tmp_path, monkeypatch):
    conn = FakeConnection(answers=[("to_regclass", [dict(present=False)])])
    result = run(ks, schema_module(tmp_path, check_mode=True), conn, monkeypatch)
    assert result["changed"] is True and result["applied"] == []
    assert [w["file"] for w in result["would_apply"]] == ["one.sql"]
    assert conn.writes() == [] and conn.committed == 0
    assert all(s.startswith("SELECT to_regclass") for s in conn.executed)
    assert any("CREATE TABLE IF NOT EXISTS" in q for q in result["queries"])
    assert "SELECT set_config('kpi.reader_role', 'r', true)" in result["queries"]


def test_apply_runs_lock_statements_ledger_then_commits(tmp_path, monkeypatch):
    conn = FakeConnection(answers=[("to_regclass", [dict(present=True)]), ("SELECT file, kind", [])])
    result = run(ks, schema_module(tmp_path), conn, monkeypatch)
    executed = conn.executed
    assert executed[0] == "SELECT set_config('lock_timeout', '300s', true)"
    assert executed[1].startswith("SELECT pg_advisory_xact_lock(")
    assert executed.index("CREATE TABLE one (id int)") < executed.index("INSERT INTO one VALUES (1)")
    assert executed.index("SELECT set_config('kpi.reader_role', 'r', true)") < executed.index("CREATE TABLE one (id int)")
    assert any(s.startswith('INSERT INTO "kpi_schema_migrations"') for s in executed)
    assert conn.committed >= 1
    assert result["applied"][0]["file"] == "one.sql"


def test_statement_error_rolls_back_and_names_file(tmp_path, monkeypatch):
    error = psycopg2.ProgrammingError('syntax error at or near "VALUES"')
    conn = FakeConnection(answers=[("to_regclass", [dict(present=True)]), ("SELECT file, kind", [])], fail_on="INSERT INTO one", error=error)
    result = run(ks, schema_module(tmp_path), conn, monkeypatch)
    assert result["failed"] is True
    assert "error in SQL file" in result["msg"] and "one.sql (statement 2 starting at line 2)" in result["msg"]
    assert "rolled back" in result["msg"]
    assert conn.committed == 0 and conn.rolled_back >= 1
    assert not any("kpi_schema_migrations" in s and s.startswith("INSERT") for s in conn.executed)


@pytest.mark.parametrize(
    "params, expected",
    [
        (dict(settings={"reader_role": "x"}), "settings key 'reader_role' is not a custom setting name"),
        (dict(ledger_table="bad-name"), "ledger_table 'bad-name' is not a valid table name"),
        (dict(lock_timeout=-1), "lock_timeout must be >= 0"),
    ],
)
def test_bad_params_fail_before_connecting(tmp_path, monkeypatch, params, expected):
    conn = FakeConnection()
    result = run(ks, schema_module(tmp_path, **params), conn, monkeypatch)
    assert result["failed"] and expected in result["msg"]
    assert conn.executed == []


def test_no_files_no_ledger_table_no_change(tmp_path, monkeypatch):
    conn = FakeConnection(answers=[("to_regclass", [dict(present=False)])])
    result = run(ks, schema_module(tmp_path, files=[]), conn, monkeypatch)
    assert result["changed"] is False and result["would_apply"] == []
    assert conn.writes() == []  # only the lock (SELECTs); the ledger is created together with its first rows


def test_first_apply_creates_ledger_after_lock(tmp_path, monkeypatch):
    conn = FakeConnection(answers=[("to_regclass", [dict(present=False)])])
    run(ks, schema_module(tmp_path), conn, monkeypatch)
    lock = next(i for i, s in enumerate(conn.executed) if "pg_advisory_xact_lock" in s)
    ddl = next(i for i, s in enumerate(conn.executed) if s.startswith("CREATE TABLE IF NOT EXISTS"))
    first_stmt = conn.executed.index("CREATE TABLE one (id int)")
    assert lock < ddl < first_stmt


# ------------------------------------------------------------- argument checking and error mapping (AnsibleModule)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(), "missing required arguments: files"),
        (dict(files=[dict(kind="once")]), "missing required arguments: path found in files"),
        (dict(files=[dict(path="/x.sql", kind="always")]), "value of kind must be one of: once, repeatable, got: always found in files"),
        (dict(files=[], ssl_mode="maybe"), "value of ssl_mode must be one of: disable, allow, prefer, require, verify-ca, verify-full, got: maybe"),
        (dict(files=[], login_db=None), "missing required arguments: login_db"),
    ],
)
def test_ansible_argument_checking(monkeypatch, args, message):
    result = run(ks, args, None, monkeypatch)
    assert result["failed"] is True and result["msg"] == message
    assert "queries" not in result


def test_unknown_option_is_refused_and_password_masked(monkeypatch):
    result = run(ks, dict(files=[], ledger="x"), None, monkeypatch)
    assert result["failed"] and result["msg"].startswith("Unsupported parameters for ") and "module: ledger." in result["msg"]
    assert_password_masked(result)


def test_connection_error_is_one_redacted_message(tmp_path, monkeypatch):
    error = pg_error('connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed (%s)' % SECRET)
    result = run(ks, schema_module(tmp_path), error, monkeypatch)
    assert result["failed"] is True
    assert result["msg"].startswith("could not connect to PostgreSQL as postgres@127.0.0.1:5432/kpi: ")
    assert "password authentication failed (********)" in result["msg"]
    assert "queries" not in result  # nothing ran


def test_lock_timeout_names_the_lock(tmp_path, monkeypatch):
    conn = FakeConnection(fail_on="pg_advisory_xact_lock", error=pg_error("canceling statement due to lock timeout", "55P03"))
    result = run(ks, schema_module(tmp_path, lock_timeout=5), conn, monkeypatch)
    assert result["msg"] == (
        "could not acquire the kpi_schema lock on kpi_schema_migrations within lock_timeout=5s (another run holds it): "
        "canceling statement due to lock timeout (SQLSTATE 55P03)"
    )
    assert result["queries"][0] == "SELECT set_config('lock_timeout', '5s', true)"
    assert conn.rolled_back == 1 and conn.closed == 1 and conn.committed == 0


def test_statement_error_carries_file_statement_line_and_no_secret(tmp_path, monkeypatch):
    error = pg_error("permission denied; password=%s" % SECRET, "42501")
    conn = FakeConnection(answers=[("to_regclass", [dict(present=True)]), ("SELECT file, kind", [])], fail_on="INSERT INTO one", error=error)
    result = run(ks, schema_module(tmp_path), conn, monkeypatch)
    assert result["failed"] is True
    assert (result["file"], result["statement"], result["line"]) == ("one.sql", 2, 2)
    assert "password=********" in result["msg"] and "(SQLSTATE 42501)" in result["msg"]
    assert result["queries"][-1].startswith("-- apply one.sql: 2 statements")
    assert conn.committed == 0 and conn.closed == 1


def test_changed_once_file_fails_after_reading_the_ledger(tmp_path, monkeypatch):
    ledger = [dict(file="one.sql", kind="once", checksum="0" * 64, settings_checksum="", apply_count=1, first_applied_at=None, applied_at=None)]
    conn = FakeConnection(answers=[("to_regclass", [dict(present=True)]), ("SELECT file, kind", ledger)])
    result = run(ks, schema_module(tmp_path), conn, monkeypatch)
    assert result["failed"] and result["msg"].startswith("kpi_schema: SQL file %s (ledger name one.sql) was applied as a once-file" % (tmp_path / "one.sql"))
    assert not conn.writes() and conn.committed == 0 and conn.rolled_back == 1

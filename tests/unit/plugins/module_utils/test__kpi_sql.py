"""Unit tests of plugins/module_utils/_kpi_sql.py: splitting SQL text into statements as psql does, and
spotting transaction control."""

from __future__ import annotations

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_sql as ks_sql


def stmts(text):
    return ks_sql.split_sql(text)


def test_split_simple_and_line_numbers():
    sql = "CREATE TABLE a (id int);\n\n-- comment; not a statement\nINSERT INTO a VALUES (1);\nSELECT 2"
    assert stmts(sql) == [(1, "CREATE TABLE a (id int)"), (4, "INSERT INTO a VALUES (1)"), (5, "SELECT 2")]


def test_split_respects_quotes_comments_and_dollar_quotes():
    sql = (
        "INSERT INTO t VALUES ('a;b', 'it''s; fine');\n"
        'SELECT "odd;name""x" FROM t;\n'
        "/* outer /* nested ; */ still ; comment */\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\n"
        "BEGIN\n  RETURN 1; -- ;\nEND;\n$body$;\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
        "SELECT E'back\\'slash;';\n"
    )
    result = stmts(sql)
    assert [pair[0] for pair in result] == [1, 2, 4, 9, 10]
    assert result[0][1] == "INSERT INTO t VALUES ('a;b', 'it''s; fine')"
    assert result[2][1].endswith("END;\n$body$")
    assert result[4][1] == "SELECT E'back\\'slash;'"


def test_split_positional_params_and_identifiers_with_dollar_are_not_quotes():
    sql = "PREPARE p AS SELECT $1 + 1;\nSELECT a$b$ FROM t;\nSELECT 3;"
    assert [pair[1] for pair in stmts(sql)] == ["PREPARE p AS SELECT $1 + 1", "SELECT a$b$ FROM t", "SELECT 3"]


def test_split_drops_empty_statements():
    assert stmts(";;\n  ;\n-- only a comment\n") == []


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT 1;\nSELECT 'open", "unterminated quoted string starting at line 2"),
        ('SELECT "open', "unterminated quoted identifier starting at line 1"),
        ("SELECT 1;\n\nDO $x$ BEGIN", "unterminated dollar-quoted string $x$ starting at line 3"),
        ("/* never closed", "unterminated /* comment starting at line 1"),
        ("SELECT 1;\n\\i other.sql\n", "backslash outside a string at line 2"),
    ],
)
def test_split_errors_name_the_line(sql, expected):
    with pytest.raises(ks_sql.SqlFileError, match=expected.replace("$", r"\$").replace("*", r"\*")):
        stmts(sql)


@pytest.mark.parametrize(
    "statement, expected",
    [
        ("BEGIN", True),
        ("commit", True),
        ("END", True),
        ("ROLLBACK", True),
        ("START TRANSACTION", True),
        ("PREPARE TRANSACTION 'x'", True),
        ("ROLLBACK TO SAVEPOINT a", False),
        ("SAVEPOINT a", False),
        ("PREPARE p AS SELECT 1", False),
        ("DO $$ BEGIN COMMIT; END $$", False),
        ("SELECT 1", False),
        ("CREATE TABLE begin_log (id int)", False),
    ],
)
def test_transaction_control(statement, expected):
    assert ks_sql.is_transaction_control(statement) is expected


def test_sql_file_error_is_a_value_error():
    """kpi_schema reports it as a wrong input (checking_input maps ValueError), never as a traceback."""
    assert issubclass(ks_sql.SqlFileError, ValueError)

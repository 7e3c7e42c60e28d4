"""Helpers for the SQL tests: apply files/sql/*.sql the way the kpi_schema module does (one transaction each)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SQL_DIR = REPO / "files" / "sql"


def schema_files(core: bool = True, reader: bool = True, n8n_writer: bool = False) -> list[str]:
    """files/sql in the order roles/kpi_database applies them (see files/sql/migrations/README.md).

    Names are relative to files/sql: the baseline, maintenance.sql (repeatable functions the migrations may
    call), the numbered migrations in name order, then the repeatable files (the rollup trigger functions,
    views, the token-tracking functions and views, the reader grants when ``reader`` and the n8n writer grants when ``n8n_writer``).
    """
    migrations = sorted(p.relative_to(SQL_DIR).as_posix() for p in (SQL_DIR / "migrations").glob("*.sql"))
    return (
        (["support-core.sql"] if core else [])
        + ["schema-additions.sql", "maintenance.sql"]
        + migrations
        + ["rollups.sql", "views.sql", "views-token-tracking.sql"]
        + (["grafana-reader.sql"] if reader else [])
        + (["n8n-writer.sql"] if n8n_writer else [])
    )


ORDER = schema_files()
# everything up to and including the views (no reader grants)
UP_TO_VIEWS = ORDER[: ORDER.index("views.sql") + 1]
# a name of our own: roles are cluster-wide and the session server is shared with other tests
READER_ROLE = "kpi_sqltest_reader"
N8N_ROLE = "kpi_sqltest_n8n"


def apply_file(conn, name: str, reader_role: str | None = READER_ROLE, contract_columns: bool | None = None, n8n_role: str | None = N8N_ROLE) -> None:
    """Run one SQL file in ONE transaction (rolled back entirely on error).

    ``contract_columns`` sets kpi.reader_contract_columns for grafana-reader.sql (None: unset, the file's default).
    """
    sql = (SQL_DIR / name).read_text()
    with conn:
        with conn.cursor() as cur:
            if name == "grafana-reader.sql" and reader_role is not None:
                cur.execute("SELECT set_config('kpi.reader_role', %s, true)", (reader_role,))
            if name == "grafana-reader.sql" and contract_columns is not None:
                cur.execute("SELECT set_config('kpi.reader_contract_columns', %s, true)", ("true" if contract_columns else "false",))
            if name == "n8n-writer.sql" and n8n_role is not None:
                cur.execute("SELECT set_config('kpi.n8n_role', %s, true)", (n8n_role,))
            cur.execute(sql)


def apply_all(conn, names=None, reader_role: str | None = READER_ROLE, contract_columns: bool | None = None) -> None:
    for name in names or ORDER:
        apply_file(conn, name, reader_role, contract_columns)


def ensure_n8n_role(pg_server, password: str, role: str = N8N_ROLE) -> None:
    """Create the n8n writer login role (what the kpi_database role does) once per server."""
    ensure_reader_role(pg_server, password, role)


def ensure_reader_role(pg_server, password: str, role: str = READER_ROLE) -> None:
    """Create the read-only login role (what engineer B's role/module does) once per server."""
    exists = pg_server.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", params=(role,))
    if not exists:
        conn = pg_server.connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                from psycopg2 import sql

                cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,))
        finally:
            conn.close()


def contract_views(path: Path = REPO / "docs" / "kpi-contract.md") -> dict[str, list[str]]:
    """View name -> contracted columns, parsed from docs/kpi-contract.md (the single source of names)."""
    text = path.read_text()
    section = text.split("## Views", 1)[1].split("\n## ", 1)[0]
    views: dict[str, list[str]] = {}
    for m in re.finditer(r"^`(v_\w+)`[^\n]*\n: (.+?)(?=\n\n|\n`v_|\Z)", section, re.S | re.M):
        cols_text = re.sub(r"\([^)]*\)", "", m.group(2))  # drop parenthesised remarks
        cols = re.findall(r"`([^`]+)`", cols_text)
        names: list[str] = []
        for chunk in cols:
            for col in chunk.split(","):
                col = col.strip()
                if re.fullmatch(r"[a-z_][a-z0-9_]*", col) and col not in names:
                    names.append(col)
        views[m.group(1)] = names
    return views


def _top_level_items(text: str) -> list[str]:
    """Split "a, b (x, y), c" at the commas outside parentheses."""
    items, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def contract_table_columns(path: Path = REPO / "docs" / "kpi-contract.md") -> dict[str, list[str]]:
    """Base table -> contracted columns, parsed from docs/kpi-contract.md: the ``cases`` column table and the
    ``name(col, col ...)`` lines of kb_articles, token_usage, token_budgets and api_pricing."""
    text = path.read_text()
    tables: dict[str, list[str]] = {}
    cases_section = text.split("`cases`\n", 1)[1].split("\n\n", 1)[0]
    tables["cases"] = re.findall(r"^\| (\w+) \|", cases_section, re.M)
    tables["cases"] = [c for c in tables["cases"] if c != "column"]
    for name in ("kb_articles", "token_usage", "token_budgets", "api_pricing"):
        start = text.index("`%s(" % name) + len(name) + 2
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        tables[name] = [re.match(r"\w+", item).group(0) for item in _top_level_items(text[start : end - 1])]
    return tables

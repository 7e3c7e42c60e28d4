"""Helpers for the kpi_grafana tests: a KPI database built from the collection's own files.

load_kpi_database() applies files/sql (support-core, schema-additions, views, grafana-reader) directly
with psycopg2, creates the read-only role, and loads the deterministic demo data of files/demo, so the
tests exercise exactly what users deploy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from kpi_sql import schema_files

REPO = Path(__file__).resolve().parents[2]
SQL_DIR = REPO / "files" / "sql"
DEMO = REPO / "files" / "demo" / "generate_demo_data.py"
READER = "kpi_grafana_reader"


def _demo_module():
    spec = importlib.util.spec_from_file_location("generate_demo_data", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_kpi_database(pg_server, dbname, reader_password, cases_per_day=60, days=45):
    """Schema + views + read-only role + demo data in ``dbname``; returns the demo summary."""
    from psycopg2 import sql as pgsql

    conn = pg_server.connect(dbname)
    try:
        with conn:
            with conn.cursor() as cur:
                for name in schema_files(reader=False):
                    cur.execute((SQL_DIR / name).read_text(encoding="utf-8"))
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(pgsql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(pgsql.Identifier(READER)), (reader_password,))
                cur.execute("SELECT set_config('kpi.reader_role', %s, true)", (READER,))
                cur.execute((SQL_DIR / "grafana-reader.sql").read_text(encoding="utf-8"))
        return _demo_module().generate(conn, days=days, cases_per_day=cases_per_day, seed=42)
    finally:
        conn.close()


def reader_connection(pg_server, dbname, reader_password):
    conn = pg_server.connect(dbname, user=READER, password=reader_password)
    conn.autocommit = True
    return conn

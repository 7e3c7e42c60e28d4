#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kpi_schema
short_description: Apply ordered SQL files to the KPI database with a checksum ledger
version_added: 0.1.0
description:
  - Applies a list of SQL files in order, in B(one) transaction, under a transaction-level advisory lock
    (C(pg_advisory_xact_lock)) so concurrent runs against the same database wait for each other.
  - Every applied file is recorded in a ledger table (file name, kind, SHA-256 checksum, checksum of the
    settings it ran with, first/last applied time, number of applications).
  - A C(once) file runs the first time only; if its checksum changes afterwards the module refuses with
    an error (write a new file instead). A C(repeatable) file (views, grants) runs again whenever its
    checksum or the O(settings) change.
  - On any error everything the task did is rolled back, the ledger included, and the message names the
    file, the statement number and the line.
  - Files are split into statements the way C(psql) does (quotes, dollar quotes and comments are honoured).
    Transaction control statements (C(BEGIN), C(COMMIT), ...) and C(psql) meta-commands are refused.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.kpi_postgres
attributes:
  check_mode:
    support: full
    details: Reads the ledger and returns in RV(would_apply) what would run; nothing is written.
  diff_mode:
    support: full
    details: Shows the ledger before and after.
options:
  files:
    description:
      - SQL files to apply, in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Path of the SQL file on the host that runs the module.
        type: path
        required: true
      kind:
        description:
          - V(once) for schema files (tables, seed data), V(repeatable) for files that are safe to re-run
            (C(CREATE OR REPLACE VIEW), grants).
        type: str
        choices: [once, repeatable]
        default: once
      name:
        description:
          - Key of the file in the ledger. Defaults to the file's base name, so moving the file does not
            make it "new".
        type: str
      depends_on:
        description:
          - Ledger names of earlier files in O(files); when one of them is applied in this run, this
            V(repeatable) file is applied again too (for example grants that must follow new views).
        type: list
        elements: str
        default: []
  settings:
    description:
      - Custom settings made visible to the SQL with C(SET LOCAL) (C(set_config(name, value, true))),
        readable in the files with C(current_setting('kpi.reader_role')).
      - Names must be qualified custom setting names such as C(kpi.reader_role).
      - A change of these values re-applies the V(repeatable) files. The values are not secret and are
        returned in RV(queries); do not pass passwords here.
    type: dict
    default: {}
  ledger_table:
    description:
      - Name of the ledger table, optionally schema-qualified. Created when missing.
    type: str
    default: kpi_schema_migrations
  lock_timeout:
    description:
      - Seconds to wait for the advisory lock (and any other lock) before failing. V(0) waits forever.
    type: int
    default: 300
notes:
  - Statements that cannot run inside a transaction block (C(CREATE INDEX CONCURRENTLY), C(VACUUM)) fail
    with PostgreSQL's error, naming the file and line.
seealso:
  - module: community.postgresql.postgresql_script
"""

EXAMPLES = r"""
- name: Apply the KPI schema and views
  cx_catalyst.kpi_dashboard.kpi_schema:
    login_host: db.example.com
    login_db: support_system
    login_user: kpi_admin
    login_password: "{{ vault_kpi_admin_password }}"
    files:
      - path: "{{ sql_dir }}/schema-additions.sql"
        kind: once
      - path: "{{ sql_dir }}/views.sql"
        kind: repeatable
      - path: "{{ sql_dir }}/grafana-reader.sql"
        kind: repeatable
        depends_on: [views.sql]
    settings:
      kpi.reader_role: kpi_grafana_reader
  no_log: false
  register: schema

- name: Show what ran
  ansible.builtin.debug:
    msg: "{{ schema.applied | map(attribute='file') | list }}"
"""

RETURN = r"""
applied:
  description: Files applied by this run, in order (empty in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: Ledger name of the file.
      type: str
    kind:
      description: V(once) or V(repeatable).
      type: str
    reason:
      description: Why it ran, V(new), V(checksum changed), V(settings changed) or V(dependency <name> applied).
      type: str
    statements:
      description: Number of statements in the file.
      type: int
    checksum:
      description: SHA-256 of the file.
      type: str
  sample: [{"file": "views.sql", "kind": "repeatable", "reason": "checksum changed", "statements": 17,
            "checksum": "3f0c..."}]
would_apply:
  description: Files that need to run (what was applied, or in check mode what would be), same shape as RV(applied).
  returned: always
  type: list
  elements: dict
  sample: [{"file": "views.sql", "kind": "repeatable", "reason": "new", "statements": 17, "checksum": "3f0c..."}]
pending_migrations:
  description:
    - Ledger names of the V(once) files (baseline and numbered migrations such as C(0002-token-usage-monthly-partitions.sql))
      that this run applied, or in check mode would apply, in order. Empty when the schema is up to date.
  returned: always
  type: list
  elements: str
  version_added: 0.2.0
  sample: ["0001-kpi-definitions.sql", "0002-token-usage-monthly-partitions.sql"]
up_to_date:
  description:
    - Ledger names of the files that were already up to date.
    - Called C(skipped) before 0.2.0; Ansible reads a true C(skipped) key as "the task was skipped", which hid
      the changes of a run that also had up-to-date files.
  returned: always
  type: list
  elements: str
  sample: ["schema-additions.sql"]
  version_added: 0.2.0
ledger:
  description: The ledger after the run (in check mode, as it would be), keyed by file name.
  returned: always
  type: dict
  sample: {"views.sql": {"kind": "repeatable", "checksum": "3f0c...", "apply_count": 2,
                         "applied_at": "2026-01-05T10:00:00+00:00"}}
queries:
  description:
    - Statements run (or, in check mode, that would run) besides the files' own SQL, which is summarised
      as one comment line per file.
  returned: always
  type: list
  elements: str
  sample: ["SELECT pg_advisory_xact_lock(123)", "-- apply views.sql: 17 statements, sha256 3f0c..."]
"""

import hashlib
import os
import re
import struct

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import (
    KpiSqlError,
    KpiValidationError,
    checking_input,
    jsonable,
    kpi_module,
    pg_error_text,
    psycopg2,
    run_module,
    with_diff,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_sql import SqlFileError, is_transaction_control, split_sql

SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)+$")
LEDGER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
NUMBERED = re.compile(r"^[0-9]{4}-.*\.sql$")


def load_file(spec):
    """Read, checksum and split one file entry; SqlFileError names the file on any problem."""
    path = spec["path"]
    name = spec.get("name") or os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise SqlFileError("cannot read SQL file %s: %s" % (path, to_native(exc.strerror or exc)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SqlFileError("SQL file %s is not valid UTF-8 (byte %d)" % (path, exc.start))
    try:
        statements = split_sql(text)
    except SqlFileError as exc:
        raise SqlFileError("SQL file %s: %s" % (path, exc))
    for line, statement in statements:
        if is_transaction_control(statement):
            raise SqlFileError(
                "SQL file %s line %d: transaction control (%s) is not allowed; kpi_schema runs "
                "all files in one transaction" % (path, line, " ".join(statement.split()[:2]))
            )
    return dict(
        name=name, path=path, kind=spec["kind"], checksum=hashlib.sha256(raw).hexdigest(), statements=statements, depends_on=list(spec.get("depends_on") or [])
    )


def settings_checksum(settings):
    canonical = "\n".join("%s=%s" % (k, settings[k]) for k in sorted(settings))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def lock_key(ledger_table):
    """A stable signed 64-bit advisory lock key per ledger table."""
    digest = hashlib.sha256(("cx_catalyst.kpi_schema:" + ledger_table).encode("utf-8")).digest()
    return struct.unpack(">q", digest[:8])[0]


def plan(files, ledger, settings_sum):
    """Decide per file: apply (with reason) or skip. SqlFileError for a changed once-file."""
    would_apply, skipped, scheduled = [], [], set()
    for item in files:
        row = ledger.get(item["name"])
        reason = None
        if row is None:
            reason = "new"
        elif row["checksum"] != item["checksum"]:
            if item["kind"] == "once":
                raise SqlFileError(
                    "SQL file %s (ledger name %s) was applied as a once-file with checksum %s, but its checksum is "
                    "now %s; once-files must not change after they are applied: put the change in a new file, or "
                    "declare the file kind=repeatable if it is safe to re-run" % (item["path"], item["name"], row["checksum"][:12], item["checksum"][:12])
                )
            reason = "checksum changed"
        elif item["kind"] == "repeatable" and row.get("settings_checksum") != settings_sum:
            reason = "settings changed"
        elif item["kind"] == "repeatable":
            applied_deps = [d for d in item.get("depends_on", []) if d in scheduled]
            if applied_deps:
                reason = "dependency %s applied" % applied_deps[0]
        if reason:
            scheduled.add(item["name"])
            would_apply.append(dict(file=item["name"], kind=item["kind"], reason=reason, statements=len(item["statements"]), checksum=item["checksum"]))
        else:
            skipped.append(item["name"])
    return would_apply, skipped


def error_location(index, line, statement, exc):
    """'statement N (line L)' plus the exact line of the error when the server reports a position."""
    where = "statement %d starting at line %d" % (index, line)
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    if position:
        try:
            offset = int(position) - 1
            where += ", error at line %d" % (line + statement[:offset].count("\n"))
        except ValueError:
            pass
    return where


def quoted_ledger(ledger_table):
    """Quoted [schema.]table; safe because run() only accepts names matching LEDGER_NAME."""
    return ".".join('"%s"' % part for part in ledger_table.split("."))


def read_ledger(db, ledger_table):
    exists = db.read_one("SELECT to_regclass(%s) IS NOT NULL AS present", (ledger_table,))["present"]
    if not exists:
        return False, {}
    rows = db.read(
        "SELECT file, kind, checksum, settings_checksum, apply_count, first_applied_at, applied_at FROM %s ORDER BY file" % quoted_ledger(ledger_table)
    )
    return True, dict((row.pop("file"), jsonable(row)) for row in rows)


LEDGER_DDL = """CREATE TABLE IF NOT EXISTS {} (
    file text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('once', 'repeatable')),
    checksum text NOT NULL,
    settings_checksum text NOT NULL,
    apply_count integer NOT NULL DEFAULT 1,
    first_applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)"""

LEDGER_UPSERT = """INSERT INTO {} AS l (file, kind, checksum, settings_checksum)
VALUES (%s, %s, %s, %s)
ON CONFLICT (file) DO UPDATE SET kind = EXCLUDED.kind, checksum = EXCLUDED.checksum,
    settings_checksum = EXCLUDED.settings_checksum, apply_count = l.apply_count + 1,
    applied_at = clock_timestamp()"""


def ledger_view(ledger):
    """Ledger as shown in diffs and results: drop noise the user did not cause."""
    return dict((name, dict((k, v) for k, v in row.items() if k != "first_applied_at")) for name, row in ledger.items())


def checked_settings(params):
    """The options that need no file or database, checked; the settings as {name: text}."""
    if not LEDGER_NAME.match(params["ledger_table"]):
        raise KpiValidationError("ledger_table %r is not a valid table name ([schema.]table, letters, digits, _)" % params["ledger_table"])
    if params["lock_timeout"] < 0:
        raise KpiValidationError("lock_timeout must be >= 0 seconds, got %d" % params["lock_timeout"])
    settings = {}
    for key, value in (params["settings"] or {}).items():
        if not SETTING_NAME.match(to_text(key)):
            raise KpiValidationError("settings key %r is not a custom setting name; use a dotted name such as kpi.reader_role" % key)
        if isinstance(value, bool):
            value = "true" if value else "false"
        settings[to_text(key)] = to_text(value)
    return settings


def load_files(specs):
    """Every file entry loaded, in order; SqlFileError for a shared ledger name or an unknown dependency."""
    files, seen = [], set()
    for spec in specs:
        item = load_file(spec)
        if item["name"] in seen:
            raise SqlFileError("two files share the ledger name %s; give one of them a distinct name" % item["name"])
        unknown = [d for d in item["depends_on"] if d not in seen]
        if unknown:
            raise SqlFileError("file %s depends_on %s, which is not listed before it in files" % (item["name"], ", ".join(unknown)))
        seen.add(item["name"])
        files.append(item)
    return files


def execute_file(db, item):
    """Run the statements of one file; KpiSqlError naming the file, statement and line on the first error."""
    for index, (line, statement) in enumerate(item["statements"], 1):
        try:
            with db.conn.cursor() as cur:
                cur.execute(statement)
        except psycopg2.Error as exc:
            detail = pg_error_text(exc)
            context = getattr(getattr(exc, "diag", None), "context", None)
            if context:
                detail += "; context: %s" % context.strip().replace("\n", " / ")
            raise KpiSqlError(
                "kpi_schema: error in SQL file %s (%s): %s. Nothing was applied: the whole run was rolled back and "
                "the ledger is unchanged." % (item["path"], error_location(index, line, statement, exc), detail),
                file=item["name"],
                statement=index,
                line=line,
            )


def run(module, db):
    params = module.params
    settings = checked_settings(params)
    settings_sum = settings_checksum(settings)
    with checking_input("kpi_schema"):
        files = load_files(params["files"])

    ledger_table = params["ledger_table"]
    table = quoted_ledger(ledger_table)
    lock_timeout = {"55P03": "acquire the kpi_schema lock on %s within lock_timeout=%ds (another run holds it)" % (ledger_table, params["lock_timeout"])}
    with db.step("read the schema ledger %s" % ledger_table, lock_timeout):
        if not module.check_mode:
            db.write("SELECT set_config(%s, %s, true)", ("lock_timeout", "%ds" % params["lock_timeout"]))
            db.write("SELECT pg_advisory_xact_lock(%s)", (lock_key(ledger_table),))
        present, before = read_ledger(db, ledger_table)

    with checking_input("kpi_schema"):
        would_apply, skipped = plan(files, before, settings_sum)

    pending = [entry["file"] for entry in would_apply if entry["kind"] == "once"]
    applied_numbered = sorted(name for name in before if NUMBERED.match(name))
    for name in pending:
        if NUMBERED.match(name) and applied_numbered and name < applied_numbered[-1]:
            module.warn(
                "migration %s is applied after %s, which sorts after it; check that it does not depend on running before it" % (name, applied_numbered[-1])
            )

    by_name = dict((item["name"], item) for item in files)
    after = dict(before)
    applied = []
    if would_apply:
        upsert = LEDGER_UPSERT.format(table)
        if not present:
            # created only together with its first rows, in the same transaction, under the lock
            with db.step("create the schema ledger %s" % ledger_table):
                db.write(LEDGER_DDL.format(table))
        for key in sorted(settings):
            with db.step("set setting %s" % key):
                db.write("SELECT set_config(%s, %s, true)", (key, settings[key]))
        for entry in would_apply:
            item = by_name[entry["file"]]
            db.record("-- apply %s: %d statements, sha256 %s" % (item["name"], len(item["statements"]), item["checksum"]))
            if not module.check_mode:
                execute_file(db, item)
            with db.step("record %s in the ledger %s" % (item["name"], ledger_table)):
                db.write(upsert, (item["name"], item["kind"], item["checksum"], settings_sum))
            old = after.get(item["name"]) or dict(apply_count=0)
            after[item["name"]] = dict(
                kind=item["kind"],
                checksum=item["checksum"],
                settings_checksum=settings_sum,
                apply_count=old["apply_count"] + 1,
                applied_at="(now)",
                first_applied_at=old.get("first_applied_at", "(now)"),
            )
            if not module.check_mode:
                applied.append(entry)
        with db.step("commit the schema changes"):
            if not module.check_mode:
                db.conn.commit()
                # changed is what the ledger says now, not what we meant to do
                after = read_ledger(db, ledger_table)[1]
            db.finish()
    else:
        db.finish()

    return with_diff(
        module,
        ledger_view(before),
        ledger_view(after),
        changed=bool(would_apply) if module.check_mode else None,
        applied=applied,
        would_apply=would_apply,
        pending_migrations=pending,
        up_to_date=skipped,
        ledger=ledger_view(after),
        queries=db.queries,
    )


def main():
    options = dict(
        files=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                path=dict(type="path", required=True),
                kind=dict(type="str", choices=["once", "repeatable"], default="once"),
                name=dict(type="str"),
                depends_on=dict(type="list", elements="str", default=[]),
            ),
        ),
        settings=dict(type="dict", default={}),
        ledger_table=dict(type="str", default="kpi_schema_migrations"),
        lock_timeout=dict(type="int", default=300),
    )
    module = kpi_module(options)
    run_module(module, run)


if __name__ == "__main__":
    main()

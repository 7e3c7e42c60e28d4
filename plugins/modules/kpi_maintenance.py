#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kpi_maintenance
short_description: Routine maintenance of the KPI database (token_usage partitions, retention, budget rollover)
version_added: 0.2.0
description:
  - Runs the database function C(kpi_run_maintenance()) of C(files/sql/maintenance.sql) in one transaction,
    serialised by an advisory lock. The scheduled job the C(kpi_database) role can install runs the same function.
  - Creates the monthly partitions of C(token_usage) for the current month and O(months_ahead) months ahead, and
    moves rows that landed in the default partition (no partition existed for their month) into their month's
    partition.
  - With O(keep_months) > 0, detaches every monthly partition older than the current month and the
    O(keep_months) previous months and archives it (moves it to O(archive_schema), still queryable) or drops it.
    Detaching fires no trigger, so the daily rollups, and every dashboard figure read from them, keep their
    full history.
  - With O(budget_rollover), moves every active token budget whose period has ended to the period that contains
    today (the spec's monthly maintenance, for daily, weekly and monthly budgets); idempotent.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.kpi_postgres
attributes:
  check_mode:
    support: full
    details: Runs the function with C(p_dry_run) in a transaction that is rolled back; RV(actions) lists what
      would be done (partitions to create, partitions to archive or drop with their row counts, budgets to roll over).
  diff_mode:
    support: full
    details: Shows the partitions of C(token_usage) and the budget periods before and after.
options:
  keep_months:
    description:
      - Raw C(token_usage) rows are kept for the current month and this many previous whole months; older
        monthly partitions are detached. V(0) keeps every row.
    type: int
    default: 0
  months_ahead:
    description:
      - Partitions are created this many months ahead of the current month (0 to 24).
    type: int
    default: 3
  retention_action:
    description:
      - What happens to a detached partition. V(archive) moves it to O(archive_schema); V(drop) deletes it.
    type: str
    choices: [archive, drop]
    default: archive
  archive_schema:
    description:
      - Schema the archived partitions are moved to (created when missing). Must differ from the KPI schema.
    type: str
    default: kpi_archive
  budget_rollover:
    description:
      - Move active budgets whose period has ended to the current period.
    type: bool
    default: true
notes:
  - Needs the schema of release 0.2.0 or later (C(maintenance.sql) and migration
    C(0002-token-usage-monthly-partitions.sql)); apply it with M(cx_catalyst.kpi_dashboard.kpi_schema) first.
    In check mode on a database without it the module warns and plans nothing.
seealso:
  - module: cx_catalyst.kpi_dashboard.kpi_schema
  - module: cx_catalyst.kpi_dashboard.kpi_token_budget
"""

EXAMPLES = r"""
- name: Keep 13 months of raw token rows, archive older months, roll budgets over
  cx_catalyst.kpi_dashboard.kpi_maintenance:
    login_host: db.example.com
    login_db: support_system
    login_user: kpi_admin
    login_password: "{{ vault_kpi_admin_password }}"
    keep_months: 13
    retention_action: archive
  register: maintenance

- name: Show what was done
  ansible.builtin.debug:
    msg: "{{ maintenance.actions | map(attribute='object') | list }}"
"""

RETURN = r"""
actions:
  description: What was done (in check mode, what would be done), in order.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: V(create partition), V(archive partition), V(drop partition) or V(roll over budget).
      type: str
    object:
      description: Partition or budget name.
      type: str
    detail:
      description: Range of the partition (and rows moved or detached), or old and new budget period.
      type: str
  sample: [{"action": "archive partition", "object": "token_usage_p202509",
            "detail": "recorded_at from 2025-09-01 00:00:00+00 to 2025-10-01 00:00:00+00, 1200 rows, moved to schema kpi_archive"}]
created_partitions:
  description: Partitions created (or that would be).
  returned: always
  type: list
  elements: str
  sample: ["token_usage_p202703"]
detached_partitions:
  description: Partitions archived or dropped (or that would be).
  returned: always
  type: list
  elements: str
  sample: ["token_usage_p202509"]
rolled_over_budgets:
  description: Budgets moved to the current period (or that would be).
  returned: always
  type: list
  elements: str
  sample: ["Anthropic Monthly"]
partitions:
  description: Partitions of C(token_usage) after the run (as they would be in check mode).
  returned: always
  type: list
  elements: str
  sample: ["token_usage_p202611", "token_usage_p202612", "token_usage_default"]
queries:
  description: SQL run (or, in check mode, run with C(p_dry_run) and rolled back).
  returned: always
  type: list
  elements: str
  sample: ["SELECT action, object, detail FROM kpi_run_maintenance(13, 3, 'archive', 'kpi_archive', true, false)"]
"""

import re

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import (
    KpiError,
    checking_input,
    kpi_module,
    run_module,
    with_diff,
)

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
NEW_PERIOD = re.compile(r"-> (\S+)$")


def validate(params):
    if params["keep_months"] < 0:
        raise ValueError("keep_months must be >= 0 (0 keeps every row), got %d" % params["keep_months"])
    if not 0 <= params["months_ahead"] <= 24:
        raise ValueError("months_ahead must be between 0 and 24, got %d" % params["months_ahead"])
    if not IDENTIFIER.match(params["archive_schema"]):
        raise ValueError("archive_schema %r is not a lower-case SQL identifier" % params["archive_schema"])


def read_state(db):
    partitions = [r["partition_name"] for r in db.read("SELECT partition_name FROM kpi_token_partitions() ORDER BY is_default, range_from, partition_name")]
    budgets = dict(
        (r["budget_name"], "%s..%s" % (r["period_start"], r["period_end"]))
        for r in db.read("SELECT budget_name, period_start, period_end FROM token_budgets WHERE is_active ORDER BY budget_name")
    )
    return dict(partitions=partitions, budgets=budgets)


def planned_state(before, actions):
    """The state the actions lead to (check mode, where nothing is written)."""
    partitions = list(before["partitions"])
    budgets = dict(before["budgets"])
    for item in actions:
        if item["action"] == "create partition":
            partitions.append(item["object"])
        elif item["action"] in ("archive partition", "drop partition"):
            partitions = [p for p in partitions if p != item["object"]]
        elif item["action"] == "roll over budget":
            match = NEW_PERIOD.search(item["detail"])
            if match:
                budgets[item["object"]] = match.group(1)
    named = sorted(p for p in partitions if p != "token_usage_default")
    return dict(partitions=named + [p for p in partitions if p == "token_usage_default"], budgets=budgets)


def run(module, db):
    params = module.params
    with checking_input("kpi_maintenance"):
        validate(params)

    with db.step("look up kpi_run_maintenance()"):
        present = db.read_one("SELECT to_regprocedure('kpi_run_maintenance(integer, integer, text, text, boolean, boolean)') IS NOT NULL AS present")["present"]
    if not present:
        if module.check_mode:
            db.abort()
            module.warn("function kpi_run_maintenance() does not exist yet; check mode plans nothing (kpi_schema creates it with maintenance.sql)")
            return dict(changed=False, actions=[], created_partitions=[], detached_partitions=[], rolled_over_budgets=[], partitions=[], queries=db.queries)
        raise KpiError(
            "kpi_maintenance: function kpi_run_maintenance() is missing in database %s; apply the "
            "schema (files/sql/maintenance.sql and the migrations) with kpi_schema first" % params["login_db"]
        )

    call = "SELECT action, object, detail FROM kpi_run_maintenance(%s, %s, %s, %s, %s, %s)"
    args = (params["keep_months"], params["months_ahead"], params["retention_action"], params["archive_schema"], params["budget_rollover"], module.check_mode)
    with db.step("run the KPI maintenance (kpi_run_maintenance)"):
        before = read_state(db)
        db.record(call, args)
        actions = db.read(call, args)
        after = read_state(db) if not module.check_mode else planned_state(before, actions)
        db.finish()

    def names(*kinds):
        return [a["object"] for a in actions if a["action"] in kinds]

    return with_diff(
        module,
        before,
        after,
        changed=bool(actions),
        actions=actions,
        created_partitions=names("create partition"),
        detached_partitions=names("archive partition", "drop partition"),
        rolled_over_budgets=names("roll over budget"),
        partitions=after["partitions"],
        queries=db.queries,
    )


def main():
    options = dict(
        keep_months=dict(type="int", default=0),
        months_ahead=dict(type="int", default=3),
        retention_action=dict(type="str", choices=["archive", "drop"], default="archive"),
        archive_schema=dict(type="str", default="kpi_archive"),
        budget_rollover=dict(type="bool", default=True),
    )
    module = kpi_module(options)
    run_module(module, run)


if __name__ == "__main__":
    main()

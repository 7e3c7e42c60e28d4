#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kpi_token_budget
short_description: Manage AI token budgets in the KPI database
version_added: 0.1.0
description:
  - Creates, updates or removes one row of C(token_budgets), read by the C(v_budget_utilization) view,
    the budget gauge and the budget alert.
  - Options left out keep their current value on an existing budget.
  - With O(rollover=true) the budget's period moves to the period containing today (the database's
    C(CURRENT_DATE)) for its O(budget_type), the spec's monthly maintenance step. It reports a change only
    when the period actually moved.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.kpi_postgres
options:
  name:
    description:
      - Budget name (C(budget_name), unique).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the budget, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  provider:
    description:
      - Provider the budget covers, for example V(anthropic). Left empty on a new budget it covers all providers.
    type: str
  budget_type:
    description:
      - Length of the budget period. Required when the budget does not exist yet.
    type: str
    choices: [daily, weekly, monthly]
  token_limit:
    description:
      - Tokens allowed in one period. Must be greater than 0 and at most 9223372036854775807 (column type bigint).
    type: int
  cost_limit_usd:
    description:
      - Spend allowed in one period, in USD. Must be greater than 0 and below 10000000000 (column type
        C(numeric(14,4))). Rounded and compared at 4 decimals.
    type: float
  alert_threshold_pct:
    description:
      - Utilisation percentage (above 0, at most 100) at which the budget counts as at risk.
    type: float
  period_start:
    description:
      - First day of the period, V(YYYY-MM-DD). When neither O(period_start) nor O(period_end) is given, a new
        budget gets the period containing today (day; ISO week Monday to Sunday; calendar month).
    type: str
  period_end:
    description:
      - Last day of the period, V(YYYY-MM-DD). Not before O(period_start).
    type: str
  rollover:
    description:
      - Move the period to the one containing today. Cannot be combined with O(period_start)/O(period_end).
    type: bool
    default: false
  active:
    description:
      - Whether the budget is active (C(is_active)); inactive budgets are not shown on the dashboard.
    type: bool
"""

EXAMPLES = r"""
- name: Anthropic monthly budget for the current month
  cx_catalyst.kpi_dashboard.kpi_token_budget:
    login_host: db.example.com
    login_db: support_system
    login_user: kpi_admin
    login_password: "{{ vault_kpi_admin_password }}"
    name: Anthropic Monthly
    provider: anthropic
    budget_type: monthly
    token_limit: 15000000
    cost_limit_usd: 4500.00

- name: Monthly maintenance, move the budget to the current month
  cx_catalyst.kpi_dashboard.kpi_token_budget:
    login_db: support_system
    name: Anthropic Monthly
    rollover: true

- name: Remove a budget
  cx_catalyst.kpi_dashboard.kpi_token_budget:
    login_db: support_system
    name: Old Budget
    state: absent
"""

RETURN = r"""
budget:
  description: The budget after the run (as it would be in check mode); empty when absent.
  returned: always
  type: dict
  sample: {"budget_name": "Anthropic Monthly", "provider": "anthropic", "budget_type": "monthly",
           "token_limit": 15000000, "cost_limit_usd": 4500, "alert_threshold_pct": 80,
           "period_start": "2026-01-01", "period_end": "2026-01-31", "is_active": true}
changed_fields:
  description: Columns that differ(ed) from the stored budget.
  returned: always
  type: list
  elements: str
  sample: ["token_limit", "period_start", "period_end"]
queries:
  description: SQL run, or in check mode that would run, with values filled in.
  returned: always
  type: list
  elements: str
  sample: ["UPDATE token_budgets SET token_limit = 15000000, updated_at = now() WHERE budget_id = 1"]
"""

import datetime

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import (
    MONEY_QUANTUM,
    checking_input,
    differing_fields,
    jsonable,
    kpi_module,
    parse_date,
    run_module,
    to_decimal,
    with_diff,
)

COLUMNS = ("budget_name", "provider", "budget_type", "token_limit", "cost_limit_usd", "alert_threshold_pct", "period_start", "period_end", "is_active")
PCT_QUANTUM = to_decimal("0.01", "quantum")
BIGINT_MAX = 2**63 - 1


def period_containing(day, budget_type):
    """(first, last) day of the daily/weekly (ISO, Monday first)/monthly period that contains ``day``."""
    if budget_type == "daily":
        return day, day
    if budget_type == "weekly":
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=6)
    start = day.replace(day=1)
    next_month = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, next_month - datetime.timedelta(days=1)


def validated_options(params):
    """Typed desired values from the options; ValueError naming the option when one is wrong."""
    opts = {}
    if params["token_limit"] is not None:
        if not 0 < params["token_limit"] <= BIGINT_MAX:
            raise ValueError("token_limit must be greater than 0 and at most %d (column type bigint), got %d" % (BIGINT_MAX, params["token_limit"]))
        opts["token_limit"] = params["token_limit"]
    if params["cost_limit_usd"] is not None:
        value = to_decimal(params["cost_limit_usd"], "cost_limit_usd", quantum=MONEY_QUANTUM, digits=(14, 4))
        if value <= 0:
            raise ValueError("cost_limit_usd must be greater than 0, got %s" % params["cost_limit_usd"])
        opts["cost_limit_usd"] = value
    if params["alert_threshold_pct"] is not None:
        value = to_decimal(params["alert_threshold_pct"], "alert_threshold_pct", quantum=PCT_QUANTUM, digits=(5, 2))
        if not 0 < value <= 100:
            raise ValueError("alert_threshold_pct must be above 0 and at most 100, got %s" % params["alert_threshold_pct"])
        opts["alert_threshold_pct"] = value
    if params["rollover"] and params["period_start"]:
        raise ValueError("rollover=true cannot be combined with period_start/period_end")
    start = parse_date(params["period_start"], "period_start")
    end = parse_date(params["period_end"], "period_end")
    if start and end:
        if end < start:
            raise ValueError("period_end (%s) must not be before period_start (%s)" % (end, start))
        opts["period_start"], opts["period_end"] = start, end
    for option, column in (("provider", "provider"), ("budget_type", "budget_type"), ("active", "is_active")):
        if params[option] is not None:
            opts[column] = params[option]
    return opts


def desired_budget(current, opts, params, today):
    """The complete row we want, from the stored row (or nothing) plus the options."""
    if current is None and not opts.get("budget_type"):
        raise ValueError("budget_type is required to create the budget %r (daily, weekly or monthly)" % params["name"])
    want = dict(current or {})
    want.update(opts)
    want["budget_name"] = params["name"]
    explicit_period = "period_start" in opts
    type_changed = current is not None and current["budget_type"] != want["budget_type"]
    if not explicit_period and (current is None or params["rollover"] or type_changed):
        want["period_start"], want["period_end"] = period_containing(today, want["budget_type"])
    return want


def run(module, db):
    params = module.params
    with checking_input("kpi_token_budget %s" % params["name"]):
        opts = validated_options(params)

    with db.step("read budget %s" % params["name"]):
        db.lock("token_budgets:%s" % params["name"])
        lock = "" if module.check_mode else " FOR UPDATE"
        current = (
            None
            if db.table_missing_in_check_mode("token_budgets")
            else db.read_one("SELECT budget_id, %s FROM token_budgets WHERE budget_name = %%s%s" % (", ".join(COLUMNS), lock), (params["name"],))
        )
        today = db.read_one("SELECT CURRENT_DATE AS today")["today"]
    budget_id = current.pop("budget_id") if current else None

    if params["state"] == "absent":
        want = None
        fields = list(COLUMNS) if current else []
        if current:
            with db.step("delete budget %s" % params["name"]):
                db.write("DELETE FROM token_budgets WHERE budget_id = %s", (budget_id,))
    else:
        with checking_input("kpi_token_budget %s" % params["name"]):
            want = desired_budget(current, opts, params, today)
        fields = differing_fields(current, dict((k, want.get(k)) for k in COLUMNS if k in want))
        with db.step("%s budget %s" % ("create" if current is None else "update", params["name"])):
            if current is None:
                cols = [c for c in COLUMNS if c in want and want[c] is not None]
                db.write("INSERT INTO token_budgets (%s) VALUES (%s)" % (", ".join(cols), ", ".join(["%s"] * len(cols))), [want[c] for c in cols])
            elif fields:
                db.write(
                    "UPDATE token_budgets SET %s, updated_at = now() WHERE budget_id = %%s" % ", ".join("%s = %%s" % c for c in fields),
                    [want[c] for c in fields] + [budget_id],
                )

    after = want
    with db.step("save budget %s" % params["name"]):
        if not module.check_mode and fields:
            after = db.read_one("SELECT %s FROM token_budgets WHERE budget_name = %%s" % ", ".join(COLUMNS), (params["name"],))
        db.finish()

    before_view = jsonable(current) if current else {}
    after_view = jsonable(dict((k, after.get(k)) for k in COLUMNS)) if after else {}
    return with_diff(module, before_view, after_view, budget=after_view, changed_fields=fields, queries=db.queries)


def main():
    options = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        provider=dict(type="str"),
        budget_type=dict(type="str", choices=["daily", "weekly", "monthly"]),
        token_limit=dict(type="int", no_log=False),
        cost_limit_usd=dict(type="float"),
        alert_threshold_pct=dict(type="float"),
        period_start=dict(type="str"),
        period_end=dict(type="str"),
        rollover=dict(type="bool", default=False),
        active=dict(type="bool"),
    )
    module = kpi_module(options, required_together=[("period_start", "period_end")])
    run_module(module, run)


if __name__ == "__main__":
    main()

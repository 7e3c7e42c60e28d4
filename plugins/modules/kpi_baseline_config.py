#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kpi_baseline_config
short_description: Set the baseline values the KPI savings and ROI figures are computed from
version_added: 0.1.0
description:
  - Upserts keys of C(baseline_config), for example C(manual_cost_per_case), C(hourly_support_cost),
    C(manual_minutes_per_case) and C(monthly_platform_cost).
  - Values are compared as numbers, so V(25), V(25.0) and the stored V(25.00) are the same and report no change.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.kpi_postgres
options:
  config:
    description:
      - Mapping of key to numeric value.
    type: dict
    required: true
  descriptions:
    description:
      - Optional mapping of key to a description stored with the value. Keys must also be in O(config).
    type: dict
    default: {}
  exclusive:
    description:
      - Delete the keys that are not in O(config). The KPI views need the four default keys, so only use this
        with a complete O(config).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Savings baselines
  cx_catalyst.kpi_dashboard.kpi_baseline_config:
    login_db: support_system
    login_password: "{{ vault_kpi_admin_password }}"
    config:
      manual_cost_per_case: 25.00
      hourly_support_cost: 40.00
      manual_minutes_per_case: 30
      monthly_platform_cost: 500.00
    descriptions:
      manual_cost_per_case: Fully loaded cost of a case handled without AI (USD)
"""

RETURN = r"""
config:
  description: All keys and values after the run (as they would be in check mode).
  returned: always
  type: dict
  sample: {"manual_cost_per_case": 25, "hourly_support_cost": 40, "manual_minutes_per_case": 30}
changed_keys:
  description: Keys created or updated (or that would be).
  returned: always
  type: list
  elements: str
  sample: ["hourly_support_cost"]
removed_keys:
  description: Keys deleted because of O(exclusive) (or that would be).
  returned: always
  type: list
  elements: str
  sample: []
queries:
  description: SQL run, or in check mode that would run, with values filled in.
  returned: always
  type: list
  elements: str
  sample: ["UPDATE baseline_config SET config_value = 45.0, updated_at = now() WHERE config_key = 'hourly_support_cost'"]
"""

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import (
    checking_input,
    jsonable,
    kpi_module,
    numbers_equal,
    run_module,
    to_decimal,
    with_diff,
)


def validated_config(params):
    """Desired {key: Decimal}; ValueError naming the key when a value is not a number."""
    config = {}
    for key, value in params["config"].items():
        key = to_text(key).strip()
        if not key:
            raise ValueError("config has an empty key")
        config[key] = to_decimal(value, "config.%s" % key)
    for key in params["descriptions"]:
        if key not in config:
            raise ValueError("descriptions.%s has no value in config" % key)
    return config


def run(module, db):
    params = module.params
    with checking_input("kpi_baseline_config"):
        config = validated_config(params)
    descriptions = dict((k, to_text(v)) for k, v in params["descriptions"].items())

    with db.step("read baseline_config"):
        db.lock("baseline_config")
        rows = (
            []
            if db.table_missing_in_check_mode("baseline_config")
            else db.read(
                "SELECT config_key, config_value, description FROM baseline_config ORDER BY config_key%s" % ("" if module.check_mode else " FOR UPDATE")
            )
        )
    current = dict((r["config_key"], r) for r in rows)

    changed_keys, removed_keys = [], []
    with db.step("write baseline_config"):
        for key in sorted(config):
            row = current.get(key)
            description = descriptions.get(key)
            if row is None:
                changed_keys.append(key)
                db.write(
                    "INSERT INTO baseline_config (config_key, config_value, description) VALUES (%s, %s, %s) "
                    "ON CONFLICT (config_key) DO UPDATE SET config_value = EXCLUDED.config_value, "
                    "description = COALESCE(EXCLUDED.description, baseline_config.description), "
                    "updated_at = now()",
                    (key, config[key], description),
                )
            elif not numbers_equal(row["config_value"], config[key]) or (description is not None and description != row["description"]):
                changed_keys.append(key)
                db.write(
                    "UPDATE baseline_config SET config_value = %s, description = COALESCE(%s, description), updated_at = now() WHERE config_key = %s",
                    (config[key], description, key),
                )
        if params["exclusive"]:
            removed_keys = sorted(set(current) - set(config))
            if removed_keys:
                db.write("DELETE FROM baseline_config WHERE config_key = ANY(%s)", (removed_keys,))
        if not module.check_mode and (changed_keys or removed_keys):
            rows = db.read("SELECT config_key, config_value, description FROM baseline_config ORDER BY config_key")
            after = dict((r["config_key"], r) for r in rows)
        else:
            after = dict(current)
            for key in removed_keys:
                after.pop(key)
            for key in changed_keys:
                after[key] = dict(config_key=key, config_value=config[key], description=descriptions.get(key, (current.get(key) or {}).get("description")))
        db.finish()

    def view(rows_by_key):
        return dict((k, jsonable(r["config_value"])) for k, r in sorted(rows_by_key.items()))

    def full_view(rows_by_key):
        return dict((k, dict(value=jsonable(r["config_value"]), description=r["description"])) for k, r in sorted(rows_by_key.items()))

    changed = full_view(current) != full_view(after)
    return with_diff(
        module,
        full_view(current),
        full_view(after),
        config=view(after),
        changed_keys=changed_keys if changed else [],
        removed_keys=removed_keys,
        queries=db.queries,
    )


def main():
    options = dict(
        config=dict(type="dict", required=True),
        descriptions=dict(type="dict", default={}),
        exclusive=dict(type="bool", default=False),
    )
    module = kpi_module(options)
    run_module(module, run)


if __name__ == "__main__":
    main()

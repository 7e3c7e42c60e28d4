#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kpi_api_pricing
short_description: Manage AI API prices in the KPI database, keeping their history
version_added: 0.1.0
description:
  - Sets the current price of one provider and model in C(api_pricing), used to cost token usage.
  - A price change keeps history, as the spec describes - the old row is kept with C(is_current=false) and a new
    row takes effect from O(effective_from). Token usage is priced with the row in effect at its time, so past
    costs do not change.
  - The same price again is no change, whatever O(effective_from) says.
  - A second change with the same O(effective_from) as the current row corrects that row in place.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.kpi_postgres
options:
  provider:
    description:
      - API provider, for example V(anthropic) or V(openai).
    type: str
    required: true
  model:
    description:
      - Model name, for example V(claude-sonnet-4).
    type: str
    required: true
  input_price_per_million:
    description:
      - USD per million input tokens, 0 or more and below 1000000 (column type C(numeric(12,6))); rounded and
        compared at 6 decimals. Required with O(state=present).
    type: float
  output_price_per_million:
    description:
      - USD per million output tokens, 0 or more and below 1000000 (column type C(numeric(12,6))); rounded and
        compared at 6 decimals. Required with O(state=present).
    type: float
  cache_write_price_per_million:
    description:
      - USD per million prompt-cache write tokens (Anthropic's cache creation), 0 or more and below 1000000.
      - Omitted, it is not compared, and a new price row has none, so the database prices cache writes at the
        input price (the conservative upper bound). Needs migration C(0020-token-tracking.sql).
    type: float
    version_added: 0.2.0
  cache_read_price_per_million:
    description:
      - USD per million prompt-cache read tokens, 0 or more and below 1000000. Omitted, as for
        O(cache_write_price_per_million).
    type: float
    version_added: 0.2.0
  effective_from:
    description:
      - Day the new price takes effect, V(YYYY-MM-DD) (midnight in the database's time zone). Defaults to today
        (the database's C(CURRENT_DATE)). Must not be before the current price's day.
    type: str
  state:
    description:
      - V(present) makes the given price the current one. V(absent) retires the current price (C(is_current=false));
        history rows are never deleted.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: New Claude Sonnet prices from February
  cx_catalyst.kpi_dashboard.kpi_api_pricing:
    login_db: support_system
    login_password: "{{ vault_kpi_admin_password }}"
    provider: anthropic
    model: claude-sonnet-4
    input_price_per_million: 2.50
    output_price_per_million: 12.50
    effective_from: "2026-02-01"
"""

RETURN = r"""
pricing:
  description: The current price row after the run (as it would be in check mode); empty when retired.
  returned: always
  type: dict
  sample: {"provider": "anthropic", "model": "claude-sonnet-4", "input_price_per_million": 2.5,
           "output_price_per_million": 12.5, "effective_from": "2026-02-01T00:00:00+00:00"}
action:
  description: What was (or would be) done, V(none), V(created), V(superseded) (history kept), V(corrected)
    (same day, updated in place) or V(retired).
  returned: always
  type: str
  sample: superseded
queries:
  description: SQL run, or in check mode that would run, with values filled in.
  returned: always
  type: list
  elements: str
  sample: ["UPDATE api_pricing SET is_current = false WHERE pricing_id = 3"]
"""

from decimal import Decimal

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import (
    checking_input,
    differing_fields,
    jsonable,
    kpi_module,
    parse_date,
    run_module,
    to_decimal,
    with_diff,
)

PRICE_QUANTUM = Decimal("0.000001")
PRICES = ("input_price_per_million", "output_price_per_million")
CACHE_PRICES = ("cache_write_price_per_million", "cache_read_price_per_million")
SHOWN = ("provider", "model") + PRICES + ("effective_from",)


def validated_prices(params):
    """Desired prices as Decimals; ValueError naming the option when missing or negative."""
    prices = {}
    for option in PRICES:
        if params[option] is None:
            if params["state"] == "present":
                raise ValueError("%s is required with state=present" % option)
            continue
        prices[option] = to_decimal(params[option], option, minimum=0, quantum=PRICE_QUANTUM, digits=(12, 6))
    for option in CACHE_PRICES:  # optional: only the ones given are managed
        if params.get(option) is not None:
            prices[option] = to_decimal(params[option], option, minimum=0, quantum=PRICE_QUANTUM, digits=(12, 6))
    return prices


def run(module, db):
    params = module.params
    what = "%s/%s" % (params["provider"], params["model"])
    with checking_input("kpi_api_pricing %s" % what):
        prices = validated_prices(params)
        effective_day = parse_date(params["effective_from"], "effective_from")

    shown = SHOWN + tuple(c for c in CACHE_PRICES if c in prices)
    columns = [c for c in PRICES + CACHE_PRICES if c in prices]  # the price columns this run writes
    key = (params["provider"], params["model"])
    with db.step("read the price of %s" % what):
        db.lock("api_pricing:%s" % what)
        missing = db.table_missing_in_check_mode("api_pricing")
        current = (
            None
            if missing
            else db.read_one(
                "SELECT pricing_id, %s FROM api_pricing WHERE provider = %%s AND model = %%s AND is_current%s"
                % (", ".join(shown), "" if module.check_mode else " FOR UPDATE"),
                key,
            )
        )
        # midnight of the day in the server's time zone, as the column stores it
        effective = db.read_one("SELECT COALESCE(%s::date, CURRENT_DATE)::timestamptz AS ts", (effective_day,))["ts"]
    current_id = current.pop("pricing_id") if current else None

    action, want = "none", current
    with checking_input("kpi_api_pricing %s" % what), db.step("set the price of %s" % what):
        if params["state"] == "absent":
            if current:
                action, want = "retired", None
                db.write("UPDATE api_pricing SET is_current = false WHERE pricing_id = %s", (current_id,))
        elif current is None or differing_fields(current, prices):
            want = dict(provider=params["provider"], model=params["model"], effective_from=effective, **prices)
            if current is not None and effective < current["effective_from"]:
                raise ValueError("effective_from %s is before the current price's effective_from %s" % (effective.date(), current["effective_from"].date()))
            same_day = (
                None
                if missing
                else db.read_one("SELECT pricing_id FROM api_pricing WHERE provider = %s AND model = %s AND effective_from = %s", key + (effective,))
            )
            if same_day:
                action = "corrected"
                if current is not None and current_id != same_day["pricing_id"]:
                    db.write("UPDATE api_pricing SET is_current = false WHERE pricing_id = %s", (current_id,))
                db.write(
                    "UPDATE api_pricing SET %s, is_current = true WHERE pricing_id = %%s" % ", ".join("%s = %%s" % c for c in columns),
                    tuple(prices[c] for c in columns) + (same_day["pricing_id"],),
                )
            else:
                action = "created" if current is None else "superseded"
                if current is not None:
                    db.write("UPDATE api_pricing SET is_current = false WHERE pricing_id = %s", (current_id,))
                db.write(
                    "INSERT INTO api_pricing (provider, model, %s, effective_from, is_current) "
                    "VALUES (%%s, %%s, %s, %%s, true)" % (", ".join(columns), ", ".join(["%s"] * len(columns))),
                    key + tuple(prices[c] for c in columns) + (effective,),
                )
        after = want
        if not module.check_mode and action != "none":
            after = db.read_one("SELECT %s FROM api_pricing WHERE provider = %%s AND model = %%s AND is_current" % ", ".join(shown), key)
        db.finish()

    before_view = jsonable(current) if current else {}
    after_view = jsonable(dict((k, after[k]) for k in shown)) if after else {}
    return with_diff(module, before_view, after_view, pricing=after_view, action=action, queries=db.queries)


def main():
    options = dict(
        provider=dict(type="str", required=True),
        model=dict(type="str", required=True),
        input_price_per_million=dict(type="float"),
        output_price_per_million=dict(type="float"),
        cache_write_price_per_million=dict(type="float"),
        cache_read_price_per_million=dict(type="float"),
        effective_from=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = kpi_module(options)
    run_module(module, run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_notification_policy
short_description: Manage the Grafana alerting notification policy tree
version_added: 0.1.0
description:
  - Sets the organisation's notification policy tree (root receiver, grouping, timing, child routes with matchers)
    through C(/api/v1/provisioning/policies). The tree is one object and is replaced as a whole.
  - The current and desired trees are compared after normalisation (matchers in one form, durations in seconds,
    empty and default fields dropped, C(provenance) ignored); a re-run sends one GET and reports C(changed=false).
  - O(state=absent) resets the tree to Grafana's default.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  receiver:
    description:
      - Contact point name that gets every alert no child route matches. Required with O(state=present).
    type: str
  group_by:
    description:
      - Labels alerts are grouped by at the root (for example C([grafana_folder, alertname])).
    type: list
    elements: str
  group_wait:
    description:
      - Root C(group_wait) duration, e.g. V(30s).
    type: str
  group_interval:
    description:
      - Root C(group_interval) duration, e.g. V(5m).
    type: str
  repeat_interval:
    description:
      - Root C(repeat_interval) duration, e.g. V(4h).
    type: str
  routes:
    description:
      - Child routes in Grafana's route format (C(receiver), C(object_matchers), C(continue), C(group_by),
        C(group_wait), C(group_interval), C(repeat_interval), C(mute_time_intervals), nested C(routes)).
      - Matchers may be given as C(object_matchers) (C([[label, op, value]])) or C(matchers)
        (C(["team=support", "severity=~warn|crit"])); both are normalised to C(object_matchers).
    type: list
    elements: dict
    default: []
  disable_provenance:
    description:
      - Send C(X-Disable-Provenance) so the tree stays editable in Grafana's UI.
    type: bool
    default: true
  state:
    description:
      - V(present) sets the tree; V(absent) resets it to Grafana's default.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Route KPI alerts
  cx_catalyst.kpi_dashboard.grafana_notification_policy:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    receiver: team-lead-email
    group_by: [grafana_folder, alertname]
    routes:
      - receiver: support-alerts-slack
        object_matchers: [[channel, "=", slack]]
      - receiver: team-lead-email
        matchers: ["severity=critical"]
        continue: true
"""

RETURN = r"""
policy:
  description: The normalised policy tree after the run.
  returned: always
  type: dict
receivers:
  description: Contact point names the tree refers to.
  returned: when O(state=present)
  type: list
  elements: str
diff:
  description: Normalised tree before and after.
  returned: when diff mode is on
  type: dict
"""

import re

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import grafana_module, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import deep_copy, duration_seconds, format_duration

PATH = "/api/v1/provisioning/policies"
DURATIONS = ("group_wait", "group_interval", "repeat_interval")
MATCHER_RE = re.compile(r"^\s*([^=!~\s]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
ROUTE_KEYS = (
    "receiver",
    "group_by",
    "object_matchers",
    "continue",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
    "routes",
)


class PolicyError(Exception):
    pass


def parse_matcher(item, where):
    if isinstance(item, (list, tuple)) and len(item) == 3:
        name, op, value = item
    elif isinstance(item, str) and MATCHER_RE.match(item):
        name, op, value = MATCHER_RE.match(item).groups()
        value = value.strip('"')
    elif isinstance(item, dict) and {"name", "type", "value"} <= set(item):
        name, op, value = item["name"], item["type"], item["value"]
    else:
        raise PolicyError("%s: matcher %r is not 'label=value' or [label, op, value]" % (where, item))
    if op not in ("=", "!=", "=~", "!~"):
        raise PolicyError("%s: matcher %r has unknown operator %r" % (where, item, op))
    return [str(name), op, str(value)]


def norm_route(route, where, root=False, strict=True):
    """Canonical route tree. ``strict=False`` (for the tree read from Grafana) ignores fields this module
    does not manage instead of failing on them."""
    if not isinstance(route, dict):
        raise PolicyError("%s is not a dict" % where)
    unknown = set(route) - set(ROUTE_KEYS) - {"matchers", "provenance", "object_matchers", "match", "match_re"}
    if unknown and strict:
        raise PolicyError("%s has unknown keys %s" % (where, sorted(unknown)))
    out = {}
    if route.get("receiver"):
        out["receiver"] = route["receiver"]
    elif root:
        raise PolicyError("the root route needs a receiver")
    matchers = [parse_matcher(m, where) for m in route.get("object_matchers") or []]
    matchers += [parse_matcher(m, where) for m in route.get("matchers") or []]
    matchers += [[k, "=", str(v)] for k, v in sorted((route.get("match") or {}).items())]
    matchers += [[k, "=~", str(v)] for k, v in sorted((route.get("match_re") or {}).items())]
    if matchers:
        out["object_matchers"] = matchers
    if route.get("group_by"):
        out["group_by"] = list(route["group_by"])
    if route.get("continue"):
        out["continue"] = True
    for key in DURATIONS:
        if route.get(key) not in (None, ""):
            try:
                out[key] = format_duration(duration_seconds(route[key]))
            except ValueError:
                raise PolicyError("%s: %s %r is not a duration" % (where, key, route[key]))
    for key in ("mute_time_intervals", "active_time_intervals"):
        if route.get(key):
            out[key] = list(route[key])
    children = [norm_route(r, "%s.routes[%d]" % (where, i), strict=strict) for i, r in enumerate(route.get("routes") or [])]
    if children:
        out["routes"] = children
    return out


def receivers(route, acc):
    if route.get("receiver"):
        acc.add(route["receiver"])
    for child in route.get("routes") or []:
        receivers(child, acc)
    return acc


def run(module, client):
    p = module.params
    headers = {"X-Disable-Provenance": "true"} if p["disable_provenance"] else None
    current = client.get(PATH, "read", "notification policy tree") or {}
    try:
        have = norm_route(current, "current tree", strict=False)
    except PolicyError:
        have = deep_copy(current)  # something unparsable: report it as different and replace it
    result = dict(changed=False, policy=have)

    if p["state"] == "absent":
        # Reset: DELETE returns the default tree. Treated as a change unless the tree is already the default
        # shape (a single root route without children, matchers or timing).
        is_default = not have.get("routes") and set(have) <= {"receiver", "group_by"}
        if not is_default:
            result["changed"] = True
            if not module.check_mode:
                reply = client.request("DELETE", PATH, "reset", "notification policy tree", headers=headers, expected=(200, 202, 204))
                result["policy"] = norm_route(reply, "default tree", strict=False) if isinstance(reply, dict) else {}
        if module._diff:
            result["diff"] = {"before": have, "after": result["policy"] if not module.check_mode else {}}
        return result

    spec = {"receiver": p["receiver"], "group_by": p["group_by"], "routes": p["routes"]}
    for key in DURATIONS:
        spec[key] = p[key]
    want = norm_route(spec, "policy", root=True)
    changed = want != have
    result.update(changed=changed, policy=want)
    if changed and not module.check_mode:
        client.request("PUT", PATH, "write", "notification policy tree", json_body=want, headers=headers, expected=(200, 202))
    if module._diff:
        result["diff"] = {"before": have, "after": want}
    result["receivers"] = sorted(receivers(want, set()))
    return result


def main():
    options = dict(
        receiver=dict(type="str"),
        group_by=dict(type="list", elements="str"),
        group_wait=dict(type="str"),
        group_interval=dict(type="str"),
        repeat_interval=dict(type="str"),
        routes=dict(type="list", elements="dict", default=[]),
        disable_provenance=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(options, required_if=[("state", "present", ["receiver"])])
    run_module(module, run, {PolicyError: "Invalid notification policy: %s"})


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_cloud_source_ips
short_description: Read Grafana Cloud's source IP ranges from its Allowlist API and keep the last good list
version_added: 0.2.0
description:
  - Reads one service's list from Grafana Cloud's Allowlist API (by default
    C(https://allowlists.<region>.grafana.net/v1/grafana)), checks the document (C(metadata.schemaVersion) C(v1),
    the region, the service, its C(direction), and that every entry is an IPv4 CIDR) and returns the CIDRs.
  - The list is stored in O(cache_path) as the last good list. An unreachable API, an error status, a malformed or
    empty answer, or a wrong direction fails the task and leaves the cache as it was, so a role that uses the result
    never deletes every rule because of a bad answer. The failure result carries the last good list in
    C(last_good_cidrs).
  - For the database firewall the relevant list is C(services.grafana) with direction C(egress-from-grafana), the
    addresses Grafana Cloud queries data sources from.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
attributes:
  diff_mode:
    support: full
    details: The diff shows the cached list before and after.
options:
  region:
    description:
      - The stack's region slug as shown on its instance-details page, for example C(prod-eu-west-2).
    type: str
    required: true
  service:
    description:
      - Service whose list is read.
    type: str
    default: grafana
  direction:
    description:
      - The direction the list must have.
    type: str
    choices: [egress-from-grafana, ingress-to-grafana]
    default: egress-from-grafana
  url:
    description:
      - Allowlist API URL for the service. Defaults to C(https://allowlists.<region>.grafana.net/v1/<service>).
    type: str
  cache_path:
    description:
      - File holding the last good list (JSON). Written only after a successful, valid answer that changed the list.
    type: path
    required: true
  timeout:
    description:
      - Seconds to wait for the API.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the API's TLS certificate.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Grafana Cloud's egress addresses for the stack's region
  cx_catalyst.kpi_dashboard.grafana_cloud_source_ips:
    region: prod-eu-west-2
    cache_path: /var/lib/grafana-cloud-allowlist/allowlist-prod-eu-west-2.json
  register: grafana_cloud
"""

RETURN = r"""
cidrs:
  description: The validated IPv4 CIDRs, sorted.
  returned: success
  type: list
  elements: str
  sample: [203.0.113.20/32]
added:
  description: CIDRs that are new compared with the cached list.
  returned: success
  type: list
  elements: str
removed:
  description: CIDRs of the cached list that the API no longer lists.
  returned: success
  type: list
  elements: str
url:
  description: The URL read.
  returned: always
  type: str
last_good_cidrs:
  description: The cached list (empty when there is none).
  returned: always
  type: list
  elements: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_allowlist import (
    AllowlistError,
    default_url,
    fetch,
    parse,
    read_cache,
    write_cache,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            region=dict(type="str", required=True),
            service=dict(type="str", default="grafana"),
            direction=dict(type="str", choices=["egress-from-grafana", "ingress-to-grafana"], default="egress-from-grafana"),
            url=dict(type="str"),
            cache_path=dict(type="path", required=True),
            timeout=dict(type="int", default=30),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    url = p["url"] or default_url(p["region"], p["service"])
    cache = read_cache(p["cache_path"]) or {}
    last_good = list(cache.get("cidrs") or [])
    try:
        cidrs = parse(fetch(module, url, p["timeout"]), p["service"], p["direction"], p["region"])
    except AllowlistError as exc:
        module.fail_json(
            msg="Grafana Cloud allow-list %s: %s. Nothing was changed; the last good list (%d CIDRs%s) "
            "in %s is kept." % (url, exc, len(last_good), ", fetched %s" % cache["fetched_at"] if cache.get("fetched_at") else "", p["cache_path"]),
            url=url,
            last_good_cidrs=last_good,
        )
    changed = cidrs != last_good
    result = dict(
        changed=changed, cidrs=cidrs, url=url, last_good_cidrs=last_good, added=sorted(set(cidrs) - set(last_good)), removed=sorted(set(last_good) - set(cidrs))
    )
    if changed and not module.check_mode:
        write_cache(
            p["cache_path"],
            {
                "cidrs": cidrs,
                "url": url,
                "service": p["service"],
                "region": p["region"],
                "direction": p["direction"],
                "fetched_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    if module._diff:
        result["diff"] = {"before": {"cidrs": last_good}, "after": {"cidrs": cidrs}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_service_account
short_description: Manage a Grafana service account and one of its tokens
version_added: 0.1.0
description:
  - Creates, updates (role, disabled) or deletes a Grafana service account identified by O(name).
  - With O(token_name), makes sure a token of that name exists. A new token's key is returned once in RV(token);
    Grafana never shows it again. If a token with that name exists, nothing is created, C(changed=false) and no key
    is returned.
  - The returned key is a secret. Register the result on a task with C(no_log) set to V(true) and store the key
    (for example in a vault) right away.
  - Needs Basic auth as a Grafana/organisation admin, or an admin service-account token.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  name:
    description:
      - Name of the service account (unique per organisation).
    type: str
    required: true
  role:
    description:
      - Organisation role of the service account.
    type: str
    choices: [Viewer, Editor, Admin, None]
    default: Viewer
  is_disabled:
    description:
      - Disable the service account (its tokens stop working).
    type: bool
    default: false
  token_name:
    description:
      - Name of a token that must exist for the account.
    type: str
  token_seconds_to_live:
    description:
      - Lifetime of a newly created token in seconds. Unset or V(0) means no expiry (unless Grafana enforces one).
    type: int
  state:
    description:
      - V(present) creates or updates; V(absent) deletes the account and its tokens.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Service account for the KPI automation, with a token
  cx_catalyst.kpi_dashboard.grafana_service_account:
    url: https://grafana.example.com
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    name: cx-kpi-automation
    role: Editor
    token_name: ansible
  register: __sa
  no_log: true

- name: Keep the token (shown only once)
  ansible.builtin.copy:
    content: "{{ __sa.token }}"
    dest: /root/.grafana-kpi-token
    mode: "0600"
  when: __sa.token is defined
  no_log: true
"""

RETURN = r"""
service_account:
  description: The service account (id, uid, name, login, role, isDisabled); empty when absent.
  returned: always
  type: dict
token:
  description: Key of the token created by this run. Secret; shown only once.
  returned: when a token was created (never in check mode)
  type: str
token_created:
  description: Whether a token was (or in check mode would be) created.
  returned: always
  type: bool
diff:
  description: Role, disabled flag and token names before and after (never a key).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import grafana_module, path_quote, run_module

SA = "/api/serviceaccounts"


def find_account(client, name):
    page, found = 1, None
    while True:
        reply = client.get(SA + "/search", "search", "service account '%s'" % name, params={"query": name, "perpage": 100, "page": page}) or {}
        items = reply.get("serviceAccounts") or []
        for item in items:
            if item.get("name") == name:
                found = item
        if found or len(items) < 100:
            return found
        page += 1


def view(account, tokens):
    if not account:
        return {}
    return {"name": account.get("name"), "role": account.get("role"), "is_disabled": bool(account.get("isDisabled")), "tokens": sorted(tokens)}


def run(module, client):
    p = module.params
    name = p["name"]
    obj = "service account '%s'" % name
    account = find_account(client, name)
    result = dict(changed=False, token_created=False, service_account=account or {})
    tokens = []
    if account is not None and (p["token_name"] or module._diff):
        tokens = [t.get("name") for t in client.get("%s/%s/tokens" % (SA, path_quote(account["id"])), "list tokens of", obj, want=list) or []]

    if p["state"] == "absent":
        if account is not None:
            result.update(changed=True, service_account={})
            if not module.check_mode:
                client.request("DELETE", "%s/%s" % (SA, path_quote(account["id"])), "delete", obj, missing_ok=True)
        if module._diff:
            result["diff"] = {"before": view(account, tokens), "after": {}}
        return result

    want = {"name": name, "role": p["role"], "is_disabled": p["is_disabled"], "tokens": sorted(set(tokens) | ({p["token_name"]} if p["token_name"] else set()))}
    before = view(account, tokens)
    if account is None:
        result["changed"] = True
        if not module.check_mode:
            account = client.request(
                "POST", SA, "create", obj, expected=(200, 201), json_body={"name": name, "role": p["role"], "isDisabled": p["is_disabled"]}
            )
        else:
            account = {"name": name, "role": p["role"], "isDisabled": p["is_disabled"]}
    elif account.get("role") != p["role"] or bool(account.get("isDisabled")) != p["is_disabled"]:
        result["changed"] = True
        if not module.check_mode:
            reply = (
                client.request("PATCH", "%s/%s" % (SA, path_quote(account["id"])), "update", obj, json_body={"role": p["role"], "isDisabled": p["is_disabled"]})
                or {}
            )
            account = reply.get("serviceaccount") or dict(account, role=p["role"], isDisabled=p["is_disabled"])
        else:
            account = dict(account, role=p["role"], isDisabled=p["is_disabled"])
    result["service_account"] = account

    if p["token_name"] and p["token_name"] not in tokens:
        result.update(changed=True, token_created=True)
        if not module.check_mode:
            body = {"name": p["token_name"]}
            if p["token_seconds_to_live"]:
                body["secondsToLive"] = p["token_seconds_to_live"]
            reply = (
                client.request("POST", "%s/%s/tokens" % (SA, path_quote(account["id"])), "create token '%s' of" % p["token_name"], obj, json_body=body) or {}
            )
            result["token"] = reply.get("key")
    if module._diff:
        result["diff"] = {"before": before, "after": want}
    return result


def main():
    options = dict(
        name=dict(type="str", required=True),
        role=dict(type="str", choices=["Viewer", "Editor", "Admin", "None"], default="Viewer"),
        is_disabled=dict(type="bool", default=False),
        token_name=dict(type="str", no_log=False),
        token_seconds_to_live=dict(type="int", no_log=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(options)
    run_module(module, run)


if __name__ == "__main__":
    main()

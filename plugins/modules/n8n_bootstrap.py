#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: n8n_bootstrap
short_description: Give a brand-new n8n its owner account and an API key, written to a file and never printed
version_added: 0.2.0
description:
  - n8n has no setting and no CLI command that creates an API key. This module takes the path n8n's own editor
    takes, through n8n's REST API (C(/rest)) - 1. C(POST /rest/owner/setup) while the instance has no owner yet;
    2. C(POST /rest/login) as the owner (once per run); 3. C(GET /rest/api-keys/scopes) and
    C(POST /rest/api-keys), whose answer holds the new key once.
  - The key is written to O(api_key_file) (mode 0600, written atomically) on the host that runs the module and is
    never returned, logged or shown in a diff. Later tasks read it from there (with C(no_log)).
  - "Idempotent: an instance that has an owner keeps it (the owner's password is only used to log in), and an
    existing O(api_key_file) whose key the public API accepts is kept; otherwise a new key is made and the file
    replaced. n8n allows one key per label, so an earlier key with the label O(api_key_label) (whose value is lost)
    is deleted first."
  - The session cookie n8n sets is sent back explicitly, so this also works over plain http on loopback with n8n's
    default C(N8N_SECURE_COOKIE=true).
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
options:
  url:
    description:
      - Base URL of the n8n instance, for example C(http://127.0.0.1:5678).
    type: str
    required: true
    aliases: [n8n_url]
  owner_email:
    description:
      - E-mail address (login) of the owner account.
    type: str
    required: true
  owner_password:
    description:
      - Password of the owner account. n8n requires 8 to 64 characters with at least one digit and one upper-case
        letter.
    type: str
    required: true
  owner_first_name:
    description:
      - First name of a new owner.
    type: str
    default: KPI
  owner_last_name:
    description:
      - Last name of a new owner.
    type: str
    default: Admin
  api_key_file:
    description:
      - File the API key is kept in (created with mode 0600; its directory must exist).
    type: path
    required: true
  api_key_label:
    description:
      - Label of a new API key in n8n (1 to 50 characters).
    type: str
    default: cx_kpi_dashboard
  api_key_scopes:
    description:
      - Scopes of a new API key. Default every scope the owner may grant (read from n8n).
    type: list
    elements: str
  validate_certs:
    description:
      - Verify the TLS certificate of n8n.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) used to verify n8n's TLS certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for n8n to connect and to answer each request.
    type: int
    default: 30
  retries:
    description:
      - How many times a failed read is retried (writes are not), with exponential backoff.
    type: int
    default: 3
notes:
  - n8n allows 5 logins per minute per account; the module logs in at most once per run.
  - Give the key file to later tasks with C(lookup('ansible.builtin.file', path)) and C(no_log=true).
"""

EXAMPLES = r"""
- name: Owner and first API key of a fresh n8n
  cx_catalyst.kpi_dashboard.n8n_bootstrap:
    url: http://127.0.0.1:5678
    owner_email: admin@example.com
    owner_password: "{{ vault_n8n_owner_password }}"
    api_key_file: /etc/kpi-dashboard/n8n-api-key

- name: Use it
  cx_catalyst.kpi_dashboard.n8n_workflow:
    url: http://127.0.0.1:5678
    api_key: "{{ lookup('ansible.builtin.file', '/etc/kpi-dashboard/n8n-api-key') }}"
    name: Log Token Usage
    src: files/n8n/log-token-usage-workflow.json
    published: true
"""

RETURN = r"""
owner_created:
  description: Whether the owner account was (or in check mode would be) set up.
  returned: always
  type: bool
api_key_created:
  description: Whether a new API key was (or would be) created and written to O(api_key_file).
  returned: always
  type: bool
api_key_file:
  description: Path of the key file (the key itself is never returned).
  returned: always
  type: str
diff:
  description: State of the owner account and the key file before and after (never the key).
  returned: when diff mode is on
  type: dict
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._n8n_client import N8nError, path_quote, run_module

AUTH_COOKIE = "n8n-auth"


def rest_data(body):
    return body.get("data") if isinstance(body, dict) and "data" in body else body


def read_key_file(path):
    try:
        with open(path, "r") as fh:
            return fh.read().strip() or None
    except (IOError, OSError):
        return None


def key_works(client, key):
    """True when the public API accepts ``key`` (one cheap read)."""
    resp = client.session.request("GET", client.base_url + "/api/v1/workflows", params={"limit": 1}, headers={"X-N8N-API-KEY": key}, timeout=client.timeout)
    client.request_count += 1
    if resp.status_code == 200:
        return True
    if resp.status_code in (401, 403):
        return False
    raise N8nError(client.scrub("n8n: failed to check the API key in %s: HTTP %s" % (client.module.params["api_key_file"], resp.status_code)))


def write_key_file(path, key):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".n8n-api-key.", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def login(client, p):
    resp = client.session.request(
        "POST", client.base_url + "/rest/login", timeout=client.timeout, json={"emailOrLdapLoginId": p["owner_email"], "password": p["owner_password"]}
    )
    client.request_count += 1
    if resp.status_code != 200:
        detail = client._decode(resp)
        raise N8nError(
            client._fail_msg(
                "log in as", "owner '%s'" % p["owner_email"], resp.status_code, (detail or {}).get("message") if isinstance(detail, dict) else "", 1
            )
        )
    cookie = resp.cookies.get(AUTH_COOKIE)
    if not cookie:
        raise N8nError("n8n: logging in as owner '%s' gave no session cookie" % p["owner_email"])
    client.add_secret(cookie)
    # sent explicitly: requests would not send back a Secure cookie over http
    client.session.headers["Cookie"] = "%s=%s" % (AUTH_COOKIE, cookie)


def run(module, client):
    p = module.params
    result = dict(changed=False, owner_created=False, api_key_created=False, api_key_file=p["api_key_file"])
    owner = "owner '%s'" % p["owner_email"]
    client.add_secret(p["owner_password"])
    settings = rest_data(client.request("GET", "/rest/settings", "read", "the instance settings", api=False)) or {}
    needs_owner = bool((settings.get("userManagement") or {}).get("showSetupOnFirstLoad"))

    key = read_key_file(p["api_key_file"])
    if key:
        client.add_secret(key)
    key_ok = bool(key) and not needs_owner and key_works(client, key)
    result.update(owner_created=needs_owner, api_key_created=not key_ok)
    result["changed"] = needs_owner or not key_ok
    if module._diff:
        result["diff"] = {
            "before": {"owner": "missing" if needs_owner else "set up", "api_key_file": "valid key" if key_ok else ("rejected key" if key else "missing")},
            "after": {"owner": "set up", "api_key_file": "valid key"},
        }
    if module.check_mode or not result["changed"]:
        return result

    if needs_owner:
        body = rest_data(
            client.request(
                "POST",
                "/rest/owner/setup",
                "set up",
                owner,
                api=False,
                json_body={"email": p["owner_email"], "firstName": p["owner_first_name"], "lastName": p["owner_last_name"], "password": p["owner_password"]},
            )
        )
        if not isinstance(body, dict) or body.get("email", "").lower() != p["owner_email"].lower():
            raise N8nError("n8n: setting up %s gave an unexpected answer" % owner)
    login(client, p)
    scopes = p["api_key_scopes"]
    if not scopes:
        scopes = rest_data(client.request("GET", "/rest/api-keys/scopes", "read", "the API key scopes of " + owner, api=False))
        if not isinstance(scopes, list) or not scopes:
            raise N8nError("n8n: %s may grant no API key scopes (is the public API disabled?)" % owner)
    # n8n refuses a second key with the same label; a key of ours whose value is lost (no file, or the file's
    # key was rejected) is deleted and made anew
    listed = rest_data(client.request("GET", "/rest/api-keys", "list", "the API keys of " + owner, api=False))
    items = listed.get("items", []) if isinstance(listed, dict) else (listed or [])
    for old in items:
        if isinstance(old, dict) and old.get("label") == p["api_key_label"] and old.get("id"):
            client.request(
                "DELETE", "/rest/api-keys/%s" % path_quote(old["id"]), "delete", "the old API key '%s' of %s" % (p["api_key_label"], owner), api=False
            )
    created = rest_data(
        client.request(
            "POST",
            "/rest/api-keys",
            "create",
            "an API key for " + owner,
            api=False,
            json_body={"label": p["api_key_label"], "scopes": scopes, "expiresAt": None},
        )
    )
    new_key = created.get("rawApiKey") if isinstance(created, dict) else None
    if not new_key:
        raise N8nError("n8n: creating an API key for %s gave no key" % owner)
    client.add_secret(new_key)
    try:
        write_key_file(p["api_key_file"], new_key)
    except (IOError, OSError) as exc:
        raise N8nError("n8n: cannot write the API key file %s: %s" % (p["api_key_file"], exc.strerror or exc))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True, aliases=["n8n_url"]),
            owner_email=dict(type="str", required=True),
            owner_password=dict(type="str", required=True, no_log=True),
            owner_first_name=dict(type="str", default="KPI"),
            owner_last_name=dict(type="str", default="Admin"),
            api_key_file=dict(type="path", required=True, no_log=False),
            api_key_label=dict(type="str", default="cx_kpi_dashboard", no_log=False),
            api_key_scopes=dict(type="list", elements="str", no_log=False),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            timeout=dict(type="int", default=30),
            retries=dict(type="int", default=3),
        ),
        supports_check_mode=True,
    )
    if not 1 <= len(module.params["api_key_label"]) <= 50:
        module.fail_json(msg="api_key_label must be 1 to 50 characters long")
    run_module(module, run)


if __name__ == "__main__":
    main()

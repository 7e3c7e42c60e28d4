#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_contact_point
short_description: Manage a Grafana alerting contact point (Slack webhook or e-mail)
version_added: 0.1.0
description:
  - Creates, updates or deletes one Grafana-managed alerting contact point through the alerting provisioning API
    (C(/api/v1/provisioning/contact-points)).
  - The contact point is identified by O(uid); without a uid it is found by O(name).
  - Grafana redacts secret settings (the Slack webhook URL) when it returns a contact point. To notice a changed
    secret without sending it on every run, a salted PBKDF2-SHA256 hash of the desired secrets is kept in the
    non-secret setting C(cxSecretHash); a re-run with the same webhook reports C(changed=false).
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  name:
    description:
      - Name of the contact point, used by notification policies (C(receiver)).
    type: str
    required: true
  uid:
    description:
      - Uid of the contact point (its identity). Recommended; without it the contact point is found by O(name).
    type: str
  type:
    description:
      - Integration type. V(slack) and V(email) have options of their own; other types take O(settings)
        and O(secure_settings).
    type: str
    default: slack
  slack_url:
    description:
      - Slack incoming-webhook URL (secret). Required for a new V(slack) contact point unless O(secure_settings)
        has C(url) or C(token).
      - Checked before any request - an C(https://) URL with a host name, no spaces, no credentials - and only
        allowed with O(type=slack); the error never shows the value.
    type: str
  slack_recipient:
    description:
      - Channel or user to post to, e.g. C(#support-alerts).
    type: str
  slack_username:
    description:
      - User name the message is posted as.
    type: str
  slack_title:
    description:
      - Message title template.
    type: str
  slack_text:
    description:
      - Message body template.
    type: str
  email_addresses:
    description:
      - Recipients of an V(email) contact point.
    type: list
    elements: str
  email_single:
    description:
      - Send one e-mail to all recipients instead of one per recipient.
    type: bool
  email_subject:
    description:
      - Subject template of the e-mail.
    type: str
  settings:
    description:
      - Further (non-secret) settings of the integration. The typed options above win.
    type: dict
  secure_settings:
    description:
      - Secret settings of the integration (for example C(token) for Slack bot tokens). Never logged or returned;
        drift detected through the salted hash.
    type: dict
  disable_resolve_message:
    description:
      - Do not send a message when the alert resolves.
    type: bool
    default: false
  disable_provenance:
    description:
      - Send C(X-Disable-Provenance) so the contact point stays editable in Grafana's UI.
      - A contact point created with one setting cannot be changed with the other (Grafana refuses provenance changes).
    type: bool
    default: true
  state:
    description:
      - V(present) creates or updates; V(absent) deletes.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Slack channel for KPI alerts
  cx_catalyst.kpi_dashboard.grafana_contact_point:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: support-alerts-slack
    uid: cx-slack
    type: slack
    slack_url: "{{ kpi_slack_webhook }}"
    slack_recipient: "#support-alerts"

- name: E-mail the team lead
  cx_catalyst.kpi_dashboard.grafana_contact_point:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: team-lead-email
    uid: cx-email
    type: email
    email_addresses: [lead@example.com]
"""

RETURN = r"""
uid:
  description: Uid of the contact point.
  returned: always
  type: str
contact_point:
  description: The contact point as Grafana returns it (secrets redacted by Grafana and by the module).
  returned: always
  type: dict
secret_changed:
  description: Whether the secrets given differ from the stored ones (and were sent).
  returned: always
  type: bool
diff:
  description: Managed fields before and after; secret settings appear only as C(secrets) V(changed) or V(unchanged).
  returned: when diff mode is on
  type: dict
"""

import re
from urllib.parse import urlsplit

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, check_uid, grafana_module, path_quote, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import deep_copy, secret_hash, secret_hash_matches
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._http import REDACTED

BASE = "/api/v1/provisioning/contact-points"
HASH_KEY = "cxSecretHash"
# Settings Grafana stores encrypted and returns as "[REDACTED]" (per integration type).
SECURE_KEYS = {
    "slack": ("url", "token"),
    "email": (),
    "webhook": ("password", "authorization_credentials"),
    "teams": ("url",),
    "discord": ("url",),
    "pagerduty": ("integrationKey",),
    "telegram": ("bottoken",),
    "opsgenie": ("apiKey",),
    "googlechat": ("url",),
}
TYPED = {
    "slack": (("slack_recipient", "recipient"), ("slack_username", "username"), ("slack_title", "title"), ("slack_text", "text")),
    "email": (("email_single", "singleEmail"), ("email_subject", "subject")),
}


def slack_url_problem(value, ptype):
    """Why ``value`` is not a usable Slack webhook URL (None when it is); never quotes the value."""
    if value is None:
        return None
    if ptype != "slack":
        return "only applies to type slack (type is %s)" % ptype
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname or re.search(r"\s", value):
        return "must be an https:// URL with a host name and no spaces (a Slack incoming-webhook URL such as https://hooks.slack.com/services/T.../B.../...)"
    if parts.username or parts.password:
        return "must not contain credentials before the host name"
    return None


def desired_secrets(p):
    secrets = dict((k, str(v)) for k, v in (p["secure_settings"] or {}).items() if v is not None)
    if p["slack_url"]:
        secrets["url"] = p["slack_url"]
    return secrets


def desired_settings(p):
    settings = deep_copy(p["settings"] or {})
    for option, key in TYPED.get(p["type"], ()):
        if p[option] is not None:
            settings[key] = p[option]
    if p["type"] == "email" and p["email_addresses"] is not None:
        settings["addresses"] = ";".join(p["email_addresses"])
    return settings


def public_settings(settings, ptype):
    """Settings without secret values and without the hash: what is compared and shown."""
    secure = set(SECURE_KEYS.get(ptype, ()))
    out = {}
    for key, value in (settings or {}).items():
        if key == HASH_KEY or key in secure or value == "[REDACTED]":
            continue
        out[key] = value
    if ptype == "email" and isinstance(out.get("addresses"), str):
        out["addresses"] = [a.strip() for a in re.split(r"[;,\n]", out["addresses"]) if a.strip()]
    return out


def find(client, uid, name):
    items = client.get(BASE, "read", "contact points named '%s'" % name, params={"name": name}, want=list) or []
    if uid:
        # the name filter finds it unless it is being renamed; then list all once
        match = [c for c in items if c.get("uid") == uid]
        if not match:
            match = [c for c in client.get(BASE, "read", "contact points", want=list) or [] if isinstance(c, dict) and c.get("uid") == uid]
        return match[0] if match else None
    match = [c for c in items if c.get("name") == name]
    if len(match) > 1:
        raise GrafanaError("Grafana: contact point name '%s' has %d integrations; set uid to pick one" % (name, len(match)))
    return match[0] if match else None


def view(cp):
    if not cp:
        return {}
    return {
        "uid": cp.get("uid"),
        "name": cp.get("name"),
        "type": cp.get("type"),
        "disableResolveMessage": bool(cp.get("disableResolveMessage")),
        "settings": public_settings(cp.get("settings"), cp.get("type")),
    }


def run(module, client):
    p = module.params
    headers = {"X-Disable-Provenance": "true"} if p["disable_provenance"] else None
    secrets = desired_secrets(p)
    for value in secrets.values():
        client.add_secret(value)
    current = find(client, p["uid"], p["name"])
    obj = "contact point '%s'" % p["name"]
    result = dict(changed=False, uid=(current or {}).get("uid") or p["uid"], secret_changed=False, contact_point=redact(current))

    if p["state"] == "absent":
        if current is not None:
            result.update(changed=True, contact_point={})
            if not module.check_mode:
                client.request(
                    "DELETE", "%s/%s" % (BASE, path_quote(current["uid"])), "delete", obj, headers=headers, expected=(200, 202, 204), missing_ok=True
                )
        if module._diff:
            result["diff"] = {"before": view(current), "after": {}}
        return result

    settings = desired_settings(p)
    cur_settings = (current or {}).get("settings") or {}
    if secrets:
        if current is not None and secret_hash_matches(secrets, cur_settings.get(HASH_KEY)):
            settings[HASH_KEY] = cur_settings[HASH_KEY]
            send_secrets = False
        else:
            settings[HASH_KEY] = secret_hash(secrets)
            send_secrets = True
    else:
        if current is None and p["type"] == "slack":
            raise GrafanaError("Grafana: cannot create %s: a slack contact point needs slack_url (or a token in secure_settings)" % obj)
        if cur_settings.get(HASH_KEY):
            settings[HASH_KEY] = cur_settings[HASH_KEY]
        send_secrets = False
    body = {"name": p["name"], "type": p["type"], "settings": settings, "disableResolveMessage": p["disable_resolve_message"]}
    uid = p["uid"] or (current or {}).get("uid")
    if uid:
        body["uid"] = uid
    before, after = view(current), view(body)
    changed = current is None or send_secrets or before != after
    if current is not None and not changed and cur_settings.get(HASH_KEY) != settings.get(HASH_KEY):
        changed = True
    result.update(changed=changed, secret_changed=send_secrets, uid=uid)
    if changed and not module.check_mode:
        write_body = deep_copy(body)
        # A write replaces the whole integration: send the secrets we know (we write anyway); secrets
        # not managed here are sent back as "[REDACTED]", which Grafana replaces with the stored value.
        write_body["settings"].update(secrets)
        for key, value in cur_settings.items():
            if value == "[REDACTED]" and key not in write_body["settings"]:
                write_body["settings"][key] = "[REDACTED]"
        if current is None:
            reply = client.request("POST", BASE, "create", obj, json_body=write_body, headers=headers, expected=(200, 201, 202))
            if isinstance(reply, dict) and reply.get("uid"):
                result["uid"] = reply["uid"]
        else:
            client.request("PUT", "%s/%s" % (BASE, path_quote(current["uid"])), "update", obj, json_body=write_body, headers=headers, expected=(200, 202))
        result["contact_point"] = redact(dict(body, uid=result["uid"]))
    elif changed:
        result["contact_point"] = redact(body)
    if module._diff:
        after["secrets"] = "changed (value not shown)" if send_secrets else ("unchanged" if secrets else "not managed")
        if before:
            before["secrets"] = "stored" if any(v == "[REDACTED]" for v in cur_settings.values()) else "none"
        result["diff"] = {"before": before, "after": after}
    return result


def redact(cp):
    if not cp:
        return {}
    cp = deep_copy(cp)
    settings = cp.get("settings") or {}
    for key in SECURE_KEYS.get(cp.get("type"), ()):
        if key in settings:
            settings[key] = REDACTED
    return cp


def main():
    options = dict(
        name=dict(type="str", required=True),
        uid=dict(type="str"),
        type=dict(type="str", default="slack"),
        slack_url=dict(type="str", no_log=True),
        slack_recipient=dict(type="str"),
        slack_username=dict(type="str"),
        slack_title=dict(type="str"),
        slack_text=dict(type="str"),
        email_addresses=dict(type="list", elements="str"),
        email_single=dict(type="bool"),
        email_subject=dict(type="str"),
        settings=dict(type="dict"),
        secure_settings=dict(type="dict", no_log=True),
        disable_resolve_message=dict(type="bool", default=False),
        disable_provenance=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(options)
    check_uid(module)
    p = module.params
    problem = slack_url_problem(p["slack_url"], p["type"])
    if problem:
        module.fail_json(msg="slack_url %s (the value is not shown: it is a secret)" % problem)
    if p["state"] == "present" and p["type"] == "email" and not p["email_addresses"] and not (p["settings"] or {}).get("addresses"):
        module.fail_json(msg="email_addresses is required for an email contact point")
    run_module(module, run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: n8n_credential
short_description: Manage an n8n credential by name and type, with write-only secrets
version_added: 0.2.0
description:
  - Creates, updates or deletes one n8n credential through n8n's public API (C(/api/v1/credentials)), identified by
    O(name) and O(type).
  - O(data) is checked against the server's own schema of the credential type
    (C(GET /api/v1/credentials/schema/{type})) before anything is written, so an unknown field, a missing required
    field, a wrong type or a value outside an option list fails with a message naming the field.
  - n8n never returns credential data, so O(data) is write-only. To notice a changed O(data) without sending it on
    every run, the module keeps a salted PBKDF2-SHA256 hash of it, together with the credential's C(updatedAt), in a
    row of an n8n data table (O(state_table), a non-secret place). A re-run with the same data reports
    C(changed=false) and sends nothing; changed data, or a credential edited in n8n's editor since (its
    C(updatedAt) moved), is sent again. This needs n8n's data tables API (current 2.x); on servers without it use
    O(update_secrets=always) or O(update_secrets=on_create).
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.n8n
options:
  name:
    description:
      - Name of the credential, as workflows reference it (3 to 128 characters).
    type: str
    required: true
  type:
    description:
      - Credential type name, for example V(postgres), V(httpHeaderAuth), V(httpBearerAuth).
    type: str
    required: true
  data:
    description:
      - The credential's fields (all treated as secret, never logged or returned). Required to create one.
    type: dict
  state:
    description:
      - V(present) creates or updates; V(absent) deletes.
    type: str
    choices: [present, absent]
    default: present
  update_secrets:
    description:
      - V(on_change) sends O(data) only when it differs from what the module last sent (salted hash in
        O(state_table)) or the credential was edited since.
      - V(always) sends O(data) on every run (always C(changed=true)).
      - V(on_create) sends O(data) only when the credential is created.
    type: str
    choices: [on_change, always, on_create]
    default: on_change
  state_table:
    description:
      - Name of the n8n data table that holds the salted hashes (created when missing, in the API key owner's
        personal project). It holds no secret.
    type: str
    default: cx_kpi_dashboard_secret_hashes
  project_id:
    description:
      - Project to create the credential in. Default the API key owner's personal project. Only used on creation.
    type: str
"""

EXAMPLES = r"""
- name: PostgreSQL credential for the token-tracking workflows
  cx_catalyst.kpi_dashboard.n8n_credential:
    url: https://n8n.example.com
    api_key: "{{ vault_n8n_api_key }}"
    name: KPI PostgreSQL
    type: postgres
    data:
      host: db.internal
      port: 5432
      database: support_system
      user: kpi_n8n_writer
      password: "{{ vault_kpi_n8n_db_password }}"
      ssl: require
  no_log: true

- name: Anthropic admin key as a header credential
  cx_catalyst.kpi_dashboard.n8n_credential:
    url: https://n8n.example.com
    api_key: "{{ vault_n8n_api_key }}"
    name: Anthropic Admin API
    type: httpHeaderAuth
    data:
      name: x-api-key
      value: "{{ vault_anthropic_admin_key }}"
"""

RETURN = r"""
credential_id:
  description: Id of the credential (empty when absent; a placeholder in check mode for a new one).
  returned: always
  type: str
secret_changed:
  description: Whether O(data) was (or in check mode would be) sent.
  returned: always
  type: bool
diff:
  description: Name, type and the field names of O(data) before and after; values are never shown.
  returned: when diff mode is on
  type: dict
"""

import json

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import secret_hash, secret_hash_matches
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._n8n_client import N8nError, n8n_module, path_quote, run_module

COLUMNS = (("object", "string"), ("secret_hash", "string"), ("credential_updated_at", "string"))
JSON_TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,)}


class CredentialDataError(Exception):
    pass


# ------------------------------------------------------------------------------------------ schema check
def _matches(value, cond):
    if not isinstance(cond, dict):
        return False
    if "enum" in cond:
        return value in cond["enum"]
    if "const" in cond:
        const = cond["const"]
        return value in const if isinstance(const, list) else value == const
    if "not" in cond:
        return not _matches(value, cond["not"])
    return True


def _condition_holds(data, clause):
    props = (clause or {}).get("properties") or {}
    if not props:
        return False
    return all(key in data and _matches(data[key], cond) for key, cond in props.items())


def validate_data(data, schema, ctype):
    """Check ``data`` against n8n's JSON schema of the credential type; raise naming every problem."""
    problems = []
    props = schema.get("properties") or {}
    if schema.get("additionalProperties") is False:
        unknown = sorted(set(data) - set(props))
        if unknown:
            problems.append("unknown field(s) %s (the type has: %s)" % (", ".join(unknown), ", ".join(sorted(props))))
    required = set(schema.get("required") or [])
    for clause in schema.get("allOf") or []:
        branch = clause.get("then") if _condition_holds(data, clause.get("if")) else clause.get("else")
        required.update((branch or {}).get("required") or [])
    missing = sorted(k for k in required if k not in data)
    if missing:
        problems.append("missing required field(s) %s" % ", ".join(missing))
    for key, value in sorted(data.items()):
        spec = props.get(key)
        if not isinstance(spec, dict) or value is None:
            continue
        types = JSON_TYPES.get(spec.get("type"))
        if types:
            ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
            if not ok:
                problems.append("field %s must be a %s, not %s" % (key, spec["type"], type(value).__name__))
                continue
        if spec.get("enum") and value not in spec["enum"]:
            problems.append("field %s must be one of %s" % (key, ", ".join(str(v) for v in spec["enum"])))
    if problems:
        raise CredentialDataError("data does not fit the n8n credential type %s: %s" % (ctype, "; ".join(problems)))


# ------------------------------------------------------------------------------------------ hash store
def row_filter(key):
    return {"type": "and", "filters": [{"columnName": "object", "condition": "eq", "value": key}]}


class HashStore(object):
    """Rows ``object | secret_hash | credential_updated_at`` in an n8n data table."""

    def __init__(self, client, table_name):
        self.client = client
        self.name = table_name
        self.table = None
        self.obj = "data table '%s'" % table_name

    def find_table(self):
        try:
            tables = self.client.list_all("/data-tables", "list", "data tables")
        except N8nError as exc:
            if exc.status in (404, 405):
                raise N8nError("n8n: this server has no data tables API to keep the secret hash in; set update_secrets to always or on_create")
            raise
        match = [t for t in tables if t.get("name") == self.name]
        self.table = match[0] if match else None
        return self.table

    def read(self, key):
        if self.table is None:
            return None
        rows = self.client.list_all("/data-tables/%s/rows" % path_quote(self.table["id"]), "read", self.obj)
        match = [r for r in rows if r.get("object") == key]
        return match[0] if match else None

    def ensure_table(self):
        if self.table is None:
            self.table = self.client.request(
                "POST",
                "/data-tables",
                "create",
                self.obj,
                expected=(200, 201),
                json_body={"name": self.name, "columns": [{"name": n, "type": t} for n, t in COLUMNS]},
            )
        return self.table

    def write(self, key, hashed, updated_at):
        self.ensure_table()
        self.client.request(
            "POST",
            "/data-tables/%s/rows/upsert" % path_quote(self.table["id"]),
            "store the secret hash in",
            self.obj,
            expected=(200, 201),
            json_body={"filter": row_filter(key), "data": {"object": key, "secret_hash": hashed, "credential_updated_at": updated_at or ""}},
        )

    def delete(self, key):
        if self.table is None:
            return
        self.client.request(
            "DELETE",
            "/data-tables/%s/rows/delete" % path_quote(self.table["id"]),
            "delete the secret hash from",
            self.obj,
            expected=(200, 204),
            params={"filter": json.dumps(row_filter(key))},
        )


# ------------------------------------------------------------------------------------------ main logic
def find_credential(client, name, ctype):
    items = client.list_all("/credentials", "list", "credentials")
    match = [c for c in items if c.get("name") == name and c.get("type") == ctype]
    if len(match) > 1:
        raise N8nError(
            "n8n: %d credentials named '%s' have type %s (ids %s); delete all but one" % (len(match), name, ctype, ", ".join(str(c.get("id")) for c in match))
        )
    return match[0] if match else None


def view(cred, fields, secrets):
    if not cred:
        return {}
    return {"name": cred.get("name"), "type": cred.get("type"), "fields": fields, "secrets": secrets}


def run(module, client):
    p = module.params
    name, ctype = p["name"], p["type"]
    obj = "credential '%s' (type %s)" % (name, ctype)
    data = p["data"]
    for value in (data or {}).values():
        client.add_secret(value)
    current = find_credential(client, name, ctype)
    result = dict(changed=False, secret_changed=False, credential_id=str(current["id"]) if current else "")
    store = HashStore(client, p["state_table"]) if p["update_secrets"] == "on_change" else None

    if p["state"] == "absent":
        if current is not None:
            result.update(changed=True, credential_id="")
            if not module.check_mode:
                client.request("DELETE", "/credentials/%s" % path_quote(current["id"]), "delete", obj, expected=(200, 204), missing_ok=True)
                if store is not None:
                    try:
                        if store.find_table():
                            store.delete("credential:%s" % current["id"])
                    except N8nError:
                        pass  # the credential is gone; a stale hash row does no harm
        if module._diff:
            result["diff"] = {"before": view(current, None, "stored"), "after": {}}
        return result

    if data is None:
        if current is None:
            raise CredentialDataError("data is required to create %s" % obj)
        data_given = False
    else:
        data_given = True
        schema = client.get("/credentials/schema/%s" % path_quote(ctype), "read the schema of", "credential type %s" % ctype, missing_ok=True)
        if schema is None:
            raise CredentialDataError("the server does not know the credential type %s" % ctype)
        validate_data(data, schema, ctype)

    send = False
    row = None
    key = None
    if current is None:
        send = True
    elif data_given and p["update_secrets"] == "always":
        send = True
    elif data_given and store is not None:
        store.find_table()
        key = "credential:%s" % current["id"]
        row = store.read(key)
        send = not (row and secret_hash_matches(data, row.get("secret_hash")) and row.get("credential_updated_at") == current.get("updatedAt"))
    result.update(changed=send, secret_changed=send)

    if send and not module.check_mode:
        if store is not None and store.table is None:
            store.find_table()  # fails here, before the credential is written, when the server has no data tables
        if current is None:
            body = {"name": name, "type": ctype, "data": data}
            if p["project_id"]:
                body["projectId"] = p["project_id"]
            cred = client.request("POST", "/credentials", "create", obj, json_body=body, expected=(200, 201))
        else:
            cred = client.request("PATCH", "/credentials/%s" % path_quote(current["id"]), "update", obj, json_body={"data": data})
        if not isinstance(cred, dict) or not cred.get("id"):
            raise N8nError("n8n: %s: the server's answer has no credential id" % obj)
        result["credential_id"] = str(cred["id"])
        if store is not None:
            store.write("credential:%s" % cred["id"], secret_hash(data), cred.get("updatedAt"))
    elif send and current is None:
        result["credential_id"] = "(new)"
    if module._diff:
        fields = sorted(data) if data_given else None
        result["diff"] = {
            "before": view(current, None, "stored") if current else {},
            "after": view({"name": name, "type": ctype}, fields, "changed (values not shown)" if send else "unchanged"),
        }
    return result


def main():
    options = dict(
        name=dict(type="str", required=True),
        type=dict(type="str", required=True),
        data=dict(type="dict", no_log=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        update_secrets=dict(type="str", choices=["on_change", "always", "on_create"], default="on_change"),
        state_table=dict(type="str", default="cx_kpi_dashboard_secret_hashes"),
        project_id=dict(type="str"),
    )
    module = n8n_module(options)
    if not 3 <= len(module.params["name"]) <= 128:
        module.fail_json(msg="name must be 3 to 128 characters long (n8n's rule for credential names)")
    run_module(module, run, input_errors={CredentialDataError: lambda exc: "n8n: %s" % exc})


if __name__ == "__main__":
    main()

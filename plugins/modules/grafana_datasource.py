#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_datasource
short_description: Manage a Grafana data source (PostgreSQL first) by uid
version_added: 0.1.0
description:
  - Creates, updates or deletes a Grafana data source. The data source is found by O(uid); when no data source
    has that uid, it is looked up by O(name) (and then given the uid).
  - PostgreSQL settings are options of their own (O(host), O(port), O(database), O(user), O(password), O(sslmode),
    pool settings, O(postgres_version), O(timescaledb)); any other plugin is configured with O(datasource_url), O(json_data)
    and O(secure_json_data).
  - Types V(postgres) and V(grafana-postgresql-datasource) are the same plugin (renamed in Grafana 10.2.3)
    and compare equal.
  - Grafana never returns secrets. To notice a changed secret without re-sending it on every run, the module keeps a
    salted PBKDF2-SHA256 hash of the desired secrets (per data source random salt) in the non-secret field
    C(jsonData.cxSecretHash) and compares against it. A re-run with the same secret reports C(changed=false) and
    sends no secret; a different secret is detected and sent.
  - The module manages the whole C(jsonData) object (Grafana replaces it on update); keys set by hand in Grafana
    and not given here are reported as a change and removed.
  - Updates send the version read from Grafana; a concurrent change makes Grafana answer 409 and the module fail
    with a clear message.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  name:
    description:
      - Display name of the data source, unique per organisation. Required with O(state=present).
    type: str
  uid:
    description:
      - Unique identifier (up to 40 characters of C([a-zA-Z0-9_-])); the data source's identity. Strongly recommended,
        dashboards and alert rules refer to data sources by uid.
    type: str
  type:
    description:
      - Plugin id of the data source. Types other than the built-in ones are checked to exist
        (C(GET /api/plugins/<type>/settings)) before anything is written.
    type: str
    default: grafana-postgresql-datasource
  access:
    description:
      - V(proxy) (server side, the normal case) or V(direct) (browser).
    type: str
    choices: [proxy, direct]
    default: proxy
  datasource_url:
    description:
      - URL of the data source (Grafana's C(url) field) for non-PostgreSQL plugins. Mutually exclusive with O(host).
      - Not to be confused with O(url), the address of Grafana itself.
    type: str
  host:
    description:
      - PostgreSQL host name or address; with O(port) it becomes Grafana's C(url) C(host:port).
    type: str
  port:
    description:
      - PostgreSQL port. Used with O(host).
    type: int
    default: 5432
  database:
    description:
      - Database name (written to C(jsonData.database) and, for Grafana 9, the legacy top-level C(database)).
    type: str
  user:
    description:
      - Database user (ideally the read-only reporting role).
    type: str
  password:
    description:
      - Database password, stored by Grafana in C(secureJsonData.password). Never logged or returned.
    type: str
  sslmode:
    description:
      - PostgreSQL TLS mode (C(jsonData.sslmode)).
    type: str
    choices: [disable, require, verify-ca, verify-full]
  max_open_conns:
    description:
      - Pool size limit (C(jsonData.maxOpenConns)).
    type: int
  max_idle_conns:
    description:
      - Idle connections kept (C(jsonData.maxIdleConns)).
    type: int
  max_idle_conns_auto:
    description:
      - Let Grafana match idle connections to O(max_open_conns) (C(jsonData.maxIdleConnsAuto)).
    type: bool
  conn_max_lifetime:
    description:
      - Seconds a connection may be reused (C(jsonData.connMaxLifetime)).
    type: int
  postgres_version:
    description:
      - PostgreSQL version hint for the query builder, e.g. C(1500) for 15 (C(jsonData.postgresVersion)).
    type: int
  timescaledb:
    description:
      - Enable TimescaleDB features (C(jsonData.timescaledb)).
    type: bool
  json_data:
    description:
      - Further C(jsonData) keys. The typed options above win over keys given here.
    type: dict
  secure_json_data:
    description:
      - Further secret keys (C(secureJsonData)), for example TLS keys. Never logged or returned;
        drift is detected through the salted hash like O(password).
    type: dict
  enable_pdc:
    description:
      - Route the data source through Grafana Cloud Private Data source Connect
        (C(jsonData.enableSecureSocksProxy)).
    type: bool
  pdc_network:
    description:
      - PDC network the data source uses (C(jsonData.secureSocksProxyUsername)); Grafana defaults it to the uid.
    type: str
  is_default:
    description:
      - Make this the organisation's default data source. Unset leaves the current setting alone
        (note that Grafana makes the first data source of an organisation the default).
    type: bool
  health_check:
    description:
      - After the data source is in place, run Grafana's health check (C(/api/datasources/uid/<uid>/health), a real
        connection from Grafana to the database) and fail when it reports an error. The failure says whether this
        run created or updated the data source (the change stays saved in Grafana) or left it unchanged. Skipped in
        check mode when a change is pending.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates, V(absent) deletes (by O(uid), else by O(name)).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: KPI database as a Grafana data source
  cx_catalyst.kpi_dashboard.grafana_datasource:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: Support Database
    uid: support-postgres
    host: db.internal
    port: 5432
    database: support_system
    user: kpi_grafana_reader
    password: "{{ kpi_reader_password }}"
    sslmode: require
    max_open_conns: 10
    max_idle_conns: 2
    conn_max_lifetime: 14400
    postgres_version: 1500
    is_default: true
    health_check: true

- name: Same, reached through Grafana Cloud PDC
  cx_catalyst.kpi_dashboard.grafana_datasource:
    url: https://mystack.grafana.net
    token: "{{ grafana_cloud_token }}"
    name: Support Database
    uid: support-postgres
    host: db.internal
    database: support_system
    user: kpi_grafana_reader
    password: "{{ kpi_reader_password }}"
    enable_pdc: true
    pdc_network: cx-private

- name: Remove it
  cx_catalyst.kpi_dashboard.grafana_datasource:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: support-postgres
    state: absent
"""

RETURN = r"""
datasource:
  description: The data source as Grafana returns it (Grafana never returns secrets). Empty when absent.
  returned: always
  type: dict
  sample: {"uid": "support-postgres", "name": "Support Database", "type": "grafana-postgresql-datasource", "version": 2}
uid:
  description: Uid of the data source.
  returned: always
  type: str
secret_changed:
  description: Whether the secrets given differ from the ones stored (the secrets are sent only then).
  returned: always
  type: bool
health:
  description: Result of Grafana's health check (C(status) V(OK) or V(ERROR), C(message)).
  returned: when O(health_check=true) and the check ran
  type: dict
  sample: {"status": "OK", "message": "Database Connection OK"}
diff:
  description: Managed fields before and after; secrets appear only as the list of secret keys and C(secrets) V(changed).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, check_uid, grafana_module, path_quote, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import (
    POSTGRES_TYPES,
    deep_copy,
    same_datasource_type,
    secret_hash,
    secret_hash_matches,
)

HASH_KEY = "cxSecretHash"
# Plugins shipped with Grafana: no plugin lookup needed before creating them.
BUILTIN_TYPES = frozenset(
    POSTGRES_TYPES
    | {
        "mysql",
        "mssql",
        "prometheus",
        "loki",
        "tempo",
        "influxdb",
        "elasticsearch",
        "graphite",
        "jaeger",
        "zipkin",
        "cloudwatch",
        "stackdriver",
        "grafana-azure-monitor-datasource",
        "testdata",
        "grafana-testdata-datasource",
        "alertmanager",
        "opentsdb",
        "parca",
        "grafana-pyroscope-datasource",
    }
)
TYPED_JSON = (
    ("sslmode", "sslmode"),
    ("max_open_conns", "maxOpenConns"),
    ("max_idle_conns", "maxIdleConns"),
    ("max_idle_conns_auto", "maxIdleConnsAuto"),
    ("conn_max_lifetime", "connMaxLifetime"),
    ("postgres_version", "postgresVersion"),
    ("timescaledb", "timescaledb"),
    ("enable_pdc", "enableSecureSocksProxy"),
    ("pdc_network", "secureSocksProxyUsername"),
)


def canonical_type(ds_type):
    return "grafana-postgresql-datasource" if ds_type in POSTGRES_TYPES else ds_type


def desired_secrets(p):
    secrets = dict((k, "" if v is None else str(v)) for k, v in (p["secure_json_data"] or {}).items())
    if p["password"] is not None:
        secrets["password"] = p["password"]
    return secrets


def find_datasource(client, uid, name):
    """uid first; the name is the fallback lookup (finds a data source created without our uid)."""
    if uid:
        found = client.get("/api/datasources/uid/%s" % path_quote(uid), "read", "datasource uid '%s'" % uid, missing_ok=True)
        if found is not None or not name:
            return found
    if name:
        return client.get("/api/datasources/name/%s" % path_quote(name), "read", "datasource '%s'" % name, missing_ok=True)
    return None


def build_desired(p, current, secrets):
    """Desired write body (without version) and whether the secrets must be sent."""
    current = current or {}
    cur_json = current.get("jsonData") or {}
    json_data = deep_copy(p["json_data"] or {})
    for option, key in TYPED_JSON:
        if p[option] is not None:
            json_data[key] = p[option]
    if p["database"] is not None:
        json_data["database"] = p["database"]
    json_data.pop(HASH_KEY, None)

    send_secrets = False
    if secrets:
        stored = cur_json.get(HASH_KEY)
        stored_keys = set(k for k, v in (current.get("secureJsonFields") or {}).items() if v)
        if current and secret_hash_matches(secrets, stored) and set(k for k, v in secrets.items() if v) <= stored_keys:
            json_data[HASH_KEY] = stored
        else:
            send_secrets = True
            json_data[HASH_KEY] = secret_hash(secrets)
    elif cur_json.get(HASH_KEY):
        json_data[HASH_KEY] = cur_json[HASH_KEY]

    if p["host"]:
        url = "%s:%s" % (p["host"], p["port"])
    elif p["datasource_url"] is not None:
        url = p["datasource_url"]
    else:
        url = current.get("url", "")
    body = {
        "name": p["name"] if p["name"] is not None else current.get("name"),
        "type": p["type"],
        "access": p["access"],
        "url": url,
        "user": p["user"] if p["user"] is not None else current.get("user", ""),
        "database": p["database"] if p["database"] is not None else current.get("database", ""),
        "isDefault": p["is_default"] if p["is_default"] is not None else bool(current.get("isDefault", False)),
        "basicAuth": bool(current.get("basicAuth", False)),
        "basicAuthUser": current.get("basicAuthUser", ""),
        "withCredentials": bool(current.get("withCredentials", False)),
        "jsonData": json_data,
    }
    uid = p["uid"] or current.get("uid")
    if uid:
        body["uid"] = uid
    if send_secrets:
        body["secureJsonData"] = secrets
    return body, send_secrets


def comparable(ds):
    """Managed fields of a data source for comparison and diff; no secret values, no hash."""
    if not ds:
        return {}
    json_data = dict(ds.get("jsonData") or {})
    json_data.pop(HASH_KEY, None)
    return {
        "uid": ds.get("uid"),
        "name": ds.get("name"),
        "type": canonical_type(ds.get("type")),
        "access": ds.get("access"),
        "url": ds.get("url") or "",
        "user": ds.get("user") or "",
        "database": ds.get("database") or "",
        "isDefault": bool(ds.get("isDefault")),
        "basicAuth": bool(ds.get("basicAuth")),
        "jsonData": json_data,
    }


def diff_view(ds, secret_keys, secret_state):
    view = comparable(ds)
    if view:
        view["secureJsonFields"] = sorted(secret_keys)
        view["secrets"] = secret_state
    return view


def check_plugin(client, ds_type):
    if ds_type in BUILTIN_TYPES:
        return
    found = client.get("/api/plugins/%s/settings" % path_quote(ds_type), "read", "plugin '%s'" % ds_type, missing_ok=True)
    if found is None:
        raise GrafanaError(
            "Grafana: unknown datasource type '%s': no such data source plugin is installed in Grafana (use e.g. grafana-postgresql-datasource)" % ds_type
        )
    if isinstance(found, dict) and found.get("type") not in (None, "datasource"):
        raise GrafanaError("Grafana: plugin '%s' is a %s plugin, not a data source" % (ds_type, found.get("type")))


def write(client, method, path, action, obj, body):
    try:
        return client.request(method, path, action, obj, json_body=body)
    except GrafanaError as exc:
        if exc.status == 409 and method == "PUT" and "version" in body:
            raise GrafanaError(
                "Grafana: failed to update %s: HTTP 409: it was changed by someone else since it was "
                "read (version %s); re-run to apply on top of the new version" % (obj, body["version"]),
                409,
            )
        if exc.status == 403 and "read-only" in str(exc):
            raise GrafanaError("%s (the data source is provisioned from a file with editable: false; change it there)" % exc, 403)
        raise


def run(module, client):
    p = module.params
    secrets = desired_secrets(p)
    for value in secrets.values():
        client.add_secret(value)
    current = find_datasource(client, p["uid"], p["name"])
    obj = "datasource '%s'" % (p["uid"] or p["name"])
    result = dict(changed=False, uid=(current or {}).get("uid") or p["uid"], datasource=current or {}, secret_changed=False)

    if p["state"] == "absent":
        if current is not None:
            result.update(changed=True, datasource={})
            if not module.check_mode:
                client.request("DELETE", "/api/datasources/uid/%s" % path_quote(current["uid"]), "delete", obj, missing_ok=True)
        if module._diff:
            result["diff"] = {"before": comparable(current), "after": {}}
        return result

    body, send_secrets = build_desired(p, current, secrets)
    result["secret_changed"] = send_secrets
    if current is not None and not p["uid"]:
        body["uid"] = current.get("uid")
    changed = current is None or send_secrets or comparable(current) != comparable(body)
    result["changed"] = changed
    stored_keys = set(k for k, v in ((current or {}).get("secureJsonFields") or {}).items() if v)
    before_view = diff_view(current, stored_keys, "stored" if stored_keys else "none")
    after_view = diff_view(
        body, stored_keys | set(k for k, v in secrets.items() if v), "changed (value not shown)" if send_secrets else before_view.get("secrets", "none")
    )

    if changed and (current is None or not same_datasource_type(current.get("type"), p["type"])):
        check_plugin(client, p["type"])
    if changed and not module.check_mode:
        if current is None:
            reply = write(client, "POST", "/api/datasources", "create", obj, body) or {}
            created = reply.get("datasource") or {}
            # Grafana forces the first data source of an org to be the default; honour an explicit false.
            if p["is_default"] is False and created.get("isDefault"):
                fix = dict(body, isDefault=False, version=created.get("version", 1), uid=created.get("uid"))
                fix.pop("secureJsonData", None)
                reply = write(client, "PUT", "/api/datasources/uid/%s" % path_quote(created.get("uid")), "update", obj, fix) or {}
        else:
            body["version"] = current.get("version", 0)
            reply = write(client, "PUT", "/api/datasources/uid/%s" % path_quote(current["uid"]), "update", obj, body) or {}
        result["datasource"] = reply.get("datasource") or body
        result["uid"] = result["datasource"].get("uid") or body.get("uid")
    elif changed:
        result["datasource"] = dict((k, v) for k, v in body.items() if k != "secureJsonData")

    if p["health_check"] and not (module.check_mode and changed):
        saved = None
        if changed:
            saved = "created" if current is None else "updated"
        result["health"] = health(client, result["uid"], obj, saved)
    if module._diff:
        result["diff"] = {"before": before_view, "after": after_view}
    result["datasource"] = dict((k, v) for k, v in result["datasource"].items() if k != "secureJsonData")
    return result


def health(client, uid, obj, saved=None):
    """Grafana's health check of the datasource; a failure says whether this run saved the datasource.

    ``saved`` is ``created``/``updated`` when this run wrote it (it then stays in Grafana as written: a
    health check is no reason to roll a valid configuration back), ``None`` when nothing was written.
    """
    state = ("%s was %s in Grafana (the change is saved) but " % (obj, saved)) if saved else ("%s is unchanged in Grafana but " % obj)
    try:
        reply = client.get("/api/datasources/uid/%s/health" % path_quote(uid), "check health of", obj)
    except GrafanaError as exc:
        if exc.status == 400 and isinstance(exc.body, dict):
            raise GrafanaError("Grafana: %sits health check failed: %s" % (state, exc.body.get("message")), 400, exc.body)
        if saved:
            raise GrafanaError("Grafana: %sits health check could not run: %s" % (state, exc), exc.status, exc.body)
        raise
    status = (reply or {}).get("status", "OK")
    if str(status).upper() not in ("OK", ""):
        raise GrafanaError("Grafana: %sits health check failed: %s (status %s)" % (state, (reply or {}).get("message") or "no message", status), 200, reply)
    return {"status": status, "message": (reply or {}).get("message", "")}


def main():
    options = dict(
        name=dict(type="str"),
        uid=dict(type="str"),
        type=dict(type="str", default="grafana-postgresql-datasource"),
        access=dict(type="str", choices=["proxy", "direct"], default="proxy"),
        datasource_url=dict(type="str"),
        host=dict(type="str"),
        port=dict(type="int", default=5432),
        database=dict(type="str"),
        user=dict(type="str"),
        password=dict(type="str", no_log=True),
        sslmode=dict(type="str", choices=["disable", "require", "verify-ca", "verify-full"]),
        max_open_conns=dict(type="int"),
        max_idle_conns=dict(type="int"),
        max_idle_conns_auto=dict(type="bool"),
        conn_max_lifetime=dict(type="int"),
        postgres_version=dict(type="int"),
        timescaledb=dict(type="bool"),
        json_data=dict(type="dict"),
        secure_json_data=dict(type="dict", no_log=True),
        enable_pdc=dict(type="bool"),
        pdc_network=dict(type="str"),
        is_default=dict(type="bool"),
        health_check=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = grafana_module(
        options, mutually_exclusive=[("datasource_url", "host")], required_one_of=[("name", "uid")], required_if=[("state", "present", ["name"])]
    )
    check_uid(module)
    run_module(module, run)


if __name__ == "__main__":
    main()

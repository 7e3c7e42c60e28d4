# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dashboard helpers shared by grafana_dashboard, grafana_dashboard_export and grafana_dashboard_verify: the JSON
helpers (no HTTP) and :func:`read_current`, the one way a module reads a stored dashboard (through ``/apis`` where
the server offers it, else the legacy route), with requests sent by the module's GrafanaClient."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, path_quote, slugify
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_compare import deep_copy

EXPORT_ONLY = ("__inputs", "__requires", "__elements")
PLACEHOLDER_RE = re.compile(r"\$\{(DS_[A-Za-z0-9_]+)\}")


class DashboardInputError(Exception):
    pass


def load_content(path, content):
    """Dashboard dict from a file or from content (dict or JSON string); unwraps an export wrapper."""
    if path:
        try:
            with open(path, "r") as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            raise DashboardInputError("cannot read dashboard file %s: %s" % (path, exc))
        source = "file %s" % path
    else:
        text = content
        source = "content"
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DashboardInputError("dashboard %s is not valid JSON: %s" % (source, exc))
    else:
        data = deep_copy(text)
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict) and "panels" not in data and "title" not in data:
        data = deep_copy(data["dashboard"])
    if not isinstance(data, dict):
        raise DashboardInputError("dashboard %s must be a JSON object, got %s" % (source, type(data).__name__))
    if not isinstance(data.get("title"), str) or not data["title"].strip():
        raise DashboardInputError("dashboard %s has no title (Grafana refuses dashboards without one)" % source)
    if "panels" in data and not isinstance(data["panels"], list):
        raise DashboardInputError("dashboard %s: 'panels' must be a list" % source)
    return data


def datasource_inputs(dashboard):
    return [i for i in dashboard.get("__inputs") or [] if isinstance(i, dict) and i.get("type") == "datasource"]


def build_mapping(dashboard, ds_uid, ds_map):
    """Placeholder name -> (uid, plugin id or None). Fails when an input has no target."""
    mapping = {}
    ds_map = dict((re.sub(r"^\$\{(.*)\}$", r"\1", str(k)), v) for k, v in (ds_map or {}).items())
    for item in datasource_inputs(dashboard):
        name = item.get("name")
        uid = ds_map.get(name, ds_uid)
        if not uid:
            raise DashboardInputError(
                "dashboard input '%s' (data source %s) has no mapping: set datasource_uid or datasource_map['%s']" % (name, item.get("pluginId") or "?", name)
            )
        mapping[name] = (uid, item.get("pluginId"))
    for name in sorted(set(PLACEHOLDER_RE.findall(json.dumps(dashboard)))):
        if name not in mapping:
            uid = ds_map.get(name, ds_uid)
            if not uid:
                raise DashboardInputError("dashboard references ${%s} but it has no mapping: set datasource_uid or datasource_map['%s']" % (name, name))
            mapping[name] = (uid, None)
    for name, uid in ds_map.items():
        mapping.setdefault(name, (uid, None))
    return mapping


def apply_mapping(node, mapping, key=None):
    if isinstance(node, dict):
        return dict((k, apply_mapping(v, mapping, k)) for k, v in node.items())
    if isinstance(node, list):
        return [apply_mapping(v, mapping) for v in node]
    if isinstance(node, str):
        whole = PLACEHOLDER_RE.match(node)
        if whole and whole.group(0) == node and key == "datasource" and whole.group(1) in mapping:
            uid, plugin = mapping[whole.group(1)]
            return {"type": plugin, "uid": uid} if plugin else {"uid": uid}
        return PLACEHOLDER_RE.sub(lambda m: mapping[m.group(1)][0] if m.group(1) in mapping else m.group(0), node)
    return node


# ----------------------------------------------------------------------------------------------------- export
# What grafana_dashboard_export needs: the inverse of the deployment (server-managed fields removed, data source
# uids turned back into their ${DS_...} inputs) and a stable key order, so that deploying the exported file again
# changes nothing and exporting twice writes the same bytes.

SERVER_MANAGED = ("id", "version", "iteration", "cxDeployedHash")


def unmap_datasources(node, uid_to_input, key=None, used=None):
    """Copy of ``node`` with every data source reference ``{"type": T, "uid": U}`` whose U is in ``uid_to_input``
    turned into ``{"type": T, "uid": "${INPUT}"}``; ``used`` (a dict) collects input name -> plugin type seen.

    Only object references under a ``datasource`` key are changed: grafana_dashboard maps ``${INPUT}`` inside a
    uid back to the same uid, so the round trip is exact. String references (Grafana 7 style, names or uids)
    are left alone, since the deployment would turn them into objects.
    """
    if isinstance(node, dict):
        if key == "datasource" and isinstance(node.get("uid"), str) and node["uid"] in uid_to_input:
            name = uid_to_input[node["uid"]]
            if used is not None:
                used.setdefault(name, node.get("type"))
            out = dict(node)
            out["uid"] = "${%s}" % name
            return out
        return dict((k, unmap_datasources(v, uid_to_input, k, used)) for k, v in node.items())
    if isinstance(node, list):
        return [unmap_datasources(v, uid_to_input, None, used) for v in node]
    return node


def order_like(value, reference):
    """``value`` with dict keys in the order of ``reference`` (keys it lacks: sorted, after them), recursively.

    Lists are matched element by element; panels (objects with an ``id``) by id, so a panel added in the middle
    does not reorder the keys of the ones after it. Without a reference every dict is key-sorted.
    """
    if isinstance(value, dict):
        ref = reference if isinstance(reference, dict) else {}
        keys = [k for k in ref if k in value] + sorted(k for k in value if k not in ref)
        return dict((k, order_like(value[k], ref.get(k))) for k in keys)
    if isinstance(value, list):
        ref = reference if isinstance(reference, list) else []
        by_id = dict((item.get("id"), item) for item in ref if isinstance(item, dict) and "id" in item)
        out = []
        for index, item in enumerate(value):
            if isinstance(item, dict) and "id" in item and item.get("id") in by_id:
                match = by_id[item["id"]]
            else:
                match = ref[index] if index < len(ref) else None
            out.append(order_like(item, match))
        return out
    return value


def _panel_types(panels):
    types = set()
    for panel in panels or []:
        if isinstance(panel, dict):
            if panel.get("type") and panel.get("type") != "row":
                types.add(panel["type"])
            types.update(_panel_types(panel.get("panels")))
    return types


def export_sections(dashboard, used_inputs, previous, grafana_version):
    """``__inputs`` and ``__requires`` for an exported dashboard, reusing the entries of the previous file.

    An input keeps its label and description from ``previous`` (the file being replaced); a new one gets its name
    as label. ``__requires`` keeps the previous non-panel entries and lists every panel type in use (sorted).
    """
    previous = previous if isinstance(previous, dict) else {}
    old_inputs = dict((i.get("name"), i) for i in previous.get("__inputs") or [] if isinstance(i, dict))
    inputs = []
    for name in sorted(used_inputs):
        if name in old_inputs:
            inputs.append(old_inputs[name])
        else:
            plugin = used_inputs[name] or "postgres"
            inputs.append({"name": name, "label": name, "description": "", "type": "datasource", "pluginId": plugin, "pluginName": plugin})
    old_requires = [r for r in previous.get("__requires") or [] if isinstance(r, dict)]
    requires = [r for r in old_requires if r.get("type") != "panel"]
    if not any(r.get("type") == "grafana" for r in requires):
        requires.insert(0, {"type": "grafana", "id": "grafana", "name": "Grafana", "version": grafana_version or ""})
    for name, plugin in sorted(used_inputs.items()):
        plugin = (old_inputs.get(name) or {}).get("pluginId") or plugin or "postgres"
        if not any(r.get("type") == "datasource" and r.get("id") == plugin for r in requires):
            requires.append({"type": "datasource", "id": plugin, "name": plugin, "version": ""})
    old_panels = dict((r.get("id"), r) for r in old_requires if r.get("type") == "panel")
    for panel_type in sorted(_panel_types(dashboard.get("panels"))):
        new = {"type": "panel", "id": panel_type, "name": panel_type, "version": ""}
        requires.append(old_panels.get(panel_type) or new)
    return inputs, requires


def export_dashboard(live, uid_to_input, previous=None, grafana_version=None, key_order="dest"):
    """The live dashboard model as a file: server-managed fields removed, data source uids turned into inputs,
    ``__inputs``/``__requires`` first, keys ordered like ``previous`` (key_order=dest) or sorted."""
    body = dict((k, v) for k, v in live.items() if k not in SERVER_MANAGED and k not in EXPORT_ONLY)
    used = {}
    body = unmap_datasources(body, uid_to_input, used=used)
    inputs, requires = export_sections(body, used, previous, grafana_version)
    out = {}
    if inputs:
        out["__inputs"] = inputs
    out["__requires"] = requires
    out.update(body)
    return order_like(out, previous if key_order == "dest" else None)


def render_export(dashboard):
    """The file text: 2-space indent, UTF-8 kept, trailing newline (what tools/build_dashboard.py writes)."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------------------------------- reading
DASHBOARD_API = ("dashboard.grafana.app", "dashboards", ("v1", "v1beta1"))


class CurrentDashboard(object):
    """The dashboard as stored in Grafana, read through /apis or the legacy route."""

    def __init__(self):
        self.exists = False
        self.dashboard = {}  # classic JSON (as read; converted by Grafana when stored as schema v2)
        self.folder_uid = ""
        self.version = None
        self.url = None
        self.stored_v2 = False  # docs/grafana-behaviour.md §13.2: edited in the new (schema v2) editor
        self.resource_version = None
        self.legacy_id = None


def read_apis(client, base, uid, obj):
    cur = CurrentDashboard()
    body = client.get("%s/%s" % (base, path_quote(uid)), "read", obj, missing_ok=True)
    if body is None:
        return cur
    meta = body.get("metadata") or {}
    conversion = (body.get("status") or {}).get("conversion") or {}
    cur.exists = True
    cur.dashboard = dict(body.get("spec") or {}, uid=uid)
    cur.folder_uid = (meta.get("annotations") or {}).get("grafana.app/folder") or ""
    cur.version = meta.get("generation")
    cur.url = "/d/%s/%s" % (uid, slugify(cur.dashboard.get("title")))
    cur.stored_v2 = str(conversion.get("storedVersion") or "").startswith("v2")
    cur.resource_version = meta.get("resourceVersion")
    return cur


def read_legacy(client, uid, obj):
    cur = CurrentDashboard()
    try:
        body = client.get("/api/dashboards/uid/%s" % path_quote(uid), "read", obj, missing_ok=True)
    except GrafanaError as exc:
        if exc.status != 406:
            raise
        # 12.x refuses the legacy read of a schema-v2 dashboard with 406 (docs §13.2, §14.12)
        cur.exists = cur.stored_v2 = True
        return cur
    if body is None:
        return cur
    meta = body.get("meta") or {}
    cur.exists = True
    cur.dashboard = body.get("dashboard") or {}
    cur.folder_uid = meta.get("folderUid") or ""
    cur.version = cur.dashboard.get("version")
    cur.url = meta.get("url")
    cur.legacy_id = cur.dashboard.get("id")
    return cur


def read_current(client, uid, obj):
    """(current, apis base or None): /apis where the server offers dashboard.grafana.app, else the legacy route.
    A 403 on the namespace (Grafana Cloud) falls back to the legacy route; nothing has been written then."""
    base = client.apis_base(*DASHBOARD_API, obj=obj)
    if base:
        try:
            return read_apis(client, base, uid, obj), base
        except GrafanaError as exc:
            if exc.status != 403:
                raise
            client.apis_refused()
    return read_legacy(client, uid, obj), None

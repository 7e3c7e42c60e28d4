# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dashboard JSON helpers shared by grafana_dashboard and grafana_dashboard_verify (no HTTP here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import deep_copy

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
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict) and "panels" not in data \
            and "title" not in data:
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
            raise DashboardInputError("dashboard input '%s' (data source %s) has no mapping: set datasource_uid or "
                                      "datasource_map['%s']" % (name, item.get("pluginId") or "?", name))
        mapping[name] = (uid, item.get("pluginId"))
    for name in sorted(set(PLACEHOLDER_RE.findall(json.dumps(dashboard)))):
        if name not in mapping:
            uid = ds_map.get(name, ds_uid)
            if not uid:
                raise DashboardInputError("dashboard references ${%s} but it has no mapping: set datasource_uid or "
                                          "datasource_map['%s']" % (name, name))
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

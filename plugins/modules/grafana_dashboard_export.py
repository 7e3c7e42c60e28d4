#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_dashboard_export
short_description: Export a dashboard from Grafana into a JSON file that deploys again as a no-op
version_added: 0.2.0
description:
  - Reads a dashboard by uid and writes its JSON model to O(dest), so a panel added or edited in Grafana's UI can be
    committed to the source of the dashboard (see C(docs/customizing.md) of the collection).
  - The file is normalised so that deploying it again with M(cx_catalyst.kpi_dashboard.grafana_dashboard) changes
    nothing. Server-managed fields (C(id), C(version), C(iteration), the deployment hash C(cxDeployedHash)) are
    removed. Every data source reference whose uid is mapped (O(datasource_uid), O(datasource_map)) becomes the import
    input C(${DS_SUPPORT_DB}) (or the mapped input name) again, and C(__inputs) / C(__requires) are written for
    it, as Grafana's "Export for sharing externally" does.
  - Keys keep the order of the file being replaced (keys it lacks come after, sorted), so a re-export changes only
    the lines that changed in Grafana; with O(key_order=sorted), or when O(dest) does not exist yet, every object's
    keys are sorted. The same dashboard always gives the same bytes.
  - Only GET requests are sent to Grafana. The file is written atomically, and only when its content changes.
  - Where Grafana offers C(dashboard.grafana.app) (Grafana 12 and later, found through C(GET /apis), not the version
    string), the dashboard is read there (C(v1), else C(v1beta1)); otherwise, or when the server refuses the
    namespace, through the legacy C(/api/dashboards/uid) route. The file is the same either way. A dashboard stored
    as schema v2 (re-saved in the new dashboard editor) is refused with a clear message instead of being exported
    with its layout lost.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
attributes:
  check_mode:
    support: full
    details: Reads the dashboard and reports whether O(dest) would change; nothing is written.
  diff_mode:
    support: full
    details: The file's text before and after.
options:
  uid:
    description:
      - Uid of the dashboard to export.
    type: str
    required: true
  dest:
    description:
      - File to write, on the host that runs the module. Its directory must exist.
      - An existing file is replaced; its key order and its C(__inputs) labels are kept.
    type: path
    required: true
  datasource_uid:
    description:
      - Uid of the data source that becomes the input O(datasource_input) (C(${DS_SUPPORT_DB})) in the file; the
        same value the deployment with M(cx_catalyst.kpi_dashboard.grafana_dashboard) uses as its C(datasource_uid).
    type: str
  datasource_input:
    description:
      - Name of the input that O(datasource_uid) becomes.
    type: str
    default: DS_SUPPORT_DB
  datasource_map:
    description:
      - Input names (C(DS_SUPPORT_DB), with or without C(${...})) to data source uids, as for
        M(cx_catalyst.kpi_dashboard.grafana_dashboard); each uid becomes its input.
    type: dict
  key_order:
    description:
      - V(dest) orders keys like the existing O(dest) (a minimal diff against the committed file); V(sorted) sorts
        the keys of every object.
    type: str
    choices: [dest, sorted]
    default: dest
notes:
  - Data source references written as plain strings (Grafana 7 style) are left as they are, since the deployment
    would otherwise turn them into objects. A panel whose data source is the dashboard variable
    C(${DS_SUPPORT_DB}) itself is exported as it is; M(cx_catalyst.kpi_dashboard.grafana_dashboard) maps that to
    the data source uid, so pick the data source, not the variable, in panels meant to be exported.
seealso:
  - module: cx_catalyst.kpi_dashboard.grafana_dashboard
"""

EXAMPLES = r"""
- name: Bring the dashboard edited in Grafana home
  cx_catalyst.kpi_dashboard.grafana_dashboard_export:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: cx-catalyst-kpi
    datasource_uid: support-postgres
    dest: "{{ playbook_dir }}/../files/grafana-dashboard.json"
  delegate_to: localhost
"""

RETURN = r"""
uid:
  description: Uid of the dashboard.
  returned: always
  type: str
  sample: cx-catalyst-kpi
dest:
  description: The file written (or that would be written in check mode).
  returned: always
  type: str
version:
  description: Version of the dashboard in Grafana that was exported.
  returned: always
  type: int
  sample: 7
title:
  description: Title of the dashboard.
  returned: always
  type: str
panels:
  description: Titles of the dashboard's panels (rows and the panels inside collapsed rows included), in order.
  returned: always
  type: list
  elements: str
inputs:
  description: Names of the data source inputs written to C(__inputs).
  returned: always
  type: list
  elements: str
  sample: [DS_SUPPORT_DB]
diff:
  description: Text of O(dest) before and after.
  returned: when diff mode is on
  type: dict
"""

import json
import os
import re
import tempfile

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, check_uid, grafana_module, run_module
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_dashboard import (
    DashboardInputError,
    export_dashboard,
    read_current,
    render_export,
)


def panel_titles(panels):
    titles = []
    for panel in panels or []:
        if isinstance(panel, dict):
            titles.append(panel.get("title") or "")
            titles.extend(panel_titles(panel.get("panels")))
    return titles


def uid_to_input(p):
    """Data source uid -> input name; two inputs for one uid is ambiguous and refused."""
    mapping = {}
    pairs = []
    if p["datasource_uid"]:
        pairs.append((p["datasource_input"], p["datasource_uid"]))
    for name, uid in (p["datasource_map"] or {}).items():
        pairs.append((re.sub(r"^\$\{(.*)\}$", r"\1", str(name)), str(uid)))
    for name, uid in pairs:
        if not re.match(r"^[A-Za-z0-9_]+$", name):
            raise DashboardInputError("input name '%s' is invalid: use letters, digits and '_' (e.g. DS_SUPPORT_DB)" % name)
        if mapping.get(uid, name) != name:
            raise DashboardInputError("data source '%s' is mapped to two inputs (%s, %s); map it to one" % (uid, mapping[uid], name))
        mapping[uid] = name
    return mapping


def read_previous(path):
    """(text, parsed JSON or None) of the file being replaced; ('', None) when it does not exist."""
    if not os.path.exists(path):
        return "", None
    try:
        with open(path, "r") as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        raise DashboardInputError("cannot read %s: %s" % (path, exc))
    try:
        data = json.loads(text)
    except ValueError:
        return text, None
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict) and "panels" not in data:
        data = data["dashboard"]
    return text, data if isinstance(data, dict) else None


def write_atomic(module, path, text):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise DashboardInputError("cannot write %s: directory %s does not exist" % (path, directory))
    fd, tmp = tempfile.mkstemp(prefix=".grafana-dashboard-export-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
    except (IOError, OSError) as exc:
        os.unlink(tmp)
        raise DashboardInputError("cannot write %s: %s" % (path, exc))
    module.atomic_move(tmp, path)


def run(module, client):
    p = module.params
    uid, dest = p["uid"], p["dest"]
    mapping = uid_to_input(p)
    before_text, previous = read_previous(dest)
    obj = "dashboard '%s'" % uid
    cur, _base = read_current(client, uid, obj)
    if not cur.exists:
        raise GrafanaError("Grafana: cannot export dashboard '%s': not found (check the uid and org_id)" % uid, 404)
    if cur.stored_v2:
        raise GrafanaError(
            "Grafana: cannot export dashboard '%s': it is stored in Grafana as schema v2 (edited in the new dashboard "
            "editor), which this module cannot write as a classic dashboard without losing its layout; nothing was "
            "written. Export it as Classic from Grafana's UI, or redeploy the classic source with grafana_dashboard "
            "(overwrite: true) first." % uid
        )
    live = cur.dashboard
    if not isinstance(live, dict) or not live:
        raise GrafanaError("Grafana: cannot export dashboard '%s': the answer holds no dashboard model" % uid)
    grafana_version = None
    if not previous:  # a new file: __requires names the running Grafana, as Grafana's own export does
        grafana_version = ".".join(str(part) for part in client.version() or ())
    exported = export_dashboard(live, mapping, previous, grafana_version, p["key_order"])
    after_text = render_export(exported)
    changed = after_text != before_text
    result = dict(
        changed=changed,
        uid=uid,
        dest=dest,
        version=cur.version,
        title=live.get("title"),
        panels=panel_titles(live.get("panels")),
        inputs=[i["name"] for i in exported.get("__inputs") or []],
    )
    if changed and not module.check_mode:
        write_atomic(module, dest, after_text)
    if module._diff:
        result["diff"] = {"before": before_text, "after": after_text, "before_header": dest, "after_header": dest}
    return result


def main():
    options = dict(
        uid=dict(type="str", required=True),
        dest=dict(type="path", required=True),
        datasource_uid=dict(type="str"),
        datasource_input=dict(type="str", default="DS_SUPPORT_DB"),
        datasource_map=dict(type="dict"),
        key_order=dict(type="str", choices=["dest", "sorted"], default="dest"),
    )
    module = grafana_module(options)
    check_uid(module)
    run_module(module, run, {DashboardInputError: "Cannot export the dashboard: %s"})


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: n8n_workflow
short_description: Deploy an n8n workflow by name and publish or unpublish it
version_added: 0.2.0
description:
  - Creates, updates or deletes one n8n workflow through n8n's public API (C(/api/v1/workflows)), identified by
    its O(name), and publishes or unpublishes it.
  - The workflow comes from a JSON file (O(src), for example an export from n8n's editor) or from O(content).
    Only C(nodes), C(connections) and C(settings) of it are used; C(id), C(active), C(versionId), C(tags),
    C(pinData) and C(meta) of an export are ignored.
  - "Credential references in nodes (C(credentials: {<type>: {name: ...}})) are resolved by name and type to
    the ids of the credentials on the target n8n at deploy time (in check mode a missing one is a warning, since
    an earlier task may create it); a missing credential fails the task before
    anything is written."
  - "Idempotent: the workflow on the server is compared with the desired one after normalisation (nodes by name
    with their type, version, parameters, credentials, position and flags; connections; the settings keys that are
    given), so a re-run sends no write."
  - Publishing uses C(POST /workflows/{id}/publish) and C(/unpublish) where the server offers them (n8n 2.x as of
    today), and C(POST /workflows/{id}/activate) and C(/deactivate) on earlier 2.x releases. Which one is read from
    the server's own API description (C(/api/v1/openapi.yml)); when that is not served, a 404 of C(/publish) for
    an existing workflow selects C(/activate).
  - "Published means the saved version is the one that runs: a published workflow whose draft differs from its
    published version (edited in the editor and not published) is published again."
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.n8n
options:
  name:
    description:
      - Name of the workflow (its identity). Overrides the name inside O(src) or O(content).
    type: str
    required: true
  src:
    description:
      - Path of a workflow JSON file on the controller or target host running the module.
      - Mutually exclusive with O(content). One of them is required with O(state=present).
    type: path
  content:
    description:
      - The workflow as a dict or a JSON string (C(nodes), C(connections), optional C(settings)).
    type: raw
  state:
    description:
      - V(present) creates or updates the workflow; V(absent) deletes it (unpublishing it first).
    type: str
    choices: [present, absent]
    default: present
  published:
    description:
      - V(true) publishes the workflow (its saved version then runs in production, for triggers, webhooks and calls
        from other workflows); V(false) unpublishes it. Omit to leave it as it is.
      - A sub-workflow started by an Execute Workflow node must be published, or every caller fails.
    type: bool
  credentials:
    description:
      - Maps credential names used in the workflow file to the names of the credentials on the target n8n (for
        example when the file was exported from another instance). Names not listed are looked up as they are.
    type: dict
    default: {}
  project_id:
    description:
      - Project to create the workflow in. Default the API key owner's personal project. Only used on creation.
    type: str
"""

EXAMPLES = r"""
- name: Deploy and publish the Log Token Usage sub-workflow
  cx_catalyst.kpi_dashboard.n8n_workflow:
    url: https://n8n.example.com
    api_key: "{{ vault_n8n_api_key }}"
    name: Log Token Usage
    src: files/n8n/log-token-usage-workflow.json
    published: true

- name: Same workflow, credential renamed on this instance
  cx_catalyst.kpi_dashboard.n8n_workflow:
    url: https://n8n.example.com
    api_key: "{{ vault_n8n_api_key }}"
    name: Token Tracking
    src: files/n8n/token-tracking-workflow.json
    credentials:
      KPI PostgreSQL: KPI PostgreSQL (production)
    published: true

- name: Remove a workflow
  cx_catalyst.kpi_dashboard.n8n_workflow:
    url: https://n8n.example.com
    api_key: "{{ vault_n8n_api_key }}"
    name: Old tracker
    state: absent
"""

RETURN = r"""
workflow_id:
  description: Id of the workflow (empty when absent; a placeholder in check mode for a new one).
  returned: always
  type: str
published:
  description: Whether the workflow is published after the task.
  returned: always
  type: bool
version_id:
  description: Version id of the saved workflow (C(versionId)), when the server reports one.
  returned: when state is present and not in check mode
  type: str
publish_api:
  description: Which endpoints publish on this server, V(publish) or V(activate); empty when none was needed.
  returned: always
  type: str
actions:
  description: What was (or in check mode, would be) done, in order, for example V(create), V(update), V(publish).
  returned: always
  type: list
  elements: str
diff:
  description: The normalised workflow (nodes, connections, managed settings, published) before and after.
  returned: when diff mode is on
  type: dict
"""

import json

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._n8n_client import N8nError, n8n_module, path_quote, run_module

# Node fields compared and sent; everything else of an export (id, webhookId unless given, createdAt...) is not.
NODE_FIELDS = (
    "name",
    "type",
    "typeVersion",
    "position",
    "parameters",
    "credentials",
    "disabled",
    "notes",
    "notesInFlow",
    "executeOnce",
    "alwaysOutputData",
    "retryOnFail",
    "maxTries",
    "waitBetweenTries",
    "onError",
    "continueOnFail",
    "webhookId",
    "id",
)
NODE_DEFAULTS = {
    "parameters": {},
    "disabled": False,
    "notesInFlow": False,
    "executeOnce": False,
    "alwaysOutputData": False,
    "retryOnFail": False,
    "continueOnFail": False,
}


class WorkflowInputError(Exception):
    pass


def load_desired(p):
    if p["src"]:
        try:
            with open(p["src"], "r") as fh:
                data = json.load(fh)
        except (IOError, OSError) as exc:
            raise WorkflowInputError("cannot read workflow file %s: %s" % (p["src"], exc))
        except ValueError as exc:
            raise WorkflowInputError("workflow file %s is not valid JSON: %s" % (p["src"], exc))
    else:
        data = p["content"]
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise WorkflowInputError("content is not valid JSON: %s" % exc)
    if not isinstance(data, dict):
        raise WorkflowInputError("the workflow must be a JSON object with nodes and connections")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and n.get("name") and n.get("type") for n in nodes):
        raise WorkflowInputError("the workflow needs a list 'nodes' whose items have a name and a type")
    names = [n["name"] for n in nodes]
    dupes = sorted(set(x for x in names if names.count(x) > 1))
    if dupes:
        raise WorkflowInputError("node names must be unique; repeated: %s" % ", ".join(dupes))
    connections = data.get("connections") or {}
    if not isinstance(connections, dict):
        raise WorkflowInputError("'connections' must be an object")
    unknown = sorted(set(connections) - set(names))
    if unknown:
        raise WorkflowInputError("connections start at nodes that do not exist: %s" % ", ".join(unknown))
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise WorkflowInputError("'settings' must be an object")
    return {"nodes": nodes, "connections": connections, "settings": settings}


# ------------------------------------------------------------------------------------------ normalisation
def as_number(value):
    """1 and 1.0 compare equal (n8n may store either); anything else is compared as it is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def norm_node(node, keep_identity):
    out = {}
    for key in NODE_FIELDS:
        if key in ("id", "webhookId") and key not in keep_identity:
            continue
        if key in node and node[key] is not None:
            out[key] = node[key]
    for key, default in NODE_DEFAULTS.items():
        if out.get(key, default) == default:
            out.pop(key, None)
    if isinstance(out.get("position"), list):
        out["position"] = [as_number(x) for x in out["position"]]
    if "typeVersion" in out:
        out["typeVersion"] = as_number(out["typeVersion"])
    if out.get("credentials"):
        out["credentials"] = dict(
            (ctype, {"id": str((ref or {}).get("id") or ""), "name": (ref or {}).get("name")}) for ctype, ref in out["credentials"].items()
        )
    else:
        out.pop("credentials", None)
    return out


def view(nodes, connections, settings, published, identity_keys):
    """What is compared and shown in the diff: nodes by name, connections, managed settings, published."""
    return {
        "nodes": dict((n["name"], norm_node(n, identity_keys.get(n["name"], ()))) for n in nodes),
        "connections": connections or {},
        "settings": settings,
        "published": published,
    }


def identity_keys_of(desired_nodes):
    """Node ids and webhook ids are compared only when the file sets them."""
    return dict((n["name"], tuple(k for k in ("id", "webhookId") if n.get(k))) for n in desired_nodes)


# ------------------------------------------------------------------------------------------ server access
def find_workflow(client, name):
    obj = "workflows named '%s'" % name
    items = client.list_all("/workflows", "list", obj, params={"name": name, "excludePinnedData": "true"})
    match = [w for w in items if w.get("name") == name and not w.get("isArchived")]
    if len(match) > 1:
        raise N8nError(
            "n8n: %d workflows are named '%s' (ids %s); rename or delete all but one" % (len(match), name, ", ".join(str(w.get("id")) for w in match))
        )
    if not match:
        return None
    # list items can be trimmed on some versions: read the full workflow
    return client.get("/workflows/%s" % path_quote(match[0]["id"]), "read", "workflow '%s'" % name, params={"excludePinnedData": "true"})


def credential_index(client):
    index = {}
    for cred in client.list_all("/credentials", "list", "credentials"):
        index.setdefault((cred.get("name"), cred.get("type")), []).append(cred)
    return index


def resolve_credentials(client, nodes, rename, module=None):
    """Set each node credential's id from the credential of that name and type on the server.

    In check mode a missing credential is a warning, not an error: an earlier task of the same run (n8n_credential)
    would create it, so "what would change" can be reported before the first deployment.
    """
    refs = [(n, ctype, ref) for n in nodes for ctype, ref in (n.get("credentials") or {}).items()]
    if not refs:
        return nodes
    index = credential_index(client)
    missing = []
    for node, ctype, ref in refs:
        if not isinstance(ref, dict) or not ref.get("name"):
            raise WorkflowInputError("node '%s': credential '%s' needs a name" % (node["name"], ctype))
        wanted = rename.get(ref["name"], ref["name"])
        found = index.get((wanted, ctype), [])
        if len(found) > 1:
            raise N8nError(
                "n8n: node '%s' uses credential '%s' of type %s, and %d credentials have that name and type" % (node["name"], wanted, ctype, len(found))
            )
        if not found:
            missing.append("'%s' (type %s, node '%s')" % (wanted, ctype, node["name"]))
            continue
        ref["id"], ref["name"] = str(found[0]["id"]), wanted
    if missing:
        if module is not None and module.check_mode:
            module.warn(
                "n8n: credentials not found on the server (yet): %s; a real run fails unless an earlier task creates them (n8n_credential)" % "; ".join(missing)
            )
            return nodes
        raise N8nError("n8n: credentials not found on the server: %s; create them first (n8n_credential)" % "; ".join(missing))
    return nodes


def is_published(wf):
    if not wf:
        return False
    if "activeVersionId" in wf:
        return bool(wf.get("activeVersionId")) or bool(wf.get("active"))
    return bool(wf.get("active"))


def published_is_stale(wf):
    """A published workflow whose saved version is not the published one (edited, not published)."""
    active_version = wf.get("activeVersionId")
    return bool(active_version) and bool(wf.get("versionId")) and active_version != wf.get("versionId")


class Publisher(object):
    """Publishes through /publish or /activate, whichever the server offers."""

    def __init__(self, client):
        self.client = client
        self.api = None

    def choose(self):
        if self.api is None:
            offers = self.client.offers("/workflows/{id}/publish")
            if offers is True:
                self.api = "publish"
            elif offers is False:
                self.api = "activate"
        return self.api

    def call(self, wf_id, publish, obj):
        verbs = {("publish", True): "publish", ("publish", False): "unpublish", ("activate", True): "activate", ("activate", False): "deactivate"}
        api = self.choose()
        action = "publish" if publish else "unpublish"
        if api is None:  # the server does not describe itself: try the current endpoints, fall back on 404
            body = self.client.request(
                "POST", "/workflows/%s/%s" % (path_quote(wf_id), verbs[("publish", publish)]), action, obj, json_body={} if publish else None, missing_ok=True
            )
            if body is not None:
                self.api = "publish"
                return body
            self.api = api = "activate"
        return self.client.request(
            "POST", "/workflows/%s/%s" % (path_quote(wf_id), verbs[(api, publish)]), action, obj, json_body={} if (publish and api == "publish") else None
        )


def delete_workflow(client, wf_id, obj, attempts=20):
    """DELETE, waiting while n8n still finishes an unpublish (it answers 409 until then)."""
    for attempt in range(1, attempts + 1):
        try:
            return client.request("DELETE", "/workflows/%s" % path_quote(wf_id), "delete", obj, missing_ok=True)
        except N8nError as exc:
            if exc.status != 409 or "unpublish" not in str(exc) or attempt == attempts:
                raise
            client._sleep(0.5)


# ------------------------------------------------------------------------------------------ main logic
def run(module, client):
    p = module.params
    name = p["name"]
    obj = "workflow '%s'" % name
    desired = load_desired(p) if p["state"] == "present" else None  # bad input fails before any request
    current = find_workflow(client, name)
    publisher = Publisher(client)
    result = dict(changed=False, workflow_id=str(current["id"]) if current else "", published=is_published(current), publish_api="", actions=[])

    if p["state"] == "absent":
        if current is not None:
            result["actions"].append("delete")
            result.update(changed=True, workflow_id="", published=False)
            if not module.check_mode:
                if is_published(current):
                    publisher.call(current["id"], False, obj)
                    result["publish_api"] = publisher.api or ""
                delete_workflow(client, current["id"], obj)
        if module._diff:
            before = view(current["nodes"], current.get("connections"), current.get("settings") or {}, is_published(current), {}) if current else {}
            result["diff"] = {"before": before, "after": {}}
        return result

    nodes = json.loads(json.dumps(desired["nodes"]))
    resolve_credentials(client, nodes, p["credentials"] or {}, module)
    identity = identity_keys_of(nodes)
    want_published = p["published"] if p["published"] is not None else is_published(current)

    if current is not None:
        # keep the server's node ids and webhook ids where the file has none (no churn, stable webhook URLs)
        cur_by_name = dict((n.get("name"), n) for n in current.get("nodes") or [])
        for node in nodes:
            for key in ("id", "webhookId"):
                if not node.get(key) and cur_by_name.get(node["name"], {}).get(key):
                    node[key] = cur_by_name[node["name"]][key]
        cur_settings = current.get("settings") or {}
        managed_cur = dict((k, cur_settings.get(k)) for k in desired["settings"])
        before = view(current.get("nodes") or [], current.get("connections"), managed_cur, is_published(current), identity)
    else:
        cur_settings = {}
        before = {}
    after = view(nodes, desired["connections"], dict(desired["settings"]), want_published, identity)

    content_changed = (
        current is None or before["nodes"] != after["nodes"] or before["connections"] != after["connections"] or before["settings"] != after["settings"]
    )
    currently_published = is_published(current)
    actions = []
    if current is None:
        actions.append("create")
    elif content_changed:
        if currently_published and not want_published:
            actions.append("unpublish")
        actions.append("update")
    if want_published:
        if current is None or not currently_published:
            actions.append("publish")
        elif content_changed:
            # PUT re-publishes a published workflow by itself (publishIfActive / re-activation); verified below
            actions.append("republish")
        elif published_is_stale(current):
            actions.append("publish")
    elif currently_published and "unpublish" not in actions:
        actions.append("unpublish")
    result["actions"] = actions
    result["changed"] = bool(actions)
    result["published"] = want_published

    if actions and not module.check_mode:
        if any(a in ("publish", "unpublish", "republish") for a in actions):
            publisher.choose()  # discover before the first write, so a failure there writes nothing
        body = {"name": name, "nodes": nodes, "connections": desired["connections"], "settings": dict(cur_settings, **desired["settings"])}
        wf = current
        for action in actions:
            if action == "create":
                if p["project_id"]:
                    body["projectId"] = p["project_id"]
                wf = client.request("POST", "/workflows", "create", obj, json_body=body)
                body.pop("projectId", None)
            elif action == "update":
                wf = client.request("PUT", "/workflows/%s" % path_quote(current["id"]), "update", obj, json_body=body)
            elif action == "publish":
                wf = publisher.call(wf["id"], True, obj) or wf
            elif action == "unpublish":
                wf = publisher.call(wf["id"], False, obj) or wf
            elif action == "republish":
                wf = client.get("/workflows/%s" % path_quote(current["id"]), "read", obj, params={"excludePinnedData": "true"})
                if not is_published(wf) or published_is_stale(wf):
                    wf = publisher.call(wf["id"], True, obj) or wf
        if not isinstance(wf, dict) or not wf.get("id"):
            raise N8nError("n8n: %s: the server's answer has no workflow id" % obj)
        result["workflow_id"] = str(wf["id"])
        result["published"] = is_published(wf)
        if wf.get("versionId"):
            result["version_id"] = str(wf["versionId"])
    elif current is not None:
        if current.get("versionId"):
            result["version_id"] = str(current["versionId"])
    elif module.check_mode:
        result["workflow_id"] = "(new)"
    result["publish_api"] = publisher.api or ""
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    options = dict(
        name=dict(type="str", required=True),
        src=dict(type="path"),
        content=dict(type="raw"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        published=dict(type="bool"),
        credentials=dict(type="dict", default={}),
        project_id=dict(type="str"),
    )
    module = n8n_module(options, mutually_exclusive=[("src", "content")], required_if=[("state", "present", ("src", "content"), True)])
    name = module.params["name"]
    run_module(module, run, input_errors={WorkflowInputError: lambda exc: "n8n: workflow '%s': %s" % (name, exc)})


if __name__ == "__main__":
    main()

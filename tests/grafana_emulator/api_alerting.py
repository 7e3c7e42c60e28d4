"""Alerting provisioning API under /api/v1/provisioning (docs §5)."""

import copy
import re
import uuid

from . import binding
from .server import ApiError, error, errutil, bad_request_data
from .api_datasources import find as find_datasource
from .api_folders import folder_by_uid
from .api_core import default_policy_tree
from .store import now_iso

PREFIX = r"/api/v1/provisioning"
REDACTED = "[REDACTED]"
# Secure settings per integration type: stored apart and reported as [REDACTED] by GET (Grafana's
# provisioning API redacts secure fields unless decrypt=true is requested by someone allowed to read secrets)
SECURE_FIELDS = {
    "slack": ("url", "token"),
    "webhook": ("password", "authorization_credentials"),
    "pagerduty": ("integrationKey",),
    "teams": ("url",),
    "discord": ("url",),
    "googlechat": ("url",),
    "telegram": ("bottoken",),
    "opsgenie": ("apiKey",),
    "victorops": ("url",),
    "pushover": ("userKey", "apiToken"),
    "line": ("token",),
    "threema": ("api_secret",),
    "wecom": ("url", "secret"),
    "sensugo": ("apikey",),
    "dingding": ("url",),
    "kafka": ("password",),
    "alertmanager": ("basicAuthPassword",),
    "email": (),
}
NO_DATA_STATES = ("NoData", "Alerting", "OK", "KeepLast")
EXEC_ERR_STATES = ("Error", "Alerting", "OK", "KeepLast")
DURATION_RE = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
BASE_INTERVAL = 10


def _duration_seconds(text):
    total = 0
    for num, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text):
        total += int(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[unit]
    return total


def register(app):
    store = app.store
    profile = app.profile
    bad_provenance_status = 400 if profile.v >= (11, 0, 0) else 500

    def requested_provenance(req, kind):
        """docs §5: X-Disable-Provenance present -> "" (none), else "api"; which writes honour it depends on
        the version (9.5/10.x: rule POST/PUT only; 11.x+: every provisioning write incl. DELETE)."""
        honoured = profile.provenance_header_all_writes or (kind == "rule" and req.method in ("POST", "PUT"))
        return "" if honoured and req.has_header("X-Disable-Provenance") else "api"

    def check_provenance(stored, wanted, deleting=False):
        if stored in ("", wanted):
            return
        if deleting:
            raise error(bad_provenance_status, "cannot delete with provided provenance '%s', needs '%s'" % (wanted, stored), go_error="provenance")
        raise error(bad_provenance_status, "cannot changed provenance from '%s' to '%s'" % (stored, wanted), go_error="provenance")

    # ------------------------------------------------------------------ alert rules
    def rule_out(rule):
        out = {k: copy.deepcopy(v) for k, v in rule.items() if not k.startswith("_")}
        if not out.get("provenance") and profile.provenance_omitempty:
            out.pop("provenance", None)  # §14.4: json:"provenance,omitempty" on 10.x+
        return out

    def group_key(org_id, folder_uid, group):
        return "%d/%s/%s" % (org_id, folder_uid, group)

    def validate_rule(req, body, uid=None):
        if not isinstance(body, dict):
            raise bad_request_data()
        problems = []
        for key in ("title", "ruleGroup"):
            value = body.get(key)
            if not isinstance(value, str) or not 1 <= len(value) <= 190:
                problems.append("%s must be between 1 and 190 characters" % key)
        folder_uid = body.get("folderUID")
        if not isinstance(folder_uid, str) or not folder_uid:
            problems.append("folderUID is required")
        elif folder_by_uid(store, req.org_id, folder_uid) is None:
            problems.append("folder does not exist")
        data = body.get("data")
        if not isinstance(data, list) or not data:
            problems.append("invalid alert query: at least one query is required")
            data = []
        ref_ids = []
        for q in data:
            if not isinstance(q, dict) or not q.get("refId"):
                problems.append("invalid alert query: refId is required")
                continue
            ref_ids.append(q["refId"])
            ds_uid = q.get("datasourceUid")
            if ds_uid != "__expr__" and (not ds_uid or find_datasource(store, req.org_id, uid=ds_uid) is None):
                problems.append("invalid alert query %s: data source %s not found" % (q["refId"], ds_uid))
        if body.get("condition") not in ref_ids:
            problems.append("condition %s does not exist, must be one of %s" % (body.get("condition"), ref_ids))
        if body.get("noDataState") not in NO_DATA_STATES:
            problems.append("unknown no data state: %r" % body.get("noDataState"))
        if body.get("execErrState") not in EXEC_ERR_STATES:
            problems.append("unknown exec error state: %r" % body.get("execErrState"))
        duration = body.get("for", "0s")
        if isinstance(duration, int):
            duration = "%ds" % (duration // 1000000000)
        if not isinstance(duration, str) or not DURATION_RE.match(duration):
            problems.append("invalid for duration %r" % (body.get("for"),))
        if problems:
            raise error(400, "invalid alert rule: " + "; ".join(problems), go_error="; ".join(problems))
        for key in ("labels", "annotations"):
            if body.get(key) is not None and not (isinstance(body[key], dict) and all(isinstance(v, str) for v in body[key].values())):
                raise bad_request_data("%s must be a map of strings" % key)
        return {
            "uid": uid or body.get("uid") or uuid.uuid4().hex[:14],
            "orgID": req.org_id,
            "folderUID": folder_uid,
            "ruleGroup": body["ruleGroup"],
            "title": body["title"],
            "condition": body["condition"],
            "data": copy.deepcopy(data),
            "noDataState": body["noDataState"],
            "execErrState": body["execErrState"],
            "for": duration,
            "annotations": dict(body.get("annotations") or {}),
            "labels": dict(body.get("labels") or {}),
            "isPaused": bool(body.get("isPaused")),
        }

    def store_rule(req, rule, provenance, existing=None):
        key = group_key(req.org_id, rule["folderUID"], rule["ruleGroup"])
        store.rule_groups.setdefault(key, {"interval": 60})
        rule["updated"] = now_iso()
        rule["provenance"] = provenance
        rule["id"] = existing["id"] if existing else store.next_id("alert_rule")
        store.alert_rules[rule["uid"]] = rule
        drop_empty_groups()
        return rule

    def drop_empty_groups():
        used = {group_key(r["orgID"], r["folderUID"], r["ruleGroup"]) for r in store.alert_rules.values()}
        for key in [k for k in store.rule_groups if k not in used]:
            del store.rule_groups[key]

    def rule_or_404(req, uid):
        rule = store.alert_rules.get(uid)
        if rule is None or rule["orgID"] != req.org_id:
            if profile.rule_404_empty:
                raise ApiError(404, None)
            raise error(500, "failed to get alert rule", go_error="could not find alert rule")
        return rule

    @app.route("GET", PREFIX + r"/alert-rules", action="alert.provisioning:read")
    def list_rules(req):
        return [rule_out(r) for r in sorted(store.alert_rules.values(), key=lambda r: r["id"]) if r["orgID"] == req.org_id]

    @app.route("GET", PREFIX + r"/alert-rules/(?P<uid>[^/]+)", action="alert.provisioning:read")
    def get_rule(req, uid):
        return rule_out(rule_or_404(req, uid))

    @app.route("POST", PREFIX + r"/alert-rules", action="alert.provisioning:write")
    def post_rule(req):
        body = req.json(fields=binding.ALERT_RULE)
        rule = validate_rule(req, body)
        if rule["uid"] in store.alert_rules:
            # §14.11: 400 on 11.x (unique constraint mapped to bad request); 409 errutil in current code
            if profile.rule_uid_taken_status == 409:
                raise errutil(
                    409,
                    "alerting.alert-rule.conflict",
                    "Failed to save alert rule '%s' in organization %d due to conflict: a rule with this UID already exists" % (rule["uid"], req.org_id),
                )
            raise error(
                400,
                "failed to save alert rule: a conflicting alert rule is found: rule title under the same organisation and folder should be unique",
                go_error="unique constraint violation",
            )
        return 201, rule_out(store_rule(req, rule, requested_provenance(req, "rule")))

    @app.route("PUT", PREFIX + r"/alert-rules/(?P<uid>[^/]+)", action="alert.provisioning:write")
    def put_rule(req, uid):
        existing = rule_or_404(req, uid)
        rule = validate_rule(req, req.json(fields=binding.ALERT_RULE), uid=uid)
        provenance = requested_provenance(req, "rule")
        check_provenance(existing["provenance"], provenance)
        return rule_out(store_rule(req, rule, provenance, existing))

    @app.route("DELETE", PREFIX + r"/alert-rules/(?P<uid>[^/]+)", action="alert.provisioning:write")
    def delete_rule(req, uid):
        rule = store.alert_rules.get(uid)
        if rule is not None and rule["orgID"] == req.org_id:
            check_provenance(rule["provenance"], requested_provenance(req, "rule"), deleting=True)
            del store.alert_rules[uid]
            drop_empty_groups()
        return 204, None, {}, b""

    # ------------------------------------------------------------------ rule groups
    def group_rules(org_id, folder_uid, group):
        return sorted(
            (r for r in store.alert_rules.values() if r["orgID"] == org_id and r["folderUID"] == folder_uid and r["ruleGroup"] == group), key=lambda r: r["id"]
        )

    def group_out(org_id, folder_uid, group):
        meta = store.rule_groups.get(group_key(org_id, folder_uid, group), {"interval": 60})
        return {"title": group, "folderUid": folder_uid, "interval": meta["interval"], "rules": [rule_out(r) for r in group_rules(org_id, folder_uid, group)]}

    GROUP = PREFIX + r"/folder/(?P<folder_uid>[^/]+)/rule-groups/(?P<group>[^/]+)"

    def group_not_found():
        """§14.8: a missing rule group is a 404 with a JSON body (older code ErrResp; current errutil, whose
        public message defaults to the status text -- chosen, the message text is unverified)."""
        if profile.rule_group_404_errutil:
            return errutil(404, "alerting.alert-rule.notFound", "Not found")
        return error(404, "rulegroup not found", go_error="rule group not found")

    @app.route("GET", GROUP, action="alert.provisioning:read")
    def get_group(req, folder_uid, group):
        if not group_rules(req.org_id, folder_uid, group):
            raise group_not_found()
        return group_out(req.org_id, folder_uid, group)

    @app.route("PUT", GROUP, action="alert.provisioning:write")
    def put_group(req, folder_uid, group):
        body = req.json(fields=binding.RULE_GROUP)
        if folder_by_uid(store, req.org_id, folder_uid) is None:
            raise error(400, "invalid alert rule group: folder does not exist", go_error="folder not found")
        interval = body.get("interval")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0 or interval % BASE_INTERVAL:
            raise error(
                400,
                "invalid alert rule group: interval (%ss) should be non-zero and divided exactly by scheduler interval: %ds" % (interval, BASE_INTERVAL),
                go_error="invalid interval",
            )
        rules_in = body.get("rules") or []
        if not isinstance(rules_in, list):
            raise bad_request_data()
        provenance = requested_provenance(req, "group")
        new_rules = []
        seen = set()
        for item in rules_in:
            if not isinstance(item, dict):
                raise bad_request_data()
            item = dict(item, folderUID=folder_uid, ruleGroup=group)
            rule = validate_rule(req, item)
            if rule["uid"] in seen:
                raise error(400, "invalid alert rule group: duplicate rule uid %s" % rule["uid"])
            seen.add(rule["uid"])
            existing = store.alert_rules.get(rule["uid"])
            if existing is not None:
                if existing["orgID"] != req.org_id:
                    raise error(409, "rule uid %s already used" % rule["uid"])
                check_provenance(existing["provenance"], provenance)
            new_rules.append((rule, existing))
        doomed = [r for r in group_rules(req.org_id, folder_uid, group) if r["uid"] not in seen]
        for r in doomed:
            check_provenance(r["provenance"], provenance, deleting=True)
        # validated everything: now write
        for r in doomed:
            del store.alert_rules[r["uid"]]
        store.rule_groups[group_key(req.org_id, folder_uid, group)] = {"interval": interval}
        for rule, existing in new_rules:
            store_rule(req, rule, provenance, existing)
        if new_rules:
            store.rule_groups[group_key(req.org_id, folder_uid, group)] = {"interval": interval}
        drop_empty_groups()
        return group_out(req.org_id, folder_uid, group)

    if profile.rule_group_delete:

        @app.route("DELETE", GROUP, action="alert.provisioning:write")
        def delete_group(req, folder_uid, group):
            rules = group_rules(req.org_id, folder_uid, group)
            if not rules:
                raise group_not_found()
            provenance = requested_provenance(req, "group")
            for r in rules:
                check_provenance(r["provenance"], provenance, deleting=True)
            for r in rules:
                del store.alert_rules[r["uid"]]
            drop_empty_groups()
            return 204, None, {}, b""

    # ------------------------------------------------------------------ contact points
    def cp_out(cp, redact=True):
        settings = copy.deepcopy(cp["settings"])
        if redact:
            for key in cp["secure"]:
                settings[key] = REDACTED
        out = {
            "uid": cp["uid"],
            "name": cp["name"],
            "type": cp["type"],
            "settings": settings,
            "disableResolveMessage": cp["disableResolveMessage"],
            "provenance": cp["provenance"],
        }
        if not cp["provenance"] and profile.provenance_omitempty:
            del out["provenance"]  # §14.4: json:"provenance,omitempty" on 10.x+
        return out

    def validate_cp(body, stored=None):
        if not isinstance(body, dict):
            raise bad_request_data()
        cp_type = body.get("type")
        settings = body.get("settings")
        name = body.get("name")
        if cp_type not in SECURE_FIELDS:
            raise error(400, "invalid object specification: notifier %r is not supported" % (cp_type,), go_error="unknown type")
        if not isinstance(settings, dict):
            raise error(400, "invalid object specification: settings should not be empty", go_error="settings")
        if not isinstance(name, str) or not name:
            raise error(400, "invalid object specification: name should not be empty", go_error="name")
        settings = copy.deepcopy(settings)
        secure = {}
        for key in SECURE_FIELDS[cp_type]:
            if key in settings:
                value = settings.pop(key)
                if value == REDACTED and stored is not None and key in stored["secure"]:
                    value = stored["secure"][key]  # [REDACTED] sent back keeps the stored secret
                if value not in ("", None, REDACTED):
                    secure[key] = value
        if cp_type == "slack" and not (secure.get("url") or secure.get("token")):
            raise error(400, "invalid object specification: token must be specified when using the Slack chat API", go_error="slack")
        if cp_type == "slack" and secure.get("token") and not settings.get("recipient"):
            raise error(400, "invalid object specification: recipient must be specified when using the Slack chat API", go_error="slack")
        if cp_type == "email" and not settings.get("addresses"):
            raise error(400, "invalid object specification: could not find addresses in settings", go_error="email")
        if cp_type == "webhook" and not settings.get("url"):
            raise error(400, "invalid object specification: required field 'url' is not specified", go_error="webhook")
        return {"name": name, "type": cp_type, "settings": settings, "secure": secure, "disableResolveMessage": bool(body.get("disableResolveMessage"))}

    def cp_or_404(req, uid):
        cp = store.contact_points.get(uid)
        if cp is None or cp["orgId"] != req.org_id:
            raise error(404, "contact point not found", go_error="not found")
        return cp

    @app.route("GET", PREFIX + r"/contact-points", action="alert.provisioning:read")
    def list_cps(req):
        name = req.q("name")
        out = [cp_out(cp) for cp in store.contact_points.values() if cp["orgId"] == req.org_id and (name is None or cp["name"] == name)]
        return sorted(out, key=lambda c: (c["name"], c["uid"]))

    @app.route("POST", PREFIX + r"/contact-points", action="alert.provisioning:write")
    def post_cp(req):
        body = req.json(fields=binding.CONTACT_POINT)
        cp = validate_cp(body)
        uid = body.get("uid") or uuid.uuid4().hex[:14]
        if not isinstance(uid, str) or not re.match(r"^[a-zA-Z0-9\-_]{1,40}$", uid):
            raise error(400, "invalid object specification: uid is invalid", go_error="uid")
        if uid in store.contact_points:
            taken = store.contact_points[uid]
            # §14.5: 500 on 10.x/11.x (plain error, only ErrValidation maps to 400); 409 errutil in current code
            if profile.cp_uid_taken_status == 409:
                raise errutil(
                    409,
                    "alerting.notifications.contact-points.uidInUse",
                    "Receiver configuration with UID '%s' already exists in contact point '%s'. Please "
                    "use unique identifiers for receivers across all contact points." % (uid, taken["name"]),
                )
            if profile.cp_uid_taken_status == 500:
                raise error(
                    500,
                    "receiver configuration with UID '%s' already exist in contact point '%s'. Please "
                    "use unique identifiers for receivers across all contact points" % (uid, taken["name"]),
                    go_error="uid exists",
                )
            raise error(400, "invalid object specification: contact point with uid %s already exists" % uid, go_error="uid exists")
        cp.update({"uid": uid, "orgId": req.org_id, "provenance": requested_provenance(req, "cp")})
        store.contact_points[uid] = cp
        out = cp_out(cp, redact=False)
        for key in cp["secure"]:  # the reply never carries the secrets back
            out["settings"].pop(key, None)
        return 202, out

    @app.route("PUT", PREFIX + r"/contact-points/(?P<uid>[^/]+)", action="alert.provisioning:write")
    def put_cp(req, uid):
        stored = cp_or_404(req, uid)
        cp = validate_cp(req.json(fields=binding.CONTACT_POINT), stored)
        provenance = requested_provenance(req, "cp")
        check_provenance(stored["provenance"], provenance)
        if cp["name"] != stored["name"]:
            for route in _walk(store.policies.get(req.org_id) or {}):
                if route.get("receiver") == stored["name"] and not any(
                    c["name"] == stored["name"] and c["uid"] != uid for c in store.contact_points.values() if c["orgId"] == req.org_id
                ):
                    route["receiver"] = cp["name"]  # renames propagate to the policy tree
        stored.update(cp)
        stored["provenance"] = provenance
        return 202, {"message": "contactpoint updated"}

    @app.route("DELETE", PREFIX + r"/contact-points/(?P<uid>[^/]+)", action="alert.provisioning:write")
    def delete_cp(req, uid):
        stored = cp_or_404(req, uid)
        if not profile.cp_delete_ignores_provenance:  # §14.6: 11.x deletes whatever the provenance
            check_provenance(stored["provenance"], requested_provenance(req, "cp"), deleting=True)
        last_of_name = not any(c["name"] == stored["name"] and c["uid"] != uid for c in store.contact_points.values() if c["orgId"] == req.org_id)
        if last_of_name and any(r.get("receiver") == stored["name"] for r in _walk(store.policies.get(req.org_id) or {})):
            # §14.6: 500 "failed to delete contact point" on 10.x/11.x; 409 errutil in current code
            if profile.cp_in_use_status == 409:
                raise errutil(409, "alerting.notifications.contact-points.referenced", "Contact point is currently referenced by a notification policy.")
            raise error(500, "failed to delete contact point", go_error="contact point '%s' is currently used by a notification policy" % stored["name"])
        del store.contact_points[uid]
        return 202, {"message": "contactpoint deleted"}

    # ------------------------------------------------------------------ notification policies
    def _walk(route):
        yield route
        for child in route.get("routes") or []:
            yield from _walk(child)

    def validate_route(req, tree):
        if not isinstance(tree, dict):
            raise bad_request_data()
        if not tree.get("receiver"):
            raise error(400, "invalid object specification: root route must specify a default receiver", go_error="receiver")
        names = {c["name"] for c in store.contact_points.values() if c["orgId"] == req.org_id}
        for route in _walk(tree):
            if not isinstance(route, dict):
                raise bad_request_data()
            receiver = route.get("receiver")
            if receiver and receiver not in names:
                raise error(400, "invalid object specification: receiver '%s' does not exist" % receiver, go_error="receiver")

    @app.route("GET", PREFIX + r"/policies", action="alert.provisioning:read")
    def get_policies(req):
        tree = copy.deepcopy(store.policies.get(req.org_id) or default_policy_tree())
        if not tree.get("provenance"):
            tree.pop("provenance", None)
        return tree

    @app.route("PUT", PREFIX + r"/policies", action="alert.provisioning:write")
    def put_policies(req):
        tree = req.json(fields=binding.ROUTE)
        validate_route(req, tree)
        provenance = requested_provenance(req, "policy")
        stored = store.policies.get(req.org_id) or default_policy_tree()
        check_provenance(stored.get("provenance", ""), provenance)
        tree = copy.deepcopy(tree)
        tree["provenance"] = provenance
        store.policies[req.org_id] = tree
        return 202, {"message": "policies updated"}

    @app.route("DELETE", PREFIX + r"/policies", action="alert.provisioning:write")
    def reset_policies(req):
        stored = store.policies.get(req.org_id) or default_policy_tree()
        check_provenance(stored.get("provenance", ""), requested_provenance(req, "policy"), deleting=True)
        store.policies[req.org_id] = default_policy_tree()
        tree = copy.deepcopy(store.policies[req.org_id])
        tree.pop("provenance", None)
        return 202, tree

"""Validate emulator traffic against Grafana's OpenAPI 2.0 file (9.5-era, docs §12).

For every request sent to an endpoint present in the spec, the request body is validated against the
body parameter schema and the response body against the schema of that status.  Where the 9.5 spec and
docs/grafana-behaviour.md (newer Grafana) disagree, the docs win and the difference is listed in EXCEPTIONS with the
reason; an error is only ignored when it matches an entry exactly (operation, direction, status,
JSON path, validator keyword).
"""

import json
import os
import re

import jsonschema

# Grafana's OpenAPI file is not part of the repository (it is Grafana's, AGPL-3.0; docs/grafana-behaviour.md §12).
# GRAFANA_OPENAPI names a copy; otherwise a reference copy beside the checkout is used when present.  Without
# either the body check is skipped and the test run says so (pytest_plugin's terminal summary).
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_BESIDE = os.path.join(os.path.dirname(_REPO), "shared", "reference", "grafana-openapi.json")
SPEC_PATH = os.environ.get("GRAFANA_OPENAPI") or _BESIDE
_SPEC = None


def available():
    """True when a spec is loaded or the OpenAPI file can be read (the body check runs)."""
    return _SPEC is not None or os.path.isfile(SPEC_PATH)


def status_line():
    if available():
        return "Grafana OpenAPI body check: ON (%s)" % SPEC_PATH
    return (
        "Grafana OpenAPI body check: SKIPPED - no OpenAPI file at %s (set GRAFANA_OPENAPI to a copy of "
        "Grafana's public/api-merged.json, docs/grafana-behaviour.md §12)" % SPEC_PATH
    )


# (operationId, "request"|"response", status or None, JSON path regex, validator keyword, message regex, reason)
EXCEPTIONS = [
    (
        "postDashboard",
        "response",
        200,
        r"^id$",
        "type",
        r"is not of type 'string'",
        "9.5 spec types id as string; Grafana's handler returns the numeric dashboard id (docs §4 shows id:N)",
    ),
    (
        "postDashboard",
        "response",
        200,
        r"^$",
        "required",
        r"^'title' is a required property$",
        "9.5 spec marks a 'title' (described as the slug) required; the handler sends slug, not title (docs §4)",
    ),
    (
        "deleteFolder",
        "response",
        200,
        r"^$",
        "required",
        r"^'(id|title)' is a required property$",
        '9.5 spec requires id/title; 11.x code answers {"message":"Folder deleted"} (docs §3 DELETE)',
    ),
    (
        "listTokens",
        "response",
        200,
        r"^\d+/(lastUsedAt|expiration)$",
        "type",
        r"^None is not of type",
        "Go encodes unset *time.Time as null; Swagger 2.0 has no nullable, so null fails type:string",
    ),
    (
        "RoutePutAlertRuleGroup",
        "request",
        None,
        r"^rules/\d+$",
        "required",
        r"^'(orgID|folderUID|ruleGroup)' is a required property$",
        "docs §5: a rule inside PUT rule-group takes folderUID/ruleGroup/orgID from the URL and the caller; "
        "the 9.5 schema reuses ProvisionedAlertRule with those fields required",
    ),
    (
        "RoutePostContactpoints",
        "request",
        None,
        r"^type$",
        "enum",
        r"is not one of",
        '9.5 spec enum has values with a leading space (" slack", ...), a known swagger generation bug',
    ),
    ("RoutePutContactpoint", "request", None, r"^type$", "enum", r"is not one of", "same leading-space enum bug as POST"),
    ("RoutePostContactpoints", "response", 202, r"^type$", "enum", r"is not one of", "same leading-space enum bug"),
    ("RouteGetContactpoints", "response", 200, r"^\d+/type$", "enum", r"is not one of", "same leading-space enum bug"),
    (
        "RoutePostAlertRule",
        "request",
        None,
        r"^(noDataState|execErrState)$",
        "enum",
        r"^'KeepLast' is not one",
        "KeepLast added after 9.5 (docs §5 lists NoData|Alerting|OK|KeepLast)",
    ),
    (
        "RoutePostAlertRule",
        "request",
        None,
        r"^$",
        "required",
        r"^'orgID' is a required property$",
        "Grafana fills orgID from the caller's org; clients (grafana.grafana, foundation-sdk) omit it",
    ),
    ("RoutePutAlertRule", "request", None, r"^$", "required", r"^'orgID' is a required property$", "same as POST: orgID comes from the caller"),
    (
        "getDashboardVersionsByUID",
        "response",
        200,
        r"^\d+/createdBy$",
        "type",
        r"is not of type 'integer'",
        'the spec reuses DashboardVersionDTO (user id); the handler answers DashboardVersionMeta with the login (dashboard docs example: "createdBy": "admin")',
    ),
]
EXCEPTIONS.append(
    (
        "queryMetricsWithExpressions",
        "response",
        400,
        r"^$",
        "required",
        r"^'message' is a required property$",
        "docs §6: a failed query answers 400 with the normal {results:{ref:{error,frames}}} body",
    )
)
# ObjectMatchers have custom (Un)MarshalJSON: on the wire each matcher is ["label", "op", "value"]
# (Grafana alerting provisioning docs), while the spec shows the Go struct {Name, Type, Value}.
for _op, _dir in (("RoutePutPolicyTree", "request"), ("RouteGetPolicyTree", "response"), ("RouteResetPolicyTree", "response")):
    EXCEPTIONS.append(
        (
            _op,
            _dir,
            None,
            r"(^|/)object_matchers/\d+$",
            "type",
            r"is not of type 'object'",
            "ObjectMatchers marshal as [label, op, value] triples, not the Go struct",
        )
    )
# Swagger types Go durations (ProvisionedAlertRule.for) as int64 nanoseconds; the provisioning API marshals
# prometheus model.Duration as a string such as "5m" (docs §5 "for (\"5m\")").
for _op, _dirs in (
    ("RoutePostAlertRule", ("request", "response")),
    ("RoutePutAlertRule", ("request", "response")),
    ("RouteGetAlertRule", ("response",)),
    ("RouteGetAlertRules", ("response",)),
    ("RoutePutAlertRuleGroup", ("request", "response")),
    ("RouteGetAlertRuleGroup", ("response",)),
):
    for _dir in _dirs:
        EXCEPTIONS.append(
            (_op, _dir, None, r"(^|/)for$", "type", r"is not of type 'integer'", 'model.Duration is a string ("5m") on the wire; the 9.5 spec says int64')
        )

# Response schemas the 9.5 file gets wrong in shape; the replacement is still validated item by item.
# (operationId, status) -> (schema, reason)
SCHEMA_OVERRIDES = {
    ("listTokens", 200): (
        {"type": "array", "items": {"$ref": "#/definitions/TokenDTO"}},
        "9.5 spec declares a single TokenDTO; the handler returns a list (docs §7 shows [...])",
    ),
}

# Success statuses the docs give where the 9.5 file declares another one: (operationId, status) -> reason.
# Any other 2xx status the spec does not declare for the operation is a violation.
STATUS_EXCEPTIONS = {
    ("RouteDeleteContactpoints", 202): 'docs §5: DELETE contact point answers 202 {"message":"contactpoint deleted"}; the 9.5 file says 204',
}

# Operations whose response is not JSON or has no schema to check.
NO_BODY_STATUSES = {204}


def spec():
    global _SPEC
    if _SPEC is None:
        with open(SPEC_PATH) as fh:
            _SPEC = json.load(fh)
    return _SPEC


class Operation(object):
    def __init__(self, template, method, op):
        self.template = template
        self.method = method
        self.op = op
        self.operation_id = op.get("operationId", "%s %s" % (method, template))

    def request_schema(self):
        for param in self.op.get("parameters", []):
            if param.get("in") == "body":
                return param.get("schema")
        return None

    def response_schema(self, status):
        if (self.operation_id, status) in SCHEMA_OVERRIDES:
            return SCHEMA_OVERRIDES[(self.operation_id, status)][0], True
        responses = self.op.get("responses", {})
        resp = responses.get(str(status))
        if resp is None:
            return None, False
        if "$ref" in resp:
            resp = spec()["responses"][resp["$ref"].split("/")[-1]]
        return resp.get("schema"), True


_COMPILED = None


def _compiled():
    global _COMPILED
    if _COMPILED is None:
        items = []
        for template, methods in spec()["paths"].items():
            full = template if template.startswith("/api/") else "/api" + template
            regex = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(full).replace(r"\{", "{").replace(r"\}", "}")) + "$")
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            for method, op in methods.items():
                if method == "parameters":
                    continue
                items.append((regex, literal, method.upper(), Operation(template, method.upper(), op)))
        items.sort(key=lambda x: -x[1])
        _COMPILED = items
    return _COMPILED


def find_operation(method, path):
    """The spec operation for an actual request path (alerting paths are stored with their /api prefix)."""
    for regex, _literal, m, op in _compiled():
        if m == method and regex.match(path):
            return op
    return None


def _errors(instance, schema):
    wrapped = dict(schema)
    wrapped["definitions"] = spec()["definitions"]
    validator = jsonschema.Draft4Validator(wrapped)
    return list(validator.iter_errors(instance))


def _excepted(operation_id, direction, status, err):
    path = "/".join(str(p) for p in err.absolute_path)
    for op_id, dirn, st, path_re, keyword, message_re, _reason in EXCEPTIONS:
        if (
            op_id == operation_id
            and dirn == direction
            and (st is None or st == status)
            and re.search(path_re, path)
            and keyword == err.validator
            and re.search(message_re, err.message)
        ):
            return True
    return False


class SpecViolation(AssertionError):
    pass


def check(method, path, request_body, status, response_body, check_request=True):
    """Validate one exchange; return the Operation checked (or None when the path is not in the spec).
    ``check_request=False`` for tests that send a deliberately invalid body (the response is still checked)."""
    if not available():
        return None
    op = find_operation(method, path)
    if op is None:
        return None
    problems = []
    req_schema = op.request_schema()
    if check_request and req_schema is not None and request_body is not None:
        for err in _errors(request_body, req_schema):
            if not _excepted(op.operation_id, "request", None, err):
                problems.append("request %s: %s" % ("/".join(map(str, err.absolute_path)) or "<root>", err.message))
    declared_statuses = {str(k) for k in op.op.get("responses", {})}
    if 200 <= status < 300 and str(status) not in declared_statuses and (op.operation_id, status) not in STATUS_EXCEPTIONS:
        problems.append("status %s is not declared (declared: %s)" % (status, ", ".join(sorted(declared_statuses))))
    if status not in NO_BODY_STATUSES:
        resp_schema, _declared = op.response_schema(status)
        if resp_schema is not None and response_body is not None:
            for err in _errors(response_body, resp_schema):
                if not _excepted(op.operation_id, "response", status, err):
                    where = "/".join(map(str, err.absolute_path)) or "<root>"
                    problems.append("response %s %s: %s" % (status, where, err.message[:300]))
    if problems:
        raise SpecViolation("%s %s (%s) violates the OpenAPI file:\n  %s" % (method, path, op.operation_id, "\n  ".join(problems)))
    return op

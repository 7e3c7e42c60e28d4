# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one Grafana HTTP client of the collection.

Every grafana_* module builds a :class:`GrafanaClient` from its parameters and calls
:meth:`GrafanaClient.request`; no module builds a raw request. The client does authentication
(Basic or Bearer), the per-request organisation header, TLS (CA bundle, client cert), time-outs,
retries with exponential backoff, JSON decoding, and turns every failure into one
:class:`GrafanaError` whose message names the action, the object, the HTTP status and Grafana's
``message`` -- with every secret the module knows scrubbed out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import hashlib
import hmac
import json
import os
import re
import time
from urllib.parse import quote, unquote

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by require_requests()
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

SAFE_METHODS = frozenset(("GET", "HEAD"))
IDEMPOTENT_WRITES = frozenset(("PUT", "DELETE"))
# 500 is not retried for writes: Grafana answers 500 for application errors that repeat identically.
RETRY_STATUS_READ = frozenset((500, 502, 503, 504))
RETRY_STATUS_WRITE = frozenset((502, 503, 504))
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
REDACTED = "********"
POSTGRES_TYPES = frozenset(("postgres", "grafana-postgresql-datasource"))


def grafana_argument_spec():
    """Connection options shared by every grafana_* module (doc fragment cx_catalyst.kpi_dashboard.grafana)."""
    return dict(
        url=dict(type="str", required=True, aliases=["grafana_url"], fallback=(env_fallback, ["GRAFANA_URL"])),
        url_username=dict(type="str", aliases=["grafana_user"], fallback=(env_fallback, ["GRAFANA_USER"])),
        url_password=dict(type="str", no_log=True, aliases=["grafana_password"], fallback=(env_fallback, ["GRAFANA_PASSWORD"])),
        token=dict(type="str", no_log=True, aliases=["grafana_api_key"], fallback=(env_fallback, ["GRAFANA_TOKEN"])),
        org_id=dict(type="int", default=1),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path"),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
    )


GRAFANA_MUTUALLY_EXCLUSIVE = [("url_username", "token")]
GRAFANA_REQUIRED_TOGETHER = [("url_username", "url_password")]
UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")


def grafana_module(options, mutually_exclusive=(), **kwargs):
    """AnsibleModule with the shared connection options and their constraints plus the module's ``options``."""
    argument_spec = grafana_argument_spec()
    argument_spec.update(options)
    return AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=GRAFANA_MUTUALLY_EXCLUSIVE + list(mutually_exclusive),
        required_together=GRAFANA_REQUIRED_TOGETHER,
        **kwargs,
    )


def check_uid(module, name="uid", allow_empty=False):
    """Fail with a clear message when the option ``name`` is set and is not a valid Grafana uid.

    Every uid that reaches a URL path is checked here, before the client sends anything, so a value such
    as ``../../folders/x`` can never address another object. ``allow_empty`` accepts ``""`` (e.g. the
    General folder).
    """
    uid = module.params.get(name)
    if uid is None or (allow_empty and uid == ""):
        return
    if not UID_RE.match(uid):
        module.fail_json(msg="%s '%s' is invalid: use 1-40 characters of letters, digits, '-' and '_'" % (name, uid))


def run_module(module, run, input_errors=None):
    """Run ``run(module, client)`` and exit with its result.

    A result with ``failed=True`` fails with that result. A GrafanaError fails with its message (secrets
    scrubbed). An exception of a class in ``input_errors`` (a dict: class -> a message format with one %s, or
    a function of the exception) fails with that message, also scrubbed.
    """
    input_errors = input_errors or {}
    client = GrafanaClient(module)
    try:
        result = run(module, client)
    except GrafanaError as exc:
        module.fail_json(msg=client.scrub(str(exc)))
    except tuple(input_errors) as exc:
        fmt = next(f for cls, f in input_errors.items() if isinstance(exc, cls))
        module.fail_json(msg=client.scrub(fmt(exc) if callable(fmt) else fmt % exc))
    if result.pop("failed", False):  # a read-only check that found problems (grafana_dashboard_verify)
        module.fail_json(**result)
    module.exit_json(**result)


class GrafanaError(Exception):
    """A failed Grafana call; ``str()`` is the user-facing message (already free of secrets)."""

    def __init__(self, msg, status=None, body=None):
        super(GrafanaError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.body = body


def grafana_message(body):
    """Grafana's explanation from an error body: ``message`` (+ ``error`` when present), or the raw text."""
    if isinstance(body, dict):
        parts = []
        for key in ("message", "error"):
            value = body.get(key)
            if value and str(value) not in parts:
                parts.append(str(value))
        if parts:
            return ": ".join(parts)
        return json.dumps(body, sort_keys=True)[:300]
    if body is None:
        return ""
    return str(body).strip()[:300]


class GrafanaClient(object):
    """Grafana HTTP API client bound to one AnsibleModule's connection parameters."""

    def __init__(self, module, sleep=None):
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self.module = module
        params = module.params
        self.base_url = params["url"].rstrip("/")
        self.org_id = params.get("org_id")
        self.timeout = params.get("timeout") or 30
        self.retries = max(0, params.get("retries") or 0)
        self._sleep = sleep or time.sleep
        self._version = None
        self._apis = None
        self._apis_refused = False
        self.request_count = 0
        self.secrets = []
        for value in (params.get("url_password"), params.get("token")):
            self.add_secret(value)

        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cx_catalyst.kpi_dashboard"})
        if params.get("token"):
            self.session.headers["Authorization"] = "Bearer %s" % params["token"]
        elif params.get("url_username"):
            self.session.auth = (params["url_username"], params.get("url_password") or "")
        if params.get("org_id") is not None:
            self.session.headers["X-Grafana-Org-Id"] = str(params["org_id"])
        if not params.get("validate_certs", True):
            self.session.verify = False
        elif params.get("ca_path"):
            self.session.verify = params["ca_path"]
        if params.get("client_cert"):
            cert = params["client_cert"]
            self.session.cert = (cert, params["client_key"]) if params.get("client_key") else cert

    # ------------------------------------------------------------------ secrets
    def add_secret(self, value):
        """Register a value that must never appear in an error message."""
        if value and isinstance(value, str) and value not in self.secrets:
            self.secrets.append(value)
            if "://" in value or "/" in value:
                # A webhook URL may be echoed percent-encoded by Grafana or requests.
                self.secrets.append(quote(value, safe=""))

    def scrub(self, text):
        text = "" if text is None else str(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, REDACTED)
        # credentials embedded in a URL
        return re.sub(r"(https?://)[^/@\s]+@", r"\1" + REDACTED + "@", text)

    # ------------------------------------------------------------------ requests
    def request(self, method, path, action, obj, json_body=None, params=None, headers=None, expected=(200,), missing_ok=False, retry_post=False, want=dict):
        """Send one request; return the decoded body (``None`` for 404 when ``missing_ok``).

        ``action`` and ``obj`` only build the error message, e.g. ``read`` / ``datasource 'pg'``.
        ``retry_post`` marks a POST that is a read (``/api/ds/query``) and may be retried like GET.
        ``want`` is the JSON type a successful answer must have (``dict``, ``list``, or ``None`` for any
        JSON): an answer that is not JSON (a login page, a wrong base URL) or of another type fails with a
        message naming what answered and what was expected, never with a crash in the module.
        ``path`` is refused before anything is sent when it could leave the endpoint it names
        (``.``/``..`` segments, also percent-encoded, a query or fragment, a backslash, control characters).
        """
        method = method.upper()
        check_path(path, action, obj)
        url = self.base_url + path
        retryable_read = method in SAFE_METHODS or (method == "POST" and retry_post)
        attempt = 0
        while True:
            attempt += 1
            self.request_count += 1
            try:
                resp = self.session.request(method, url, json=json_body, params=params, headers=headers, timeout=self.timeout)
            except requests.exceptions.RequestException as exc:
                before_send = isinstance(exc, requests.exceptions.ConnectTimeout) or (
                    isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.ReadTimeout)
                )
                may_retry = retryable_read or (method in IDEMPOTENT_WRITES and before_send)
                if may_retry and attempt <= self.retries:
                    self._backoff(attempt)
                    continue
                raise GrafanaError(self._fail_msg(action, obj, None, self._describe_exception(exc), attempt))
            status = resp.status_code
            retry_set = RETRY_STATUS_READ if retryable_read else (RETRY_STATUS_WRITE if method in IDEMPOTENT_WRITES else frozenset())
            if status in retry_set and attempt <= self.retries:
                self._backoff(attempt)
                continue
            body = self._decode(resp)
            if status == 404 and missing_ok:
                return None
            if status not in expected:
                raise GrafanaError(self._fail_msg(action, obj, status, grafana_message(body), attempt), status=status, body=body)
            self._check_answer(resp, body, method, path, action, obj, want)
            return body

    def get(self, path, action, obj, **kwargs):
        return self.request("GET", path, action, obj, **kwargs)

    def _backoff(self, attempt):
        self._sleep(min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1))))

    @staticmethod
    def _decode(resp):
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def _check_answer(self, resp, body, method, path, action, obj, want):
        """Fail unless a successful answer is JSON of the type the caller works with."""
        if body is None:
            return
        kind = {dict: "a JSON object", list: "a JSON array"}.get(want, "JSON")
        if isinstance(body, str) and not _is_json(resp):
            ctype = resp.headers.get("Content-Type") or "no Content-Type"
            start = " ".join(body.split())[:80]
            what = "an HTML page" if "html" in ctype.lower() or start.lower().startswith(("<!doctype", "<html")) else "a non-JSON answer"
            detail = (
                "%s %s answered HTTP %s with %s (%s, starting '%s'), but %s from Grafana's HTTP API was "
                "expected: check that url (%s) is Grafana's base URL (not a login page, an SSO proxy or "
                "another service)" % (method, path, resp.status_code, what, ctype, start, kind, self.base_url)
            )
            raise GrafanaError(self._fail_msg(action, obj, None, detail, 1), status=resp.status_code, body=body)
        if want is not None and not isinstance(body, want):
            detail = (
                "%s %s answered HTTP %s with a JSON %s, but %s was expected: check that url (%s) is Grafana's "
                "base URL and that its version is supported" % (method, path, resp.status_code, type(body).__name__, kind, self.base_url)
            )
            raise GrafanaError(self._fail_msg(action, obj, None, detail, 1), status=resp.status_code, body=body)

    def _describe_exception(self, exc):
        if isinstance(exc, requests.exceptions.Timeout):
            return "no answer within %s seconds (time-out)" % self.timeout
        if isinstance(exc, requests.exceptions.SSLError):
            return "TLS error: %s" % exc
        if isinstance(exc, requests.exceptions.ConnectionError):
            return "cannot connect: %s" % exc
        return str(exc)

    def _fail_msg(self, action, obj, status, detail, attempts):
        msg = "Grafana: failed to %s %s" % (action, obj)
        if status is not None:
            msg += ": HTTP %s" % status
            hint = {
                401: "authentication failed (check url_username/url_password or token)",
                403: "permission denied (the user or token lacks the required role)",
            }.get(status)
            if hint:
                msg += " (%s)" % hint
        if detail:
            msg += ": %s" % detail
        if attempts > 1:
            msg += " (after %d attempts)" % attempts
        return self.scrub(msg)

    def require_exists(self, path, obj, fail_msg):
        """True when the object at ``path`` exists; raise GrafanaError(``fail_msg``) when it does not.

        In check mode a missing object is a warning instead and the call returns False: before the first
        deployment a folder or datasource that an earlier task of the same run would create cannot exist
        yet, and check mode must report what would be created rather than stop (issue 8).
        """
        if self.get(path, "read", obj, missing_ok=True) is not None:
            return True
        if self.module.check_mode:
            self.module.warn(
                "check mode: %s does not exist (yet); the change is reported as if an earlier task "
                "of this run created it. A real run fails unless it exists by then." % obj
            )
            return False
        raise GrafanaError(fail_msg)

    # ------------------------------------------------------------------ server facts
    def version(self):
        """Grafana's version as a tuple of ints, from /api/health (no auth needed); ``None`` when hidden."""
        if self._version is None:
            body = self.get("/api/health", "read", "Grafana health", want=None) or {}
            self._version = parse_version(body.get("version") if isinstance(body, dict) else None)
            if self._version is None:
                settings = self.get("/api/frontend/settings", "read", "Grafana frontend settings", want=None) or {}
                build = settings.get("buildInfo", {}) if isinstance(settings, dict) else {}
                self._version = parse_version(build.get("version")) or ()
        return self._version or None

    def apis_base(self, group, resource, versions, obj=None):
        """Base path ``/apis/<group>/<version>/namespaces/<ns>/<resource>`` when the server offers ``group`` in
        one of ``versions`` (first match wins), else ``None``.

        Discovery is ``GET /apis`` once per module run (Grafana 12+ answers an APIGroupList; older versions 404),
        never the version string. The namespace is ``default`` for org 1 and ``org-<id>`` for the others
        (docs/grafana-behaviour.md §13.1); a server that refuses it (Grafana Cloud's ``stacks-<id>``) answers 403
        and the caller falls back to the legacy routes (``apis_refused``). ``obj`` names what the caller works on
        in an error (discovery is the first request of the run, so a wrong base URL shows up here).
        """
        if self._apis is None:
            body = self.get("/apis", "discover Grafana's /apis API groups for", obj or "the API", missing_ok=True, want=None)
            groups = {}
            if isinstance(body, dict):
                for item in body.get("groups") or []:
                    if isinstance(item, dict):
                        groups[item.get("name")] = [v.get("version") for v in item.get("versions") or [] if isinstance(v, dict)]
            self._apis = groups
        if self._apis_refused:
            return None
        served = self._apis.get(group) or []
        version = next((v for v in versions if v in served), None)
        if version is None:
            return None
        org = self.org_id or 1
        namespace = "default" if org == 1 else "org-%d" % org
        return "/apis/%s/%s/namespaces/%s/%s" % (group, version, namespace, resource)

    def apis_refused(self):
        """Stop using /apis for the rest of the run (the namespace or the group was refused)."""
        self._apis_refused = True

    def version_at_least(self, *wanted):
        version = self.version()
        return version is None or tuple(version[: len(wanted)]) >= tuple(wanted)


def _is_json(resp):
    ctype = (resp.headers.get("Content-Type") or "").lower()
    if "json" in ctype:
        return True
    try:
        json.loads(resp.text)
    except ValueError:
        return False
    return True


_BAD_PATH_CHARS = re.compile(r"[?#\\\x00-\x20\x7f]")


def check_path(path, action="send", obj="a request"):
    """Raise GrafanaError when ``path`` could address something other than what it names.

    Checked on every request, before anything is sent: the path must start with ``/``, and no segment
    may be ``.`` or ``..`` -- also not percent-encoded (Grafana's router decodes ``%2e%2e``) -- and the
    path holds no query, fragment, backslash, whitespace or control character. Modules quote names with
    :func:`path_quote` and check uids with :func:`check_uid`; this is the last line of defence.
    """
    text = str(path)
    bad = not text.startswith("/") or _BAD_PATH_CHARS.search(text)
    if not bad:
        for segment in text.split("/"):
            decoded = unquote(segment)
            if decoded == "." or ".." in decoded.split("/") or "\\" in decoded:
                bad = True
                break
    if bad:
        raise GrafanaError(
            "Grafana: refusing to %s %s: the URL path %r would leave the API endpoint it names "
            "(a uid or name with '/', '..', '\\', '?' or '#'); nothing was sent" % (action, obj, text)
        )


def path_quote(text):
    """One path segment (a name or uid) percent-encoded for a URL; ``.``, ``..`` and ``""`` are refused."""
    text = str(text)
    if text in ("", ".", ".."):
        raise GrafanaError("Grafana: '%s' cannot be used as a name or uid in a URL path" % text)
    return quote(text, safe="")


def parse_version(text):
    if not text:
        return None
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    if not match:
        return None
    return tuple(int(x or 0) for x in match.groups())


# ---------------------------------------------------------------------- secret drift hashes
HASH_SCHEME = "pbkdf2-sha256"
HASH_ITERATIONS = 100000


def secret_hash(secrets, salt=None, iterations=HASH_ITERATIONS):
    """Salted PBKDF2-SHA256 of a dict of secrets, safe to store in a non-secret field.

    Format ``pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>``. The salt is random per object so the
    stored value cannot be matched against another object's or looked up in a table.
    """
    if salt is None:
        salt = os.urandom(16)
    canonical = json.dumps(secrets, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hashlib.pbkdf2_hmac("sha256", canonical, salt, iterations)
    return "%s$%d$%s$%s" % (HASH_SCHEME, iterations, base64.b64encode(salt).decode("ascii"), base64.b64encode(digest).decode("ascii"))


def secret_hash_matches(secrets, stored):
    """True when ``stored`` (from secret_hash) was made from exactly these secrets."""
    if not stored or not isinstance(stored, str):
        return False
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != HASH_SCHEME:
        return False
    try:
        iterations = int(parts[1])
        salt = base64.b64decode(parts[2])
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(secret_hash(secrets, salt, iterations), stored)


# ---------------------------------------------------------------------- comparison helpers
def diff_result(before, after):
    return {"before": before, "after": after}


def deep_copy(value):
    return copy.deepcopy(value)


def same_datasource_type(a, b):
    """``postgres`` and ``grafana-postgresql-datasource`` are one plugin (renamed in 10.2.3)."""
    if a == b:
        return True
    return a in POSTGRES_TYPES and b in POSTGRES_TYPES


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(value):
    """'1h30m' / '90s' / 90 -> seconds (float). Raises ValueError on garbage."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError("not a duration: %r" % (value,))
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            raise ValueError("not a duration: %r" % (value,))
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError("not a duration: %r" % (value,))
    return int(total) if total == int(total) else total


def format_duration(seconds):
    """Seconds -> Grafana's Prometheus-style duration ('1h30m', '5m', '0s')."""
    seconds = int(seconds)
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += "%d%s" % (seconds // size, unit)
            seconds %= size
    return out

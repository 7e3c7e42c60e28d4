# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one Grafana HTTP client of the collection.

Every grafana_* module builds a :class:`GrafanaClient` from its parameters and calls
:meth:`GrafanaClient.request`; no module builds a raw request. The client does authentication
(Basic or Bearer), the per-request organisation header, the client certificate, the URL path check and
the discovery of Grafana's version and /apis groups; the shared HTTP base (:mod:`._http`) does TLS,
time-outs, retries with backoff and ``Retry-After``, JSON decoding and answer checks, and turns every
failure into one :class:`GrafanaError` whose message names the action, the object, the HTTP status and
Grafana's ``message`` -- with every secret the module knows scrubbed out. What the modules compare with
(secret hashes, durations, datasource type aliases) is in :mod:`._grafana_compare`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from urllib.parse import quote, unquote

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._http import HttpClient, HttpError, run_with_client


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
    """Run ``run(module, client)`` with a GrafanaClient and exit with its result; errors as :func:`._http.run_with_client`."""
    return run_with_client(GrafanaClient, module, run, input_errors)


class GrafanaError(HttpError):
    """A failed Grafana call; ``str()`` is the user-facing message (already free of secrets)."""


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


class GrafanaClient(HttpClient):
    """Grafana HTTP API client bound to one AnsibleModule's connection parameters."""

    SERVICE = "Grafana"
    ERROR = GrafanaError
    AUTH_HINTS = {
        401: "authentication failed (check url_username/url_password or token)",
        403: "permission denied (the user or token lacks the required role)",
    }

    def __init__(self, module, sleep=None, session=None, now=None):
        super(GrafanaClient, self).__init__(module, sleep=sleep, session=session, now=now)
        params = module.params
        self.org_id = params.get("org_id")
        self._version = None
        self._apis = None
        self._apis_refused = False
        for value in (params.get("url_password"), params.get("token")):
            self.add_secret(value)

        if params.get("token"):
            self.session.headers["Authorization"] = "Bearer %s" % params["token"]
        elif params.get("url_username"):
            self.session.auth = (params["url_username"], params.get("url_password") or "")
        if params.get("org_id") is not None:
            self.session.headers["X-Grafana-Org-Id"] = str(params["org_id"])
        if params.get("client_cert"):
            cert = params["client_cert"]
            self.session.cert = (cert, params["client_key"]) if params.get("client_key") else cert

    def request(self, method, path, action, obj, json_body=None, params=None, headers=None, expected=(200,), missing_ok=False, retry_post=False, want=dict):
        """Send one request; return the decoded body (``None`` for 404 when ``missing_ok``).

        ``action`` and ``obj`` only build the error message, e.g. ``read`` / ``datasource 'pg'``.
        ``retry_post`` marks a POST that is a read (``/api/ds/query``) and may be retried like GET.
        ``want`` is the JSON type a successful answer must have (``dict``, ``list``, or ``None`` for any
        JSON): an answer that is not JSON (a login page, a wrong base URL) or of another type fails with a
        message naming what answered and what was expected, never with a crash in the module.
        ``path`` is refused before anything is sent when it could leave the endpoint it names
        (``.``/``..`` segments, also percent-encoded, a query or fragment, a backslash, control characters).
        Retries, ``Retry-After`` and time-outs: :meth:`HttpClient.send`.
        """
        check_path(path, action, obj)
        return self.send(
            method,
            self.base_url + path,
            path,
            action,
            obj,
            json_body=json_body,
            params=params,
            headers=headers,
            expected=expected,
            missing_ok=missing_ok,
            retry_post=retry_post,
            want=want,
        )

    def get(self, path, action, obj, **kwargs):
        return self.request("GET", path, action, obj, **kwargs)

    @staticmethod
    def server_message(body):
        return grafana_message(body)

    def require_exists(self, path, obj, fail_msg):
        """True when the object at ``path`` exists; raise GrafanaError(``fail_msg``) when it does not.

        In check mode a missing object is a warning instead and the call returns False: before the first
        deployment a folder or datasource that an earlier task of the same run would create cannot exist
        yet, and check mode must report what would be created rather than stop (issue 8).
        """
        if self.get(path, "read", obj, missing_ok=True) is not None:
            return True
        return self.report_missing(obj, fail_msg)

    def report_missing(self, obj, fail_msg):
        """What :meth:`require_exists` does once ``obj`` was found missing (for callers that read it another
        way, e.g. a folder through ``/apis``): a warning and ``False`` in check mode, else GrafanaError(``fail_msg``)."""
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


def slugify(title):
    """The slug Grafana puts in a dashboard's or folder's URL (``/d/<uid>/<slug>``, ``/dashboards/f/<uid>/<slug>``)."""
    return re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")


def parse_version(text):
    if not text:
        return None
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    if not match:
        return None
    return tuple(int(x or 0) for x in match.groups())

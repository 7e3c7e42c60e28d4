# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one n8n HTTP client of the collection.

Every n8n_* module builds an :class:`N8nClient` from its parameters and calls :meth:`N8nClient.request`;
no module builds a raw request. The client sends the API key in the ``X-N8N-API-KEY`` header, follows the
public API's cursor paging and discovers which optional endpoints the server offers (``/api/v1/openapi.yml``);
the shared HTTP base (:mod:`._http`) does TLS, time-outs, retries with backoff and ``Retry-After``, JSON
decoding and answer checks, and turns every failure into one :class:`N8nError` whose message names the
action, the object, the HTTP status and n8n's ``message`` -- with every secret the module knows scrubbed out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._http import HttpClient, HttpError, run_with_client

API_BASE = "/api/v1"
PAGE_LIMIT = 250  # the public API's maximum page size


def n8n_argument_spec():
    """Connection options shared by every n8n_* module (doc fragment cx_catalyst.kpi_dashboard.n8n)."""
    return dict(
        url=dict(type="str", required=True, aliases=["n8n_url"], fallback=(env_fallback, ["N8N_URL"])),
        api_key=dict(type="str", required=True, no_log=True, aliases=["n8n_api_key"], fallback=(env_fallback, ["N8N_API_KEY"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
    )


def n8n_module(options, **kwargs):
    """AnsibleModule with the shared connection options plus the module's ``options``."""
    argument_spec = n8n_argument_spec()
    argument_spec.update(options)
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)


def run_module(module, run, input_errors=None):
    """Run ``run(module, client)`` with an N8nClient and exit with its result; errors as :func:`._http.run_with_client`."""
    return run_with_client(N8nClient, module, run, input_errors)


class N8nError(HttpError):
    """A failed n8n call or an n8n object the module cannot handle; ``str()`` is the user-facing message."""


def n8n_message(body):
    """n8n's explanation from an error body (``{"message": ...}``, sometimes with ``description``)."""
    if isinstance(body, dict):
        parts = []
        for key in ("message", "description", "error"):
            value = body.get(key)
            if value and isinstance(value, (str, int, float)) and str(value) not in parts:
                parts.append(str(value))
        if parts:
            return ": ".join(parts)[:500]
        return ""
    if body is None:
        return ""
    text = str(body).strip()
    if text.startswith("<"):  # an HTML error page of a proxy: not worth quoting
        return ""
    return text[:300]


def path_quote(text):
    """One path segment (an id or a type name) percent-encoded for a URL."""
    return quote(str(text), safe="")


class N8nClient(HttpClient):
    """n8n public API client bound to one AnsibleModule's connection parameters."""

    SERVICE = "n8n"
    ERROR = N8nError
    IDEMPOTENT_WRITES = frozenset(("PUT", "DELETE", "PATCH"))
    AUTH_HINTS = {401: "authentication failed (check api_key)", 403: "permission denied (the API key lacks a scope this needs)"}
    # credential data registers every value as a secret; a port or a flag is not worth scrubbing
    MIN_SECRET_LENGTH = 4

    def __init__(self, module, sleep=None, session=None, now=None):
        super(N8nClient, self).__init__(module, sleep=sleep, session=session, now=now)
        params = module.params
        if self.base_url.endswith(API_BASE):
            self.base_url = self.base_url[: -len(API_BASE)]
        self._openapi = None
        self.add_secret(params.get("api_key"))
        if params.get("api_key"):
            self.session.headers["X-N8N-API-KEY"] = params["api_key"]

    def request(self, method, path, action, obj, json_body=None, params=None, expected=(200,), missing_ok=False, api=True, want=None):
        """Send one request; return the decoded body (``None`` for 404 when ``missing_ok``).

        ``path`` is below ``/api/v1`` unless ``api=False``. ``action`` and ``obj`` only build the error message,
        e.g. ``publish`` / ``workflow 'Log Token Usage'``. GET is retried on connection errors, time-outs and
        5xx; PUT/PATCH/DELETE only when the request cannot have been applied (connection refused) or on
        502/503/504; POST never (but on 429), so nothing is created twice; a ``Retry-After`` on 429/503 sets the
        wait (:meth:`HttpClient.send`). A successful answer must be JSON (``want``: any JSON by default, ``str``
        for a text such as the API description).
        """
        path_in_url = (API_BASE if api else "") + path
        return self.send(
            method,
            self.base_url + path_in_url,
            path_in_url,
            action,
            obj,
            json_body=json_body,
            params=params,
            expected=expected,
            missing_ok=missing_ok,
            want=want,
        )

    def get(self, path, action, obj, **kwargs):
        return self.request("GET", path, action, obj, **kwargs)

    def list_all(self, path, action, obj, params=None):
        """Every item of a paged list endpoint (``{"data": [...], "nextCursor": ...}``)."""
        items, cursor, pages = [], None, 0
        while True:
            query = dict(params or {})
            query["limit"] = PAGE_LIMIT
            if cursor:
                query["cursor"] = cursor
            page = self.get(path, action, obj, params=query)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise N8nError(self.scrub("n8n: failed to %s %s: unexpected answer from %s (no 'data' list)" % (action, obj, path)))
            items.extend(page["data"])
            cursor = page.get("nextCursor")
            pages += 1
            if not cursor or pages > 10000:
                return items

    @staticmethod
    def server_message(body):
        return n8n_message(body)

    # ------------------------------------------------------------------ server facts
    def openapi_paths(self):
        """The route templates the server's public API offers, read from its own ``/api/v1/openapi.yml``.

        Returns a frozenset such as ``{"/workflows/{id}/publish", ...}``, or ``None`` when the server does not
        serve its spec. Only the ``paths:`` keys are read, so no YAML parser is needed.
        """
        if self._openapi is None:
            try:
                text = self.request("GET", "/openapi.yml", "read", "the public API description", expected=(200,), missing_ok=True, want=str)
            except N8nError:
                # Not served (n8n answers 500 when it runs from a path with a dot-directory, such as
                # ~/.cache, because its static-file sender refuses such paths): discover by trying instead.
                text = None
            paths = set()
            if isinstance(text, str):
                in_paths = False
                for line in text.splitlines():
                    if re.match(r"^paths:\s*$", line):
                        in_paths = True
                        continue
                    if in_paths:
                        if re.match(r"^\S", line):
                            break
                        match = re.match(r"^  (['\"]?)(/[^'\"]*)\1:\s*$", line)
                        if match:
                            paths.add(match.group(2))
            self._openapi = frozenset(paths) if paths else False
        return self._openapi or None

    def offers(self, template):
        """True/False when the spec was read; ``None`` when the server does not publish its spec."""
        paths = self.openapi_paths()
        if paths is None:
            return None
        normalised = set(re.sub(r"\{[^}]*\}", "{}", p) for p in paths)
        return re.sub(r"\{[^}]*\}", "{}", template) in normalised

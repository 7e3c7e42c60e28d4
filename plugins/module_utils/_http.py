# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP base that the collection's API clients (GrafanaClient, N8nClient) are built on.

What every remote API of the collection needs alike lives here once: the ``requests`` session with TLS
settings, time-outs, retries with exponential backoff (only where a repeat cannot apply a change twice),
``Retry-After`` on 429/503 (bounded, so a server cannot stall a play), JSON decoding, the check that a
successful answer is JSON of the type the caller works with, and error messages that name the action, the
object, the HTTP status and the server's explanation -- with every registered secret scrubbed out.

A client subclasses :class:`HttpClient`, sets the class attributes that name its service, and builds the URL
(and its own checks) in its ``request`` before calling :meth:`HttpClient.send`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the constructor
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible.module_utils.basic import missing_required_lib

SAFE_METHODS = frozenset(("GET", "HEAD"))
# 500 is not retried for writes: both Grafana and n8n answer 500 for application errors that repeat identically.
RETRY_STATUS_READ = frozenset((500, 502, 503, 504))
RETRY_STATUS_WRITE = frozenset((502, 503, 504))
# 429 Too Many Requests: the server refused the request before doing anything (RFC 6585 §4), so every
# method may send it again -- after the wait the server asks for.
RETRY_STATUS_ANY = frozenset((429,))
RETRY_AFTER_STATUS = frozenset((429, 503))
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# The longest wait a Retry-After header may impose per attempt: a larger value (or a date far ahead) is cut to
# this, so a misbehaving or hostile server delays a play by at most retries x RETRY_AFTER_MAX seconds.
RETRY_AFTER_MAX = 30.0
REDACTED = "********"


class HttpError(Exception):
    """A failed call; ``str()`` is the user-facing message (already free of secrets)."""

    def __init__(self, msg, status=None, body=None):
        super(HttpError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.body = body


def retry_after_seconds(value, now):
    """The wait a ``Retry-After`` header asks for, in seconds (RFC 9110 §10.2.3), or ``None`` when unusable.

    ``value`` is delay-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2026 07:28:00 GMT"``, counted from
    ``now``, a Unix time); a date in the past is 0. Not capped here (see :data:`RETRY_AFTER_MAX`).
    """
    if value is None:
        return None
    text = str(value).strip()
    if re.match(r"^\d+$", text):
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - Python < 3.10 returns None instead of raising
        return None
    if when.tzinfo is None:  # "-0000" or no zone: RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def is_json(resp):
    """True when the answer says (Content-Type) or proves (it parses) that it is JSON."""
    ctype = (resp.headers.get("Content-Type") or "").lower()
    if "json" in ctype:
        return True
    try:
        json.loads(resp.text)
    except ValueError:
        return False
    return True


def decode(resp):
    """The answer's JSON value, its text when it is not JSON, ``None`` when it is empty."""
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text


def run_with_client(client_class, module, run, input_errors=None):
    """Build ``client_class(module)``, run ``run(module, client)`` and exit with its result -- the one place the
    typed errors of a module family become ``fail_json``.

    A result with ``failed=True`` fails with that result (a read-only check that found problems). The client's
    error class fails with its message (secrets scrubbed). An exception of a class in ``input_errors`` (a dict:
    class -> a message format with one %s, or a function of the exception) fails with that message, also scrubbed.
    """
    input_errors = input_errors or {}
    client = client_class(module)
    try:
        result = run(module, client)
    except client_class.ERROR as exc:
        module.fail_json(msg=client.scrub(str(exc)))
    except tuple(input_errors) as exc:
        fmt = next(f for cls, f in input_errors.items() if isinstance(exc, cls))
        module.fail_json(msg=client.scrub(fmt(exc) if callable(fmt) else fmt % exc))
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


class HttpClient(object):
    """One remote API bound to one AnsibleModule's connection parameters (``url``, ``validate_certs``,
    ``ca_path``, ``timeout``, ``retries``); subclasses add authentication and their own URL rules."""

    SERVICE = "HTTP"  # starts every error message ("Grafana: failed to ...") and names the API in hints
    ERROR = HttpError  # the exception class the client raises
    IDEMPOTENT_WRITES = frozenset(("PUT", "DELETE"))
    AUTH_HINTS = {}  # status -> hint after "HTTP <status>"
    MIN_SECRET_LENGTH = 1  # shorter values are not scrubbed (they would mangle every message)

    def __init__(self, module, sleep=None, session=None, now=None):
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self.module = module
        params = module.params
        self.base_url = params["url"].rstrip("/")
        self.timeout = params.get("timeout") or 30
        self.retries = max(0, params.get("retries") or 0)
        self._sleep = sleep or time.sleep
        self._now = now or time.time
        self.request_count = 0
        self.secrets = []

        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cx_catalyst.kpi_dashboard"})
        if not params.get("validate_certs", True):
            self.session.verify = False
        elif params.get("ca_path"):
            self.session.verify = params["ca_path"]

    # ------------------------------------------------------------------ secrets
    def add_secret(self, value):
        """Register a value that must never appear in an error message (numbers count by their text)."""
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            value = str(value)
        if isinstance(value, str) and len(value) >= self.MIN_SECRET_LENGTH and value not in self.secrets:
            self.secrets.append(value)
            if "://" in value or "/" in value or " " in value:
                # A URL (a webhook) or a phrase may be echoed percent-encoded by the server or by requests.
                self.secrets.append(quote(value, safe=""))

    def scrub(self, text):
        text = "" if text is None else str(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, REDACTED)
        # credentials embedded in a URL
        return re.sub(r"(https?://)[^/@\s]+@", r"\1" + REDACTED + "@", text)

    # ------------------------------------------------------------------ requests
    def send(self, method, url, path, action, obj, json_body=None, params=None, headers=None, expected=(200,), missing_ok=False, retry_post=False, want=None):
        """Send one request to ``url`` (``path`` names it in messages); return the decoded body (``None`` for
        404 when ``missing_ok``).

        GET/HEAD (and a POST marked ``retry_post``, a read such as Grafana's ``/api/ds/query``) are retried on
        connection errors, time-outs and 5xx; PUT/DELETE (and what the client adds to ``IDEMPOTENT_WRITES``) only
        when the request cannot have been applied (connection refused) or on 502/503/504; other POSTs never,
        so nothing is created twice. 429 is retried for every method. A ``Retry-After`` on 429/503 sets the
        wait (at most :data:`RETRY_AFTER_MAX`), else the backoff doubles from :data:`BACKOFF_BASE`.

        ``want`` is the JSON type a successful answer must have (``dict``, ``list``, ``None`` for any JSON, or
        ``str`` when any text is fine): an answer that is not JSON (a login page, a wrong base URL) or of
        another type fails with a message naming what answered and what was expected.
        """
        method = method.upper()
        retryable_read = method in SAFE_METHODS or (method == "POST" and retry_post)
        if retryable_read:
            retry_set = RETRY_STATUS_READ | RETRY_STATUS_ANY
        elif method in self.IDEMPOTENT_WRITES:
            retry_set = RETRY_STATUS_WRITE | RETRY_STATUS_ANY
        else:
            retry_set = RETRY_STATUS_ANY
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
                may_retry = retryable_read or (method in self.IDEMPOTENT_WRITES and before_send)
                if may_retry and attempt <= self.retries:
                    self._backoff(attempt)
                    continue
                raise self.ERROR(self._fail_msg(action, obj, None, self._describe_exception(exc), attempt))
            status = resp.status_code
            if status in retry_set and attempt <= self.retries:
                self._backoff(attempt, resp)
                continue
            body = self._decode(resp)
            if status == 404 and missing_ok:
                return None
            if status not in expected:
                raise self.ERROR(self._fail_msg(action, obj, status, self.server_message(body), attempt), status=status, body=body)
            self._check_answer(resp, body, method, path, action, obj, want)
            return body

    def _backoff(self, attempt, resp=None):
        """Wait before attempt ``attempt + 1``: what a 429/503's ``Retry-After`` asks (capped), else the backoff."""
        wait = None
        if resp is not None and resp.status_code in RETRY_AFTER_STATUS:
            wait = retry_after_seconds(resp.headers.get("Retry-After"), self._now())
        if wait is None:
            wait = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        self._sleep(min(RETRY_AFTER_MAX, wait))

    @staticmethod
    def _decode(resp):
        return decode(resp)

    @staticmethod
    def server_message(body):
        """The server's explanation from an error body; clients override this with their API's shape."""
        if body is None:
            return ""
        return str(body).strip()[:300]

    def _check_answer(self, resp, body, method, path, action, obj, want):
        """Fail unless a successful answer is JSON of the type the caller works with."""
        if body is None or want is str:
            return
        kind = {dict: "a JSON object", list: "a JSON array"}.get(want, "JSON")
        if isinstance(body, str) and not is_json(resp):
            ctype = resp.headers.get("Content-Type") or "no Content-Type"
            start = " ".join(body.split())[:80]
            what = "an HTML page" if "html" in ctype.lower() or start.lower().startswith(("<!doctype", "<html")) else "a non-JSON answer"
            detail = (
                "%s %s answered HTTP %s with %s (%s, starting '%s'), but %s from %s's HTTP API was "
                "expected: check that url (%s) is %s's base URL (not a login page, an SSO proxy or "
                "another service)" % (method, path, resp.status_code, what, ctype, start, kind, self.SERVICE, self.base_url, self.SERVICE)
            )
            raise self.ERROR(self._fail_msg(action, obj, None, detail, 1), status=resp.status_code, body=body)
        if want is not None and not isinstance(body, want):
            detail = "%s %s answered HTTP %s with a JSON %s, but %s was expected: check that url (%s) is %s's base URL and that its version is supported" % (
                method,
                path,
                resp.status_code,
                type(body).__name__,
                kind,
                self.base_url,
                self.SERVICE,
            )
            raise self.ERROR(self._fail_msg(action, obj, None, detail, 1), status=resp.status_code, body=body)

    def _describe_exception(self, exc):
        if isinstance(exc, requests.exceptions.Timeout):
            return "no answer within %s seconds (time-out)" % self.timeout
        if isinstance(exc, requests.exceptions.SSLError):
            return "TLS error: %s" % exc
        if isinstance(exc, requests.exceptions.ConnectionError):
            return "cannot connect to %s: %s" % (self.base_url, exc)
        return str(exc)

    def _fail_msg(self, action, obj, status, detail, attempts):
        msg = "%s: failed to %s %s" % (self.SERVICE, action, obj)
        if status is not None:
            msg += ": HTTP %s" % status
            hint = self.AUTH_HINTS.get(status)
            if hint:
                msg += " (%s)" % hint
        if detail:
            msg += ": %s" % detail
        if attempts > 1:
            msg += " (after %d attempts)" % attempts
        return self.scrub(msg)

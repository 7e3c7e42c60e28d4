"""The one scripted HTTP fake of the unit tests, for every client of the collection (Grafana, n8n).

``requests.Session.request`` is replaced by a recorder: every call is checked against the next scripted
``(method, path, status, body)`` -- or ``(method, path, status, body, headers)`` for answer headers such as
``Retry-After`` -- and recorded with its JSON body, query parameters and headers, so a test asserts *exactly*
which HTTP calls a module or a client makes (and that check mode sends no write). A ``status`` that is an
exception is raised instead of answering (a refused connection, a time-out).

``run_module`` runs a module's ``main()`` through the real AnsibleModule against such a script;
``client_session`` gives a client a session whose calls go to the script. ``grafana_fake`` and ``n8n_fake``
only add each service's connection parameters and planted credentials.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import unquote, urlsplit

import requests

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "tests"))  # planted.py

try:
    from ansible.module_utils.testing import patch_module_args  # noqa: E402  (ansible-core >= 2.19)
except ImportError:  # ansible-core 2.17/2.18: the module arguments are read from basic._ANSIBLE_ARGS
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))):
            yield


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Call:
    method: str
    path: str
    json: object = None
    params: dict | None = None
    headers: dict = field(default_factory=dict)

    def key(self):
        return (self.method, self.path)


def response(status, body=None, headers=None, url="http://fake.test"):
    resp = requests.Response()
    resp.status_code = status
    if body is None:
        resp._content = b""
    elif isinstance(body, (str, bytes)):
        resp._content = body.encode() if isinstance(body, str) else body
    else:
        resp._content = json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json"
    resp.headers.update(headers or {})
    resp.url = url
    return resp


class FakeHttp:
    """A scripted server: called as ``Session.request`` (with the session first) it answers the next step."""

    def __init__(self, script):
        self.script = list(script)
        self.calls: list[Call] = []

    def __call__(self, session, method, url, json=None, params=None, headers=None, timeout=None, **kwargs):
        merged = dict(session.headers)
        merged.update(headers or {})
        if session.auth:
            merged["_basic_auth_user"] = session.auth[0]
        call = Call(method.upper(), unquote(urlsplit(url).path), json, params, merged)
        self.calls.append(call)
        if not self.script:
            raise AssertionError("unexpected request %s %s (script exhausted)" % call.key())
        method_exp, path_exp, status, body, *rest = self.script.pop(0)
        assert call.key() == (method_exp, path_exp), "expected %s %s, got %s %s" % (method_exp, path_exp, call.method, call.path)
        if isinstance(status, BaseException):
            raise status
        return response(status, body, rest[0] if rest else None, url)

    @property
    def writes(self):
        return [c for c in self.calls if c.method in WRITE_METHODS]

    def keys(self):
        return [c.key() for c in self.calls]


def client_session(script):
    """A requests.Session whose every call goes to a new FakeHttp(script); returns (session, fake)."""
    fake = FakeHttp(script)
    session = requests.Session()
    session.request = lambda method, url, **kw: fake(session, method, url, **kw)
    return session, fake


def run_module(module, args, script, conn, secrets=(), check=False, diff=False):
    """Run ``module.main()`` with ``conn`` + ``args`` against a scripted fake; returns (result dict, fake).

    Fails when a value of ``secrets`` appears in the module's output or a scripted request was not made.
    """
    fake = FakeHttp(script)
    full = dict(conn)
    full.update(args)
    full["_ansible_check_mode"] = check
    full["_ansible_diff"] = diff
    out = io.StringIO()

    def bound(session, *a, **kw):
        return fake(session, *a, **kw)

    with patch_module_args(full), mock.patch.object(requests.Session, "request", bound), mock.patch("time.sleep"), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    text = out.getvalue()
    for secret in secrets:
        assert secret not in text, "secret leaked into module output"
    result = json.loads(text)
    assert not fake.script, "scripted requests not made: %s" % fake.script
    return result, fake

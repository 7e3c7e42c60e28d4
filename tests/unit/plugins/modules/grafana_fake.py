"""A scripted fake Grafana for unit tests of the grafana_* modules.

``requests.Session.request`` is replaced by a recorder: every call is checked against the next scripted
``(method, path, status, body)`` and recorded with its JSON body, query parameters and headers, so a test
asserts *exactly* which HTTP calls a module makes (and that check mode sends no write).
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
sys.path.insert(0, str(REPO / "tests"))

from planted import PLANTED  # noqa: E402  (tests/planted.py: the planted secrets, defined once)

try:
    from ansible.module_utils.testing import patch_module_args  # noqa: E402  (ansible-core >= 2.19)
except ImportError:  # ansible-core 2.17/2.18: the module arguments are read from basic._ANSIBLE_ARGS
    import contextlib
    import json

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))):
            yield


URL = "http://grafana.test:3000"
TOKEN = PLANTED["grafana_token"]
CONN = {"url": URL, "token": TOKEN, "retries": 0}
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


def response(status, body=None):
    resp = requests.Response()
    resp.status_code = status
    if body is None:
        resp._content = b""
    elif isinstance(body, (str, bytes)):
        resp._content = body.encode() if isinstance(body, str) else body
    else:
        resp._content = json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json"
    resp.url = URL
    return resp


class FakeGrafana:
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
        step = self.script.pop(0)
        method_exp, path_exp, status, body = step
        assert call.key() == (method_exp, path_exp), "expected %s %s, got %s %s" % (method_exp, path_exp, call.method, call.path)
        if isinstance(status, BaseException):
            raise status
        return response(status, body)

    @property
    def writes(self):
        return [c for c in self.calls if c.method in WRITE_METHODS]

    def keys(self):
        return [c.key() for c in self.calls]


def run_module(module, args, script, check=False, diff=False):
    """Run ``module.main()`` against a scripted fake; returns (result dict, fake)."""
    fake = FakeGrafana(script)
    full = dict(CONN)
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
    assert TOKEN not in text, "token leaked into module output"
    result = json.loads(text)
    assert not fake.script, "scripted requests not made: %s" % fake.script
    return result, fake

"""Grafana modules against a server that is not Grafana's API (issue 8 defect 7).

A local HTTP server on 127.0.0.1 (free port, stopped at the end of the test) answers every request with
HTTP 200 and an HTML login page, or with JSON of the wrong shape, as a wrong base URL or an SSO proxy would.
The modules used to crash with ``'str' object has no attribute 'get'``; now they fail with a message naming
what answered and what was expected, and send no write.
"""

import http.server
import json
import threading

import pytest

from conftest import PLANTED

NS = "cx_catalyst.kpi_dashboard."
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in - Corporate SSO</title></head><body>login</body></html>"


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "html"
    log = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.log.append((self.command, self.path))
        if self.mode == "html":
            body, ctype = LOGIN_PAGE, "text/html; charset=utf-8"
        else:  # JSON, but a string where Grafana returns an object or a list
            body, ctype = json.dumps("ok").encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(params=["html", "json-string"])
def not_grafana(request):
    handler = type("Handler", (_Handler,), {"mode": request.param, "log": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield request.param, "http://127.0.0.1:%d" % server.server_address[1], handler.log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


CASES = [
    ("grafana_folder", {"uid": "cx-kpi", "title": "KPIs"}, "folder 'cx-kpi'"),
    ("grafana_dashboard", {"content": {"title": "T", "uid": "d1", "panels": []}}, "dashboard 'd1'"),
    ("grafana_datasource", {"name": "pg", "uid": "pg", "host": "127.0.0.1", "password": PLANTED["db_password"]}, "datasource"),
    ("grafana_contact_point", {"name": "cp", "type": "slack", "slack_url": PLANTED["slack_webhook"]}, "contact points"),
    ("grafana_service_account", {"name": "cx-bot", "token_name": "t"}, "service account 'cx-bot'"),
    ("grafana_notification_policy", {"receiver": "cp"}, "notification policy"),
]


@pytest.mark.parametrize("module,args,obj", CASES, ids=[c[0] for c in CASES])
def test_a_200_that_is_not_grafana_json_is_a_clear_error(ansible, not_grafana, module, args, obj):
    mode, url, log = not_grafana
    res = ansible.module(NS + module, dict(args, url=url, token=PLANTED["grafana_token"]))
    result = res.results[0]
    msg = result.get("msg", "")
    assert result.get("failed") is True, result
    assert "has no attribute" not in msg and "Traceback" not in res.output, msg
    assert obj in msg, msg
    assert url in msg, msg  # says which base URL answered
    assert "HTTP 200" in msg, msg
    if mode == "html":
        assert "an HTML page" in msg and "Sign in - Corporate SSO" in msg, msg
    else:
        assert "a JSON str" in msg, msg
    assert "was expected" in msg, msg
    assert [m for m, _path in log if m != "GET"] == [], "a write was sent to a server that is not Grafana: %s" % log

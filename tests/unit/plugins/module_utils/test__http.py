"""The shared HTTP base of GrafanaClient and N8nClient: Retry-After on 429/503 (bounded), which statuses are
retried for which methods, the non-JSON-answer check, and one real round trip through a local HTTP server."""

import email.utils
import http.server
import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "modules"))

from http_fake import client_session  # noqa: E402
from planted import PLANTED  # noqa: E402  (http_fake puts tests/ on sys.path)

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _http  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaClient, GrafanaError  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._n8n_client import N8nClient, N8nError  # noqa: E402

NOW = 1_800_000_000.0  # a fixed "now" for HTTP-date answers
N8N_KEY = "n8n_api_unit-key-123456"
GRAFANA_TOKEN = PLANTED["grafana_token"]


class Module(object):
    def __init__(self, **params):
        self.params = params
        self.check_mode = False

    def fail_json(self, **kw):  # pragma: no cover - not reached
        raise AssertionError(kw)


def grafana(script, retries=3):
    session, fake = client_session(script)
    sleeps = []
    client = GrafanaClient(
        Module(url="http://grafana.test", token=GRAFANA_TOKEN, org_id=1, timeout=5, retries=retries), sleep=sleeps.append, session=session, now=lambda: NOW
    )
    return client, fake, sleeps


def n8n(script, retries=3):
    session, fake = client_session(script)
    sleeps = []
    client = N8nClient(Module(url="http://n8n.test", api_key=N8N_KEY, timeout=5, retries=retries), sleep=sleeps.append, session=session, now=lambda: NOW)
    return client, fake, sleeps


def http_date(unix_time):
    return email.utils.formatdate(unix_time, usegmt=True)


# ---------------------------------------------------------------------- Retry-After parsing
@pytest.mark.parametrize(
    "value,seconds",
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        (http_date(NOW + 42), 42.0),
        (http_date(NOW - 600), 0.0),  # a date in the past: retry now
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),  # delay-seconds is a whole number (RFC 9110 §10.2.3)
    ],
)
def test_retry_after_seconds(value, seconds):
    assert _http.retry_after_seconds(value, NOW) == seconds


# ---------------------------------------------------------------------- the n8n client (issue 10)
def test_n8n_waits_as_long_as_retry_after_says_on_429():
    client, fake, sleeps = n8n(
        [("GET", "/api/v1/workflows/1", 429, {"message": "Too many requests"}, {"Retry-After": "7"}), ("GET", "/api/v1/workflows/1", 200, {"id": "1"})]
    )
    assert client.get("/workflows/1", "read", "workflow '1'") == {"id": "1"}
    assert sleeps == [7.0] and len(fake.calls) == 2


def test_n8n_retry_after_as_http_date_on_503():
    client, fake, sleeps = n8n([("GET", "/api/v1/x", 503, None, {"Retry-After": http_date(NOW + 12)}), ("GET", "/api/v1/x", 200, {"ok": 1})])
    assert client.get("/x", "read", "x") == {"ok": 1}
    assert sleeps == [12.0]


def test_n8n_too_large_retry_after_is_capped():
    client, fake, sleeps = n8n(
        [
            ("GET", "/api/v1/x", 429, None, {"Retry-After": "86400"}),
            ("GET", "/api/v1/x", 503, None, {"Retry-After": http_date(NOW + 10 * 86400)}),
            ("GET", "/api/v1/x", 200, {"ok": 1}),
        ]
    )
    assert client.get("/x", "read", "x") == {"ok": 1}
    assert sleeps == [_http.RETRY_AFTER_MAX, _http.RETRY_AFTER_MAX] and _http.RETRY_AFTER_MAX == 30.0


def test_n8n_429_without_or_with_unusable_retry_after_backs_off():
    client, fake, sleeps = n8n(
        [("GET", "/api/v1/x", 429, None), ("GET", "/api/v1/x", 429, None, {"Retry-After": "later"}), ("GET", "/api/v1/x", 200, {"ok": 1})]
    )
    assert client.get("/x", "read", "x") == {"ok": 1}
    assert sleeps == [0.5, 1.0]


def test_n8n_post_is_retried_on_429_only():
    """429 means the request was refused before anything was done, so even a create is sent again; 503 is not."""
    client, fake, sleeps = n8n([("POST", "/api/v1/workflows", 429, None, {"Retry-After": "2"}), ("POST", "/api/v1/workflows", 200, {"id": "9"})])
    assert client.request("POST", "/workflows", "create", "workflow 'w'", json_body={"name": "w"}) == {"id": "9"}
    assert sleeps == [2.0] and [c.json for c in fake.calls] == [{"name": "w"}, {"name": "w"}]
    client, fake, sleeps = n8n([("POST", "/api/v1/workflows", 503, None, {"Retry-After": "2"})])
    with pytest.raises(N8nError) as err:
        client.request("POST", "/workflows", "create", "workflow 'w'", json_body={"name": "w"})
    assert str(err.value) == "n8n: failed to create workflow 'w': HTTP 503" and sleeps == []


def test_n8n_gives_up_on_429_after_the_retries_and_says_so():
    client, fake, sleeps = n8n([("GET", "/api/v1/x", 429, {"message": "Too many requests"}, {"Retry-After": "1"})] * 3, retries=2)
    with pytest.raises(N8nError) as err:
        client.get("/x", "read", "workflow 'x'")
    assert str(err.value) == "n8n: failed to read workflow 'x': HTTP 429: Too many requests (after 3 attempts)"
    assert sleeps == [1.0, 1.0]


def test_retry_after_is_ignored_on_statuses_other_than_429_and_503():
    client, fake, sleeps = n8n([("GET", "/api/v1/x", 502, None, {"Retry-After": "20"}), ("GET", "/api/v1/x", 200, {})])
    client.get("/x", "read", "x")
    assert sleeps == [0.5]


# ---------------------------------------------------------------------- the Grafana client gets the same
def test_grafana_honours_retry_after_and_caps_it():
    client, fake, sleeps = grafana(
        [
            ("GET", "/api/folders/f", 429, {"message": "rate limited"}, {"Retry-After": "3"}),
            ("GET", "/api/folders/f", 503, None, {"Retry-After": "9999"}),
            ("GET", "/api/folders/f", 200, {"uid": "f"}),
        ]
    )
    assert client.get("/api/folders/f", "read", "folder 'f'") == {"uid": "f"}
    assert sleeps == [3.0, 30.0]


def test_grafana_put_is_retried_on_429_with_its_wait():
    client, fake, sleeps = grafana([("PUT", "/api/folders/f", 429, None, {"Retry-After": "4"}), ("PUT", "/api/folders/f", 200, {"uid": "f"})])
    assert client.request("PUT", "/api/folders/f", "update", "folder 'f'", json_body={"title": "F"}) == {"uid": "f"}
    assert sleeps == [4.0]


# ---------------------------------------------------------------------- answers that are not JSON
def test_n8n_login_page_answering_200_fails_with_what_answered():
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head></html>"
    client, fake, sleeps = n8n([("GET", "/api/v1/workflows/1", 200, page, {"Content-Type": "text/html; charset=utf-8"})])
    with pytest.raises(N8nError) as err:
        client.get("/workflows/1", "read", "workflow '1'")
    assert str(err.value) == (
        "n8n: failed to read workflow '1': GET /api/v1/workflows/1 answered HTTP 200 with an HTML page (text/html; charset=utf-8, "
        "starting '<!DOCTYPE html><html><head><title>Sign in</title></head></html>'), but JSON from n8n's HTTP API was expected: "
        "check that url (http://n8n.test) is n8n's base URL (not a login page, an SSO proxy or another service)"
    )
    assert err.value.status == 200


def test_n8n_text_is_fine_where_the_caller_wants_text():
    client, fake, sleeps = n8n([("GET", "/api/v1/openapi.yml", 200, "openapi: 3.0.0\npaths: {}\n", {"Content-Type": "text/yaml"})])
    assert client.request("GET", "/openapi.yml", "read", "the description", want=str) == "openapi: 3.0.0\npaths: {}\n"


def test_grafana_json_of_the_wrong_type_names_what_was_expected():
    client, fake, sleeps = grafana([("GET", "/api/folders/f", 200, ["not", "an", "object"])])
    with pytest.raises(GrafanaError) as err:
        client.get("/api/folders/f", "read", "folder 'f'")
    assert "GET /api/folders/f answered HTTP 200 with a JSON list, but a JSON object was expected" in str(err.value)


def test_secrets_shorter_than_the_clients_minimum_are_not_registered():
    client = n8n([])[0]
    client.add_secret("abc")
    client.add_secret(5432)
    client.add_secret(True)
    assert client.secrets == [N8N_KEY, "5432"]
    client = grafana([])[0]
    client.add_secret("abc")
    assert "abc" in client.secrets


# ---------------------------------------------------------------------- a real server on 127.0.0.1
class _RateLimitedHandler(http.server.BaseHTTPRequestHandler):
    answers = []  # (status, headers, body) per request, in order; set by the test
    seen = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.seen.append((self.command, self.path, self.headers.get("X-N8N-API-KEY")))
        status, headers, body = self.answers.pop(0)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def rate_limited_server():
    _RateLimitedHandler.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RateLimitedHandler)  # port 0: a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_real_round_trip_429_with_retry_after_then_200(rate_limited_server):
    _RateLimitedHandler.answers = [
        (429, {"Retry-After": "5", "Content-Type": "application/json"}, b'{"message":"Too many requests"}'),
        (429, {"Retry-After": "3600", "Content-Type": "application/json"}, b'{"message":"Too many requests"}'),
        (200, {"Content-Type": "application/json"}, b'{"data":[{"id":"1"}],"nextCursor":null}'),
    ]
    sleeps = []
    url = "http://127.0.0.1:%d/api/v1" % rate_limited_server.server_address[1]
    client = N8nClient(Module(url=url, api_key=N8N_KEY, timeout=5, retries=3), sleep=sleeps.append)
    assert client.list_all("/workflows", "list", "workflows") == [{"id": "1"}]
    assert sleeps == [5.0, 30.0]  # the server's wait, then the cap
    assert _RateLimitedHandler.seen == [("GET", "/api/v1/workflows?limit=250", N8N_KEY)] * 3
    assert client.request_count == 3

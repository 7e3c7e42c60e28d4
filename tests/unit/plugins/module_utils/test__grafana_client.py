"""GrafanaClient: auth, org header, TLS settings, retries with backoff, error messages without secrets."""

import os
import sys
from unittest import mock

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "modules"))

from grafana_fake import PLANTED, FakeGrafana, URL  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _grafana_client as gc  # noqa: E402

PASSWORD = PLANTED["grafana_password"]
TOKEN = PLANTED["grafana_token"]


class FakeModule:
    def __init__(self, **params):
        self.params = dict(
            url=URL,
            url_username=None,
            url_password=None,
            token=None,
            org_id=1,
            validate_certs=True,
            ca_path=None,
            client_cert=None,
            client_key=None,
            timeout=5,
            retries=3,
        )
        self.params.update(params)

    def fail_json(self, **kw):
        raise AssertionError(kw)


def client_with(script, **params):
    fake = FakeGrafana(script)
    sleeps = []
    client = gc.GrafanaClient(FakeModule(**params), sleep=sleeps.append)
    client.session.request = lambda *a, **kw: fake(client.session, *a, **kw)
    return client, fake, sleeps


def test_bearer_token_and_org_header():
    client, fake, dummy = client_with([("GET", "/api/user", 200, {"login": "sa"})], token=TOKEN, org_id=3)
    assert client.get("/api/user", "read", "user") == {"login": "sa"}
    headers = fake.calls[0].headers
    assert headers["Authorization"] == "Bearer " + TOKEN and headers["X-Grafana-Org-Id"] == "3"


def test_basic_auth():
    client, fake, dummy = client_with([("GET", "/api/user", 200, {})], url_username="admin", url_password=PASSWORD)
    client.get("/api/user", "read", "user")
    assert client.session.auth == ("admin", PASSWORD)
    assert "Authorization" not in client.session.headers


def test_tls_settings():
    client, dummy, dummy = client_with([], ca_path="/etc/ca.pem", client_cert="/c.pem", client_key="/k.pem")
    assert client.session.verify == "/etc/ca.pem" and client.session.cert == ("/c.pem", "/k.pem")
    client, dummy, dummy = client_with([], validate_certs=False, ca_path="/etc/ca.pem")
    assert client.session.verify is False


def test_get_retried_on_500_with_exponential_backoff():
    client, fake, sleeps = client_with(
        [
            ("GET", "/api/folders/x", 500, {"message": "Internal Server Error"}),
            ("GET", "/api/folders/x", 503, None),
            ("GET", "/api/folders/x", 200, {"uid": "x"}),
        ]
    )
    assert client.get("/api/folders/x", "read", "folder 'x'") == {"uid": "x"}
    assert sleeps == [0.5, 1.0] and len(fake.calls) == 3


def test_get_gives_up_after_retries_with_clear_message():
    client, fake, sleeps = client_with([("GET", "/api/folders/x", 500, {"message": "boom"})] * 3, retries=2)
    with pytest.raises(gc.GrafanaError) as err:
        client.get("/api/folders/x", "read", "folder 'x'")
    assert str(err.value) == "Grafana: failed to read folder 'x': HTTP 500: boom (after 3 attempts)"
    assert sleeps == [0.5, 1.0]


def test_post_is_never_retried():
    client, fake, sleeps = client_with([("POST", "/api/folders", 500, {"message": "boom"})])
    with pytest.raises(gc.GrafanaError):
        client.request("POST", "/api/folders", "create", "folder 'x'", json_body={})
    assert len(fake.calls) == 1 and sleeps == []


def test_put_retried_on_503_but_not_on_500():
    client, fake, dummy = client_with([("PUT", "/api/x", 503, None), ("PUT", "/api/x", 200, {})])
    client.request("PUT", "/api/x", "update", "x", json_body={})
    assert len(fake.calls) == 2
    client, fake, dummy = client_with([("PUT", "/api/x", 500, {"message": "no"})])
    with pytest.raises(gc.GrafanaError):
        client.request("PUT", "/api/x", "update", "x", json_body={})
    assert len(fake.calls) == 1


def test_read_timeout_on_put_not_retried_but_get_is():
    client, fake, dummy = client_with([("PUT", "/api/x", requests.exceptions.ReadTimeout("slow"), None)])
    with pytest.raises(gc.GrafanaError) as err:
        client.request("PUT", "/api/x", "update", "x", json_body={})
    assert "time-out" in str(err.value) and len(fake.calls) == 1
    client, fake, sleeps = client_with([("GET", "/api/x", requests.exceptions.ReadTimeout("slow"), None), ("GET", "/api/x", 200, {"ok": 1})])
    assert client.get("/api/x", "read", "x") == {"ok": 1} and sleeps == [0.5]


def test_connection_error_message_names_action_and_object():
    client, dummy, dummy = client_with([("GET", "/api/x", requests.exceptions.ConnectionError("refused"), None)], retries=0)
    with pytest.raises(gc.GrafanaError) as err:
        client.get("/api/x", "read", "datasource 'pg'")
    assert str(err.value).startswith("Grafana: failed to read datasource 'pg': cannot connect")


def test_missing_ok_and_expected():
    client = client_with([("GET", "/api/x", 404, {"message": "Not found"}), ("GET", "/api/x", 404, {"message": "Not found"})])[0]
    assert client.get("/api/x", "read", "x", missing_ok=True) is None
    with pytest.raises(gc.GrafanaError) as err:
        client.get("/api/x", "read", "x")
    assert err.value.status == 404


def test_401_and_403_hints_and_no_secret_in_message():
    client, dummy, dummy = client_with([("GET", "/api/x", 401, {"message": "Invalid API key " + TOKEN})], token=TOKEN)
    with pytest.raises(gc.GrafanaError) as err:
        client.get("/api/x", "read", "x")
    assert "HTTP 401 (authentication failed" in str(err.value) and TOKEN not in str(err.value)
    client = client_with([("GET", "/api/x", 403, {"message": "Permissions needed: x:y"})], url_username="admin", url_password=PASSWORD)[0]
    with pytest.raises(gc.GrafanaError) as err:
        client.get("/api/x", "read", "x")
    assert "HTTP 403 (permission denied" in str(err.value) and "x:y" in str(err.value)


def test_scrub_registered_secrets_and_url_credentials():
    client, dummy, dummy = client_with([], url_password=PASSWORD, url_username="admin")
    client.add_secret("https://hooks.slack.invalid/T/B/secret")
    text = client.scrub(
        "pw %s hook https://hooks.slack.invalid/T/B/secret enc https%%3A%%2F%%2Fhooks.slack.invalid%%2FT%%2FB%%2Fsecret url https://admin:pw@grafana" % PASSWORD
    )
    assert PASSWORD not in text and "secret" not in text and "admin:pw" not in text


def test_version_from_health_then_frontend_settings():
    client, fake, dummy = client_with([("GET", "/api/health", 200, {"database": "ok", "version": "11.2.0"})])
    assert client.version() == (11, 2, 0) and client.version_at_least(11) and not client.version_at_least(12)
    assert client.version() == (11, 2, 0) and len(fake.calls) == 1  # cached
    client = client_with([("GET", "/api/health", 200, {"database": "ok"}), ("GET", "/api/frontend/settings", 200, {"buildInfo": {"version": "9.5.3"}})])[0]
    assert client.version() == (9, 5, 3)


def test_secret_hash_roundtrip_and_salt():
    first = gc.secret_hash({"password": "a"})
    second = gc.secret_hash({"password": "a"})
    assert first != second  # random salt per object
    assert gc.secret_hash_matches({"password": "a"}, first)
    assert not gc.secret_hash_matches({"password": "b"}, first)
    assert not gc.secret_hash_matches({"password": "a"}, "garbage")
    assert PLANTED["db_password"] not in gc.secret_hash({"password": PLANTED["db_password"]})


@pytest.mark.parametrize("text,seconds", [("5m", 300), ("1h30m", 5400), ("90", 90), (60, 60), ("0s", 0), ("1d", 86400)])
def test_durations(text, seconds):
    assert gc.duration_seconds(text) == seconds
    assert gc.duration_seconds(gc.format_duration(seconds)) == seconds


def test_bad_duration():
    with pytest.raises(ValueError):
        gc.duration_seconds("5 minutes")


def test_argument_spec_secrets_are_no_log():
    spec = gc.grafana_argument_spec()
    assert spec["url_password"]["no_log"] and spec["token"]["no_log"]
    assert spec["validate_certs"]["default"] is True


def test_requests_session_is_used_for_all_calls():
    with mock.patch.object(requests.Session, "request") as req:
        req.return_value = requests.Response()
        req.return_value.status_code = 200
        req.return_value._content = b"{}"
        client = gc.GrafanaClient(FakeModule(timeout=7))
        client.get("/api/health", "read", "health")
    assert req.call_args.kwargs["timeout"] == 7

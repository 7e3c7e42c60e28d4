"""N8nClient: paths discovered from openapi.yml, secrets scrubbed, retries only where safe."""

import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "modules"))

from n8n_fake import OPENAPI_ACTIVATE_ONLY, OPENAPI_PUBLISH  # noqa: E402
from http_fake import client_session  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._n8n_client import (  # noqa: E402
    N8nClient,
    N8nError,
    n8n_message,
)


class Module(object):
    def __init__(self, **params):
        self.params = dict({"url": "http://n8n.test/api/v1/", "api_key": "n8n_api_unit-key-123456", "timeout": 5, "retries": 2}, **params)

    def fail_json(self, **kw):  # pragma: no cover - not reached
        raise AssertionError(kw)


def client_with(script, **params):
    session, fake = client_session(script)
    sleeps = []
    client = N8nClient(Module(**params), sleep=sleeps.append, session=session)
    return client, fake, sleeps


def test_base_url_accepts_a_trailing_api_path_and_sends_the_key_header():
    client, fake, _server = client_with([("GET", "/api/v1/workflows", 200, {"data": [], "nextCursor": None})])
    assert client.base_url == "http://n8n.test"
    client.list_all("/workflows", "list", "workflows")
    assert fake.calls[0].headers["X-N8N-API-KEY"] == "n8n_api_unit-key-123456"
    assert fake.calls[0].params == {"limit": 250}


@pytest.mark.parametrize("spec,publish,activate", [(OPENAPI_PUBLISH, True, True), (OPENAPI_ACTIVATE_ONLY, False, True)])
def test_offers_reads_the_paths_of_the_servers_description(spec, publish, activate):
    client, fake, _server = client_with([("GET", "/api/v1/openapi.yml", 200, spec)])
    assert client.offers("/workflows/{id}/publish") is publish
    assert client.offers("/workflows/{workflowId}/activate") is activate
    assert client.offers("/nothing/{x}") is False
    assert len(fake.calls) == 1  # read once


def test_offers_is_unknown_when_the_description_is_not_served():
    client, fake, _server = client_with(
        [
            ("GET", "/api/v1/openapi.yml", 500, {"message": "Internal server error"}),
            ("GET", "/api/v1/openapi.yml", 500, {"message": "Internal server error"}),
            ("GET", "/api/v1/openapi.yml", 500, {"message": "Internal server error"}),
        ]
    )
    assert client.offers("/workflows/{id}/publish") is None


def test_get_is_retried_with_backoff_post_is_not():
    client, fake, sleeps = client_with(
        [("GET", "/api/v1/x", 502, None), ("GET", "/api/v1/x", 503, None), ("GET", "/api/v1/x", 200, {"ok": 1}), ("POST", "/api/v1/y", 503, None)]
    )
    assert client.get("/x", "read", "x") == {"ok": 1}
    assert sleeps == [0.5, 1.0]
    with pytest.raises(N8nError) as err:
        client.request("POST", "/y", "create", "thing 'y'")
    assert str(err.value) == "n8n: failed to create thing 'y': HTTP 503"


def test_connection_errors_are_retried_for_put_and_reported_plainly():
    refused = requests.exceptions.ConnectionError("refused")
    client, fake, sleeps = client_with([("PUT", "/api/v1/w", refused, None), ("PUT", "/api/v1/w", refused, None), ("PUT", "/api/v1/w", refused, None)])
    with pytest.raises(N8nError) as err:
        client.request("PUT", "/w", "update", "workflow 'w'")
    assert "cannot connect to http://n8n.test" in str(err.value) and "(after 3 attempts)" in str(err.value)


def test_secrets_are_scrubbed_from_errors():
    client, fake, _server = client_with([("GET", "/api/v1/x", 401, {"message": "bad key n8n_api_unit-key-123456"})], retries=0)
    client.add_secret("https://hooks.slack.invalid/services/T/B/secret")
    with pytest.raises(N8nError) as err:
        client.get("/x", "read", "x")
    assert "n8n_api_unit-key-123456" not in str(err.value)
    assert "HTTP 401 (authentication failed (check api_key))" in str(err.value)
    assert client.scrub("see https%3A%2F%2Fhooks.slack.invalid%2Fservices%2FT%2FB%2Fsecret") == "see ********"
    assert client.scrub("http://user:pw@host/x") == "http://********@host/x"


def test_n8n_message_shapes():
    assert n8n_message({"message": "Not Found"}) == "Not Found"
    assert n8n_message({"code": 400, "message": "bad", "description": "why"}) == "bad: why"
    assert n8n_message("<html>proxy</html>") == ""
    assert n8n_message(None) == ""

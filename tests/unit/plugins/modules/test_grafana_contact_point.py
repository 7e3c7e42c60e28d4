"""grafana_contact_point: exact HTTP calls, redacted webhook drift via salted hash, provenance header."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import PLANTED, run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import (  # noqa: E402
    secret_hash,
    secret_hash_matches,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_contact_point  # noqa: E402

HOOK = PLANTED["slack_webhook"]
BASE = "/api/v1/provisioning/contact-points"
ARGS = {"name": "support-alerts-slack", "uid": "cx-slack", "type": "slack", "slack_url": HOOK, "slack_recipient": "#support-alerts"}


def stored(hook=HOOK, **settings):
    s = {"recipient": "#support-alerts", "url": "[REDACTED]", "cxSecretHash": secret_hash({"url": hook})}
    s.update(settings)
    return {"uid": "cx-slack", "name": "support-alerts-slack", "type": "slack", "settings": s, "disableResolveMessage": False}


def no_hook(result):
    assert HOOK not in json.dumps(result)


def test_create_posts_with_provenance_header():
    result, fake = run_module(
        grafana_contact_point,
        ARGS,
        [
            ("GET", BASE, 200, []),
            ("GET", BASE, 200, []),
            ("POST", BASE, 202, stored()),
        ],
    )
    assert result["changed"] is True and result["secret_changed"] is True
    assert fake.calls[0].params == {"name": "support-alerts-slack"}
    post = fake.calls[2]
    assert post.headers["X-Disable-Provenance"] == "true"
    assert post.json["settings"]["url"] == HOOK and post.json["uid"] == "cx-slack"
    assert secret_hash_matches({"url": HOOK}, post.json["settings"]["cxSecretHash"])
    no_hook(result)


def test_rerun_one_get_no_change():
    result, fake = run_module(grafana_contact_point, ARGS, [("GET", BASE, 200, [stored()])])
    assert result["changed"] is False and len(fake.calls) == 1


def test_changed_webhook_detected():
    result, fake = run_module(
        grafana_contact_point,
        ARGS,
        [
            ("GET", BASE, 200, [stored(hook="https://hooks.slack.invalid/old")]),
            ("PUT", BASE + "/cx-slack", 202, {"message": "contactpoint updated"}),
        ],
        diff=True,
    )
    assert result["changed"] is True and result["secret_changed"] is True
    assert fake.calls[1].json["settings"]["url"] == HOOK
    assert result["diff"]["after"]["secrets"].startswith("changed")
    no_hook(result)


def test_recipient_change_sends_put():
    result, fake = run_module(
        grafana_contact_point,
        dict(ARGS, slack_recipient="#other"),
        [
            ("GET", BASE, 200, [stored()]),
            ("PUT", BASE + "/cx-slack", 202, {"message": "contactpoint updated"}),
        ],
        diff=True,
    )
    assert result["secret_changed"] is False
    assert fake.calls[1].json["settings"]["recipient"] == "#other"
    assert result["diff"]["before"]["settings"] == {"recipient": "#support-alerts"}


def test_email_contact_point():
    args = {"name": "lead", "uid": "cx-mail", "type": "email", "email_addresses": ["a@example.com", "b@example.com"]}
    current = {"uid": "cx-mail", "name": "lead", "type": "email", "disableResolveMessage": False, "settings": {"addresses": "a@example.com;b@example.com"}}
    result, fake = run_module(grafana_contact_point, args, [("GET", BASE, 200, [current])])
    assert result["changed"] is False


def test_check_mode_no_write():
    result, fake = run_module(
        grafana_contact_point,
        ARGS,
        [
            ("GET", BASE, 200, [stored(hook="old")]),
        ],
        check=True,
    )
    assert result["changed"] is True and fake.writes == []


def test_delete():
    result, fake = run_module(
        grafana_contact_point,
        dict(ARGS, state="absent"),
        [
            ("GET", BASE, 200, [stored()]),
            ("DELETE", BASE + "/cx-slack", 202, {"message": "contactpoint deleted"}),
        ],
    )
    assert result["changed"] is True and fake.calls[1].headers["X-Disable-Provenance"] == "true"


def test_api_error_is_clear_and_secret_free():
    result, dummy = run_module(
        grafana_contact_point,
        ARGS,
        [
            ("GET", BASE, 200, []),
            ("GET", BASE, 200, []),
            ("POST", BASE, 400, {"message": "invalid settings: url %s unreachable" % HOOK}),
        ],
    )
    assert result["failed"] is True and "create contact point 'support-alerts-slack'" in result["msg"]
    assert "HTTP 400" in result["msg"]
    no_hook(result)


def test_slack_without_webhook_fails_without_write():
    args = dict(ARGS)
    del args["slack_url"]
    result, fake = run_module(grafana_contact_point, args, [("GET", BASE, 200, []), ("GET", BASE, 200, [])])
    assert result["failed"] is True and "slack_url" in result["msg"] and fake.writes == []


@pytest.mark.parametrize(
    "bad_url, expected",
    [
        ("http://hooks.slack.invalid/services/T/B/PlantedInsecure", "must be an https:// URL"),
        ("hooks.slack.invalid/services/T/B/PlantedNoScheme", "must be an https:// URL"),
        ("https:///services/T/B/PlantedNoHost", "must be an https:// URL"),
        ("https://hooks.slack.invalid/services/T/B/Planted Space", "must be an https:// URL"),
        ("https://user:PlantedCred@hooks.slack.invalid/services/T/B/x", "must not contain credentials"),
    ],
)
def test_slack_url_validated_by_the_module_before_any_request(bad_url, expected):
    result, fake = run_module(grafana_contact_point, {"name": "cp", "type": "slack", "slack_url": bad_url}, [])
    assert result["failed"] is True and expected in result["msg"], result["msg"]
    assert "Planted" not in result["msg"]
    assert fake.calls == []


def test_slack_url_refused_for_another_type():
    result, fake = run_module(
        grafana_contact_point, {"name": "cp", "type": "email", "email_addresses": ["a@b.c"], "slack_url": "https://hooks.slack.invalid/x"}, []
    )
    assert result["failed"] is True and "only applies to type slack" in result["msg"]
    assert fake.calls == []

"""The Slack emulator behaves as Slack documents the two-step upload and incoming webhooks (README.md)."""

import json

import pytest
import requests

from slack_emulator.fixture import SlackEmulator

TOKEN = "xoxb-emulator-test-token-1"


@pytest.fixture
def slack():
    emu = SlackEmulator(TOKEN)
    try:
        yield emu
    finally:
        emu.stop()


def call(emu, method, data=None, token=TOKEN, as_json=False):
    headers = {"Authorization": "Bearer %s" % token} if token else {}
    if as_json:
        return requests.post("%s/%s" % (emu.api_url, method), json=data or {}, headers=headers, timeout=5).json()
    return requests.post("%s/%s" % (emu.api_url, method), data=data or {}, headers=headers, timeout=5).json()


def test_two_step_upload_shares_file_in_channel(slack):
    content = b"%PDF-1.4 report"
    got = call(slack, "files.getUploadURLExternal", {"filename": "r.pdf", "length": str(len(content))})
    assert got["ok"] is True and got["file_id"].startswith("F") and got["upload_url"].startswith(slack.url)
    resp = requests.post(got["upload_url"], data=content, timeout=5)
    assert resp.status_code == 200
    done = call(
        slack,
        "files.completeUploadExternal",
        {"files": json.dumps([{"id": got["file_id"], "title": "Report"}]), "channel_id": "C0REPORTS1", "initial_comment": "hello"},
    )
    assert done["ok"] is True and done["files"][0]["id"] == got["file_id"]
    state = slack.state()
    assert state["completed"][got["file_id"]]["size"] == len(content)
    assert state["shares"] == [{"channel_id": "C0REPORTS1", "initial_comment": "hello", "files": [got["file_id"]]}]


def test_multipart_upload_and_json_complete(slack):
    got = call(slack, "files.getUploadURLExternal", {"filename": "p.png", "length": "4"}, as_json=True)
    resp = requests.post(got["upload_url"], files={"file": ("p.png", b"\x89PNG")}, timeout=5)
    assert resp.status_code == 200
    done = call(slack, "files.completeUploadExternal", {"files": [{"id": got["file_id"]}], "channel_id": "C0REPORTS1"}, as_json=True)
    assert done["ok"] is True


def test_auth_errors(slack):
    assert call(slack, "files.getUploadURLExternal", {"filename": "a", "length": "1"}, token=None)["error"] == "not_authed"
    assert call(slack, "files.getUploadURLExternal", {"filename": "a", "length": "1"}, token="xoxb-wrong")["error"] == "invalid_auth"


def test_argument_errors(slack):
    assert call(slack, "files.getUploadURLExternal", {"filename": "a"})["error"] == "invalid_arguments"
    assert call(slack, "files.completeUploadExternal", {"files": "not json"})["error"] == "invalid_arguments"
    assert call(slack, "files.completeUploadExternal", {"files": json.dumps([{"id": "F999"}])})["error"] == "file_not_found"


def test_complete_needs_uploaded_bytes_known_channel_and_only_once(slack):
    got = call(slack, "files.getUploadURLExternal", {"filename": "a.pdf", "length": "3"})
    files = json.dumps([{"id": got["file_id"]}])
    assert call(slack, "files.completeUploadExternal", {"files": files})["error"] == "file_not_found"
    assert requests.post(got["upload_url"], data=b"toolong", timeout=5).status_code == 400
    assert requests.post(got["upload_url"], data=b"abc", timeout=5).status_code == 200
    assert call(slack, "files.completeUploadExternal", {"files": files, "channel_id": "CNOPE"})["error"] == "channel_not_found"
    assert call(slack, "files.completeUploadExternal", {"files": files, "channel_id": "C0REPORTS1"})["ok"]
    assert call(slack, "files.completeUploadExternal", {"files": files, "channel_id": "C0REPORTS1"})["error"] == "file_not_found"


def test_files_upload_is_retired(slack):
    assert call(slack, "files.upload", {"channels": "C0REPORTS1"})["error"] == "method_deprecated"


def test_webhook(slack):
    assert requests.post(slack.webhook_url, json={"text": "hi"}, timeout=5).text == "ok"
    bad = requests.post(slack.webhook_url, json={}, timeout=5)
    assert bad.status_code == 400 and bad.text == "invalid_payload"
    other = requests.post(slack.url + "/services/T1/B1/nope", json={"text": "x"}, timeout=5)
    assert other.status_code == 404 and other.text == "no_service"
    assert slack.state()["webhook_messages"] == [{"text": "hi"}]


def test_fault_injection(slack):
    slack.fail("files.completeUploadExternal", count=1, error="internal_error")
    got = call(slack, "files.getUploadURLExternal", {"filename": "a", "length": "1"})
    requests.post(got["upload_url"], data=b"x", timeout=5)
    files = json.dumps([{"id": got["file_id"]}])
    assert call(slack, "files.completeUploadExternal", {"files": files})["error"] == "internal_error"
    assert call(slack, "files.completeUploadExternal", {"files": files})["ok"] is True


# ---------------------------------------------------------------------------------------- chat.postMessage
def post(emu, body, token=TOKEN, charset=True):
    headers = {"Content-Type": "application/json" + ("; charset=utf-8" if charset else "")}
    if token:
        headers["Authorization"] = "Bearer %s" % token
    return requests.post("%s/chat.postMessage" % emu.api_url, data=json.dumps(body), headers=headers, timeout=5)


def test_post_message_json_with_bearer_token(slack):
    resp = post(slack, {"channel": "C0REPORTS1", "text": "budget alert"})
    got = resp.json()
    assert resp.status_code == 200 and got["ok"] is True and got["channel"] == "C0REPORTS1"
    assert got["message"]["text"] == "budget alert" and got["ts"] == got["message"]["ts"] and "warning" not in got
    assert slack.messages() == [{"channel": "C0REPORTS1", "text": "budget alert", "blocks": None, "ts": got["ts"]}]


def test_post_message_form_body_with_blocks_and_token_argument(slack):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    got = call(slack, "chat.postMessage", {"channel": "C0REPORTS1", "blocks": json.dumps(blocks), "token": TOKEN}, token=None)
    assert got["ok"] is True
    assert slack.messages()[0]["blocks"] == blocks


def test_post_message_errors(slack):
    assert post(slack, {"channel": "C0REPORTS1", "text": "x"}, token=None).json() == {"ok": False, "error": "not_authed"}
    assert post(slack, {"channel": "C0REPORTS1", "text": "x"}, token="xoxb-wrong").json()["error"] == "invalid_auth"
    # a JSON body cannot carry the token: only the Authorization header counts
    assert post(slack, {"channel": "C0REPORTS1", "text": "x", "token": TOKEN}, token=None).json()["error"] == "not_authed"
    assert post(slack, {"channel": "CNOTTHERE", "text": "x"}).json()["error"] == "channel_not_found"
    assert post(slack, {"text": "x"}).json()["error"] == "channel_not_found"
    assert post(slack, {"channel": "C0REPORTS1"}).json()["error"] == "no_text"
    assert post(slack, {"channel": "C0REPORTS1", "blocks": {"not": "a list"}}).json()["error"] == "invalid_blocks_format"
    # every error is HTTP 200 with ok=false, and nothing was posted
    assert post(slack, {"channel": "C0REPORTS1"}).status_code == 200
    assert slack.messages() == []


def test_post_message_json_without_charset_warns(slack):
    got = post(slack, {"channel": "C0REPORTS1", "text": "x"}, charset=False).json()
    assert got["ok"] is True and got["warning"] == "missing_charset" and got["response_metadata"] == {"warnings": ["missing_charset"]}


def test_post_message_rate_limit_per_channel():
    emu = SlackEmulator(TOKEN, channels=("C0REPORTS1", "C0OTHER001"), post_burst=2)
    try:
        assert post(emu, {"channel": "C0REPORTS1", "text": "1"}).json()["ok"]
        assert post(emu, {"channel": "C0REPORTS1", "text": "2"}).json()["ok"]
        limited = post(emu, {"channel": "C0REPORTS1", "text": "3"})
        assert limited.status_code == 429 and limited.json() == {"ok": False, "error": "ratelimited"}
        assert int(limited.headers["Retry-After"]) >= 1
        # the limit is per channel
        assert post(emu, {"channel": "C0OTHER001", "text": "elsewhere"}).json()["ok"]
        assert [m["text"] for m in emu.messages()] == ["1", "2", "elsewhere"]
    finally:
        emu.stop()


def test_post_message_rate_limit_recovers_after_retry_after():
    import time

    emu = SlackEmulator(TOKEN, post_burst=1)
    try:
        assert post(emu, {"channel": "C0REPORTS1", "text": "1"}).json()["ok"]
        limited = post(emu, {"channel": "C0REPORTS1", "text": "2"})
        assert limited.status_code == 429
        time.sleep(int(limited.headers["Retry-After"]) + 0.1)
        assert post(emu, {"channel": "C0REPORTS1", "text": "2"}).json()["ok"]
    finally:
        emu.stop()


def test_post_message_injected_rate_limit_and_error(slack):
    slack.fail("chat.postMessage", count=1, error="ratelimited", status=429, retry_after=2)
    limited = post(slack, {"channel": "C0REPORTS1", "text": "x"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    slack.fail("chat.postMessage", count=1, error="internal_error")
    assert post(slack, {"channel": "C0REPORTS1", "text": "x"}).json() == {"ok": False, "error": "internal_error"}
    assert post(slack, {"channel": "C0REPORTS1", "text": "x"}).json()["ok"] is True
    assert len(slack.messages()) == 1
    # the request log keeps no token
    assert TOKEN not in json.dumps(slack.state())

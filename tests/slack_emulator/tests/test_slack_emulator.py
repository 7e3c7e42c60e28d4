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

"""The usage/cost API emulator behaves like the documented provider APIs (README.md of the emulator)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import requests

from conftest import PLANTED
from usage_api_emulator import CostRecord, UsageRecord

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 27, tzinfo=UTC)
AK, OK = PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"]
AH = {"x-api-key": AK, "anthropic-version": "2023-06-01"}
OH = {"Authorization": "Bearer " + OK}


def seed(api):
    for h in range(48):
        api.put_usage(
            UsageRecord(
                "anthropic",
                T0 + dt.timedelta(hours=h),
                "claude-a",
                "ws-1",
                uncached_input_tokens=100,
                cache_write_5m_tokens=10,
                cache_write_1h_tokens=1,
                cache_read_tokens=1000,
                output_tokens=50,
                requests=2,
            ),
            UsageRecord("anthropic", T0 + dt.timedelta(hours=h), "claude-b", None, uncached_input_tokens=7, output_tokens=3, requests=1),
            UsageRecord(
                "openai", T0 + dt.timedelta(hours=h), "gpt-a", "proj_1", uncached_input_tokens=200, cache_read_tokens=300, output_tokens=40, requests=4
            ),
        )


def a_get(api, path, **params):
    return requests.get(api.anthropic_url + path, headers=AH, params=params, timeout=10)


def o_get(api, path, **params):
    return requests.get(api.openai_url + path, headers=OH, params=params, timeout=10)


def test_anthropic_usage_buckets_grouping_and_paging(usage_api):
    seed(usage_api)
    pages, page = [], None
    while True:
        params = {
            "starting_at": "2026-11-27T00:30:00Z",
            "ending_at": "2026-11-29T00:00:00Z",
            "bucket_width": "1h",
            "group_by[]": ["model", "workspace_id"],
            "limit": 20,
        }
        if page:
            params["page"] = page
        r = a_get(usage_api, "/v1/organizations/usage_report/messages", **params)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        if not body["has_more"]:
            assert body["next_page"] is None
            break
        page = body["next_page"]
    buckets = [b for p in pages for b in p["data"]]
    assert len(pages) == 3 and len(buckets) == 48  # snapped to 00:00, 48 hourly buckets, 20 per page
    assert buckets[0]["starting_at"] == "2026-11-27T00:00:00Z" and buckets[0]["ending_at"] == "2026-11-27T01:00:00Z"
    res = {r["model"]: r for r in buckets[5]["results"]}
    assert res["claude-a"]["workspace_id"] == "ws-1" and res["claude-b"]["workspace_id"] is None
    assert res["claude-a"]["cache_creation"] == {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 1}
    assert res["claude-a"]["cache_read_input_tokens"] == 1000 and res["claude-a"]["uncached_input_tokens"] == 100
    # not grouped: one result per bucket, dimensions null; a day sums its hours
    r = a_get(usage_api, "/v1/organizations/usage_report/messages", starting_at="2026-11-27T00:00:00Z", ending_at="2026-11-28T00:00:00Z")
    [bucket] = r.json()["data"]
    [total] = bucket["results"]
    assert total["model"] is None and total["uncached_input_tokens"] == 24 * 107 and total["output_tokens"] == 24 * 53
    # revision replaces the hour
    usage_api.put_usage(UsageRecord("anthropic", T0, "claude-b", None, uncached_input_tokens=70, output_tokens=3))
    r = a_get(
        usage_api,
        "/v1/organizations/usage_report/messages",
        starting_at="2026-11-27T00:00:00Z",
        ending_at="2026-11-27T01:00:00Z",
        bucket_width="1h",
        **{"group_by[]": "model"},
    )
    assert {x["model"]: x["uncached_input_tokens"] for x in r.json()["data"][0]["results"]} == {"claude-a": 100, "claude-b": 70}


def test_anthropic_errors_and_auth(usage_api):
    path = "/v1/organizations/usage_report/messages"
    url = usage_api.anthropic_url + path
    r = requests.get(url, params={"starting_at": "2026-11-27T00:00:00Z"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert r.json()["type"] == "error"
    r = requests.get(url, headers={"x-api-key": AK}, params={"starting_at": "2026-11-27T00:00:00Z"}, timeout=10)
    assert r.status_code == 400 and "anthropic-version" in r.json()["error"]["message"]
    r = requests.get(url, headers=dict(AH, **{"x-api-key": "sk-ant-api03-ordinary"}), params={"starting_at": "2026-11-27T00:00:00Z"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    r = requests.get(url, headers=dict(AH, **{"x-api-key": "sk-ant-admin01-wrong"}), params={"starting_at": "2026-11-27T00:00:00Z"}, timeout=10)
    assert r.status_code == 401
    assert a_get(usage_api, path).status_code == 400  # starting_at required
    r = a_get(usage_api, path, starting_at="2026-11-27T00:00:00Z", bucket_width="1h", limit=169)
    assert r.status_code == 400 and "168" in r.json()["error"]["message"]
    assert a_get(usage_api, path, starting_at="2026-11-27T00:00:00Z", page="garbage").status_code == 400
    assert a_get(usage_api, path, starting_at="2026-11-27T00:00:00Z", **{"group_by[]": "nope"}).status_code == 400
    usage_api.inject_fault("anthropic", 429, count=1, retry_after=3)
    r = a_get(usage_api, path, starting_at="2026-11-27T00:00:00Z", ending_at="2026-11-28T00:00:00Z")
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert a_get(usage_api, path, starting_at="2026-11-27T00:00:00Z", ending_at="2026-11-28T00:00:00Z").status_code == 200
    # keys never land in the request log
    assert AK not in json.dumps(usage_api.requests())


def test_anthropic_cost_report_cents_strings(usage_api):
    usage_api.put_cost(
        CostRecord("anthropic", dt.date(2026, 11, 27), Decimal("123.456"), model="claude-a", token_type="output_tokens", workspace_id="ws-1"),
        CostRecord("anthropic", dt.date(2026, 11, 27), Decimal("0.544"), model="claude-a", token_type="uncached_input_tokens", workspace_id="ws-1"),
    )
    r = a_get(
        usage_api,
        "/v1/organizations/cost_report",
        starting_at="2026-11-27T00:00:00Z",
        ending_at="2026-11-29T00:00:00Z",
        **{"group_by[]": ["workspace_id", "description"]},
    )
    body = r.json()
    assert r.status_code == 200 and len(body["data"]) == 2 and body["data"][1]["results"] == []
    rows = body["data"][0]["results"]
    assert sorted(x["amount"] for x in rows) == ["0.544", "123.456"]
    assert {x["model"] for x in rows} == {"claude-a"} and {x["currency"] for x in rows} == {"USD"}
    r = a_get(usage_api, "/v1/organizations/cost_report", starting_at="2026-11-27T00:00:00Z", ending_at="2026-11-28T00:00:00Z")
    assert r.json()["data"][0]["results"][0]["amount"] == "124.000" and r.json()["data"][0]["results"][0]["model"] is None
    assert a_get(usage_api, "/v1/organizations/cost_report", starting_at="2026-11-27T00:00:00Z", bucket_width="1h").status_code == 400


def test_openai_usage_and_costs(usage_api):
    seed(usage_api)
    start = int(T0.timestamp())
    r = o_get(
        usage_api, "/v1/organization/usage/completions", start_time=start, end_time=start + 7200, bucket_width="1h", **{"group_by": ["model", "project_id"]}
    )
    body = r.json()
    assert r.status_code == 200 and body["object"] == "page" and len(body["data"]) == 2
    [row] = body["data"][0]["results"]
    # input_tokens includes the cached part
    assert (row["input_tokens"], row["input_cached_tokens"], row["output_tokens"], row["num_model_requests"]) == (500, 300, 40, 4)
    assert row["model"] == "gpt-a" and row["project_id"] == "proj_1"
    assert body["data"][0]["start_time"] == start and body["data"][0]["end_time"] == start + 3600
    # paging: limit 1 over 2 buckets
    r = o_get(usage_api, "/v1/organization/usage/completions", start_time=start, end_time=start + 7200, bucket_width="1h", limit=1)
    assert r.json()["has_more"] is True
    r2 = o_get(usage_api, "/v1/organization/usage/completions", start_time=start, end_time=start + 7200, bucket_width="1h", limit=1, page=r.json()["next_page"])
    assert r2.json()["has_more"] is False and r2.json()["data"][0]["start_time"] == start + 3600
    usage_api.put_cost(CostRecord("openai", dt.date(2026, 11, 27), Decimal("1.25"), line_item="gpt-a, input", workspace_id="proj_1"))
    r = o_get(usage_api, "/v1/organization/costs", start_time=start, end_time=start + 86400, **{"group_by[]": ["line_item", "project_id"]})
    [cost] = r.json()["data"][0]["results"]
    assert cost["amount"] == {"value": 1.25, "currency": "usd"} and cost["line_item"] == "gpt-a, input"
    assert o_get(usage_api, "/v1/organization/costs", start_time=start, limit=181).status_code == 400


def test_openai_errors(usage_api):
    url = usage_api.openai_url + "/v1/organization/usage/completions"
    r = requests.get(url, params={"start_time": 1}, timeout=10)
    assert r.status_code == 401 and "error" in r.json() and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.get(url, params={"start_time": 1}, headers={"Authorization": "Bearer sk-admin-wrong"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = requests.get(url, params={"start_time": 1}, headers={"Authorization": "Bearer sk-proj-abc"}, timeout=10)
    assert r.status_code == 403
    assert o_get(usage_api, "/v1/organization/usage/completions").status_code == 400  # start_time required
    usage_api.inject_fault("openai", 429, retry_after=2)
    r = o_get(usage_api, "/v1/organization/usage/completions", start_time=int(T0.timestamp()), end_time=int(T0.timestamp()) + 86400)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    usage_api.inject_fault("openai", 500)
    assert o_get(usage_api, "/v1/organization/usage/completions", start_time=int(T0.timestamp()), end_time=int(T0.timestamp()) + 86400).status_code == 500
    assert OK not in json.dumps(usage_api.requests())


def test_slack_sink(slack_sink):
    r = requests.post(slack_sink.url, json={"text": "hello"}, timeout=10)
    assert (r.status_code, r.text) == (200, "ok")
    assert requests.post(slack_sink.url, data=b"not json", timeout=10).text == "invalid_payload"
    assert requests.post(slack_sink.url, json={"foo": 1}, timeout=10).text == "no_text"
    assert requests.post(slack_sink.url.rsplit("/", 1)[0] + "/wrong", json={"text": "x"}, timeout=10).status_code == 404
    slack_sink.fail_next(1, 500)
    assert requests.post(slack_sink.url, json={"text": "x"}, timeout=10).status_code == 500
    assert slack_sink.posts == [{"text": "hello"}]


def test_cli_prints_urls_not_keys(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"anthropic": [AK], "openai": [OK]}))
    data = tmp_path / "data.json"
    row = {"provider": "openai", "hour": "2026-11-27T05:00:00Z", "model": "gpt-a", "uncached_input_tokens": 5}
    data.write_text(json.dumps({"usage": [row]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "usage_api_emulator", "--keys-file", str(keys), "--data", str(data), "--slack"],
        cwd=str(Path(__file__).resolve().parents[2]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert AK not in json.dumps(info)
        r = requests.get(
            info["openai_url"] + "/v1/organization/usage/completions",
            headers=OH,
            timeout=10,
            params={"start_time": int(T0.timestamp()), "end_time": int(T0.timestamp()) + 86400},
        )
        assert r.json()["data"][0]["results"][0]["input_tokens"] == 5
        assert requests.post(info["slack_webhook_url"], json={"text": "x"}, timeout=10).text == "ok"
    finally:
        proc.terminate()
        proc.wait(10)

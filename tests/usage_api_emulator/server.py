"""The usage/cost API emulator: one HTTP server that answers both providers' admin endpoints.

Anthropic (base URL ``<url>/anthropic``, or the root): ``GET /v1/organizations/usage_report/messages`` and
``GET /v1/organizations/cost_report``. OpenAI (base URL ``<url>/openai``, or the root):
``GET /v1/organization/usage/completions`` and ``GET /v1/organization/costs``.

Behaviour (facts and sources in README.md): admin-key authentication (Anthropic ``x-api-key`` +
``anthropic-version``; OpenAI ``Authorization: Bearer``), bucket snapping to the start of the UTC minute, hour or
day, per-width default and maximum ``limit`` (buckets per page), ``has_more`` / ``next_page`` paging with an
opaque cursor, ``group_by`` (dimensions are null unless grouped by), the providers' error bodies, and injected
faults (429 with ``retry-after``, 5xx). Usage is stored per hour; a ``1m`` bucket holds an hour's usage in its
first minute, a ``1d`` bucket the day's sum.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

UTC = dt.timezone.utc
WIDTHS = {"1m": dt.timedelta(minutes=1), "1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1)}
# buckets per page: (default, maximum)
USAGE_LIMITS = {"1d": (7, 31), "1h": (24, 168), "1m": (60, 1440)}
ANTHROPIC_COST_LIMITS = (7, 31)
OPENAI_COST_LIMITS = (7, 180)
ANTHROPIC_USAGE_GROUPS = {"api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo", "speed", "account_id", "service_account_id"}
ANTHROPIC_COST_GROUPS = {"workspace_id", "description"}
OPENAI_USAGE_GROUPS = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"}
OPENAI_COST_GROUPS = {"project_id", "line_item"}


@dataclass
class UsageRecord:
    """One hour of one model's usage in one workspace (Anthropic) or project (OpenAI)."""

    provider: str  # anthropic | openai
    hour: dt.datetime  # start of the UTC hour
    model: str
    workspace_id: str | None = None
    service_tier: str | None = "standard"
    uncached_input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0


@dataclass
class CostRecord:
    """One day of cost: Anthropic per model and token type (cents), OpenAI per line item (USD)."""

    provider: str
    day: dt.date
    amount: Decimal  # Anthropic: cents; OpenAI: USD
    model: str | None = None
    token_type: str | None = None  # Anthropic: uncached_input_tokens, output_tokens, ...
    line_item: str | None = None  # OpenAI, e.g. "gpt-4o, input"
    workspace_id: str | None = None
    service_tier: str | None = "standard"


class ApiError(Exception):
    def __init__(self, status, etype, message, headers=None, code=None):
        super().__init__(message)
        self.status, self.etype, self.message, self.headers, self.code = status, etype, message, headers or {}, code


@dataclass
class Fault:
    provider: str  # anthropic | openai | any
    status: int
    count: int
    retry_after: int | None = None


@dataclass
class State:
    usage: dict = field(default_factory=dict)  # key -> UsageRecord
    costs: dict = field(default_factory=dict)  # key -> CostRecord
    faults: list = field(default_factory=list)
    requests: list = field(default_factory=list)  # (provider, method, path, query dict) - never headers


def _parse_rfc3339(value, name):
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ApiError(400, "invalid_request_error", "%s: invalid RFC 3339 datetime %r" % (name, value))
    if parsed.tzinfo is None:
        raise ApiError(400, "invalid_request_error", "%s: a time zone is required" % name)
    return parsed.astimezone(UTC)


def _fmt(ts):
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snap(ts, width):
    if width == "1d":
        return ts.replace(hour=0, minute=0, second=0, microsecond=0)
    if width == "1h":
        return ts.replace(minute=0, second=0, microsecond=0)
    return ts.replace(second=0, microsecond=0)


def _cursor(index):
    return base64.urlsafe_b64encode(("page:%d" % index).encode()).decode().rstrip("=")


def _uncursor(token, etype):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("page:"):
            raise ValueError(raw)
        return int(raw[5:])
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, etype, "page: invalid page token")


class UsageApiEmulator:
    """``UsageApiEmulator(anthropic_keys=[...], openai_keys=[...]).start()``; ``.url``; ``.stop()``."""

    def __init__(self, anthropic_keys=(), openai_keys=(), host="127.0.0.1", port=0, now=None):
        self.anthropic_keys = set(anthropic_keys)
        self.openai_keys = set(openai_keys)
        self.state = State()
        self.lock = threading.Lock()
        self._now = now
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                emulator._handle(self)

            def do_POST(self):
                emulator._handle(self)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://%s:%d" % (host, self.port)
        self.anthropic_url = self.url + "/anthropic"
        self.openai_url = self.url + "/openai"
        self._thread = None

    # ------------------------------------------------------------------ lifecycle and test controls
    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def now(self):
        return self._now() if callable(self._now) else (self._now or dt.datetime.now(UTC))

    def put_usage(self, *records):
        """Add or replace (same provider, hour, model, workspace, tier) hourly usage: a revision replaces."""
        with self.lock:
            for r in records:
                hour = snap(r.hour.astimezone(UTC), "1h")
                r.hour = hour
                self.state.usage[(r.provider, hour, r.model, r.workspace_id, r.service_tier)] = r

    def put_cost(self, *records):
        with self.lock:
            for r in records:
                key = (r.provider, r.day, r.model, r.token_type, r.line_item, r.workspace_id, r.service_tier)
                self.state.costs[key] = r

    def clear(self):
        with self.lock:
            self.state.usage.clear()
            self.state.costs.clear()
            self.state.faults.clear()
            self.state.requests.clear()

    def inject_fault(self, provider="any", status=429, count=1, retry_after=1):
        """The next ``count`` requests to ``provider`` answer ``status`` (429 with a retry-after header)."""
        with self.lock:
            self.state.faults.append(Fault(provider, status, count, retry_after))

    def requests(self, provider=None):
        with self.lock:
            return [r for r in self.state.requests if provider in (None, r[0])]

    # ------------------------------------------------------------------ HTTP
    def _handle(self, req):
        parts = urlsplit(req.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        if path.startswith("/anthropic/"):
            path = path[len("/anthropic") :]
        elif path.startswith("/openai/"):
            path = path[len("/openai") :]
        routes = {
            "/v1/organizations/usage_report/messages": ("anthropic", self._anthropic_usage),
            "/v1/organizations/cost_report": ("anthropic", self._anthropic_cost),
            "/v1/organization/usage/completions": ("openai", self._openai_usage),
            "/v1/organization/costs": ("openai", self._openai_cost),
        }
        provider, handler = routes.get(path, (None, None))
        if req.command != "GET" or handler is None:
            provider = "anthropic" if path.startswith("/v1/organizations/") else "openai"
            self._send_error(req, provider, ApiError(404, "not_found_error", "Not found: %s %s" % (req.command, path)))
            return
        with self.lock:
            self.state.requests.append((provider, req.command, path, {k: list(v) for k, v in query.items()}))
        try:
            self._authenticate(req, provider)
            self._fault(provider)
            body = handler(query)
        except ApiError as exc:
            self._send_error(req, provider, exc)
            return
        self._send(req, 200, body, {"request-id": "req_emulated"})

    def _fault(self, provider):
        with self.lock:
            for fault in self.state.faults:
                if fault.count > 0 and fault.provider in ("any", provider):
                    fault.count -= 1
                    headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
                    if fault.status == 429:
                        raise ApiError(429, "rate_limit_error", "Rate limit exceeded; retry after %ss" % fault.retry_after, headers, code="rate_limit_exceeded")
                    if fault.status == 529:
                        raise ApiError(529, "overloaded_error", "Overloaded", headers)
                    raise ApiError(fault.status, "api_error", "Internal server error", headers, code="server_error")

    def _authenticate(self, req, provider):
        if provider == "anthropic":
            key = req.headers.get("x-api-key")
            if not key:
                raise ApiError(401, "authentication_error", "x-api-key header is required")
            if not req.headers.get("anthropic-version"):
                raise ApiError(400, "invalid_request_error", "anthropic-version: header is required")
            if key in self.anthropic_keys:
                return
            if key.startswith("sk-ant-api"):
                raise ApiError(403, "permission_error", "This endpoint requires an Admin API key (sk-ant-admin...)")
            raise ApiError(401, "authentication_error", "invalid x-api-key")
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise ApiError(
                401,
                "invalid_request_error",
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code=None,
            )
        key = auth[7:].strip()
        if key in self.openai_keys:
            return
        if key.startswith(("sk-proj-", "sk-svcacct-")):
            raise ApiError(
                403,
                "invalid_request_error",
                "You have insufficient permissions for this operation. Missing scopes: api.usage.read. Use an admin key.",
                code="insufficient_permissions",
            )
        raise ApiError(401, "invalid_request_error", "Incorrect API key provided.", code="invalid_api_key")

    def _send_error(self, req, provider, exc):
        if provider == "anthropic":
            body = {"type": "error", "error": {"type": exc.etype, "message": exc.message}, "request_id": "req_emulated"}
        else:
            etype = {429: "requests", 500: "server_error", 503: "server_error"}.get(exc.status, exc.etype)
            if exc.etype == "not_found_error":
                etype = "invalid_request_error"
            body = {"error": {"message": exc.message, "type": etype, "param": None, "code": exc.code}}
        self._send(req, exc.status, body, exc.headers)

    @staticmethod
    def _send(req, status, body, headers=None):
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)

    # ------------------------------------------------------------------ shared parameter handling
    @staticmethod
    def _one(query, name, etype, required=False):
        values = query.get(name)
        if not values:
            if required:
                raise ApiError(400, etype, "%s: field required" % name)
            return None
        if len(values) > 1:
            raise ApiError(400, etype, "%s: only one value allowed" % name)
        return values[0]

    @staticmethod
    def _list(query, name, allowed, etype, plain_too=False):
        values = list(query.get(name + "[]", []))
        if plain_too:
            values += query.get(name, [])
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ApiError(400, etype, "%s: invalid value(s) %s; allowed: %s" % (name, ", ".join(bad), ", ".join(sorted(allowed))))
        return set(values)

    def _window(self, start, end, width, limit_spec, query, etype):
        default, maximum = limit_spec
        raw_limit = self._one(query, "limit", etype)
        if raw_limit is None:
            limit = default
        else:
            try:
                limit = int(raw_limit)
            except ValueError:
                raise ApiError(400, etype, "limit: must be an integer")
            if not 1 <= limit <= maximum:
                raise ApiError(400, etype, "limit: must be between 1 and %d for bucket_width %s" % (maximum, width))
        step = WIDTHS[width]
        first = snap(start, width)
        if end is None:
            end = snap(self.now(), width) + step
        if end <= start:
            raise ApiError(400, etype, "ending_at/end_time must be after starting_at/start_time")
        starts = []
        cur = first
        while cur < end:
            starts.append(cur)
            cur += step
        page = self._one(query, "page", etype)
        index = _uncursor(page, etype) if page else 0
        chunk = starts[index : index + limit]
        more = index + limit < len(starts)
        return chunk, step, more, (_cursor(index + limit) if more else None)

    # ------------------------------------------------------------------ usage aggregation
    def _usage_rows(self, provider, bucket_start, step, groups, filters):
        end = bucket_start + step
        totals = {}
        with self.lock:
            records = [r for r in self.state.usage.values() if r.provider == provider]
        for r in records:
            if step == WIDTHS["1m"]:
                inside = r.hour == bucket_start
            else:
                inside = bucket_start <= r.hour < end
            if not inside:
                continue
            if any(values and getattr(r, attr) not in values for attr, values in filters.items()):
                continue
            key = tuple((g, getattr(r, g) if hasattr(r, g) else None) for g in sorted(groups))
            acc = totals.setdefault(key, UsageRecord(provider, bucket_start, model=None, workspace_id=None, service_tier=None))
            for f in ("uncached_input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "output_tokens", "requests"):
                setattr(acc, f, getattr(acc, f) + getattr(r, f))
        return [(dict(k), v) for k, v in sorted(totals.items(), key=lambda kv: [str(x) for x in kv[0]])]

    # ------------------------------------------------------------------ Anthropic
    def _anthropic_range(self, query, width):
        et = "invalid_request_error"
        start = _parse_rfc3339(self._one(query, "starting_at", et, required=True), "starting_at")
        raw_end = self._one(query, "ending_at", et)
        end = _parse_rfc3339(raw_end, "ending_at") if raw_end else None
        return start, end

    def _anthropic_usage(self, query):
        et = "invalid_request_error"
        width = self._one(query, "bucket_width", et) or "1d"
        if width not in WIDTHS:
            raise ApiError(400, et, "bucket_width: must be one of 1m, 1h, 1d")
        start, end = self._anthropic_range(query, width)
        groups = self._list(query, "group_by", ANTHROPIC_USAGE_GROUPS, et)
        filters = {
            "model": set(query.get("models[]", [])),
            "workspace_id": set(query.get("workspace_ids[]", [])),
            "service_tier": set(query.get("service_tiers[]", [])),
        }
        starts, step, more, nxt = self._window(start, end, width, USAGE_LIMITS[width], query, et)
        data = []
        for b in starts:
            results = []
            for dims, acc in self._usage_rows("anthropic", b, step, groups, filters):
                results.append(
                    {
                        "uncached_input_tokens": acc.uncached_input_tokens,
                        "cache_creation": {"ephemeral_5m_input_tokens": acc.cache_write_5m_tokens, "ephemeral_1h_input_tokens": acc.cache_write_1h_tokens},
                        "cache_read_input_tokens": acc.cache_read_tokens,
                        "output_tokens": acc.output_tokens,
                        "server_tool_use": {"web_search_requests": 0},
                        "api_key_id": None,
                        "workspace_id": dims.get("workspace_id"),
                        "model": dims.get("model"),
                        "service_tier": dims.get("service_tier"),
                        "context_window": None,
                        "inference_geo": None,
                    }
                )
            data.append({"starting_at": _fmt(b), "ending_at": _fmt(b + step), "results": results})
        return {"data": data, "has_more": more, "next_page": nxt}

    def _anthropic_cost(self, query):
        et = "invalid_request_error"
        width = self._one(query, "bucket_width", et) or "1d"
        if width != "1d":
            raise ApiError(400, et, "bucket_width: only 1d is supported for cost reports")
        start, end = self._anthropic_range(query, width)
        groups = self._list(query, "group_by", ANTHROPIC_COST_GROUPS, et)
        starts, step, more, nxt = self._window(start, end, width, ANTHROPIC_COST_LIMITS, query, et)
        with self.lock:
            records = [r for r in self.state.costs.values() if r.provider == "anthropic"]
        data = []
        for b in starts:
            sums = {}
            for r in records:
                if r.day != b.date():
                    continue
                key = (r.workspace_id if "workspace_id" in groups else None, (r.model, r.token_type, r.service_tier) if "description" in groups else None)
                sums[key] = sums.get(key, Decimal(0)) + Decimal(r.amount)
            results = []
            for (ws, desc), amount in sorted(sums.items(), key=lambda kv: str(kv[0])):
                model, token_type, tier = desc if desc else (None, None, None)
                results.append(
                    {
                        "currency": "USD",
                        "amount": str(amount),
                        "workspace_id": ws,
                        "description": ("%s Usage - %s" % (model, token_type)) if desc else None,
                        "cost_type": "tokens" if desc else None,
                        "context_window": None,
                        "model": model,
                        "service_tier": tier,
                        "token_type": token_type,
                        "inference_geo": None,
                    }
                )
            data.append({"starting_at": _fmt(b), "ending_at": _fmt(b + step), "results": results})
        return {"data": data, "has_more": more, "next_page": nxt}

    # ------------------------------------------------------------------ OpenAI
    def _openai_range(self, query):
        et = "invalid_request_error"
        raw = self._one(query, "start_time", et, required=True)
        try:
            start = dt.datetime.fromtimestamp(int(raw), UTC)
            raw_end = self._one(query, "end_time", et)
            end = dt.datetime.fromtimestamp(int(raw_end), UTC) if raw_end else None
        except ValueError:
            raise ApiError(400, et, "start_time/end_time: must be Unix seconds (integer)")
        return start, end

    def _openai_usage(self, query):
        et = "invalid_request_error"
        width = self._one(query, "bucket_width", et) or "1d"
        if width not in WIDTHS:
            raise ApiError(400, et, "bucket_width: must be one of 1m, 1h, 1d")
        start, end = self._openai_range(query)
        groups = self._list(query, "group_by", OPENAI_USAGE_GROUPS, et, plain_too=True)
        groups = {"workspace_id" if g == "project_id" else g for g in groups}
        filters = {
            "model": set(query.get("models[]", []) + query.get("models", [])),
            "workspace_id": set(query.get("project_ids[]", []) + query.get("project_ids", [])),
        }
        starts, step, more, nxt = self._window(start, end, width, USAGE_LIMITS[width], query, et)
        data = []
        for b in starts:
            results = []
            for dims, acc in self._usage_rows("openai", b, step, groups, filters):
                results.append(
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": acc.uncached_input_tokens + acc.cache_read_tokens,
                        "input_cached_tokens": acc.cache_read_tokens,
                        "output_tokens": acc.output_tokens,
                        "input_audio_tokens": 0,
                        "output_audio_tokens": 0,
                        "num_model_requests": acc.requests,
                        "project_id": dims.get("workspace_id"),
                        "user_id": None,
                        "api_key_id": None,
                        "model": dims.get("model"),
                        "batch": None,
                        "service_tier": dims.get("service_tier"),
                    }
                )
            data.append({"object": "bucket", "start_time": int(b.timestamp()), "end_time": int((b + step).timestamp()), "results": results})
        return {"object": "page", "data": data, "has_more": more, "next_page": nxt}

    def _openai_cost(self, query):
        et = "invalid_request_error"
        width = self._one(query, "bucket_width", et) or "1d"
        if width != "1d":
            raise ApiError(400, et, "bucket_width: only 1d is supported")
        start, end = self._openai_range(query)
        groups = self._list(query, "group_by", OPENAI_COST_GROUPS, et, plain_too=True)
        starts, step, more, nxt = self._window(start, end, width, OPENAI_COST_LIMITS, query, et)
        with self.lock:
            records = [r for r in self.state.costs.values() if r.provider == "openai"]
        data = []
        for b in starts:
            sums = {}
            for r in records:
                if r.day != b.date():
                    continue
                key = (r.workspace_id if "project_id" in groups else None, r.line_item if "line_item" in groups else None)
                sums[key] = sums.get(key, Decimal(0)) + Decimal(r.amount)
            results = [
                {"object": "organization.costs.result", "amount": {"value": float(v), "currency": "usd"}, "line_item": li, "project_id": pj}
                for (pj, li), v in sorted(sums.items(), key=lambda kv: str(kv[0]))
            ]
            data.append({"object": "bucket", "start_time": int(b.timestamp()), "end_time": int((b + step).timestamp()), "results": results})
        return {"object": "page", "data": data, "has_more": more, "next_page": nxt}

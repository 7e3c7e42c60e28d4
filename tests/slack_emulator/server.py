"""The emulator's HTTP server (stdlib only). Behaviour and sources: README.md."""

import itertools
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RETIRED = {"files.upload"}


# chat.postMessage: "generally allows posting one message per second per channel", with short bursts above that
# (docs.slack.dev/apis/web-api/rate-limits). The burst size is not published: POST_BURST is (chosen).
POST_RATE_PER_SECOND = 1.0
POST_BURST = 4


class State(object):
    def __init__(self, token, channels, webhook_path, post_burst=POST_BURST):
        self.token = token
        self.channels = set(channels)
        self.webhook_path = webhook_path
        self.post_burst = post_burst
        self.buckets = {}  # channel -> [tokens, last monotonic time]
        self.messages = []  # chat.postMessage: {"channel", "text", "blocks", "ts"}
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.pending = {}  # file_id -> {"filename", "length", "content": bytes|None, "token"}
        self.completed = {}  # file_id -> {"filename", "title", "content", "channel_id", "initial_comment"}
        self.shares = []  # [{"channel_id", "initial_comment", "files": [ids]}]
        self.webhook_messages = []
        self.requests = []
        self.faults = {}  # method -> [count, error, http status, retry-after seconds]

    def snapshot(self):
        with self.lock:
            return {
                "pending": {k: {"filename": v["filename"], "length": v["length"], "uploaded": v["content"] is not None} for k, v in self.pending.items()},
                "completed": {
                    k: {
                        "filename": v["filename"],
                        "title": v["title"],
                        "size": len(v["content"]),
                        "head": v["content"][:8].hex(),
                        "channel_id": v["channel_id"],
                    }
                    for k, v in self.completed.items()
                },
                "shares": list(self.shares),
                "webhook_messages": list(self.webhook_messages),
                "messages": list(self.messages),
                "requests": list(self.requests),
            }


def _parse_multipart(body, content_type):
    """The first part's bytes of a multipart/form-data body (the file)."""
    boundary = None
    for item in content_type.split(";"):
        item = item.strip()
        if item.startswith("boundary="):
            boundary = item[len("boundary=") :].strip('"')
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode()
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _sep, content = part.partition(b"\r\n\r\n")
        if b"filename=" in head or b'name="file"' in head:
            return content[:-2] if content.endswith(b"\r\n") else content
    return None


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet
            return

        def _send(self, status, body, content_type="application/json; charset=utf-8", headers=None):
            data = body if isinstance(body, bytes) else (json.dumps(body).encode() if not isinstance(body, str) else body.encode())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self):
            if self.path == "/__emulator/state":
                return self._send(200, state.snapshot())
            return self._send(404, {"ok": False, "error": "unknown_method"})

        def do_POST(self):
            raw = self._body()
            path = urllib.parse.urlsplit(self.path).path
            with state.lock:
                state.requests.append({"method": "POST", "path": path, "authorization": "Bearer" if self.headers.get("Authorization") else None})
            if path == "/__emulator/fail":
                spec = json.loads(raw or b"{}")
                with state.lock:
                    state.faults[spec["method"]] = [
                        int(spec.get("count", 1)),
                        spec.get("error", "internal_error"),
                        int(spec.get("status", 200)),
                        spec.get("retry_after"),
                    ]
                return self._send(200, {"ok": True})
            if path.startswith("/upload/"):
                return self._upload(path, raw)
            if path.startswith("/services/"):
                return self._webhook(path, raw)
            if path.startswith("/api/"):
                return self._api(path[len("/api/") :], raw)
            return self._send(404, {"ok": False, "error": "unknown_method"})

        # -- Web API
        def _is_json(self):
            return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() == "application/json"

        def _args(self, raw):
            if self._is_json():
                try:
                    args = json.loads(raw or b"{}")
                except ValueError:
                    return None
                return args if isinstance(args, dict) else None
            return dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

        def _token(self, args):
            auth = self.headers.get("Authorization") or ""
            if auth.startswith("Bearer "):
                return auth[len("Bearer ") :].strip()
            # A JSON body cannot carry the token: Slack reads it only from the Authorization header there
            # (docs.slack.dev/apis/web-api, "JSON-encoded bodies").
            return None if self._is_json() else args.get("token")

        def _api(self, method, raw):
            if method in RETIRED:
                return self._send(200, {"ok": False, "error": "method_deprecated"})
            handlers = {
                "files.getUploadURLExternal": self._get_upload_url,
                "files.completeUploadExternal": self._complete,
                "chat.postMessage": self._post_message,
            }
            if method not in handlers:
                return self._send(404, {"ok": False, "error": "unknown_method"})
            args = self._args(raw)
            if args is None:
                return self._send(200, {"ok": False, "error": "invalid_arguments"})
            token = self._token(args)
            if not token:
                return self._send(200, {"ok": False, "error": "not_authed"})
            if token != state.token:
                return self._send(200, {"ok": False, "error": "invalid_auth"})
            with state.lock:
                fault = state.faults.get(method)
                if fault and fault[0] > 0:
                    fault[0] -= 1
                    headers = {"Retry-After": str(fault[3])} if fault[3] is not None else None
                    return self._send(fault[2], {"ok": False, "error": fault[1]}, headers=headers)
            return handlers[method](args)

        def _rate_limited(self, channel):
            """Token bucket per channel: POST_RATE_PER_SECOND, bursts up to state.post_burst. Returns the seconds
            to wait (Retry-After) when the post must be refused, else None and takes one token."""
            now = time.monotonic()
            tokens, last = state.buckets.get(channel, [float(state.post_burst), now])
            tokens = min(float(state.post_burst), tokens + (now - last) * POST_RATE_PER_SECOND)
            if tokens < 1.0:
                state.buckets[channel] = [tokens, now]
                return max(1, int((1.0 - tokens) / POST_RATE_PER_SECOND + 0.999))
            state.buckets[channel] = [tokens - 1.0, now]
            return None

        def _post_message(self, args):
            """chat.postMessage (docs.slack.dev/reference/methods/chat.postMessage)."""
            channel = args.get("channel")
            text = args.get("text")
            blocks = args.get("blocks")
            attachments = args.get("attachments")
            if isinstance(blocks, str):  # form bodies carry blocks as a JSON string
                try:
                    blocks = json.loads(blocks)
                except ValueError:
                    return self._send(200, {"ok": False, "error": "invalid_blocks_format"})
            if blocks is not None and not isinstance(blocks, list):
                return self._send(200, {"ok": False, "error": "invalid_blocks_format"})
            with state.lock:
                if not channel or channel not in state.channels:
                    return self._send(200, {"ok": False, "error": "channel_not_found"})
                if not (text or blocks or attachments):
                    return self._send(200, {"ok": False, "error": "no_text"})
                wait = self._rate_limited(channel)
                if wait is not None:
                    return self._send(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": str(wait)})
                ts = "%d.%06d" % (int(time.time()), next(state.counter))
                state.messages.append({"channel": channel, "text": text, "blocks": blocks, "ts": ts})
            body = {"ok": True, "channel": channel, "ts": ts, "message": {"type": "message", "subtype": "bot_message", "text": text or "", "ts": ts}}
            ctype = self.headers.get("Content-Type") or ""
            if self._is_json() and "charset" not in ctype.lower():
                body["warning"] = "missing_charset"
                body["response_metadata"] = {"warnings": ["missing_charset"]}
            return self._send(200, body)

        def _get_upload_url(self, args):
            filename = args.get("filename")
            try:
                length = int(args.get("length"))
            except (TypeError, ValueError):
                length = None
            if not filename or length is None or length < 0:
                return self._send(200, {"ok": False, "error": "invalid_arguments"})
            with state.lock:
                file_id = "F%010d" % next(state.counter)
                state.pending[file_id] = {"filename": filename, "length": length, "content": None}
            host, port = self.server.server_address[:2]
            return self._send(200, {"ok": True, "upload_url": "http://%s:%d/upload/v1/%s" % (host, port, file_id), "file_id": file_id})

        def _upload(self, path, raw):
            file_id = path.rsplit("/", 1)[-1]
            ctype = self.headers.get("Content-Type") or ""
            content = _parse_multipart(raw, ctype) if ctype.startswith("multipart/form-data") else raw
            with state.lock:
                pending = state.pending.get(file_id)
                if pending is None:
                    return self._send(404, "not found", "text/plain")
                if content is None or len(content) != pending["length"]:
                    return self._send(400, "length mismatch", "text/plain")
                pending["content"] = content
            return self._send(200, "OK - %d" % len(content), "text/plain")

        def _complete(self, args):
            files = args.get("files")
            if isinstance(files, str):
                try:
                    files = json.loads(files)
                except ValueError:
                    files = None
            if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
                return self._send(200, {"ok": False, "error": "invalid_arguments"})
            channel = args.get("channel_id")
            with state.lock:
                if channel and channel not in state.channels:
                    return self._send(200, {"ok": False, "error": "channel_not_found"})
                for f in files:
                    pending = state.pending.get(f["id"])
                    if pending is None or pending["content"] is None:
                        return self._send(200, {"ok": False, "error": "file_not_found"})
                out = []
                for f in files:
                    pending = state.pending.pop(f["id"])
                    title = f.get("title") or pending["filename"]
                    state.completed[f["id"]] = dict(pending, title=title, channel_id=channel, initial_comment=args.get("initial_comment"))
                    out.append({"id": f["id"], "title": title, "name": pending["filename"]})
                state.shares.append({"channel_id": channel, "initial_comment": args.get("initial_comment"), "files": [f["id"] for f in files]})
            return self._send(200, {"ok": True, "files": out})

        # -- incoming webhook
        def _webhook(self, path, raw):
            if not state.webhook_path or path != state.webhook_path:
                return self._send(404, "no_service", "text/html")
            try:
                payload = json.loads(raw or b"")
            except ValueError:
                return self._send(400, "invalid_payload", "text/html")
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                return self._send(400, "invalid_payload", "text/html")
            with state.lock:
                state.webhook_messages.append(payload)
            return self._send(200, "ok", "text/html")

    return Handler


def make_server(host, port, token, channels, webhook_path=None, post_burst=POST_BURST):
    state = State(token, channels, webhook_path, post_burst)
    server = ThreadingHTTPServer((host, port), make_handler(state))
    server.daemon_threads = True
    server.state = state
    return server

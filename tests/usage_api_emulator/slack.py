"""A local Slack incoming-webhook sink: answers like Slack's webhook endpoint and records every post.

``POST /services/<T>/<B>/<secret>`` with a JSON body holding ``text`` and/or ``blocks`` answers ``200 ok``
(text/plain); a body that is not JSON answers ``400 invalid_payload``, one without text or blocks
``400 no_text``, an unknown path ``404 no_service`` (Slack's documented webhook error strings). Posts are
kept in ``.posts`` (decoded bodies). ``fail_next(n, status)`` makes the next posts fail (e.g. 500).
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlackWebhookSink:
    def __init__(self, host="127.0.0.1", port=0):
        self.posts = []
        self.rejected = []
        self._fail = []
        self.lock = threading.Lock()
        self.path = "/services/T%s/B%s/%s" % (secrets.token_hex(4).upper(), secrets.token_hex(4).upper(), secrets.token_hex(12))
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, text = sink._receive(self.path, raw)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://%s:%d%s" % (host, self.httpd.server_address[1], self.path)

    def _receive(self, path, raw):
        with self.lock:
            if path != self.path:
                self.rejected.append((path, raw))
                return 404, "no_service"
            if self._fail:
                status = self._fail.pop(0)
                self.rejected.append((path, raw))
                return status, "internal_error"
            try:
                body = json.loads(raw.decode() or "null")
            except ValueError:
                self.rejected.append((path, raw))
                return 400, "invalid_payload"
            if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
                self.rejected.append((path, raw))
                return 400, "no_text"
            self.posts.append(body)
            return 200, "ok"

    def fail_next(self, count=1, status=500):
        with self.lock:
            self._fail.extend([status] * count)

    def start(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

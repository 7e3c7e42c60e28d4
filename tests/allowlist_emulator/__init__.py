"""Emulator of Grafana Cloud's Allowlist API (docs/grafana-cloud-allowlist.md §1-§3) for the tests.

``GET /v1/`` (all services of the region) and ``GET /v1/<service>`` answer the documented shape
``{"metadata": {"schemaVersion": "v1", "region": R}, "services": {name: {"direction": D, "ipv4": [CIDR]}}}``.
Not documented, so **(chosen)**: an unknown service answers 404 ``{"message": "service not found"}``; the regional
document lists every service of the region; no authentication.

Test controls (outside ``/v1``): ``PUT /__emulator/services`` replaces the services map; ``PUT /__emulator/mode``
``{"mode": "ok" | "malformed" | "empty" | "error" | "wrong-schema"}`` makes the next answers broken in that way;
``GET /__emulator/requests`` lists the requests served.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# documentation ranges (RFC 5737), never real Grafana addresses
DEFAULT_SERVICES = {
    "grafana": {"direction": "egress-from-grafana", "ipv4": ["203.0.113.20/32", "203.0.113.21/32"]},
    "metrics": {"direction": "ingress-to-grafana", "ipv4": ["198.51.100.10/32"]},
}
MODES = ("ok", "malformed", "empty", "error", "wrong-schema")


class State(object):
    def __init__(self, region):
        self.lock = threading.Lock()
        self.region = region
        self.services = json.loads(json.dumps(DEFAULT_SERVICES))
        self.mode = "ok"
        self.requests = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.state
        with st.lock:
            if self.path == "/__emulator/requests":
                return self._send(200, list(st.requests))
            st.requests.append(self.path)
            mode = st.mode
            doc = {"metadata": {"schemaVersion": "v1", "region": st.region}, "services": json.loads(json.dumps(st.services))}
        if not self.path.startswith("/v1/"):
            return self._send(404, {"message": "not found"})
        service = self.path[len("/v1/") :].strip("/")
        if service:
            if service not in doc["services"]:
                return self._send(404, {"message": "service not found"})
            doc["services"] = {service: doc["services"][service]}
        if mode == "error":
            return self._send(503, {"message": "service unavailable"})
        if mode == "malformed":
            return self._send(200, b'{"metadata": {"schemaVersion": "v1"}, "services": {"grafana": ')
        if mode == "empty":
            for entry in doc["services"].values():
                entry["ipv4"] = []
        if mode == "wrong-schema":
            doc["metadata"]["schemaVersion"] = "v2"
        return self._send(200, doc)

    def do_PUT(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self._send(400, {"message": "invalid JSON"})
        with st.lock:
            if self.path == "/__emulator/services" and isinstance(body, dict):
                st.services = body
                return self._send(200, {"services": sorted(body)})
            if self.path == "/__emulator/mode" and isinstance(body, dict) and body.get("mode") in MODES:
                st.mode = body["mode"]
                return self._send(200, {"mode": st.mode})
        return self._send(400, {"message": "unknown control or bad body"})


class AllowlistServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, region="prod-test-0", host="127.0.0.1", port=0):
        self.state = State(region)
        ThreadingHTTPServer.__init__(self, (host, port), Handler)
        self.url = "http://%s:%d" % self.server_address[:2]
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()

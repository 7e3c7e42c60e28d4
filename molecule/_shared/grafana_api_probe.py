"""Queries a Grafana (or the emulator) from INSIDE an instance, for the scenarios' testinfra checks.

Run as ``python3 - URL PATH [PATH...] < this file`` is not possible with testinfra's shell, so the tests
pipe this source through ``python3 -c``. The admin password is read from the service environment file
(never passed on a command line, so it never shows in test output or ``ps``). Prints one JSON document:
{"<path>": {"status": N, "body": <decoded JSON or text>}, ...}.
"""

import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request


def password_from(env_file, key):
    with open(env_file) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith(key + "="):
                value = line.split("=", 1)[1]
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                return value
    raise SystemExit("%s not found in %s" % (key, env_file))


def main(argv):
    base, env_file, env_key, user = argv[1:5]
    auth = None
    if env_file != "-":
        token = "%s:%s" % (user, password_from(env_file, env_key))
        auth = "Basic " + base64.b64encode(token.encode()).decode()
    # HTTPS through a proxy with a self-signed certificate: trust exactly that certificate.
    context = None
    if os.environ.get("CX_PROBE_CAFILE"):
        context = ssl.create_default_context(cafile=os.environ["CX_PROBE_CAFILE"])
    out = {}
    for path in argv[5:]:
        req = urllib.request.Request(base.rstrip("/") + path)
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=10, context=context) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            body = json.loads(raw.decode() or "null")
        except ValueError:
            body = raw.decode(errors="replace")[:500]
        out[path] = {"status": status, "body": body}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)

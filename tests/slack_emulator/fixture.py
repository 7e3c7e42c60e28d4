"""pytest helpers: the Slack emulator as a subprocess on 127.0.0.1 (free port), stopped by its PID."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SlackEmulator(object):
    def __init__(self, token, channels=("C0REPORTS1",), webhook_path=None, post_burst=None):
        if webhook_path is None:  # the path of the planted webhook URL (tests/planted.yml)
            from planted import PLANTED  # tests/ is on sys.path

            webhook_path = urllib.parse.urlsplit(PLANTED["slack_webhook"]).path
        self.token = token
        self.workdir = tempfile.mkdtemp(prefix="slack-emulator-")
        token_file = os.path.join(self.workdir, "token")
        with open(token_file, "w") as handle:
            handle.write(token)
        os.chmod(token_file, 0o600)
        cmd = [sys.executable, "-m", "slack_emulator", "--port", "0", "--token-file", token_file, "--webhook-path", webhook_path]
        for channel in channels:
            cmd += ["--channel", channel]
        if post_burst:
            cmd += ["--post-burst", str(post_burst)]
        env = dict(os.environ, PYTHONPATH=TESTS_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._out = open(os.path.join(self.workdir, "stdout"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 15
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            self._out.seek(0)
            for line in self._out.read().splitlines():
                if line.startswith("listening on "):
                    self.url = line.split()[-1]
            if self.proc.poll() is not None:
                raise RuntimeError("slack emulator exited: %s" % self.output())
            time.sleep(0.05)
        if self.url is None:
            self.stop()
            raise RuntimeError("slack emulator did not start")
        self.api_url = self.url + "/api"
        self.webhook_url = self.url + webhook_path

    def output(self):
        self._out.seek(0)
        return self._out.read()

    def state(self):
        with urllib.request.urlopen(self.url + "/__emulator/state", timeout=5) as resp:
            return json.loads(resp.read())

    def messages(self):
        """Messages posted with chat.postMessage: [{"channel", "text", "blocks", "ts"}]."""
        return self.state()["messages"]

    def fail(self, method, count=1, error="internal_error", status=200, retry_after=None):
        """The next ``count`` calls of ``method`` answer ``{"ok": false, "error": error}`` with HTTP ``status``
        (and a Retry-After header when ``retry_after`` is given)."""
        spec = {"method": method, "count": count, "error": error, "status": status}
        if retry_after is not None:
            spec["retry_after"] = retry_after
        req = urllib.request.Request(
            self.url + "/__emulator/fail",
            method="POST",
            data=json.dumps(spec).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=5).read()

    def stop(self):
        from conftest import stop_pid

        stop_pid(self.pid)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._out.close()

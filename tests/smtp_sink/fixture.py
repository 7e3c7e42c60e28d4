"""The SMTP sink as a subprocess with a fresh self-signed certificate for 127.0.0.1; stopped by its PID."""

import email
import email.policy
import json
import os
import subprocess
import sys
import tempfile
import time

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_cert(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SmtpSink(object):
    def __init__(self, user, password, mode="starttls", refuse=()):
        from conftest import free_tcp_port, wait_for_port

        self.user, self.password, self.mode = user, password, mode
        self.workdir = tempfile.mkdtemp(prefix="smtp-sink-")
        self.maildir = os.path.join(self.workdir, "mail")
        os.mkdir(self.maildir)
        self.cert, self.key = make_cert(self.workdir)
        pwfile = os.path.join(self.workdir, "pw")
        with open(pwfile, "w") as handle:
            handle.write(password)
        os.chmod(pwfile, 0o600)
        self.port = free_tcp_port()
        cmd = [
            sys.executable,
            "-m",
            "smtp_sink",
            "--port",
            str(self.port),
            "--maildir",
            self.maildir,
            "--cert",
            self.cert,
            "--key",
            self.key,
            "--mode",
            mode,
            "--user",
            user,
            "--password-file",
            pwfile,
        ]
        for addr in refuse:
            cmd += ["--refuse", addr]
        env = dict(os.environ, PYTHONPATH=TESTS_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._log = open(os.path.join(self.workdir, "log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        try:
            wait_for_port(self.port, 20)
        except TimeoutError:
            self.stop()
            raise
        time.sleep(0.1)

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.maildir)):
            with open(os.path.join(self.maildir, name)) as handle:
                item = json.load(handle)
            item["message"] = email.message_from_string(item["content"], policy=email.policy.default)
            out.append(item)
        return out

    def log(self):
        self._log.seek(0)
        return self._log.read()

    def stop(self):
        from conftest import stop_pid

        stop_pid(self.pid)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()

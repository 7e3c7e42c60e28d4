# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Delivery of a rendered KPI report, exactly once per (report, period, channel, recipient).

* :class:`DeliveryLedger` -- a JSON state file on the host that renders the report (written atomically,
  serialised with ``flock``). Why a file and not a table: the report may be rendered through Grafana with no
  database access at all, and the database role it reads with is read-only by contract
  (docs/kpi-contract.md); the ledger belongs to the host that sends.
* :func:`send_email` -- SMTP (STARTTLS, implicit TLS or plain), AUTH, several recipients; HTML body with the
  first page inline (``multipart/related``, ``cid:``), a text part, the PDF (and optionally the CSVs)
  attached. The envelope goes only to recipients the ledger has not recorded, the header ``To`` lists all
  of them and the ``Message-ID`` is fixed per (report, period), so a retry reaches exactly the missing ones.
* :class:`SlackClient` -- the one Slack HTTP client: an incoming webhook for the summary (webhooks carry
  no files) and the documented two-step upload (``files.getUploadURLExternal`` -> POST the bytes to
  ``upload_url`` -> ``files.completeUploadExternal``) with a bot token.

Every error message passes through :func:`scrub` with the secrets the caller registered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import json
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

REDACTED = "********"
LEDGER_VERSION = 1


class DeliveryError(Exception):
    """A delivery failed; ``str()`` is the user-facing message (already scrubbed)."""


def scrub(text, secrets):
    text = "" if text is None else str(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------------------------- ledger


class DeliveryLedger(object):
    """``{"version": 1, "deliveries": {"<report>/<period>": {"<channel>": {"<recipient>": {...}}}}}``.

    Use as a context manager: the lock file ``<path>.lock`` is held (``flock``) for the whole run, so two
    runs of the same report (timer + manual) cannot both send. Every :meth:`record` rewrites the file
    atomically (temp file + fsync + rename) before the next recipient is tried.
    """

    def __init__(self, path):
        self.path = path
        self._lock = None
        self.data = {"version": LEDGER_VERSION, "deliveries": {}}

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o750)
        self._lock = open(self.path + ".lock", "a")
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)
        self.data = self.read(self.path)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None
        return False

    @staticmethod
    def read(path):
        if not os.path.exists(path):
            return {"version": LEDGER_VERSION, "deliveries": {}}
        try:
            with open(path) as handle:
                data = json.load(handle)
        except ValueError as exc:
            raise DeliveryError("delivery ledger %s is not valid JSON (%s); fix or move it -- it decides what was already sent" % (path, exc))
        if not isinstance(data, dict) or data.get("version") != LEDGER_VERSION:
            raise DeliveryError("delivery ledger %s has an unknown format" % path)
        data.setdefault("deliveries", {})
        return data

    def sent(self, key, channel):
        return dict(self.data["deliveries"].get(key, {}).get(channel, {}))

    def record(self, key, channel, recipient, info):
        entry = self.data["deliveries"].setdefault(key, {}).setdefault(channel, {})
        entry[recipient] = dict(info, sent_at=now_iso())
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


# ----------------------------------------------------------------------------------------------- email


def build_email(sender, recipients, subject, text, html, inline_png, attachments, message_id):
    """multipart/mixed[ multipart/alternative[ text/plain, multipart/related[ text/html, image/png ] ],
    attachments... ] -- the HTML refers to the image as ``cid:`` (RFC 2387 / RFC 2392)."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    msg.set_content(text)
    cid = make_msgid(domain="kpi-report.invalid")
    msg.add_alternative(html.replace("{cid}", cid[1:-1]), subtype="html")
    if inline_png:
        with open(inline_png, "rb") as handle:
            msg.get_payload()[1].add_related(handle.read(), "image", "png", cid=cid, filename=os.path.basename(inline_png))
    for path, maintype, subtype in attachments:
        with open(path, "rb") as handle:
            msg.add_attachment(handle.read(), maintype=maintype, subtype=subtype, filename=os.path.basename(path))
    return msg


def email_html(title, summary_lines, link):
    from html import escape

    items = "".join("<li>%s</li>" % escape(line.lstrip("- ")) for line in summary_lines)
    link_html = '<p><a href="%s">Open the dashboard for this period</a></p>' % escape(link, quote=True) if link else ""
    return (
        "<html><body><h2>%s</h2><ul>%s</ul>%s"
        '<p><img src="cid:{cid}" alt="%s, page 1" style="max-width:100%%"></p>'
        "<p>The full report is attached as PDF.</p></body></html>"
    ) % (escape(title), items, link_html, escape(title))


def smtp_connect(cfg, secrets):
    """Open and authenticate the SMTP session; errors name host, port and cause, never the password."""
    host, port, security = cfg["host"], cfg["port"], cfg["security"]
    where = "%s:%s" % (host, port)
    context = ssl.create_default_context(cafile=cfg.get("ca_path") or None)
    if not cfg.get("validate_certs", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        if security == "tls":
            server = smtplib.SMTP_SSL(host, port, timeout=cfg.get("timeout", 30), context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=cfg.get("timeout", 30))
        server.ehlo()
        if security == "starttls":
            server.starttls(context=context)
            server.ehlo()
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise DeliveryError(scrub("SMTP: cannot connect to %s (%s): %s" % (where, security, exc), secrets))
    if cfg.get("username"):
        try:
            server.login(cfg["username"], cfg.get("password") or "")
        except smtplib.SMTPAuthenticationError as exc:
            _quit(server)
            raise DeliveryError(
                scrub("SMTP: authentication failed for user '%s' at %s: %s %s" % (cfg["username"], where, exc.smtp_code, _text(exc.smtp_error)), secrets)
            )
        except (smtplib.SMTPException, OSError) as exc:
            _quit(server)
            raise DeliveryError(scrub("SMTP: login as '%s' at %s failed: %s" % (cfg["username"], where, exc), secrets))
    return server


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _quit(server):
    try:
        server.quit()
    except Exception:  # the session is being abandoned after an error already reported
        pass


def send_email(cfg, ledger, key, msg_builder, secrets):
    """Send to every configured recipient the ledger has not recorded for ``key``; return
    ``{"sent": [...], "already_sent": [...]}``. A refused recipient fails the run after the others were
    recorded, so the retry sends to that one only."""
    recipients = list(cfg["to"])
    done = ledger.sent(key, "email")
    pending = [r for r in recipients if r not in done]
    result = {"sent": [], "already_sent": [r for r in recipients if r in done]}
    if not pending:
        return result
    message_id = "<%s.%s@%s>" % (key.replace("/", "."), "kpi-report", socket.getfqdn() or "localhost")
    msg = msg_builder(recipients, message_id)
    server = smtp_connect(cfg, secrets)
    try:
        try:
            refused = server.send_message(msg, from_addr=cfg["sender"], to_addrs=pending)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(scrub("SMTP: sending the report to %s via %s:%s failed: %s" % (", ".join(pending), cfg["host"], cfg["port"], exc), secrets))
        for rcpt in pending:
            if rcpt not in refused:
                ledger.record(key, "email", rcpt, {"message_id": message_id})
                result["sent"].append(rcpt)
        if refused:
            raise DeliveryError(
                scrub(
                    "SMTP: %s refused recipient(s) %s (the others were sent and recorded)"
                    % (cfg["host"], "; ".join("%s: %s %s" % (r, c[0], _text(c[1])) for r, c in refused.items())),
                    secrets,
                ),
            )
    finally:
        _quit(server)
    return result


# ----------------------------------------------------------------------------------------------- Slack


class SlackClient(object):
    """Slack Web API (bot token) and incoming webhooks, with ``requests``."""

    def __init__(self, api_url="https://slack.com/api", bot_token=None, webhook_url=None, timeout=30, validate_certs=True, ca_path=None):
        import requests

        self.requests = requests
        self.api_url = api_url.rstrip("/")
        self.bot_token = bot_token
        self.webhook_url = webhook_url
        self.timeout = timeout
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        self.secrets = [s for s in (bot_token, webhook_url) if s]

    def _fail(self, what, detail):
        return DeliveryError(scrub("Slack: %s failed: %s" % (what, detail), self.secrets))

    def _post(self, what, url, **kwargs):
        try:
            return self.requests.post(url, timeout=self.timeout, verify=self.verify, **kwargs)
        except self.requests.exceptions.RequestException as exc:
            raise self._fail(what, "cannot reach %s: %s" % (url.split("?")[0], exc))

    def api(self, method, data):
        """Call a Web API method (form-encoded, token in the Authorization header); return the JSON body
        or raise with Slack's ``error`` code."""
        resp = self._post(method, "%s/%s" % (self.api_url, method), data=data, headers={"Authorization": "Bearer %s" % self.bot_token})
        try:
            body = resp.json()
        except ValueError:
            raise self._fail(method, "HTTP %s, not JSON: %s" % (resp.status_code, resp.text[:200]))
        if resp.status_code != 200 or not body.get("ok"):
            hint = {
                "invalid_auth": " (the bot token is not valid)",
                "not_authed": " (no bot token sent)",
                "missing_scope": " (the token lacks the files:write scope)",
                "channel_not_found": " (check channel_id and that the bot is in the channel)",
                "not_in_channel": " (invite the bot to the channel)",
            }.get(body.get("error"), "")
            raise self._fail(method, "%s%s" % (body.get("error") or "HTTP %s" % resp.status_code, hint))
        return body

    def post_webhook(self, text, blocks=None):
        payload = {"text": text}
        if blocks:
            payload["blocks"] = blocks
        resp = self._post("posting to the incoming webhook", self.webhook_url, json=payload)
        if resp.status_code != 200:
            raise self._fail("posting to the incoming webhook", "HTTP %s: %s" % (resp.status_code, resp.text[:200]))

    def upload_files(self, paths, channel_id, initial_comment):
        """The two-step upload: one getUploadURLExternal + POST per file, then one completeUploadExternal
        sharing all files in ``channel_id`` with ``initial_comment``. Returns the file ids."""
        files = []
        for path in paths:
            with open(path, "rb") as handle:
                content = handle.read()
            name = os.path.basename(path)
            got = self.api("files.getUploadURLExternal", {"filename": name, "length": str(len(content))})
            resp = self._post("uploading %s" % name, got["upload_url"], data=content, headers={"Content-Type": "application/octet-stream"})
            if resp.status_code != 200:
                raise self._fail("uploading %s" % name, "HTTP %s: %s" % (resp.status_code, resp.text[:200]))
            files.append({"id": got["file_id"], "title": name})
        self.api("files.completeUploadExternal", {"files": json.dumps(files), "channel_id": channel_id, "initial_comment": initial_comment})
        return [f["id"] for f in files]


def send_slack(cfg, ledger, key, summary, files, secrets):
    """Webhook summary and/or bot-token upload, each recorded once per (key, destination)."""
    client = SlackClient(
        api_url=cfg.get("api_url") or "https://slack.com/api",
        bot_token=cfg.get("bot_token"),
        webhook_url=cfg.get("webhook_url"),
        timeout=cfg.get("timeout", 30),
        validate_certs=cfg.get("validate_certs", True),
        ca_path=cfg.get("ca_path"),
    )
    client.secrets.extend(s for s in secrets if s)
    result = {"sent": [], "already_sent": []}
    if cfg.get("webhook_url"):
        if ledger.sent(key, "slack_webhook").get("webhook"):
            result["already_sent"].append("webhook")
        else:
            client.post_webhook(summary)
            ledger.record(key, "slack_webhook", "webhook", {})
            result["sent"].append("webhook")
    if cfg.get("bot_token"):
        channel = cfg["channel_id"]
        if ledger.sent(key, "slack_upload").get(channel):
            result["already_sent"].append("upload:%s" % channel)
        else:
            ids = client.upload_files(files, channel, summary)
            ledger.record(key, "slack_upload", channel, {"file_ids": ids})
            result["sent"].append("upload:%s" % channel)
    return result

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kpi_report
short_description: Render one KPI report (PDF, PNG pages, CSV) from data and deliver it once by email and Slack
version_added: 0.2.0
description:
  - Renders the V(daily), V(weekly) or V(monthly) executive KPI report for one period from the data the dashboard
    shows, without Grafana Enterprise, an image renderer or a browser. It runs the panel queries of the dashboard
    JSON (O(dashboard_path), or the dashboard deployed in Grafana with O(grafana.dashboard_uid)) either through
    Grafana's C(/api/ds/query) (O(grafana)) or directly on PostgreSQL (O(database), as the read-only role).
  - "Fixed windows, from O(date) (default: today in O(timezone)): V(daily) = yesterday (compared with the day before,
    plus today so far); V(weekly) = the previous ISO week (compared with the week before); V(monthly) = the previous
    calendar month (compared with the month before), with every KPI of the spec against its target from
    C(kpi_targets), a red/amber/green status, budget burn and projected exhaustion, top escalation reasons and
    KB gaps."
  - "Writes into O(output_dir): C(<name>.pdf) laid out like the dashboard's rows, C(<name>-page-N.png) for each page
    (A4 landscape, 1169 x 827 pixels), C(<name>-<panel>.csv) for each table panel. When the PDF of the period
    already exists it is reused (O(rerender=false)), so a retry delivers the same files."
  - "Delivery (O(deliver=true)): email over SMTP (O(email)) and Slack (O(slack)). Each (report, period, channel,
    recipient) is sent once: the delivery ledger O(ledger_path) records every successful delivery before the next
    one, so a re-run sends nothing and a retry after a partial failure sends exactly what is missing."
  - Check mode renders and sends nothing; it reports the period, the files it would write and the recipients it
    would send to.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
attributes:
  check_mode:
    support: full
    details: Renders nothing and sends nothing; returns what it would do (C(would_render), C(would_send)).
  diff_mode:
    support: full
    details: The diff shows whether the period's files exist and which deliveries the ledger holds, before and
      after the run (planned in check mode).
options:
  report:
    description:
      - Which report.
    type: str
    required: true
    choices: [daily, weekly, monthly]
  date:
    description:
      - The day the report is run on (C(YYYY-MM-DD)); the period is derived from it. Default is today in
        O(timezone).
    type: str
  timezone:
    description:
      - IANA time zone that decides "today" (and so yesterday, last week, last month).
    type: str
    default: UTC
  output_dir:
    description:
      - Directory for the PDF, PNG and CSV files (created with mode 0750).
    type: path
    required: true
  name:
    description:
      - Base name of the files. Default C(kpi-<report>-<period>), for example C(kpi-daily-2026-11-29).
    type: str
  rerender:
    description:
      - Render again even when the PDF of this period exists.
    type: bool
    default: false
  dashboard_path:
    description:
      - Dashboard JSON whose panel queries the report runs (the collection's C(files/grafana-dashboard.json)).
        Required unless O(grafana.dashboard_uid) is set.
    type: path
  database:
    description:
      - Run the queries directly on PostgreSQL. Mutually exclusive with O(grafana).
    type: dict
    suboptions:
      login_host:
        description: Host of the PostgreSQL server.
        type: str
        default: localhost
      login_port:
        description: Port of the PostgreSQL server.
        type: int
        default: 5432
      login_db:
        description: Database with the KPI views.
        type: str
        required: true
      login_user:
        description: Role to log in as; the read-only reader role is enough.
        type: str
        required: true
      login_password:
        description: Password of O(database.login_user).
        type: str
      login_password_file:
        description: File holding the password (first line), so it never appears on a command line.
        type: path
      ssl_mode:
        description: libpq C(sslmode).
        type: str
        default: prefer
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      ca_cert:
        description: CA certificate to verify the server.
        type: path
      connect_timeout:
        description: Seconds to wait for the server while connecting.
        type: int
        default: 10
  grafana:
    description:
      - Run the queries through Grafana's C(/api/ds/query) (Grafana OSS, Enterprise, Cloud, PDC). Mutually
        exclusive with O(database).
    type: dict
    suboptions:
      url:
        description: Grafana base URL.
        type: str
        required: true
      token:
        description: Service-account token (Viewer is enough).
        type: str
      token_file:
        description: File holding the token.
        type: path
      url_username:
        description: Basic-auth user instead of a token.
        type: str
      url_password:
        description: Basic-auth password.
        type: str
      datasource_uid:
        description: Uid of the PostgreSQL data source the panels query.
        type: str
        required: true
      dashboard_uid:
        description: Read the deployed dashboard with this uid instead of O(dashboard_path).
        type: str
      org_id:
        description: Organisation id.
        type: int
        default: 1
      validate_certs:
        description: Verify Grafana's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: CA bundle for Grafana's certificate.
        type: path
      timeout:
        description: Seconds per request.
        type: int
        default: 60
  dashboard_url:
    description:
      - Grafana base URL for the deep link to the dashboard with the report's time range. Default O(grafana.url);
        without either there is no link.
    type: str
  deliver:
    description:
      - Send the report with O(email) and O(slack). V(false) only renders.
    type: bool
    default: true
  ledger_path:
    description:
      - The delivery ledger (JSON, mode 0600). Default C(<output_dir>/delivery-ledger.json).
    type: path
  email:
    description:
      - Email delivery over SMTP.
    type: dict
    suboptions:
      host:
        description: SMTP server.
        type: str
        required: true
      port:
        description: SMTP port.
        type: int
        default: 587
      security:
        description: V(starttls) (port 587), V(tls) (implicit TLS, port 465) or V(none) (only on a trusted network).
        type: str
        default: starttls
        choices: [starttls, tls, none]
      username:
        description: SMTP AUTH user; no AUTH without it.
        type: str
      password:
        description: SMTP AUTH password.
        type: str
      password_file:
        description: File holding the SMTP password.
        type: path
      sender:
        description: Envelope and header sender.
        type: str
        required: true
      to:
        description: Recipients.
        type: list
        elements: str
        required: true
      subject:
        description: Subject; default names the report and the period.
        type: str
      attach_csv:
        description: Attach the CSV files too.
        type: bool
        default: false
      validate_certs:
        description: Verify the server certificate.
        type: bool
        default: true
      ca_path:
        description: CA bundle for the server certificate.
        type: path
      timeout:
        description: Seconds per SMTP operation.
        type: int
        default: 30
  slack:
    description:
      - Slack delivery. A webhook carries the summary only; files need a bot token (two-step upload).
    type: dict
    suboptions:
      webhook_url:
        description: Incoming webhook URL for the summary message.
        type: str
      webhook_url_file:
        description: File holding the webhook URL.
        type: path
      bot_token:
        description: Bot token with C(files:write) for the file upload.
        type: str
      bot_token_file:
        description: File holding the bot token.
        type: path
      channel_id:
        description: Channel the uploaded files are shared in (required with a bot token).
        type: str
      api_url:
        description: Slack Web API base URL.
        type: str
        default: https://slack.com/api
      validate_certs:
        description: Verify TLS certificates.
        type: bool
        default: true
      ca_path:
        description: CA bundle.
        type: path
      timeout:
        description: Seconds per request.
        type: int
        default: 30
requirements:
  - matplotlib (Debian C(python3-matplotlib)) on the host that runs the module
  - psycopg2 with O(database); requests with O(grafana) or O(slack)
seealso:
  - module: cx_catalyst.kpi_dashboard.grafana_report
"""

EXAMPLES = r"""
- name: Yesterday's KPI snapshot, from the database, mailed to the team
  cx_catalyst.kpi_dashboard.kpi_report:
    report: daily
    timezone: Europe/Berlin
    dashboard_path: /opt/cx-kpi-reports/grafana-dashboard.json
    output_dir: /var/lib/cx-kpi-reports/daily
    database:
      login_host: db.internal
      login_db: support_system
      login_user: kpi_grafana_reader
      login_password_file: /etc/cx-kpi-reports/db-password
    email:
      host: smtp.example.com
      username: reports@example.com
      password_file: /etc/cx-kpi-reports/smtp-password
      sender: reports@example.com
      to: [cx-team@example.com, cto@example.com]

- name: Monthly executive report through Grafana Cloud, files to Slack
  cx_catalyst.kpi_dashboard.kpi_report:
    report: monthly
    output_dir: /var/lib/cx-kpi-reports/monthly
    grafana:
      url: https://example.grafana.net
      token_file: /etc/cx-kpi-reports/grafana-token
      datasource_uid: support-postgres
      dashboard_uid: cx-catalyst-kpi
    slack:
      bot_token_file: /etc/cx-kpi-reports/slack-bot-token
      channel_id: C0123456789
"""

RETURN = r"""
period:
  description: The report period's key, also the ledger key.
  returned: always
  type: str
  sample: daily/2026-11-29
windows:
  description: The period, the period it is compared with, and (daily) today so far.
  returned: always
  type: dict
rendered:
  description: Whether files were rendered in this run (false when reused or in check mode).
  returned: always
  type: bool
files:
  description: Paths of the PDF, the PNG pages and the CSVs (planned paths in check mode; PNG and CSV lists are
    empty in check mode).
  returned: always
  type: dict
link:
  description: Deep link to the dashboard with the report's time range, when a Grafana URL is known.
  returned: always
  type: str
kpis:
  description: The KPI values printed on the tiles (and, monthly, in the executive table).
  returned: when rendered
  type: list
  elements: dict
deliveries:
  description: Per channel, what was sent in this run and what the ledger already had.
  returned: always
  type: dict
  sample: {"email": {"sent": ["a@example.com"], "already_sent": []}}
would_send:
  description: In check mode, the recipients and Slack destinations that have not received this period yet.
  returned: check mode
  type: dict
panel_errors:
  description: Panels whose query failed (the report shows the error in their place).
  returned: when rendered
  type: list
  elements: dict
"""

import copy
import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_report as report_lib
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import (
    KpiConnectionError,
    KpiValidationError,
    run_module,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_report_delivery import (
    DeliveryError,
    DeliveryLedger,
    build_email,
    email_html,
    scrub,
    send_email,
    send_slack,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaClient, GrafanaError, UID_RE, path_quote

TITLES = {"daily": "Daily KPI snapshot", "weekly": "Weekly KPI summary", "monthly": "Monthly executive report"}


class ReportSession(object):
    """What run() works with besides the module: the secrets it resolved (options and *_file contents), which
    never appear in a message. ``failure()`` is the fail_json arguments run_module reports an error with."""

    def __init__(self, module):
        self.report = module.params["report"]
        self.secrets = []

    def abort(self):
        pass  # nothing is half-written: manifests and the delivery ledger are replaced atomically

    def close(self):
        pass  # the data source is closed by run() right after the data is read

    def failure(self, exc):
        return dict(msg=scrub("kpi_report %s: %s" % (self.report, to_native(exc)), self.secrets))


def read_secret_file(path, what):
    try:
        with open(path) as handle:
            value = handle.readline().rstrip("\r\n")
    except (IOError, OSError) as exc:
        raise KpiValidationError("cannot read %s from %s: %s" % (what, path, exc.strerror or exc))
    if not value:
        raise KpiValidationError("%s file %s is empty" % (what, path))
    return value


def resolve_secrets(p, secrets):
    """Options *_file -> the secret value (file wins only when the value itself is not given)."""
    pairs = [
        ("database", "login_password", "login_password_file", "database password"),
        ("grafana", "token", "token_file", "Grafana token"),
        ("email", "password", "password_file", "SMTP password"),
        ("slack", "webhook_url", "webhook_url_file", "Slack webhook URL"),
        ("slack", "bot_token", "bot_token_file", "Slack bot token"),
    ]
    for section, key, file_key, what in pairs:
        cfg = p.get(section)
        if cfg and not cfg.get(key) and cfg.get(file_key):
            cfg[key] = read_secret_file(cfg[file_key], what)
        if cfg and cfg.get(key):
            secrets.append(cfg[key])
    if p.get("grafana") and p["grafana"].get("url_password"):
        secrets.append(p["grafana"]["url_password"])


def report_today(p):
    if p["date"]:
        try:
            return datetime.datetime.strptime(p["date"], "%Y-%m-%d").date()
        except ValueError:
            raise KpiValidationError("date must be YYYY-MM-DD, got %r" % p["date"])
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(p["timezone"])
    except Exception:  # ZoneInfoNotFoundError, ValueError for malformed names
        raise KpiValidationError("timezone %r is not a known IANA time zone" % p["timezone"])
    return datetime.datetime.now(zone).date()


class _GrafanaConnection(object):
    """The subset of AnsibleModule GrafanaClient reads, built from the O(grafana) suboptions."""

    def __init__(self, module, cfg):
        self.fail_json = module.fail_json
        self.params = {
            "url": cfg["url"],
            "token": cfg.get("token"),
            "url_username": cfg.get("url_username"),
            "url_password": cfg.get("url_password"),
            "org_id": cfg["org_id"],
            "validate_certs": cfg["validate_certs"],
            "ca_path": cfg.get("ca_path"),
            "client_cert": None,
            "client_key": None,
            "timeout": cfg["timeout"],
            "retries": 3,
        }


def open_source(module, p):
    """(source, dashboard, closer)."""
    if p["grafana"]:
        cfg = p["grafana"]
        client = GrafanaClient(_GrafanaConnection(module, cfg))
        if cfg.get("dashboard_uid"):
            if not UID_RE.match(cfg["dashboard_uid"]):
                raise KpiValidationError("grafana.dashboard_uid %r is not a valid uid" % cfg["dashboard_uid"])
            reply = client.get("/api/dashboards/uid/%s" % path_quote(cfg["dashboard_uid"]), "read", "dashboard '%s'" % cfg["dashboard_uid"], missing_ok=True)
            if reply is None:
                raise KpiValidationError("dashboard '%s' not found in Grafana" % cfg["dashboard_uid"])
            dashboard = report_lib.load_dashboard(content=reply)
        else:
            dashboard = report_lib.load_dashboard(path=p["dashboard_path"])
        return report_lib.GrafanaSource(client, cfg["datasource_uid"]), dashboard, lambda: None
    dashboard = report_lib.load_dashboard(path=p["dashboard_path"])
    try:
        import psycopg2
    except ImportError:
        raise KpiConnectionError(missing_required_lib("psycopg2"))
    cfg = p["database"]
    kwargs = dict(
        host=cfg["login_host"],
        port=cfg["login_port"],
        dbname=cfg["login_db"],
        user=cfg["login_user"],
        sslmode=cfg["ssl_mode"],
        connect_timeout=cfg["connect_timeout"],
        application_name="cx_catalyst.kpi_dashboard kpi_report",
    )
    if cfg.get("login_password"):
        kwargs["password"] = cfg["login_password"]
    if cfg.get("ca_cert"):
        kwargs["sslrootcert"] = cfg["ca_cert"]
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        raise KpiConnectionError(
            "could not connect to PostgreSQL as %s@%s:%s/%s: %s" % (cfg["login_user"], cfg["login_host"], cfg["login_port"], cfg["login_db"], str(exc).strip())
        )
    conn.set_session(readonly=True, autocommit=True)
    return report_lib.PostgresSource(conn), dashboard, conn.close


def manifest_path(p, name):
    return os.path.join(p["output_dir"], name + ".json")


def load_manifest(p, name):
    path = manifest_path(p, name)
    pdf = os.path.join(p["output_dir"], name + ".pdf")
    if p["rerender"] or not (os.path.exists(path) and os.path.exists(pdf)):
        return None
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except ValueError:
        return None
    files = [manifest.get("pdf")] + list(manifest.get("pngs") or []) + list(manifest.get("csvs") or [])
    return manifest if all(f and os.path.exists(f) for f in files) else None


def write_manifest(p, name, result):
    path = manifest_path(p, name)
    with open(path + ".tmp", "w") as handle:
        json.dump(result, handle, indent=1, sort_keys=True, default=str)
    os.replace(path + ".tmp", path)


def pending_deliveries(p, key, ledger_path):
    data = DeliveryLedger.read(ledger_path)
    done = data["deliveries"].get(key, {})
    out = {}
    if p["email"]:
        out["email"] = [r for r in p["email"]["to"] if r not in done.get("email", {})]
    if p["slack"]:
        slack = []
        if p["slack"].get("webhook_url") and "webhook" not in done.get("slack_webhook", {}):
            slack.append("webhook")
        if p["slack"].get("bot_token") and p["slack"].get("channel_id") not in done.get("slack_upload", {}):
            slack.append("upload:%s" % p["slack"]["channel_id"])
        out["slack"] = slack
    return out


def delivered(p, key, ledger_path):
    """Sorted '<channel>:<recipient>' entries the ledger holds for ``key``."""
    done = DeliveryLedger.read(ledger_path)["deliveries"].get(key, {})
    return sorted("%s:%s" % (channel, who) for channel, entries in done.items() for who in entries)


def summary_lines(manifest):
    return [line for line in manifest["summary"].splitlines()[1:] if line.startswith("- ")]


def deliver(p, key, manifest, ledger_path, secrets):
    deliveries = {}
    title = "%s: %s" % (TITLES[p["report"]], manifest["period_label"])
    with DeliveryLedger(ledger_path) as ledger:
        if p["email"]:
            cfg = dict(p["email"])
            attachments = [(manifest["pdf"], "application", "pdf")]
            if cfg["attach_csv"]:
                attachments += [(c, "text", "csv") for c in manifest["csvs"]]
            html = email_html(title, summary_lines(manifest), manifest.get("link"))

            def builder(recipients, message_id):
                return build_email(
                    cfg["sender"],
                    recipients,
                    cfg.get("subject") or title,
                    manifest["summary"],
                    html,
                    manifest["pngs"][0] if manifest["pngs"] else None,
                    attachments,
                    message_id,
                )

            deliveries["email"] = send_email(cfg, ledger, key, builder, secrets)
        if p["slack"]:
            deliveries["slack"] = send_slack(p["slack"], ledger, key, manifest["summary"], [manifest["pdf"]] + manifest["pngs"][:1], secrets)
    return deliveries


def validate(p):
    if not p["dashboard_path"] and not (p["grafana"] and p["grafana"].get("dashboard_uid")):
        raise KpiValidationError("dashboard_path is required unless grafana.dashboard_uid is set")
    if p["grafana"] and not (p["grafana"].get("token") or p["grafana"].get("url_username")):
        raise KpiValidationError("grafana needs token, token_file or url_username/url_password")
    if p["slack"]:
        s = p["slack"]
        if not (s.get("webhook_url") or s.get("bot_token")):
            raise KpiValidationError("slack needs webhook_url(_file) or bot_token(_file)")
        if s.get("bot_token") and not s.get("channel_id"):
            raise KpiValidationError("slack.channel_id is required with a bot token (files are shared in that channel)")
    if p["email"] and not p["email"]["to"]:
        raise KpiValidationError("email.to lists no recipient")


def run(module, session):
    secrets = session.secrets
    # a copy: secrets read from *_file options must not land in module.params (echoed as the invocation)
    p = copy.deepcopy(module.params)
    resolve_secrets(p, secrets)
    for value in secrets:
        module.no_log_values.add(value)  # masked in every output, like a no_log option
    validate(p)
    today = report_today(p)
    key, period, previous, extra = report_lib.report_windows(p["report"], today)
    name = p["name"] or "kpi-%s-%s" % (p["report"], key.split("/", 1)[1])
    ledger_path = p["ledger_path"] or os.path.join(p["output_dir"], "delivery-ledger.json")
    windows = {"period": period.as_dict(), "previous": previous.as_dict()}
    if extra is not None:
        windows["today_so_far"] = extra.as_dict()
    result = dict(changed=False, period=key, windows=windows, rendered=False, deliveries={})
    manifest = load_manifest(p, name)
    pdf_path = os.path.join(p["output_dir"], name + ".pdf")
    before = {"pdf": pdf_path if manifest else None, "delivered": delivered(p, key, ledger_path)}
    if module.check_mode:
        result["files"] = (
            manifest and {k: manifest[k] for k in ("pdf", "pngs", "csvs")} or {"pdf": os.path.join(p["output_dir"], name + ".pdf"), "pngs": [], "csvs": []}
        )
        result["would_render"] = manifest is None
        result["would_send"] = pending_deliveries(p, key, ledger_path) if p["deliver"] else {}
        result["link"] = (
            report_lib.deep_link(p["dashboard_url"] or (p["grafana"] or {}).get("url"), {"uid": (p["grafana"] or {}).get("dashboard_uid")}, period)
            if (p["grafana"] or {}).get("dashboard_uid")
            else None
        )
        result["changed"] = result["would_render"] or any(result["would_send"].values())
        result["msg"] = "would %s %s and send it to %s" % (
            "render" if result["would_render"] else "reuse the rendered",
            key,
            ", ".join(sum(result["would_send"].values(), [])) or "nobody new",
        )
        if module._diff:
            planned = sorted(
                before["delivered"]
                + [
                    "%s:%s" % ("email" if channel == "email" else ("slack_webhook" if who == "webhook" else "slack_upload"), who.split(":", 1)[-1])
                    for channel, names in result["would_send"].items()
                    for who in names
                ]
            )
            result["diff"] = {"before": before, "after": {"pdf": pdf_path, "delivered": planned}}
        return result
    if manifest is None:
        source, dashboard, close = open_source(module, p)
        try:
            data = report_lib.collect(source, dashboard, p["report"], today)
        finally:
            close()
        rendered = report_lib.render(data, p["output_dir"], name, grafana_url=p["dashboard_url"] or (p["grafana"] or {}).get("url"))
        manifest = dict(rendered, period=key, period_label=period.label, summary=report_lib.summary_text(data, rendered))
        write_manifest(p, name, manifest)
        result["rendered"] = result["changed"] = True
        result["kpis"] = manifest["kpis"]
        result["panel_errors"] = manifest["errors"]
    result["files"] = {k: manifest[k] for k in ("pdf", "pngs", "csvs")}
    result["link"] = manifest.get("link")
    if p["deliver"] and (p["email"] or p["slack"]):
        result["deliveries"] = deliver(p, key, manifest, ledger_path, secrets)
        if any(d["sent"] for d in result["deliveries"].values()):
            result["changed"] = True
    if module._diff:
        result["diff"] = {"before": before, "after": {"pdf": manifest["pdf"], "delivered": delivered(p, key, ledger_path)}}
    return result


def main():
    db_options = dict(
        login_host=dict(type="str", default="localhost"),
        login_port=dict(type="int", default=5432),
        login_db=dict(type="str", required=True),
        login_user=dict(type="str", required=True),
        login_password=dict(type="str", no_log=True),
        login_password_file=dict(type="path"),
        ssl_mode=dict(type="str", default="prefer", choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
        ca_cert=dict(type="path"),
        connect_timeout=dict(type="int", default=10),
    )
    grafana_options = dict(
        url=dict(type="str", required=True),
        token=dict(type="str", no_log=True),
        token_file=dict(type="path"),
        url_username=dict(type="str"),
        url_password=dict(type="str", no_log=True),
        datasource_uid=dict(type="str", required=True),
        dashboard_uid=dict(type="str"),
        org_id=dict(type="int", default=1),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=60),
    )
    email_options = dict(
        host=dict(type="str", required=True),
        port=dict(type="int", default=587),
        security=dict(type="str", default="starttls", choices=["starttls", "tls", "none"]),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        password_file=dict(type="path"),
        sender=dict(type="str", required=True),
        to=dict(type="list", elements="str", required=True),
        subject=dict(type="str"),
        attach_csv=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=30),
    )
    slack_options = dict(
        webhook_url=dict(type="str", no_log=True),
        webhook_url_file=dict(type="path"),
        bot_token=dict(type="str", no_log=True),
        bot_token_file=dict(type="path"),
        channel_id=dict(type="str"),
        api_url=dict(type="str", default="https://slack.com/api"),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=30),
    )
    module = AnsibleModule(
        argument_spec=dict(
            report=dict(type="str", required=True, choices=list(report_lib.REPORT_KINDS)),
            date=dict(type="str"),
            timezone=dict(type="str", default="UTC"),
            output_dir=dict(type="path", required=True),
            name=dict(type="str"),
            rerender=dict(type="bool", default=False),
            dashboard_path=dict(type="path"),
            database=dict(type="dict", options=db_options),
            grafana=dict(type="dict", options=grafana_options),
            dashboard_url=dict(type="str"),
            deliver=dict(type="bool", default=True),
            ledger_path=dict(type="path"),
            email=dict(type="dict", options=email_options),
            slack=dict(type="dict", options=slack_options),
        ),
        mutually_exclusive=[("database", "grafana")],
        required_one_of=[("database", "grafana")],
        supports_check_mode=True,
    )
    run_module(module, run, ReportSession(module), errors=(report_lib.ReportError, DeliveryError, GrafanaError))


if __name__ == "__main__":
    main()

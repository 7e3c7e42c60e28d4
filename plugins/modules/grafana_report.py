#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: grafana_report
short_description: Manage a Grafana Enterprise / Cloud scheduled report (C(/api/reports)) by name
version_added: 0.2.0
description:
  - Creates, updates or deletes one report of Grafana's Reporting feature, identified by O(name) (unique per
    organisation for this module), with its schedule, dashboards with time range and variables, recipients and
    formats.
  - Reporting exists only in Grafana Enterprise and Grafana Cloud, and needs SMTP and the image renderer there.
    On Grafana OSS the API answers 404 and the module fails saying so; use M(cx_catalyst.kpi_dashboard.kpi_report)
    (reports rendered from data) instead.
  - Compares the report as Grafana returns it, without the server-managed fields (C(id), C(userId), C(orgId),
    C(state), C(created), C(updated), the dashboards' C(id) and C(name)), and writes only when it differs.
author:
  - CX-Catalyst platform engineering (@cx-catalyst)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cx_catalyst.kpi_dashboard.attributes
  - cx_catalyst.kpi_dashboard.grafana
options:
  name:
    description:
      - Report name (also the default email subject). Identifies the report.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates, V(absent) deletes.
    type: str
    choices: [present, absent]
    default: present
  dashboards:
    description:
      - Dashboards in the report, in order. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      uid:
        description: Dashboard uid.
        type: str
        required: true
      time_from:
        description: Time range start (for example V(now-1d/d)); empty = the dashboard's saved range.
        type: str
        default: ''
      time_to:
        description: Time range end (for example V(now-1d/d)).
        type: str
        default: ''
      variables:
        description: Template variable values for this report.
        type: dict
        default: {}
  recipients:
    description:
      - Email addresses the report is sent to.
    type: list
    elements: str
    default: []
  reply_to:
    description:
      - Reply-To addresses.
    type: list
    elements: str
    default: []
  email_message:
    description:
      - Email body text (the report's C(message)).
    type: str
    default: ''
  frequency:
    description:
      - How often it is sent; V(last) = the last day of the month; V(custom) needs O(interval_frequency) and
        O(interval_amount).
    type: str
    choices: [once, hourly, daily, weekly, monthly, last, custom]
    default: daily
  start_date:
    description:
      - First send (RFC 3339, for example V(2026-12-01T08:00:00+01:00)); the time of day sets the send time.
    type: str
  end_date:
    description:
      - Last send (RFC 3339).
    type: str
  interval_frequency:
    description:
      - Unit of a V(custom) interval.
    type: str
    choices: [hours, days, weeks, months]
  interval_amount:
    description:
      - Length of a V(custom) interval.
    type: int
  workdays_only:
    description:
      - Send only Monday to Friday (hourly and daily schedules).
    type: bool
    default: false
  day_of_month:
    description:
      - Day of the month for monthly schedules.
    type: str
  time_zone:
    description:
      - IANA time zone of the schedule.
    type: str
    default: UTC
  orientation:
    description:
      - PDF orientation.
    type: str
    choices: [portrait, landscape]
    default: landscape
  layout:
    description:
      - PDF layout, V(grid) = like the dashboard, V(simple) = one panel per row.
    type: str
    choices: [grid, simple]
    default: grid
  formats:
    description:
      - Attachments, V(pdf), V(csv) (one per table panel) and V(image) (dashboard image in the email body).
    type: list
    elements: str
    choices: [pdf, csv, image]
    default: [pdf]
  enable_dashboard_url:
    description:
      - Add a link to the dashboard to the email.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Monthly executive report in Grafana Enterprise
  cx_catalyst.kpi_dashboard.grafana_report:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    name: CX KPI monthly executive report
    dashboards:
      - uid: cx-catalyst-kpi
        time_from: now-1M/M
        time_to: now-1M/M
    recipients: [cto@example.com]
    frequency: monthly
    day_of_month: "1"
    start_date: "2026-12-01T08:00:00+01:00"
    time_zone: Europe/Berlin
    formats: [pdf, csv]
"""

RETURN = r"""
report:
  description: The report as Grafana returns it after the change (planned in check mode; empty when absent).
  returned: always
  type: dict
id:
  description: Grafana's numeric id of the report (null when absent or not yet created in check mode).
  returned: always
  type: int
"""

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import GrafanaError, UID_RE, grafana_module, path_quote, run_module

SERVER_FIELDS = ("id", "userId", "orgId", "state", "created", "updated")


class ReportInputError(Exception):
    pass


def comparable(report):
    """The report without server-managed fields, with Grafana's defaults filled in, for comparison."""
    if not report:
        return {}
    schedule = report.get("schedule") or {}
    options = report.get("options") or {}
    return {
        "name": report.get("name"),
        "recipients": report.get("recipients") or "",
        "replyTo": report.get("replyTo") or "",
        "message": report.get("message") or "",
        "schedule": {
            "startDate": schedule.get("startDate") or None,
            "endDate": schedule.get("endDate") or None,
            "frequency": schedule.get("frequency") or "once",
            "intervalFrequency": schedule.get("intervalFrequency") or "",
            "intervalAmount": schedule.get("intervalAmount") or 0,
            "workdaysOnly": bool(schedule.get("workdaysOnly")),
            "dayOfMonth": str(schedule.get("dayOfMonth") or ""),
            "timeZone": schedule.get("timeZone") or "",
        },
        "options": {"orientation": options.get("orientation") or "landscape", "layout": options.get("layout") or "grid"},
        "enableDashboardUrl": bool(report.get("enableDashboardUrl")),
        "dashboards": [
            {
                "dashboard": {"uid": (d.get("dashboard") or {}).get("uid")},
                "timeRange": {"from": (d.get("timeRange") or {}).get("from") or "", "to": (d.get("timeRange") or {}).get("to") or ""},
                "reportVariables": d.get("reportVariables") or {},
            }
            for d in report.get("dashboards") or []
        ],
        "formats": sorted(report.get("formats") or ["pdf"]),
    }


def desired_report(p):
    if p["frequency"] == "custom" and not (p["interval_frequency"] and p["interval_amount"]):
        raise ReportInputError("frequency 'custom' needs interval_frequency and interval_amount")
    for dash in p["dashboards"]:
        if not UID_RE.match(dash["uid"] or ""):
            raise ReportInputError("dashboard uid '%s' is invalid: use 1-40 letters, digits, '-' and '_'" % dash["uid"])
    return comparable(
        {
            "name": p["name"],
            "recipients": ",".join(p["recipients"]),
            "replyTo": ",".join(p["reply_to"]),
            "message": p["email_message"],
            "schedule": {
                "startDate": p["start_date"],
                "endDate": p["end_date"],
                "frequency": p["frequency"],
                "intervalFrequency": p["interval_frequency"] or "",
                "intervalAmount": p["interval_amount"] or 0,
                "workdaysOnly": p["workdays_only"],
                "dayOfMonth": p["day_of_month"] or "",
                "timeZone": p["time_zone"],
            },
            "options": {"orientation": p["orientation"], "layout": p["layout"]},
            "enableDashboardUrl": p["enable_dashboard_url"],
            "dashboards": [
                {"dashboard": {"uid": d["uid"]}, "timeRange": {"from": d["time_from"], "to": d["time_to"]}, "reportVariables": d["variables"] or {}}
                for d in p["dashboards"]
            ],
            "formats": p["formats"],
        }
    )


def find_report(client, name):
    try:
        reports = client.get("/api/reports", "list", "reports", want=list)
    except GrafanaError as exc:
        if exc.status == 404:
            raise GrafanaError(
                "Grafana: this Grafana has no reporting API (GET /api/reports answered 404): "
                "reports need Grafana Enterprise or Grafana Cloud; on Grafana OSS use "
                "cx_catalyst.kpi_dashboard.kpi_report",
                404,
            )
        raise
    matches = [r for r in reports or [] if isinstance(r, dict) and r.get("name") == name]
    if len(matches) > 1:
        raise GrafanaError(
            "Grafana: %d reports are named '%s' (ids %s); rename or delete all but one" % (len(matches), name, ", ".join(str(r.get("id")) for r in matches))
        )
    if not matches:
        return None
    return client.get("/api/reports/%s" % path_quote(matches[0]["id"]), "read", "report '%s'" % name)


def run(module, client):
    p = module.params
    name = p["name"]
    current = find_report(client, name)
    before = comparable(current)
    result = dict(changed=False, id=current.get("id") if current else None, report=current or {})
    if p["state"] == "absent":
        if current is not None:
            result.update(changed=True, report={}, id=None)
            if not module.check_mode:
                client.request("DELETE", "/api/reports/%s" % path_quote(current["id"]), "delete", "report '%s'" % name, missing_ok=True)
        if module._diff:
            result["diff"] = {"before": before, "after": {}}
        return result
    after = desired_report(p)
    if before != after:
        result["changed"] = True
        if module.check_mode:
            result["report"] = dict(after, id=result["id"])
        elif current is None:
            created = client.request("POST", "/api/reports", "create", "report '%s'" % name, json_body=after)
            result["id"] = created.get("id")
            result["report"] = client.get("/api/reports/%s" % path_quote(result["id"]), "read", "report '%s'" % name)
        else:
            client.request(
                "PUT", "/api/reports/%s" % path_quote(current["id"]), "update", "report '%s'" % name, json_body=dict(after, state=current.get("state"))
            )
            result["report"] = client.get("/api/reports/%s" % path_quote(current["id"]), "read", "report '%s'" % name)
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    options = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        dashboards=dict(
            type="list",
            elements="dict",
            options=dict(
                uid=dict(type="str", required=True),
                time_from=dict(type="str", default=""),
                time_to=dict(type="str", default=""),
                variables=dict(type="dict", default={}),
            ),
        ),
        recipients=dict(type="list", elements="str", default=[]),
        reply_to=dict(type="list", elements="str", default=[]),
        email_message=dict(type="str", default=""),
        frequency=dict(type="str", default="daily", choices=["once", "hourly", "daily", "weekly", "monthly", "last", "custom"]),
        start_date=dict(type="str"),
        end_date=dict(type="str"),
        interval_frequency=dict(type="str", choices=["hours", "days", "weeks", "months"]),
        interval_amount=dict(type="int"),
        workdays_only=dict(type="bool", default=False),
        day_of_month=dict(type="str"),
        time_zone=dict(type="str", default="UTC"),
        orientation=dict(type="str", choices=["portrait", "landscape"], default="landscape"),
        layout=dict(type="str", choices=["grid", "simple"], default="grid"),
        formats=dict(type="list", elements="str", choices=["pdf", "csv", "image"], default=["pdf"]),
        enable_dashboard_url=dict(type="bool", default=True),
    )
    module = grafana_module(options, required_if=[("state", "present", ["dashboards"])])
    run_module(module, run, {ReportInputError: "grafana_report: %s"})


if __name__ == "__main__":
    main()

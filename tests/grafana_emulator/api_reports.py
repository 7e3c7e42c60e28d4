"""Grafana Enterprise Reporting API (``/api/reports``), only on an Enterprise edition profile.

Source: Grafana's "Reporting API" documentation (grafana/grafana docs/sources/developers/http_api/reporting.md,
https://grafana.com/docs/grafana/latest/developers/http_api/reporting/): list, get, create, update, delete, send
(``/email``), ``/test-email`` and ``/settings``; request and response bodies as documented there.

Edition: Grafana OSS has no reporting, so on an OSS profile no route is registered and ``/api/reports`` answers
like every unknown ``/api`` path (404 ``{"message":"Not found"}``). The edition comes from the profile's
``edition`` attribute when the profile has one, else from ``GF_EMULATOR_EDITION`` (``enterprise`` | ``oss``,
default ``oss``) **(chosen: the profiles are being reworked; this is the smallest hook)**.

Choices where the documentation is silent (marked so in README.md):
* permissions: the documented defaults give reports:* to organisation admins only -> Admin (or server admin),
  others 403 with the RBAC body naming the action;
* validation: missing ``name`` or no dashboard -> 400; an unknown dashboard uid -> 400 ``dashboard not found``;
  ``frequency``, ``intervalFrequency``, ``orientation``, ``layout`` and ``formats`` outside the documented values
  -> 400; an empty ``formats`` becomes ``["pdf"]`` (documented default);
* responses are normalised like the documented GET example: every schedule field present, ``options`` with
  defaults ``landscape``/``grid``, each dashboard with ``{id, uid, name}``, ``timeRange`` and ``reportVariables``;
* reports live in the emulator state (``reports`` key) and are not reloaded from ``--data`` on restart.
"""

import os

from .api_dashboards import dashboard_by_uid
from .server import access_denied, error
from .store import now_iso

FREQUENCIES = ("once", "hourly", "daily", "weekly", "monthly", "last", "custom")
INTERVALS = ("", "hours", "days", "weeks", "months")
FORMATS = ("pdf", "csv", "image")


def edition(app):
    value = getattr(app.profile, "edition", None) or os.environ.get("GF_EMULATOR_EDITION") or "oss"
    return str(value).lower()


def register(app):
    if edition(app) not in ("enterprise", "cloud"):
        return
    store = app.store

    def reports():
        return store.data.setdefault("reports", {})

    def require_admin(req, action):
        if req.identity.role != "Admin" and not req.identity.is_server_admin:
            raise access_denied(action)

    def report_or_error(req, report_id):
        try:
            rid = int(report_id)
        except ValueError:
            raise error(400, "invalid report ID")
        row = reports().get(str(rid))
        if row is None or row["orgId"] != req.org_id:
            raise error(404, "report not found")
        return row

    def validate(req, body):
        if not isinstance(body, dict):
            raise error(400, "bad request data")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise error(400, "report name is required")
        dashboards = body.get("dashboards")
        if not isinstance(dashboards, list) or not dashboards:
            raise error(400, "at least one dashboard is required")
        out_dash = []
        for item in dashboards:
            uid = ((item or {}).get("dashboard") or {}).get("uid") if isinstance(item, dict) else None
            dash = dashboard_by_uid(store, req.org_id, uid) if uid else None
            if dash is None:
                raise error(400, "dashboard not found")
            time_range = item.get("timeRange") or {}
            variables = item.get("reportVariables") or {}
            if not isinstance(time_range, dict) or not isinstance(variables, dict):
                raise error(400, "bad request data")
            out_dash.append(
                {
                    "dashboard": {"id": dash["id"], "uid": dash["uid"], "name": dash["title"]},
                    "timeRange": {"from": str(time_range.get("from") or ""), "to": str(time_range.get("to") or "")},
                    "reportVariables": dict(variables),
                }
            )
        schedule = body.get("schedule") or {}
        if not isinstance(schedule, dict):
            raise error(400, "bad request data")
        frequency = schedule.get("frequency") or "once"
        if frequency not in FREQUENCIES:
            raise error(400, "invalid frequency %s" % frequency)
        interval = schedule.get("intervalFrequency") or ""
        if interval not in INTERVALS:
            raise error(400, "invalid intervalFrequency %s" % interval)
        amount = schedule.get("intervalAmount") or 0
        if frequency == "custom" and (not interval or not isinstance(amount, int) or amount < 1):
            raise error(400, "custom frequency requires intervalFrequency and intervalAmount")
        options = body.get("options") or {}
        orientation = options.get("orientation") or "landscape"
        layout = options.get("layout") or "grid"
        if orientation not in ("portrait", "landscape") or layout not in ("grid", "simple"):
            raise error(400, "invalid report options")
        formats = body.get("formats") or ["pdf"]
        if not isinstance(formats, list) or any(f not in FORMATS for f in formats):
            raise error(400, "invalid formats")
        return {
            "name": name,
            "recipients": str(body.get("recipients") or ""),
            "replyTo": str(body.get("replyTo") or ""),
            "message": str(body.get("message") or ""),
            "schedule": {
                "startDate": schedule.get("startDate") or None,
                "endDate": schedule.get("endDate") or None,
                "frequency": frequency,
                "intervalFrequency": interval,
                "intervalAmount": amount,
                "workdaysOnly": bool(schedule.get("workdaysOnly")),
                "dayOfMonth": str(schedule.get("dayOfMonth") or ""),
                "timeZone": str(schedule.get("timeZone") or ""),
            },
            "options": {"orientation": orientation, "layout": layout},
            "enableDashboardUrl": bool(body.get("enableDashboardUrl")),
            "dashboards": out_dash,
            "formats": list(formats),
        }

    @app.route("GET", r"/api/reports")
    def list_reports(req):
        require_admin(req, "reports:read")
        return [row for _k, row in sorted(reports().items(), key=lambda kv: int(kv[0])) if row["orgId"] == req.org_id]

    @app.route("POST", r"/api/reports")
    def create(req):
        require_admin(req, "reports:create")
        config = validate(req, req.json())
        rid = store.next_id("report")
        ts = now_iso()
        reports()[str(rid)] = dict(config, id=rid, userId=req.identity.user["id"], orgId=req.org_id, state="scheduled", created=ts, updated=ts)
        return {"id": rid, "message": "Report created"}

    @app.route("GET", r"/api/reports/settings")
    def get_settings(req):
        require_admin(req, "reports.settings:read")
        settings = store.data.setdefault("report_settings", {})
        branding = settings.get(str(req.org_id)) or {
            "reportLogoUrl": "",
            "emailLogoUrl": "",
            "emailFooterMode": "sent-by",
            "emailFooterText": "Grafana Labs",
            "emailFooterLink": "https://grafana.com/",
        }
        return {"id": req.org_id, "userId": req.identity.user["id"], "orgId": req.org_id, "branding": branding}

    @app.route("POST", r"/api/reports/settings")
    def save_settings(req):
        require_admin(req, "reports.settings:write")
        body = req.json()
        branding = body.get("branding") if isinstance(body, dict) else None
        if not isinstance(branding, dict) or branding.get("emailFooterMode", "sent-by") not in ("sent-by", "none"):
            raise error(400, "bad request data")
        store.data.setdefault("report_settings", {})[str(req.org_id)] = branding
        return {"message": "Report settings saved"}

    @app.route("POST", r"/api/reports/email")
    def send(req):
        require_admin(req, "reports:send")
        body = req.json()
        if not isinstance(body, dict) or not body.get("id") or not (body.get("emails") or body.get("useEmailsFromReport")):
            raise error(400, "bad request data")
        row = report_or_error(req, str(body["id"]))
        emails = row["recipients"] if body.get("useEmailsFromReport") else body["emails"]
        store.data.setdefault("reports_sent", []).append({"id": row["id"], "emails": emails, "at": now_iso()})
        return {"message": "Report was sent"}

    @app.route("POST", r"/api/reports/test-email")
    def test_email(req):
        require_admin(req, "reports:send")
        validate(req, req.json())
        return {"message": "Test email sent"}

    @app.route("GET", r"/api/reports/(?P<report_id>[^/]+)")
    def get_one(req, report_id):
        require_admin(req, "reports:read")
        return report_or_error(req, report_id)

    @app.route("PUT", r"/api/reports/(?P<report_id>[^/]+)")
    def update(req, report_id):
        require_admin(req, "reports:write")
        row = report_or_error(req, report_id)
        config = validate(req, req.json())
        row.update(config)
        row["updated"] = now_iso()
        return {"message": "Report updated"}

    @app.route("DELETE", r"/api/reports/(?P<report_id>[^/]+)")
    def delete(req, report_id):
        require_admin(req, "reports:delete")
        row = report_or_error(req, report_id)
        del reports()[str(row["id"])]
        return {"message": "Report config was removed"}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KPI reports rendered from data (no browser, no screenshots).

The report runs the *dashboard's own panel queries* (read from the dashboard JSON, so a renamed view column
flows through) for fixed report windows, through one of two query sources:

* :class:`PostgresSource` -- directly on PostgreSQL (as the read-only role); Grafana's ``$__timeFilter``,
  ``$__timeFrom()`` and ``$__timeTo()`` are expanded exactly as Grafana's PostgreSQL data source does;
* :class:`GrafanaSource` -- through Grafana's ``POST /api/ds/query`` (Grafana OSS, Cloud, PDC), with the
  collection's one Grafana HTTP client.

Then it draws every panel with matplotlib (one library for charts, page layout, PDF and the PNG of each page,
so the PNGs are exactly the PDF's pages) in the dashboard's six rows, writes one CSV per table panel, and
returns the values it printed so the caller (module, tests) can report them.

Pure Python apart from psycopg2 / matplotlib; no Ansible imports, so the module and tests share it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import csv
import datetime
import io
import json
import os
import re
from decimal import Decimal, ROUND_HALF_UP

REPORT_KINDS = ("daily", "weekly", "monthly")
UTC = datetime.timezone.utc
A4_LANDSCAPE_IN = (11.69, 8.27)
PNG_DPI = 100
PAGE_UNITS = 27  # dashboard grid units (gridPos.h) one page holds below the header
MACRO_RE = re.compile(r"\$(__[A-Za-z]+)\(([^)]*)\)")
COLORS = {"green": "#56A64B", "orange": "#FF9830", "red": "#E02F44", "blue": "#3274D9", "yellow": "#F2CC0C", "amber": "#FF9830", "track": "#8E8E8E"}
SERIES_COLORS = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17"]


class ReportError(Exception):
    """A report could not be rendered; ``str()`` is the user-facing message (free of secrets)."""


# ----------------------------------------------------------------------------------------------- windows


class Window(object):
    """A closed range of calendar days ``start`` .. ``end`` (inclusive) with a label."""

    def __init__(self, start, end, label):
        self.start, self.end, self.label = start, end, label

    @property
    def time_from(self):
        return datetime.datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def time_to(self):
        end = self.end + datetime.timedelta(days=1)
        return datetime.datetime(end.year, end.month, end.day, tzinfo=UTC) - datetime.timedelta(milliseconds=1)

    @property
    def from_ms(self):
        return calendar.timegm(self.time_from.utctimetuple()) * 1000

    @property
    def to_ms(self):
        return calendar.timegm(self.time_to.utctimetuple()) * 1000 + 999

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def as_dict(self):
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


def report_windows(kind, today):
    """The fixed windows of a report run on ``today`` (a date in the report's time zone).

    daily   -- period: yesterday; previous: the day before; extra: today so far
    weekly  -- period: the previous ISO week (Mon..Sun); previous: the week before
    monthly -- period: the previous calendar month; previous: the month before
    Returns ``(period_key, period, previous, extra_or_None)``; ``period_key`` names the period for the
    delivery ledger (``daily/2026-11-29``, ``weekly/2026-W48``, ``monthly/2026-10``).
    """
    if kind == "daily":
        day = today - datetime.timedelta(days=1)
        before = day - datetime.timedelta(days=1)
        return (
            "daily/%s" % day.isoformat(),
            Window(day, day, day.strftime("%a %d %b %Y")),
            Window(before, before, before.strftime("%a %d %b %Y")),
            Window(today, today, "today so far"),
        )
    if kind == "weekly":
        monday = today - datetime.timedelta(days=today.weekday() + 7)
        prev = monday - datetime.timedelta(days=7)
        year, week, _weekday = monday.isocalendar()
        pyear, pweek, _weekday = prev.isocalendar()
        return (
            "weekly/%d-W%02d" % (year, week),
            Window(monday, monday + datetime.timedelta(days=6), "ISO week %d-W%02d" % (year, week)),
            Window(prev, prev + datetime.timedelta(days=6), "ISO week %d-W%02d" % (pyear, pweek)),
            None,
        )
    if kind == "monthly":
        last = today.replace(day=1) - datetime.timedelta(days=1)
        first = last.replace(day=1)
        plast = first - datetime.timedelta(days=1)
        pfirst = plast.replace(day=1)
        return ("monthly/%s" % first.strftime("%Y-%m"), Window(first, last, first.strftime("%B %Y")), Window(pfirst, plast, pfirst.strftime("%B %Y")), None)
    raise ReportError("unknown report kind %r (expected one of %s)" % (kind, ", ".join(REPORT_KINDS)))


def chart_window(kind, period, previous):
    """Time-series charts show a trend, not one point: the 14 days up to a daily period, both weeks or both
    months of a weekly or monthly report."""
    if kind == "daily":
        return Window(period.end - datetime.timedelta(days=13), period.end, "14 days to %s" % period.end.isoformat())
    return Window(previous.start, period.end, "%s and %s" % (previous.label, period.label))


def rfc3339(dt):
    dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += ("." + "%06d" % dt.microsecond).rstrip("0")
    return text + "Z"


def expand_macros(sql, window):
    """Grafana's PostgreSQL expansion of the time macros the dashboard uses (``$__timeFilter(col)`` ->
    ``col BETWEEN '<from>' AND '<to>'`` in RFC 3339 UTC, ``$__timeFrom()``, ``$__timeTo()``); any other
    macro is an error rather than a silently wrong query."""
    f, t = rfc3339(window.time_from), rfc3339(window.time_to)

    def repl(match):
        name, arg = match.group(1), match.group(2).strip()
        if name == "__timeFilter":
            if not arg:
                raise ReportError("macro $__timeFilter needs a column")
            return "%s BETWEEN '%s' AND '%s'" % (arg, f, t)
        if name == "__timeFrom":
            return "'%s'" % f
        if name == "__timeTo":
            return "'%s'" % t
        raise ReportError("macro $%s is not supported by the direct PostgreSQL source" % name)

    return MACRO_RE.sub(repl, sql)


# ----------------------------------------------------------------------------------------------- results


class Table(object):
    """Rows of one query: ``columns`` (names), ``types`` ('number', 'time', 'string', ...) and ``rows``."""

    def __init__(self, columns, types, rows):
        self.columns, self.types, self.rows = list(columns), list(types), [list(r) for r in rows]

    def column(self, name):
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def first_number(self):
        for row in self.rows:
            for value, kind in zip(row, self.types):
                if kind == "number" and value is not None:
                    return value
        return None


def _kind_of(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "time"
    return "string"


class PostgresSource(object):
    """Runs panel SQL on a psycopg2 connection (read-only transaction; the reader role can only SELECT)."""

    name = "postgresql"

    def __init__(self, conn):
        self.conn = conn

    def run(self, sql, fmt, window):
        import psycopg2

        executed = expand_macros(sql, window)
        try:
            with self.conn.cursor() as cur:
                cur.execute(executed)
                columns = [c.name for c in cur.description] if cur.description else []
                rows = cur.fetchall() if cur.description else []
        except psycopg2.Error as exc:
            self.conn.rollback()
            raise ReportError("query failed: %s" % str(exc).strip().splitlines()[0])
        types = []
        for i, _name in enumerate(columns):
            kind = next((_kind_of(r[i]) for r in rows if r[i] is not None), "string")
            types.append(kind)
        return [Table(columns, types, rows)]


class GrafanaSource(object):
    """Runs panel SQL through ``POST /api/ds/query`` with the collection's GrafanaClient (``request()``)."""

    name = "grafana"

    def __init__(self, client, datasource_uid):
        self.client = client
        self.datasource_uid = datasource_uid

    def run(self, sql, fmt, window):
        body = {
            "from": str(window.from_ms),
            "to": str(window.to_ms),
            "queries": [{"refId": "A", "datasource": {"uid": self.datasource_uid}, "rawSql": sql, "format": fmt, "maxDataPoints": 1000, "intervalMs": 60000}],
        }
        reply = (
            self.client.request(
                "POST",
                "/api/ds/query",
                "run a report query on",
                "data source '%s'" % self.datasource_uid,
                json_body=body,
                expected=(200, 207, 400),
                retry_post=True,
            )
            or {}
        )
        result = (reply.get("results") or {}).get("A") if isinstance(reply, dict) else None
        if result is None:
            raise ReportError("Grafana answered without a result: %s" % (reply.get("message") if isinstance(reply, dict) else reply))
        if result.get("error"):
            raise ReportError("query failed in Grafana: %s" % result["error"])
        return [frame_to_table(frame) for frame in result.get("frames") or []]


def frame_to_table(frame):
    """A Grafana data frame (column-major) -> Table; time fields (epoch ms) become datetimes, and a
    number field with labels gets its series name from ``displayNameFromDS`` or its labels."""
    fields = (frame.get("schema") or {}).get("fields") or []
    values = (frame.get("data") or {}).get("values") or []
    columns, types = [], []
    for field in fields:
        name = (field.get("config") or {}).get("displayNameFromDS") or (field.get("labels") or {}).get("metric") or field.get("name")
        labels = field.get("labels") or {}
        if labels and not (field.get("config") or {}).get("displayNameFromDS") and "metric" not in labels:
            name = "%s %s" % (field.get("name"), ", ".join("%s=%s" % kv for kv in sorted(labels.items())))
        columns.append(name)
        types.append(field.get("type") or "string")
    count = len(values[0]) if values else 0
    rows = []
    for r in range(count):
        row = []
        for c, kind in enumerate(types):
            value = values[c][r] if c < len(values) else None
            if kind == "time" and value is not None:
                value = datetime.datetime.fromtimestamp(value / 1000.0, UTC)
            row.append(value)
        rows.append(row)
    return Table(columns, types, rows)


# ----------------------------------------------------------------------------------------------- dashboard


def load_dashboard(path=None, content=None):
    if content is None:
        with open(path, "r") as handle:
            content = handle.read()
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError as exc:
            raise ReportError("dashboard is not valid JSON: %s" % exc)
    if isinstance(content, dict) and "dashboard" in content and "panels" not in content:
        content = content["dashboard"]  # /api/dashboards/uid/<uid> answer
    if not isinstance(content, dict) or not isinstance(content.get("panels"), list):
        raise ReportError("dashboard has no 'panels' list")
    return content


def dashboard_rows(dashboard):
    """[(row title, [panel, ...])] in dashboard order; panels inside collapsed rows included."""
    rows = []
    current = None
    for panel in sorted(dashboard["panels"], key=lambda p: ((p.get("gridPos") or {}).get("y", 0), (p.get("gridPos") or {}).get("x", 0))):
        if panel.get("type") == "row":
            current = (panel.get("title") or "", [])
            rows.append(current)
            for inner in panel.get("panels") or []:
                current[1].append(inner)
            continue
        if current is None:
            current = ("", [])
            rows.append(current)
        current[1].append(panel)
    return rows


def panel_queries(panel):
    return [
        (t.get("rawSql"), t.get("format") or "time_series")
        for t in panel.get("targets") or []
        if isinstance(t, dict) and not t.get("hide") and (t.get("rawSql") or "").strip()
    ]


def uses_time_filter(panel):
    return any("$__time" in sql for sql, _fmt in panel_queries(panel))


def field_defaults(panel):
    return (panel.get("fieldConfig") or {}).get("defaults") or {}


# ----------------------------------------------------------------------------------------------- numbers


def to_decimal(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def format_number(value, decimals):
    """Round half up to ``decimals`` (Grafana shows stat values with the panel's decimals)."""
    number = to_decimal(value)
    if number is None:
        return "No data"
    quantum = Decimal(1).scaleb(-decimals) if decimals else Decimal(1)
    return "{:,}".format(number.quantize(quantum, rounding=ROUND_HALF_UP))


def format_value(value, unit, decimals):
    """A stat value with the panel's unit, as printed in the report (and checked by the tests)."""
    if value is None:
        return "No data"
    if decimals is None:
        decimals = 2
    text = format_number(value, decimals)
    if unit == "percent":
        return text + "%"
    if unit == "currencyUSD":
        return ("-$" + text[1:]) if text.startswith("-") else "$" + text
    if unit == "h":
        return text + " h"
    if unit in ("m", "minutes"):
        return text + " min"
    return text


def threshold_color(panel, value):
    steps = ((field_defaults(panel).get("thresholds") or {}).get("steps")) or []
    color = "blue"
    number = to_decimal(value)
    for step in steps:
        if step.get("value") is None or (number is not None and number >= to_decimal(step["value"])):
            color = step.get("color") or color
    return COLORS.get(color, color)


def change_text(current, previous, unit):
    """'+1.3 pp' for percentages, '+12.5%' otherwise, relative to the previous period."""
    cur, prev = to_decimal(current), to_decimal(previous)
    if cur is None or prev is None:
        return "n/a"
    if unit == "percent":
        return "%+.1f pp" % (cur - prev)
    if prev == 0:
        return "n/a"
    return "%+.1f%%" % (100 * (cur - prev) / abs(prev))


def rag_status(value, comparator, target):
    """green = meets the target; amber = misses it by at most 10 % of the target; red = further off.
    ``abs_lt`` compares |value|. None -> 'no data'."""
    number, goal = to_decimal(value), to_decimal(target)
    if number is None or goal is None:
        return "no data"
    slack = abs(goal) * Decimal("0.1")
    if comparator == "abs_lt":
        number = abs(number)
        comparator = "lt"
    if comparator == "gt":
        return "green" if number > goal else ("amber" if number >= goal - slack else "red")
    return "green" if number < goal else ("amber" if number <= goal + slack else "red")


# ----------------------------------------------------------------------------------------------- executive

# The monthly executive report lists every KPI of the spec's tables. The dashboard has no panel that
# computes them over a whole period, so these are the report's own queries -- on the contract views and
# columns of docs/kpi-contract.md only (range values from the unrounded parts, like the stat panels).
EXECUTIVE_SQL = """
SELECT round(100.0 * sum(resolved_cases) / nullif(sum(total_cases), 0), 2) AS resolution_rate,
       round(100.0 * sum(first_contact_resolved_cases) / nullif(sum(total_cases), 0), 2)
           AS first_contact_resolution_rate,
       round(sum(ai_confidence_accuracy * ai_reviewed_cases)
             / nullif(sum(ai_reviewed_cases) FILTER (WHERE ai_confidence_accuracy IS NOT NULL), 0), 2)
           AS ai_confidence_accuracy,
       round(sum(csat_score_sum)::numeric / nullif(sum(csat_responses), 0), 2) AS csat_avg,
       round(sum(resolution_minutes_sum) / nullif(sum(resolution_timed_cases), 0), 2) AS avg_resolution_minutes,
       round(100.0 * sum(self_service_cases) / nullif(sum(total_cases), 0), 2) AS self_service_rate,
       round(100.0 * sum(collaborative_cases + escalated_cases) / nullif(sum(total_cases), 0), 2)
           AS human_intervention_rate,
       sum(time_saved_hours) AS time_saved_hours,
       round(sum(actual_cost_usd) / nullif(sum(total_cases), 0), 2) AS cost_per_case_usd,
       sum(net_savings_usd) AS net_savings_usd,
       sum(ai_cost_usd) AS ai_cost_usd,
       round(100 * sum(net_savings_usd) / nullif(sum(ai_cost_usd) + (
           SELECT sum(b.monthly_platform_cost
                      / extract(day FROM date_trunc('month', d) + interval '1 month - 1 day'))
             FROM v_kpi_baseline b,
                  generate_series($__timeFrom()::timestamptz::date, $__timeTo()::timestamptz::date,
                                  interval '1 day') AS d), 0), 2) AS roi_pct,
       round(sum(ai_cost_usd) / nullif(sum(total_cases), 0), 2) AS ai_cost_per_case_usd,
       (SELECT round(sum(total_tokens)::numeric / ((($__timeTo()::timestamptz::date)
                     - ($__timeFrom()::timestamptz::date)) + 1), 0)
          FROM v_token_daily WHERE $__timeFilter(usage_date)) AS tokens_per_day,
       sum(total_cases) AS total_cases
  FROM v_daily_kpi
 WHERE $__timeFilter(metric_date)
"""
TARGETS_SQL = "SELECT kpi_key, display_name, comparator, target_value, unit FROM v_kpi_targets ORDER BY kpi_key"
BUDGET_SQL = """
SELECT budget_name, budget_type, period_start, period_end, tokens_used, token_limit, token_utilization_pct,
       cost_used_usd, cost_limit_usd, projected_exhaustion_date, exhausts_before_period_end
  FROM v_budget_utilization
 ORDER BY budget_type, budget_name
"""
# (spec table, KPI, value column, unit, decimals, kpi_targets key or None = "Track")
EXECUTIVE_KPIS = [
    ("Effectiveness", "Case Resolution Rate", "resolution_rate", "percent", 1, "resolution_rate"),
    ("Effectiveness", "First Contact Resolution", "first_contact_resolution_rate", "percent", 1, "first_contact_resolution_rate"),
    ("Effectiveness", "AI Confidence Accuracy (pp off)", "ai_confidence_accuracy", "percent", 1, "ai_confidence_accuracy"),
    ("Effectiveness", "Customer Satisfaction (CSAT)", "csat_avg", "none", 2, "csat_avg"),
    ("Efficiency", "Average Resolution Time", "avg_resolution_minutes", "minutes", 1, "avg_resolution_minutes"),
    ("Efficiency", "Self-Service Rate", "self_service_rate", "percent", 1, "self_service_rate"),
    ("Efficiency", "Human Intervention Rate", "human_intervention_rate", "percent", 1, "human_intervention_rate"),
    ("Efficiency", "Time Saved", "time_saved_hours", "h", 1, None),
    ("Cost", "Cost per Case", "cost_per_case_usd", "currencyUSD", 2, "cost_per_case_usd"),
    ("Cost", "Total Savings", "net_savings_usd", "currencyUSD", 0, None),
    ("Cost", "Token Costs (AI API spend)", "ai_cost_usd", "currencyUSD", 2, None),
    ("Cost", "ROI", "roi_pct", "percent", 0, "roi_pct"),
    ("Token usage", "Daily Consumption (tokens/day)", "tokens_per_day", "short", 0, None),
    ("Token usage", "AI Cost per Case", "ai_cost_per_case_usd", "currencyUSD", 2, "ai_cost_per_case_usd"),
]
TARGET_TEXT = {"gt": "> %s", "lt": "< %s", "abs_lt": "\u00b1%s"}


# ----------------------------------------------------------------------------------------------- collect


class ReportData(object):
    """Everything the report prints, collected before anything is drawn."""

    def __init__(self, kind, period_key, period, previous, extra, dashboard):
        self.kind, self.period_key = kind, period_key
        self.period, self.previous, self.extra = period, previous, extra
        self.dashboard = dashboard
        self.chart = chart_window(kind, period, previous)
        self.rows = []  # [(row title, [PanelData])]
        self.executive = None  # monthly: dict
        self.generated_at = None


class PanelData(object):
    def __init__(self, panel):
        self.panel = panel
        self.title = panel.get("title") or ""
        self.type = panel.get("type")
        self.windowed = uses_time_filter(panel)
        self.tables = []  # period results (one list entry per query)
        self.previous = None  # stat: value in the previous window
        self.extra = None  # stat (daily): value today so far
        self.error = None

    @property
    def value(self):
        for table in self.tables:
            number = table.first_number()
            if number is not None:
                return number
        return None


def _stat_value(source, panel, window):
    for sql, fmt in panel_queries(panel):
        for table in source.run(sql, fmt, window):
            number = table.first_number()
            if number is not None:
                return number
    return None


def collect(source, dashboard, kind, today, now=None):
    """Run every panel query for the report's windows; returns ReportData. Query errors are kept per panel
    (the report shows them, like Grafana's panel error) except a failing connection, which raises."""
    period_key, period, previous, extra = report_windows(kind, today)
    data = ReportData(kind, period_key, period, previous, extra, dashboard)
    data.generated_at = now or datetime.datetime.now(UTC)
    for title, panels in dashboard_rows(dashboard):
        items = []
        for panel in panels:
            if not panel_queries(panel):
                continue
            item = PanelData(panel)
            try:
                window = data.chart if item.type == "timeseries" else period
                for sql, fmt in panel_queries(panel):
                    item.tables.extend(source.run(sql, fmt, window))
                if item.type == "stat" and item.windowed:
                    item.previous = _stat_value(source, panel, previous)
                    if extra is not None:
                        item.extra = _stat_value(source, panel, extra)
            except ReportError as exc:
                item.error = str(exc)
            items.append(item)
        data.rows.append((title, items))
    if kind == "monthly":
        data.executive = collect_executive(source, period, previous)
    return data


def _one_row(source, sql, window):
    tables = source.run(sql, "table", window)
    if not tables or not tables[0].rows:
        return {}
    return dict(zip(tables[0].columns, tables[0].rows[0]))


def _all_rows(source, sql, window):
    tables = source.run(sql, "table", window)
    return [dict(zip(t.columns, r)) for t in tables for r in t.rows]


def collect_executive(source, period, previous):
    current = _one_row(source, EXECUTIVE_SQL, period)
    before = _one_row(source, EXECUTIVE_SQL, previous)
    targets = dict((t["kpi_key"], t) for t in _all_rows(source, TARGETS_SQL, period))
    kpis = []
    for group, label, column, unit, decimals, target_key in EXECUTIVE_KPIS:
        target = targets.get(target_key) if target_key else None
        value = current.get(column)
        entry = {
            "group": group,
            "kpi": label,
            "key": column,
            "unit": unit,
            "decimals": decimals,
            "value": value,
            "previous": before.get(column),
            "value_text": format_value(value, unit, decimals),
            "previous_text": format_value(before.get(column), unit, decimals),
            "change": change_text(value, before.get(column), unit),
        }
        if target is not None:
            entry["target_text"] = TARGET_TEXT.get(target["comparator"], "%s") % format_number(
                target["target_value"], 0 if to_decimal(target["target_value"]) == to_decimal(target["target_value"]).to_integral_value() else 1
            )
            entry["status"] = rag_status(value, target["comparator"], target["target_value"])
        else:
            entry["target_text"] = "track"
            entry["status"] = "track"
        kpis.append(entry)
    budgets = _all_rows(source, BUDGET_SQL, period)
    for budget in budgets:
        util = budget.get("token_utilization_pct")
        target = targets.get("token_utilization_pct")
        budget["status"] = rag_status(util, target["comparator"], target["target_value"]) if target else "track"
        exhaust = budget.get("projected_exhaustion_date")
        budget["exhaustion_status"] = (
            "red" if budget.get("exhausts_before_period_end") else ("green" if exhaust is None or budget.get("period_end") is None else "green")
        )
    return {"kpis": kpis, "budgets": budgets, "total_cases": current.get("total_cases"), "previous_total_cases": before.get("total_cases")}


# ----------------------------------------------------------------------------------------------- links


def deep_link(grafana_url, dashboard, window):
    """The dashboard at the report's time range (UTC, whole days)."""
    if not grafana_url:
        return None
    uid = dashboard.get("uid")
    if not uid:
        return None
    return "%s/d/%s?from=%d&to=%d&timezone=utc" % (grafana_url.rstrip("/"), uid, window.from_ms, window.to_ms)


# ----------------------------------------------------------------------------------------------- CSV


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", (text or "panel").lower()).strip("-") or "panel"


def csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if (
            value.tzinfo is not None
            and value.utcoffset() == datetime.timedelta(0)
            and (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
        ):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def table_csv(tables):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


# ----------------------------------------------------------------------------------------------- drawing


def _import_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ReportError("the report renderer needs matplotlib on the host (Debian: python3-matplotlib, PyPI: matplotlib)")
    matplotlib.use("Agg")
    matplotlib.rcParams["pdf.fonttype"] = 42  # TrueType text, so pdftotext and readers can extract it
    matplotlib.rcParams["font.size"] = 8
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    return plt, PdfPages


def _unit_suffix(unit):
    return {"percent": "%", "currencyUSD": "USD", "h": "hours", "short": "", "none": ""}.get(unit or "", unit or "")


def _draw_error(ax, message):
    ax.axis("off")
    ax.text(0.5, 0.5, "Query error: %s" % message[:120], ha="center", va="center", color=COLORS["red"], wrap=True, transform=ax.transAxes)


def _to_dates(values):
    out = []
    for v in values:
        if isinstance(v, datetime.datetime):
            out.append(v)
        elif isinstance(v, datetime.date):
            out.append(datetime.datetime(v.year, v.month, v.day, tzinfo=UTC))
        elif isinstance(v, (int, float)):
            out.append(datetime.datetime.fromtimestamp(v / 1000.0, UTC))
        else:
            out.append(v)
    return out


def series_of(tables):
    """Time series [(name, times, values)] from tables in wide form (Grafana frames) or long form with a
    'metric' column (direct SQL), like Grafana's long-to-wide conversion."""
    series = []
    for table in tables:
        cols = table.columns
        time_idx = next((i for i, c in enumerate(cols) if c.lower() == "time"), None)
        if time_idx is None:
            continue
        string_idx = [i for i, k in enumerate(table.types) if k == "string" and i != time_idx]
        num_idx = [i for i, k in enumerate(table.types) if k == "number" and i != time_idx]
        if not string_idx:
            for i in num_idx:
                pairs = [(r[time_idx], r[i]) for r in table.rows]
                series.append((cols[i], _to_dates([p[0] for p in pairs]), [None if p[1] is None else float(p[1]) for p in pairs]))
            continue
        groups = {}
        order = []
        for row in table.rows:
            label = " ".join(str(row[i]) for i in string_idx)
            for i in num_idx:
                name = label if len(num_idx) == 1 else "%s %s" % (cols[i], label)
                if name not in groups:
                    groups[name] = ([], [])
                    order.append(name)
                groups[name][0].append(row[time_idx])
                groups[name][1].append(None if row[i] is None else float(row[i]))
        for name in order:
            series.append((name, _to_dates(groups[name][0]), groups[name][1]))
    return series


def draw_stat(ax, item, data):
    defaults = field_defaults(item.panel)
    unit, decimals = defaults.get("unit"), defaults.get("decimals")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#CCCCCC")
    ax.text(0.5, 0.86, item.title, ha="center", va="center", fontsize=9, transform=ax.transAxes)
    if item.error:
        ax.text(0.5, 0.5, "error", ha="center", va="center", color=COLORS["red"], transform=ax.transAxes)
        return
    value = item.value
    ax.text(
        0.5,
        0.52,
        format_value(value, unit, decimals),
        ha="center",
        va="center",
        fontsize=20,
        fontweight="bold",
        color=threshold_color(item.panel, value),
        transform=ax.transAxes,
    )
    if not item.windowed:
        note = "as of %s" % data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    else:
        note = "vs %s: %s" % ("previous day" if data.kind == "daily" else "previous period", change_text(value, item.previous, unit))
    ax.text(0.5, 0.22, note, ha="center", va="center", fontsize=7, color="#555555", transform=ax.transAxes)
    if data.extra is not None and item.windowed:
        ax.text(
            0.5,
            0.08,
            "today so far: %s" % format_value(item.extra, unit, decimals),
            ha="center",
            va="center",
            fontsize=7,
            color="#555555",
            transform=ax.transAxes,
        )


def draw_timeseries(ax, item, data):
    defaults = field_defaults(item.panel)
    series = series_of(item.tables)
    if not series:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        return
    import matplotlib.dates as mdates

    for index, (name, times, values) in enumerate(series[:12]):
        ax.plot(
            times,
            [float("nan") if v is None else v for v in values],
            label=name,
            linewidth=1.2,
            marker="o" if len(times) < 3 else None,
            markersize=3,
            color=SERIES_COLORS[index % len(SERIES_COLORS)],
        )
    ax.set_xlim(data.chart.time_from - datetime.timedelta(hours=12), data.chart.time_to)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.set_ylabel(_unit_suffix(defaults.get("unit")))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, loc="upper left", ncol=2 if len(series) > 4 else 1)


def draw_pie(ax, item):
    table = item.tables[0] if item.tables else None
    if not table or not table.rows:
        ax.axis("off")
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        return
    labels = [c for c, k in zip(table.columns, table.types) if k == "number"]
    values = [float(table.rows[0][table.columns.index(c)] or 0) for c in labels]
    if not sum(values):
        ax.axis("off")
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        return
    ax.pie(
        values,
        labels=["%s (%d)" % (lbl, v) for lbl, v in zip(labels, values)],
        autopct="%1.1f%%",
        colors=SERIES_COLORS[: len(values)],
        textprops={"fontsize": 7},
    )
    ax.set_aspect("equal")


def draw_bar(ax, item):
    table = item.tables[0] if item.tables else None
    if not table or not table.rows:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        return
    label_idx = next((i for i, k in enumerate(table.types) if k == "string"), 0)
    num_idx = [i for i, k in enumerate(table.types) if k == "number" and i != label_idx]
    labels = [str(r[label_idx]) for r in table.rows]
    bottom = [0.0] * len(labels)
    for n, i in enumerate(num_idx):
        vals = [float(r[i] or 0) for r in table.rows]
        ax.bar(labels, vals, bottom=bottom, label=table.columns[i], color=SERIES_COLORS[n % len(SERIES_COLORS)])
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax.tick_params(axis="x", labelsize=6, rotation=45)
    ax.set_ylabel("cases")
    ax.legend(fontsize=6)
    ax.grid(True, axis="y", alpha=0.3)


def draw_gauge(ax, item):
    defaults = field_defaults(item.panel)
    table = item.tables[0] if item.tables else None
    if not table or not table.rows:
        ax.axis("off")
        ax.text(0.5, 0.5, "No data (no current monthly budget)", ha="center", va="center", transform=ax.transAxes)
        return
    name_idx = next((i for i, k in enumerate(table.types) if k == "string"), None)
    num_idx = next((i for i, k in enumerate(table.types) if k == "number"), None)
    names = [str(r[name_idx]) if name_idx is not None else "" for r in table.rows]
    values = [float(r[num_idx] or 0) for r in table.rows]
    colors = [threshold_color(item.panel, v) for v in values]
    ax.barh(names, values, color=colors)
    for step in (defaults.get("thresholds") or {}).get("steps") or []:
        if step.get("value") is not None:
            ax.axvline(float(step["value"]), color=COLORS.get(step.get("color"), "#999999"), linestyle="--", linewidth=1)
    for y, v in enumerate(values):
        ax.text(v + 1, y, format_value(v, defaults.get("unit"), defaults.get("decimals", 1)), va="center", fontsize=8)
    ax.set_xlim(0, max(110, max(values) + 15))
    ax.set_xlabel("%% of budget used (as of %s)" % datetime.date.today().isoformat())
    ax.tick_params(axis="y", labelsize=7)


def draw_table(ax, item, max_rows=10):
    ax.axis("off")
    rows = [(t.columns, r) for t in item.tables for r in t.rows][:max_rows]
    if not rows:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        return
    columns = rows[0][0]
    cells = [[csv_cell(v)[:32] for v in r] for _c, r in rows]
    table = ax.table(cellText=cells, colLabels=columns, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.scale(1, 1.15)
    for (r, _c), cell in table.get_celld().items():
        cell.set_edgecolor("#DDDDDD")
        if r == 0:
            cell.set_facecolor("#EEEEEE")


def draw_panel(fig, rect, item, data):
    ax = fig.add_axes(rect)
    if item.type != "stat":
        suffix = "" if item.windowed else "  (current, not windowed)"
        if item.type == "timeseries":
            suffix = "  (%s)" % data.chart.label
        ax.set_title(item.title + suffix, fontsize=9, loc="left")
    if item.error:
        _draw_error(ax, item.error)
        return
    drawer = {
        "stat": lambda: draw_stat(ax, item, data),
        "timeseries": lambda: draw_timeseries(ax, item, data),
        "piechart": lambda: draw_pie(ax, item),
        "barchart": lambda: draw_bar(ax, item),
        "gauge": lambda: draw_gauge(ax, item),
        "table": lambda: draw_table(ax, item),
    }.get(item.type)
    if drawer is None:
        draw_table(ax, item)
    else:
        drawer()


def _header(fig, data, link, page, pages):
    title = data.dashboard.get("title") or "KPI report"
    kind = {"daily": "Daily KPI snapshot", "weekly": "Weekly KPI summary", "monthly": "Monthly executive report"}
    fig.text(0.02, 0.975, "%s \u2014 %s" % (kind[data.kind], title), fontsize=13, fontweight="bold", va="top")
    span = data.period.start.isoformat() if data.period.days == 1 else "%s .. %s" % (data.period.start.isoformat(), data.period.end.isoformat())
    fig.text(
        0.02,
        0.945,
        "Period: %s (%s)   compared with: %s   generated %s" % (data.period.label, span, data.previous.label, data.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        fontsize=8,
        va="top",
        color="#333333",
    )
    if link:
        fig.text(0.02, 0.927, "Dashboard: %s" % link, fontsize=6.5, va="top", color=COLORS["blue"], url=link)
    fig.text(0.98, 0.975, "page %d of %d" % (page, pages), fontsize=7, va="top", ha="right", color="#777777")


def _layout_pages(data):
    """Group dashboard rows into pages of at most PAGE_UNITS grid units (a row is never split)."""
    pages, current, used = [], [], 0
    for title, items in data.rows:
        if not items:
            continue
        top = min((i.panel.get("gridPos") or {}).get("y", 0) for i in items)
        bottom = max((i.panel.get("gridPos") or {}).get("y", 0) + (i.panel.get("gridPos") or {}).get("h", 8) for i in items)
        height = bottom - top + 1
        if current and used + height > PAGE_UNITS:
            pages.append(current)
            current, used = [], 0
        current.append((title, items, top, height))
        used += height
    if current:
        pages.append(current)
    return pages


def _draw_dashboard_page(fig, data, rows):
    top_margin, bottom_margin = 0.90, 0.03
    unit_h = (top_margin - bottom_margin) / PAGE_UNITS
    cursor = top_margin
    for title, items, top, height in rows:
        fig.text(0.02, cursor - 0.002, title, fontsize=10.5, fontweight="bold", va="top", color="#1F60C4")
        base = cursor - 1.6 * unit_h
        for item in items:
            grid = item.panel.get("gridPos") or {}
            x, w = grid.get("x", 0), grid.get("w", 12)
            y, h = grid.get("y", top) - top - 1, grid.get("h", 8)
            left = 0.02 + 0.96 * x / 24.0 + 0.012
            width = 0.96 * w / 24.0 - 0.024
            pad_top = 0.035 if item.type != "stat" else 0.008
            bottom = base - (y + h) * unit_h + 0.03
            rect = [
                left + (0.02 if item.type in ("timeseries", "barchart", "gauge") else 0),
                bottom,
                width - (0.02 if item.type in ("timeseries", "barchart", "gauge") else 0),
                h * unit_h - pad_top - 0.03,
            ]
            if item.type in ("timeseries", "barchart"):
                rect[1] += 0.02
                rect[3] -= 0.02
            draw_panel(fig, rect, item, data)
        cursor -= height * unit_h


def _rag_color(status):
    return {"green": COLORS["green"], "amber": COLORS["orange"], "red": COLORS["red"]}.get(status, "#8E8E8E")


def _draw_executive_page(fig, data):
    ex = data.executive
    fig.text(0.02, 0.90, "Executive summary: every KPI against its target", fontsize=11, fontweight="bold", va="top", color="#1F60C4")
    fig.text(
        0.02,
        0.875,
        "Cases: %s (previous period: %s)" % (format_number(ex["total_cases"], 0), format_number(ex["previous_total_cases"], 0)),
        fontsize=7.5,
        va="top",
    )
    fig.text(
        0.02,
        0.43,
        "Status: GREEN meets the target, AMBER misses it by at most 10% of the target, RED further off; 'track' KPIs have no target.",
        fontsize=7,
        va="top",
        color="#555555",
    )
    ax = fig.add_axes([0.02, 0.42, 0.6, 0.44])
    ax.axis("off")
    header = ["Area", "KPI", "Target", data.period.label, data.previous.label, "Change", "Status"]
    cells = [[k["group"], k["kpi"], k["target_text"], k["value_text"], k["previous_text"], k["change"], k["status"].upper()] for k in ex["kpis"]]
    table = ax.table(cellText=cells, colLabels=header, loc="upper left", cellLoc="left", colWidths=[0.12, 0.3, 0.1, 0.13, 0.13, 0.1, 0.1])
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.3)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#DDDDDD")
        if r == 0:
            cell.set_facecolor("#EEEEEE")
        elif c == 6:
            cell.set_facecolor(_rag_color(ex["kpis"][r - 1]["status"]))
            cell.get_text().set_color("white")
    # budget burn
    fig.text(0.65, 0.875, "Token budgets: burn and projected exhaustion", fontsize=9, fontweight="bold", va="top")
    bx = fig.add_axes([0.65, 0.42, 0.33, 0.44])
    bx.axis("off")
    bcells = []
    for b in ex["budgets"]:
        bcells.append(
            [
                b["budget_name"],
                b["budget_type"],
                format_value(b.get("token_utilization_pct"), "percent", 1),
                csv_cell(b.get("projected_exhaustion_date")) or "\u2014",
                "before end" if b.get("exhausts_before_period_end") else "ok",
            ]
        )
    if bcells:
        btable = bx.table(
            cellText=bcells,
            colLabels=["Budget", "Type", "Used", "Runs out", "Status"],
            loc="upper left",
            cellLoc="left",
            colWidths=[0.3, 0.13, 0.13, 0.2, 0.24],
        )
        btable.auto_set_font_size(False)
        btable.set_fontsize(7)
        btable.scale(1, 1.3)
        for (r, c), cell in btable.get_celld().items():
            cell.set_edgecolor("#DDDDDD")
            if r == 0:
                cell.set_facecolor("#EEEEEE")
            elif c == 2:
                cell.set_facecolor(_rag_color(ex["budgets"][r - 1]["status"]))
            elif c == 4 and ex["budgets"][r - 1].get("exhausts_before_period_end"):
                cell.set_facecolor(COLORS["red"])
    else:
        bx.text(0, 0.9, "No active token budgets.", fontsize=8)
    # top escalation reasons and KB gaps, from the dashboard's own panels
    improvement = dict((i.title, i) for _t, items in data.rows for i in items)
    for n, title in enumerate(("Top Escalation Reasons", "KB Coverage Gaps")):
        item = improvement.get(title)
        if item is None:
            continue
        rect = [0.02 + n * 0.49, 0.04, 0.47, 0.32]
        fig.text(rect[0], 0.39, title + ("" if item.windowed else " (last 30 days)"), fontsize=9, fontweight="bold", va="top")
        ax2 = fig.add_axes(rect)
        draw_table(ax2, item, max_rows=5)


def render(data, out_dir, basename, grafana_url=None):
    """Draw the report into ``out_dir``: ``<basename>.pdf``, ``<basename>-page-N.png`` per page and
    ``<basename>-<panel>.csv`` per table panel. Returns a dict of paths and the printed KPI values."""
    plt, PdfPages = _import_matplotlib()
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir, mode=0o750)
    link = deep_link(grafana_url, data.dashboard, data.period)
    pages = _layout_pages(data)
    total = len(pages) + (1 if data.executive else 0)
    pdf_path = os.path.join(out_dir, basename + ".pdf")
    tmp_pdf = pdf_path + ".tmp"
    pngs = []
    number = 0
    with PdfPages(
        tmp_pdf, metadata={"Title": "%s %s" % (data.dashboard.get("title") or "KPI report", data.period_key), "Creator": "cx_catalyst.kpi_dashboard kpi_report"}
    ) as pdf:
        drawers = []
        if data.executive:
            drawers.append(lambda fig: _draw_executive_page(fig, data))
        for rows in pages:
            drawers.append(lambda fig, rows=rows: _draw_dashboard_page(fig, data, rows))
        for draw in drawers:
            number += 1
            fig = plt.figure(figsize=A4_LANDSCAPE_IN)
            _header(fig, data, link, number, total)
            draw(fig)
            pdf.savefig(fig)
            png = os.path.join(out_dir, "%s-page-%d.png" % (basename, number))
            fig.savefig(png + ".tmp.png", dpi=PNG_DPI, format="png")
            os.replace(png + ".tmp.png", png)
            pngs.append(png)
            plt.close(fig)
    os.replace(tmp_pdf, pdf_path)
    csvs = []
    for _title, items in data.rows:
        for item in items:
            if item.type == "table" and not item.error:
                path = os.path.join(out_dir, "%s-%s.csv" % (basename, slug(item.title)))
                with open(path + ".tmp", "w") as handle:
                    handle.write(table_csv(item.tables))
                os.replace(path + ".tmp", path)
                csvs.append(path)
    return {
        "pdf": pdf_path,
        "pngs": pngs,
        "csvs": csvs,
        "link": link,
        "kpis": printed_kpis(data),
        "errors": [{"panel": i.title, "error": i.error} for _t, items in data.rows for i in items if i.error],
    }


def printed_kpis(data):
    """The stat tiles as printed: [{title, value, text, previous, change, today}]."""
    out = []
    for _title, items in data.rows:
        for item in items:
            if item.type != "stat":
                continue
            defaults = field_defaults(item.panel)
            unit, decimals = defaults.get("unit"), defaults.get("decimals")
            entry = {"title": item.title, "value": _plain(item.value), "text": format_value(item.value, unit, decimals), "windowed": item.windowed}
            if item.windowed:
                entry["previous"] = _plain(item.previous)
                entry["change"] = change_text(item.value, item.previous, unit)
                if data.extra is not None:
                    entry["today_so_far"] = _plain(item.extra)
            out.append(entry)
    if data.executive:
        for k in data.executive["kpis"]:
            out.append(
                {
                    "title": k["kpi"],
                    "value": _plain(k["value"]),
                    "text": k["value_text"],
                    "previous": _plain(k["previous"]),
                    "change": k["change"],
                    "status": k["status"],
                    "target": k["target_text"],
                    "windowed": True,
                }
            )
    return out


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def summary_text(data, result):
    """A short plain-text summary (mail text part, Slack message)."""
    kind = {"daily": "Daily KPI snapshot", "weekly": "Weekly KPI summary", "monthly": "Monthly executive report"}
    lines = ["%s: %s" % (kind[data.kind], data.period.label)]
    for k in result["kpis"]:
        if data.kind == "monthly" and "status" not in k:
            continue
        line = "- %s: %s" % (k["title"], k["text"])
        if k.get("change") and k.get("windowed"):
            line += " (%s)" % k["change"]
        if k.get("status") and k["status"] not in ("track",):
            line += " [%s]" % k["status"].upper()
        lines.append(line)
    if result.get("link"):
        lines.append("Dashboard: %s" % result["link"])
    return "\n".join(lines)

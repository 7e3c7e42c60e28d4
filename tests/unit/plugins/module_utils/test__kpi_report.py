"""Unit tests of the report renderer's pure parts and of the delivery ledger and MIME structure."""

import datetime
import email
import email.policy
import json
import os
import threading
from decimal import Decimal

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_report as R
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_report_delivery as D

D_ = datetime.date


@pytest.mark.parametrize(
    "today, key, start, end, prev_start, prev_end",
    [
        (D_(2026, 11, 30), "daily/2026-11-29", D_(2026, 11, 29), D_(2026, 11, 29), D_(2026, 11, 28), D_(2026, 11, 28)),
        (D_(2026, 3, 1), "daily/2026-02-28", D_(2026, 2, 28), D_(2026, 2, 28), D_(2026, 2, 27), D_(2026, 2, 27)),
    ],
)
def test_daily_window(today, key, start, end, prev_start, prev_end):
    got_key, period, previous, extra = R.report_windows("daily", today)
    assert (got_key, period.start, period.end, previous.start, previous.end) == (key, start, end, prev_start, prev_end)
    assert extra.start == extra.end == today


@pytest.mark.parametrize(
    "today, key, monday",
    [
        (D_(2026, 11, 30), "weekly/2026-W48", D_(2026, 11, 23)),  # a Monday: the previous ISO week
        (D_(2026, 12, 6), "weekly/2026-W48", D_(2026, 11, 23)),  # Sunday of the next week: still the one before
        (D_(2027, 1, 4), "weekly/2026-W53", D_(2026, 12, 28)),  # 2026 has 53 ISO weeks
        (D_(2026, 1, 5), "weekly/2026-W01", D_(2025, 12, 29)),  # ISO week 1 of 2026 starts in 2025
    ],
)
def test_weekly_window_is_previous_iso_week(today, key, monday):
    got_key, period, previous, extra = R.report_windows("weekly", today)
    assert got_key == key and period.start == monday and period.end == monday + datetime.timedelta(days=6)
    assert previous.start == monday - datetime.timedelta(days=7) and extra is None


@pytest.mark.parametrize(
    "today, key, start, end, prev_start, prev_end",
    [
        (D_(2026, 12, 1), "monthly/2026-11", D_(2026, 11, 1), D_(2026, 11, 30), D_(2026, 10, 1), D_(2026, 10, 31)),
        (D_(2027, 1, 15), "monthly/2026-12", D_(2026, 12, 1), D_(2026, 12, 31), D_(2026, 11, 1), D_(2026, 11, 30)),
        (D_(2026, 3, 1), "monthly/2026-02", D_(2026, 2, 1), D_(2026, 2, 28), D_(2026, 1, 1), D_(2026, 1, 31)),
    ],
)
def test_monthly_window(today, key, start, end, prev_start, prev_end):
    got_key, period, previous, _extra = R.report_windows("monthly", today)
    assert (got_key, period.start, period.end, previous.start, previous.end) == (key, start, end, prev_start, prev_end)


def test_window_bounds_are_whole_utc_days():
    window = R.Window(D_(2026, 11, 29), D_(2026, 11, 29), "x")
    assert R.expand_macros("WHERE $__timeFilter(metric_date) AND $__timeFrom() < $__timeTo()", window) == (
        "WHERE metric_date BETWEEN '2026-11-29T00:00:00Z' AND '2026-11-29T23:59:59.999Z' AND '2026-11-29T00:00:00Z' < '2026-11-29T23:59:59.999Z'"
    )
    assert window.to_ms - window.from_ms == 86400000 - 1
    with pytest.raises(R.ReportError, match="__timeGroup"):
        R.expand_macros("$__timeGroup(t, 1h)", window)


@pytest.mark.parametrize(
    "value, unit, decimals, text",
    [
        (Decimal("93.75"), "percent", 1, "93.8%"),
        (93.749, "percent", 1, "93.7%"),
        (Decimal("1061.4"), "currencyUSD", 0, "$1,061"),
        (Decimal("-12.5"), "currencyUSD", 0, "-$13"),
        (Decimal("19.05"), "h", 1, "19.1 h"),
        (4.5, "none", 2, "4.50"),
        (None, "percent", 1, "No data"),
        (37, "short", 0, "37"),
    ],
)
def test_format_value(value, unit, decimals, text):
    assert R.format_value(value, unit, decimals) == text


@pytest.mark.parametrize(
    "value, comparator, target, status",
    [
        (91, "gt", 90, "green"),
        (90, "gt", 90, "amber"),
        (81, "gt", 90, "amber"),
        (80.9, "gt", 90, "red"),
        (4, "lt", 5, "green"),
        (5.5, "lt", 5, "amber"),
        (5.6, "lt", 5, "red"),
        (-4, "abs_lt", 5, "green"),
        (5.4, "abs_lt", 5, "amber"),
        (None, "gt", 90, "no data"),
    ],
)
def test_rag_status(value, comparator, target, status):
    assert R.rag_status(value, comparator, target) == status


def test_change_text_percentage_points_for_percent():
    assert R.change_text(92, 90.5, "percent") == "+1.5 pp"
    assert R.change_text(110, 100, "currencyUSD") == "+10.0%"
    assert R.change_text(1, 0, "short") == "n/a" and R.change_text(None, 1, "short") == "n/a"


def test_threshold_color_follows_panel_steps():
    panel = {
        "fieldConfig": {
            "defaults": {"thresholds": {"steps": [{"value": None, "color": "green"}, {"value": 80, "color": "orange"}, {"value": 95, "color": "red"}]}}
        }
    }
    assert R.threshold_color(panel, 50) == R.COLORS["green"]
    assert R.threshold_color(panel, 80) == R.COLORS["orange"]
    assert R.threshold_color(panel, 108.7) == R.COLORS["red"]


def test_frame_to_table_and_series():
    frame = {
        "schema": {
            "fields": [
                {"name": "Time", "type": "time"},
                {"name": "value", "type": "number", "labels": {"metric": "anthropic"}, "config": {"displayNameFromDS": "anthropic"}},
                {"name": "value", "type": "number", "labels": {"metric": "openai"}, "config": {"displayNameFromDS": "openai"}},
            ]
        },
        "data": {"values": [[1795910400000, 1795996800000], [1.5, 2.0], [None, 0.5]]},
    }
    table = R.frame_to_table(frame)
    assert table.columns == ["Time", "anthropic", "openai"]
    assert table.rows[0][0] == datetime.datetime(2026, 11, 29, tzinfo=datetime.timezone.utc)
    names = [s[0] for s in R.series_of([table])]
    assert names == ["anthropic", "openai"]
    # the same data in long form from SQL gives the same series
    long_table = R.Table(
        ["time", "metric", "value"],
        ["time", "string", "number"],
        [[D_(2026, 11, 29), "anthropic", Decimal("1.5")], [D_(2026, 11, 30), "anthropic", Decimal("2.0")], [D_(2026, 11, 30), "openai", Decimal("0.5")]],
    )
    series = R.series_of([long_table])
    assert [s[0] for s in series] == ["anthropic", "openai"] and series[0][2] == [1.5, 2.0]


def test_csv_cells():
    assert (
        R.table_csv([R.Table(["a", "b", "c"], ["time", "number", "string"], [[datetime.datetime(2026, 12, 3, tzinfo=datetime.timezone.utc), 2.0, None]])])
        == "a,b,c\n2026-12-03,2,\n"
    )


def test_dashboard_rows_keep_the_six_rows_in_order():
    dashboard = R.load_dashboard(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "files", "grafana-dashboard.json"))
    titles = [t for t, _p in R.dashboard_rows(dashboard)]
    assert titles == [
        "Executive Summary",
        "Case Volume & Resolution",
        "AI Performance",
        "Token Usage & Costs",
        "Efficiency & Savings",
        "Improvement Opportunities",
    ]


# ------------------------------------------------------------------------------------------ ledger + MIME


def test_ledger_records_atomically_with_mode_0600(tmp_path):
    path = str(tmp_path / "ledger.json")
    with D.DeliveryLedger(path) as ledger:
        assert ledger.sent("daily/2026-11-29", "email") == {}
        ledger.record("daily/2026-11-29", "email", "a@example.test", {"message_id": "<x>"})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with D.DeliveryLedger(path) as ledger:
        assert list(ledger.sent("daily/2026-11-29", "email")) == ["a@example.test"]
    assert not os.path.exists(path + ".tmp")


def test_ledger_lock_serialises_runs(tmp_path):
    path = str(tmp_path / "ledger.json")
    order = []
    with D.DeliveryLedger(path):

        def other():
            with D.DeliveryLedger(path):
                order.append("second")

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.3)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_ledger_refuses_garbage(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text("{not json")
    with pytest.raises(D.DeliveryError, match="not valid JSON"):
        D.DeliveryLedger.read(str(path))
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(D.DeliveryError, match="unknown format"):
        D.DeliveryLedger.read(str(path))


def test_email_mime_structure(tmp_path):
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    html = D.email_html("Daily", ["- Resolution Rate: 95.0%"], "http://g/d/x?from=1&to=2")
    msg = D.build_email("s@example.test", ["a@example.test", "b@example.test"], "Daily", "text", html, str(png), [(str(pdf), "application", "pdf")], "<id@x>")
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
    ]
    image = next(p for p in parsed.walk() if p.get_content_type() == "image/png")
    html_part = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    assert 'src="cid:%s"' % image["Content-ID"].strip("<>") in html_part.get_content()
    assert parsed["Message-ID"] == "<id@x>" and parsed["To"] == "a@example.test, b@example.test"


def test_scrub():
    assert D.scrub("token xoxb-1 in https://hooks/x", ["xoxb-1", "https://hooks/x"]) == "token ******** in ********"

"""kpi_report end to end: real PostgreSQL with the collection's SQL and demo data, the read-only role, the Grafana
emulator for /api/ds/query, a real SMTP server (aiosmtpd) and the Slack API emulator.

What is shown: the numbers printed in the PDF (read back with pdftotext) equal the view values of the same window for
every KPI tile and for the monthly executive table; PNG pages are A4 landscape at 100 dpi and not blank; each CSV
equals its table panel's rows; email structure (inline image by cid, PDF attached), Slack's two-step upload, a re-run
sends nothing, a retry after a partial failure sends exactly what is missing, and a wrong SMTP password fails clearly
without the password in any output.
"""

import csv
import datetime
import json
import re
import subprocess
from decimal import Decimal, ROUND_HALF_UP
from pathlib import Path

import pytest

from conftest import PLANTED, REPO
from kpi_grafana_support import READER, load_kpi_database
from slack_emulator.fixture import SlackEmulator
from smtp_sink.fixture import SmtpSink

MODULE = "cx_catalyst.kpi_dashboard.kpi_report"
DASHBOARD = REPO / "files" / "grafana-dashboard.json"
SMTP_USER = "reports@example.test"
SMTP_PASSWORD = "Planted-SMTP-Pw-8e1f2a7c"
SLACK_TOKEN = "xoxb-Planted-Slack-Bot-Token-3c9d"


@pytest.fixture(scope="module")
def kpi_db(pg_server):
    """One demo database for the module (70 days, so the previous two months have data)."""
    name = "kpi_report_%d" % id(pg_server)
    pg_server.execute('DROP DATABASE IF EXISTS "%s"' % name)
    pg_server.execute('CREATE DATABASE "%s"' % name)
    load_kpi_database(pg_server, name, PLANTED["reader_password"], cases_per_day=25, days=70)
    yield name
    pg_server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", params=(name,))
    pg_server.execute('DROP DATABASE IF EXISTS "%s"' % name)


def db_args(pg_server, kpi_db):
    return {
        "login_host": pg_server.host,
        "login_port": pg_server.port,
        "login_db": kpi_db,
        "login_user": READER,
        "login_password": PLANTED["reader_password"],
        "ssl_mode": "disable",
    }


def run_report(ansible, args, check=False, fail=False, diff=False):
    """Run the module once; assert it failed or succeeded as expected; return its result."""
    first = utc_today()
    result = ansible.module(MODULE, args, check=check, diff=diff).results[0]
    assert bool(result.get("failed")) == fail, result.get("msg")
    result["_run_days"] = sorted({first.isoformat(), utc_today().isoformat()})  # the UTC days the run spanned (two across midnight)
    return result


# ------------------------------------------------------------------------------------------ expected values


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def windows_on(kind, today):
    if kind == "daily":
        day = today - datetime.timedelta(days=1)
        return day, day
    if kind == "weekly":
        monday = today - datetime.timedelta(days=today.weekday() + 7)
        return monday, monday + datetime.timedelta(days=6)
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return last.replace(day=1), last


def windows(kind, result):
    """The period a run without O(date) must have reported: that of today in UTC (the default time zone).

    A run may cross midnight, so the period of either UTC day the run spanned is right; any other is not.
    Returns ``(start, end, today)`` of the one that matches.
    """
    got = (result["windows"]["period"]["start"], result["windows"]["period"]["end"])
    for today in map(datetime.date.fromisoformat, result["_run_days"]):
        start, end = windows_on(kind, today)
        if got == (start.isoformat(), end.isoformat()):
            return start, end, today
    raise AssertionError("period %r is not the %s period of any UTC day the run spanned %r" % (got, kind, result["_run_days"]))


def fmt(value, decimals, unit=None):
    if value is None:
        return "No data"
    q = Decimal(1).scaleb(-decimals) if decimals else Decimal(1)
    text = "{:,}".format(Decimal(str(value)).quantize(q, rounding=ROUND_HALF_UP))
    return {"percent": text + "%", "usd": "$" + text, "h": text + " h", "min": text + " min"}.get(unit, text)


def r2(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def view_rows(pg_server, kpi_db, sql, params=None):
    conn = pg_server.connect(kpi_db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            cols = [c.name for c in cur.description]
            return [dict(zip(cols, row)) for row in cur.fetchall()]
    finally:
        conn.close()


def expected_tiles(pg_server, kpi_db, start, end):
    """The four windowed Executive Summary tiles, computed in the test from the views' rows (not the panel SQL)."""
    days = view_rows(pg_server, kpi_db, "SELECT * FROM v_daily_kpi WHERE metric_date BETWEEN %s AND %s", (start, end))
    total = sum(d["total_cases"] for d in days)
    resolved = sum(d["resolved_cases"] for d in days)
    csat_n = sum(d["csat_responses"] for d in days)
    csat_sum = sum(d["csat_score_sum"] for d in days)
    return {
        "Resolution Rate": fmt(r2(Decimal(100) * resolved / total) if total else None, 1, "percent"),
        "CSAT Score": fmt(r2(Decimal(csat_sum) / csat_n) if csat_n else None, 2),
        "Cost Savings": fmt(sum(d["net_savings_usd"] for d in days) if days else None, 0, "usd"),
        "Time Saved (Hours)": fmt(sum(d["time_saved_hours"] for d in days) if days else None, 1, "h"),
    }


def now_tiles(pg_server, kpi_db):
    """The two tiles the views compute from the database's today, not from the report's window."""
    summary = view_rows(pg_server, kpi_db, "SELECT * FROM v_executive_summary")[0]
    budgets = view_rows(
        pg_server,
        kpi_db,
        "SELECT token_utilization_pct FROM v_budget_utilization WHERE budget_type = 'monthly' AND CURRENT_DATE BETWEEN period_start AND period_end",
    )
    return {
        "Cases Today": fmt(summary["cases_today"], 0),
        "Token Budget": fmt(max(b["token_utilization_pct"] for b in budgets) if budgets else None, 1, "percent"),
    }


def assert_now_tile(title, got, before, after):
    """``got`` was rendered between reading ``before`` and ``after``: the same value when no midnight fell in
    between; across midnight, either day's."""
    assert got in {before[title], after[title]}, (title, got, before[title], after[title])


# ------------------------------------------------------------------------------------------ PDF text

WORD_RE = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def pdf_pages_words(pdf):
    """[[(xmin, ymin, xmax, ymax, text)] per page] from pdftotext -bbox (poppler-utils)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        words = []
        for m in WORD_RE.finditer(page):
            text = m.group(5).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            words.append((float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4)), text))
        pages.append(words)
    return pages


def tile_value(words, title):
    """The text printed right below a tile title (same column), as one string."""
    parts = title.split()
    for i in range(len(words) - len(parts) + 1):
        if [w[4] for w in words[i : i + len(parts)]] == parts:
            x0, x1, bottom = words[i][0] - 30, words[i + len(parts) - 1][2] + 30, words[i][3]
            below = sorted((w for w in words if w[1] > bottom and x0 <= (w[0] + w[2]) / 2 <= x1), key=lambda w: (w[1], w[0]))
            assert below, "nothing printed below %r" % title
            line = [w for w in below if abs(w[1] - below[0][1]) < 2]
            return " ".join(w[4] for w in sorted(line))
    raise AssertionError("tile title %r not in the PDF" % title)


def row_text(words, label):
    """Words on the same line as ``label`` (the executive table's row), left to right."""
    parts = label.split()
    for i in range(len(words) - len(parts) + 1):
        if [w[4] for w in words[i : i + len(parts)]] == parts:
            y = words[i][1]
            return " ".join(w[4] for w in sorted((w for w in words if abs(w[1] - y) < 2), key=lambda w: w[0]))
    raise AssertionError("row %r not in the PDF" % label)


def assert_png_pages(pngs):
    from PIL import Image

    assert pngs
    for path in pngs:
        with Image.open(path) as img:
            assert img.size == (1169, 827), (path, img.size)
            rgb = img.convert("RGB")
            pixels = rgb.getdata()
            non_white = sum(1 for p in pixels if p != (255, 255, 255))
            colors = len(rgb.getcolors(maxcolors=1 << 20) or [])
        assert non_white > 0.02 * 1169 * 827, "%s is nearly blank (%d non-white pixels)" % (path, non_white)
        assert colors > 50, "%s has only %d colours" % (path, colors)


# ------------------------------------------------------------------------------------------ tests: rendering


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_pdf_tiles_equal_view_values(ansible, pg_server, kpi_db, tmp_path, kind):
    args = {"report": kind, "output_dir": str(tmp_path / "out"), "dashboard_path": str(DASHBOARD), "database": db_args(pg_server, kpi_db), "deliver": False}
    before = now_tiles(pg_server, kpi_db)
    result = run_report(ansible, args)
    after = now_tiles(pg_server, kpi_db)
    assert result["changed"] is True and result["rendered"] is True
    start, end, today = windows(kind, result)
    pages = pdf_pages_words(result["files"]["pdf"])
    summary_page = next(p for p in pages if any(w[4] == "Summary" for w in p) and any(w[4] == "Today" for w in p))
    for title, value in expected_tiles(pg_server, kpi_db, start, end).items():
        assert tile_value(summary_page, title) == value, title
    for title in before:
        assert_now_tile(title, tile_value(summary_page, title), before, after)
    assert len(result["files"]["pngs"]) == len(pages)
    assert_png_pages(result["files"]["pngs"])
    # the files written are exactly the reported ones, and a re-run (on the same day) reuses them
    again = run_report(ansible, dict(args, date=today.isoformat()))
    assert again["changed"] is False and again["rendered"] is False
    assert again["files"] == result["files"]


def budget_burn(pg_server, kpi_db):
    return dict(
        (b["budget_name"], b["projected_exhaustion_date"])
        for b in view_rows(pg_server, kpi_db, "SELECT budget_name, projected_exhaustion_date FROM v_budget_utilization")
    )


def test_monthly_executive_table_equals_views_and_targets(ansible, pg_server, kpi_db, tmp_path):
    burn_before = budget_burn(pg_server, kpi_db)
    result = run_report(
        ansible, {"report": "monthly", "output_dir": str(tmp_path), "dashboard_path": str(DASHBOARD), "database": db_args(pg_server, kpi_db), "deliver": False}
    )
    burn_after = budget_burn(pg_server, kpi_db)
    start, end, _today = windows("monthly", result)
    days = view_rows(pg_server, kpi_db, "SELECT * FROM v_daily_kpi WHERE metric_date BETWEEN %s AND %s", (start, end))
    total = sum(d["total_cases"] for d in days)
    targets = dict((t["kpi_key"], t) for t in view_rows(pg_server, kpi_db, "SELECT * FROM v_kpi_targets"))
    page = pdf_pages_words(result["files"]["pdf"])[0]

    def pct(part):
        return r2(Decimal(100) * part / total)

    checks = {
        "Case Resolution Rate": ("resolution_rate", fmt(pct(sum(d["resolved_cases"] for d in days)), 1, "percent")),
        "First Contact Resolution": ("first_contact_resolution_rate", fmt(pct(sum(d["first_contact_resolved_cases"] for d in days)), 1, "percent")),
        "Self-Service Rate": ("self_service_rate", fmt(pct(sum(d["self_service_cases"] for d in days)), 1, "percent")),
        "Human Intervention Rate": ("human_intervention_rate", fmt(pct(sum(d["collaborative_cases"] + d["escalated_cases"] for d in days)), 1, "percent")),
        "Average Resolution Time": (
            "avg_resolution_minutes",
            fmt(r2(sum(d["resolution_minutes_sum"] for d in days) / sum(d["resolution_timed_cases"] for d in days)), 1, "min"),
        ),
        "Cost per Case": ("cost_per_case_usd", fmt(r2(sum(d["actual_cost_usd"] for d in days) / total), 2, "usd")),
        "Total Savings": (None, fmt(sum(d["net_savings_usd"] for d in days), 0, "usd")),
    }
    printed = dict((k["title"], k) for k in result["kpis"])
    for label, (target_key, value) in checks.items():
        line = row_text(page, label)
        assert " %s " % value in " %s " % line, (label, value, line)
        status = printed[[t for t in printed if t.startswith(label)][0]]["status"]
        if target_key:
            target = targets[target_key]
            assert ("%s" % fmt(target["target_value"], 0 if target["target_value"] == int(target["target_value"]) else 1)) in line, (label, line)
            v = Decimal(str(printed[[t for t in printed if t.startswith(label)][0]]["value"]))
            meets = v > target["target_value"] if target["comparator"] == "gt" else v < target["target_value"]
            assert (status == "green") == meets, (label, status, v, target)
            assert status.upper() in line.split()
        else:
            assert status == "track"
    # budget burn: every budget with its projected exhaustion date (the view projects from now: across
    # midnight the line may show either day's projection)
    assert sorted(burn_before) == sorted(burn_after)
    for name in burn_before:
        line = row_text(page, name.split()[0])
        assert any(d is None or d.isoformat() in line for d in (burn_before[name], burn_after[name])), (name, line)


def test_grafana_path_same_numbers_and_csv_equals_panels(ansible, grafana_emulator, pg_server, kpi_db, tmp_path):
    emu = grafana_emulator
    status, _body, _h = emu.api(
        "POST",
        "/api/datasources",
        {
            "name": "Support Database",
            "uid": "support-postgres",
            "type": "grafana-postgresql-datasource",
            "access": "proxy",
            "url": "%s:%s" % (pg_server.host, pg_server.port),
            "user": READER,
            "jsonData": {"database": kpi_db, "sslmode": "disable"},
            "secureJsonData": {"password": PLANTED["reader_password"]},
        },
    )
    assert status == 200
    token = emu.create_token("Viewer")
    ansible.add_secret(token)
    token_file = tmp_path / "grafana-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    before = now_tiles(pg_server, kpi_db)
    result = run_report(
        ansible,
        {
            "report": "weekly",
            "output_dir": str(tmp_path / "g"),
            "dashboard_path": str(DASHBOARD),
            "grafana": {"url": emu.url, "token_file": str(token_file), "datasource_uid": "support-postgres"},
            "deliver": False,
        },
    )
    start, end, today = windows("weekly", result)
    # the direct path on the same day (a run after midnight on a Monday would report another week)
    direct = run_report(
        ansible,
        {
            "report": "weekly",
            "date": today.isoformat(),
            "output_dir": str(tmp_path / "d"),
            "dashboard_path": str(DASHBOARD),
            "database": db_args(pg_server, kpi_db),
            "deliver": False,
        },
    )
    after = now_tiles(pg_server, kpi_db)
    assert [k["title"] for k in result["kpis"]] == [k["title"] for k in direct["kpis"]]
    assert [(k["title"], k["text"]) for k in result["kpis"] if k["windowed"]] == [(k["title"], k["text"]) for k in direct["kpis"] if k["windowed"]]
    for k in result["kpis"] + direct["kpis"]:
        if not k["windowed"]:
            assert_now_tile(k["title"], k["text"], before, after)
    assert result["panel_errors"] == []
    assert result["link"] == "%s/d/cx-catalyst-kpi?from=%d&to=%d&timezone=utc" % (
        emu.url,
        int(datetime.datetime(start.year, start.month, start.day, tzinfo=datetime.timezone.utc).timestamp() * 1000),
        int(datetime.datetime(end.year, end.month, end.day, tzinfo=datetime.timezone.utc).timestamp() * 1000) + 86399999,
    )
    assert any(r["path"] == "/api/ds/query" for r in emu.request_log())
    # every table panel's CSV equals the panel's rows for the same window, queried by the test itself
    dashboard = json.loads(DASHBOARD.read_text())
    tables = [p for row in dashboard["panels"] for p in [row] + row.get("panels", []) if p.get("type") == "table"]
    assert len(result["files"]["csvs"]) == len(tables) >= 4
    f, t = "%sT00:00:00Z" % start.isoformat(), "%sT23:59:59.999Z" % end.isoformat()
    for panel in tables:
        slug = re.sub(r"[^a-z0-9]+", "-", panel["title"].lower()).strip("-")
        path = next(p for p in result["files"]["csvs"] if p.endswith("-%s.csv" % slug))
        with open(path) as handle:
            rows = list(csv.reader(handle))
        sql = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda m: "%s BETWEEN '%s' AND '%s'" % (m.group(1), f, t), panel["targets"][0]["rawSql"])
        expected = view_rows(pg_server, kpi_db, sql)
        assert rows[0] == list(expected[0].keys()) if expected else rows[0], panel["title"]
        assert len(rows) - 1 == len(expected), panel["title"]
        for got, want in zip(rows[1:], expected):
            for cell, value in zip(got, want.values()):
                if value is None:
                    assert cell == ""
                elif isinstance(value, (int, float, Decimal)):
                    assert Decimal(cell) == Decimal(str(value)), (panel["title"], cell, value)
                elif isinstance(value, datetime.date):
                    assert cell == value.isoformat()
                else:
                    assert cell == str(value)


def test_check_mode_renders_nothing(ansible, pg_server, kpi_db, tmp_path):
    out = tmp_path / "out"
    result = run_report(
        ansible,
        {
            "report": "daily",
            "output_dir": str(out),
            "dashboard_path": str(DASHBOARD),
            "database": db_args(pg_server, kpi_db),
            "email": {"host": "127.0.0.1", "port": 1, "sender": "r@example.test", "to": ["a@example.test", "b@example.test"]},
        },
        check=True,
        diff=True,
    )
    assert result["changed"] is True and result["would_render"] is True
    assert result["diff"]["before"] == {"pdf": None, "delivered": []}
    assert result["diff"]["after"]["delivered"] == ["email:a@example.test", "email:b@example.test"]
    assert result["would_send"] == {"email": ["a@example.test", "b@example.test"]}
    assert "would render daily/" in result["msg"]
    assert not out.exists()


# ------------------------------------------------------------------------------------------ tests: delivery


@pytest.fixture
def smtp():
    sink = SmtpSink(SMTP_USER, SMTP_PASSWORD)
    try:
        yield sink
    finally:
        sink.stop()


def email_args(sink, to, password_file):
    return {
        "host": "127.0.0.1",
        "port": sink.port,
        "security": sink.mode,
        "username": SMTP_USER,
        "password_file": str(password_file),
        "sender": "kpi-reports@example.test",
        "to": to,
        "ca_path": sink.cert,
    }


def secret_file(tmp_path, name, value):
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_email_structure_and_rerun_sends_nothing(ansible, pg_server, kpi_db, tmp_path, smtp):
    ansible.add_secret(SMTP_PASSWORD)
    pw = secret_file(tmp_path, "smtp-pw", SMTP_PASSWORD)
    to = ["cx-team@example.test", "cto@example.test"]
    args = {
        "report": "daily",
        "date": utc_today().isoformat(),  # one day for both runs, even across midnight
        "output_dir": str(tmp_path / "out"),
        "dashboard_path": str(DASHBOARD),
        "database": db_args(pg_server, kpi_db),
        "email": email_args(smtp, to, pw),
    }
    first = run_report(ansible, args)
    assert first["deliveries"]["email"] == {"sent": to, "already_sent": []}
    mails = smtp.messages()
    assert len(mails) == 1 and sorted(mails[0]["rcpt_tos"]) == sorted(to)
    msg = mails[0]["message"]
    assert msg.get_content_type() == "multipart/mixed"
    alternative, pdf = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain" and "Resolution Rate" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html" and image.get_content_type() == "image/png"
    cid = image["Content-ID"].strip("<>")
    assert 'src="cid:%s"' % cid in html.get_content()
    assert image.get_content().startswith(b"\x89PNG")
    assert image.get_content() == Path(first["files"]["pngs"][0]).read_bytes()
    assert pdf.get_content_type() == "application/pdf" and pdf.get_filename().endswith(".pdf")
    assert pdf.get_content() == Path(first["files"]["pdf"]).read_bytes()
    assert msg["To"] == ", ".join(to)

    again = run_report(ansible, args, diff=True)
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"]
    assert again["diff"]["after"]["delivered"] == sorted("email:%s" % r for r in to)
    assert again["deliveries"]["email"] == {"sent": [], "already_sent": to}
    assert len(smtp.messages()) == 1
    ledger = json.loads((tmp_path / "out" / "delivery-ledger.json").read_text())
    assert sorted(ledger["deliveries"][first["period"]]["email"]) == sorted(to)
    assert oct((tmp_path / "out" / "delivery-ledger.json").stat().st_mode & 0o777) == "0o600"


def test_retry_after_refused_recipient_sends_only_the_missing_one(ansible, pg_server, kpi_db, tmp_path):
    ansible.add_secret(SMTP_PASSWORD)
    pw = secret_file(tmp_path, "smtp-pw", SMTP_PASSWORD)
    to = ["a@example.test", "later@example.test", "b@example.test"]
    out = str(tmp_path / "out")
    day = utc_today().isoformat()  # one day for the failed run and the retry, even across midnight
    refusing = SmtpSink(SMTP_USER, SMTP_PASSWORD, refuse=["later@example.test"])
    try:
        failed = run_report(
            ansible,
            {
                "report": "daily",
                "date": day,
                "output_dir": out,
                "dashboard_path": str(DASHBOARD),
                "database": db_args(pg_server, kpi_db),
                "email": email_args(refusing, to, pw),
            },
            fail=True,
        )
        assert failed["failed"] and "later@example.test" in failed["msg"] and "refused" in failed["msg"]
        first = refusing.messages()
        assert [sorted(m["rcpt_tos"]) for m in first] == [["a@example.test", "b@example.test"]]
    finally:
        refusing.stop()
    fixed = SmtpSink(SMTP_USER, SMTP_PASSWORD)
    try:
        retry = run_report(
            ansible,
            {
                "report": "daily",
                "date": day,
                "output_dir": out,
                "dashboard_path": str(DASHBOARD),
                "database": db_args(pg_server, kpi_db),
                "email": email_args(fixed, to, pw),
            },
        )
        assert retry["deliveries"]["email"] == {"sent": ["later@example.test"], "already_sent": ["a@example.test", "b@example.test"]}
        assert [m["rcpt_tos"] for m in fixed.messages()] == [["later@example.test"]]
        # same message (Message-ID), header lists everyone
        assert fixed.messages()[0]["message"]["Message-ID"] == first[0]["message"]["Message-ID"]
    finally:
        fixed.stop()


def test_implicit_tls(ansible, pg_server, kpi_db, tmp_path):
    ansible.add_secret(SMTP_PASSWORD)
    pw = secret_file(tmp_path, "smtp-pw", SMTP_PASSWORD)
    sink = SmtpSink(SMTP_USER, SMTP_PASSWORD, mode="tls")
    try:
        result = run_report(
            ansible,
            {
                "report": "weekly",
                "output_dir": str(tmp_path / "o"),
                "dashboard_path": str(DASHBOARD),
                "database": db_args(pg_server, kpi_db),
                "email": email_args(sink, ["x@example.test"], pw),
            },
        )
        assert result["deliveries"]["email"]["sent"] == ["x@example.test"]
        assert len(sink.messages()) == 1
    finally:
        sink.stop()


def test_wrong_smtp_password_is_a_clear_error_without_the_password(ansible, pg_server, kpi_db, tmp_path, smtp):
    wrong = "Planted-Wrong-SMTP-Pw-41d7"
    ansible.add_secret(wrong)
    ansible.add_secret(SMTP_PASSWORD)
    args = {
        "report": "daily",
        "output_dir": str(tmp_path / "out"),
        "dashboard_path": str(DASHBOARD),
        "database": db_args(pg_server, kpi_db),
        "email": dict(email_args(smtp, ["a@example.test"], "/x"), password=wrong),
    }
    args["email"].pop("password_file")
    result = run_report(ansible, args, fail=True)
    assert result["failed"]
    assert "authentication failed for user '%s'" % SMTP_USER in result["msg"]
    assert "127.0.0.1:%d" % smtp.port in result["msg"]
    assert wrong not in json.dumps(result)
    assert smtp.messages() == []
    ledger = tmp_path / "out" / "delivery-ledger.json"
    assert not ledger.exists()


# ------------------------------------------------------------------------------------------ tests: Slack


def test_slack_upload_and_webhook_once_and_retry(ansible, pg_server, kpi_db, tmp_path):
    slack = SlackEmulator(SLACK_TOKEN)
    ansible.add_secret(SLACK_TOKEN)
    ansible.add_secret(slack.webhook_url)
    try:
        token_file = secret_file(tmp_path, "slack-token", SLACK_TOKEN)
        hook_file = secret_file(tmp_path, "slack-hook", slack.webhook_url)
        args = {
            "report": "daily",
            "date": utc_today().isoformat(),  # one day for the three runs, even across midnight
            "output_dir": str(tmp_path / "out"),
            "dashboard_path": str(DASHBOARD),
            "database": db_args(pg_server, kpi_db),
            "slack": {"api_url": slack.api_url, "bot_token_file": str(token_file), "webhook_url_file": str(hook_file), "channel_id": "C0REPORTS1"},
        }
        slack.fail("files.completeUploadExternal", count=1, error="internal_error")
        failed = run_report(ansible, args, fail=True)
        assert "files.completeUploadExternal failed: internal_error" in failed["msg"]
        state = slack.state()
        assert len(state["webhook_messages"]) == 1 and state["shares"] == []

        retry = run_report(ansible, args)
        assert retry["deliveries"]["slack"] == {"sent": ["upload:C0REPORTS1"], "already_sent": ["webhook"]}
        state = slack.state()
        assert len(state["webhook_messages"]) == 1
        assert "Resolution Rate" in state["webhook_messages"][0]["text"]
        assert len(state["shares"]) == 1 and state["shares"][0]["channel_id"] == "C0REPORTS1"
        shared = [state["completed"][f] for f in state["shares"][0]["files"]]
        assert [s["filename"] for s in shared] == [Path(retry["files"]["pdf"]).name, Path(retry["files"]["pngs"][0]).name]
        assert shared[0]["size"] == Path(retry["files"]["pdf"]).stat().st_size
        assert bytes.fromhex(shared[1]["head"]).startswith(b"\x89PNG")
        assert "Daily KPI snapshot" in state["shares"][0]["initial_comment"]

        again = run_report(ansible, args)
        assert again["changed"] is False
        assert len(slack.state()["shares"]) == 1 and len(slack.state()["webhook_messages"]) == 1
    finally:
        slack.stop()


def test_slack_bad_token_names_the_cause(ansible, pg_server, kpi_db, tmp_path):
    slack = SlackEmulator(SLACK_TOKEN)
    bad = "xoxb-Planted-Bad-Token-77aa"
    ansible.add_secret(bad)
    try:
        result = run_report(
            ansible,
            {
                "report": "daily",
                "output_dir": str(tmp_path / "o"),
                "dashboard_path": str(DASHBOARD),
                "database": db_args(pg_server, kpi_db),
                "slack": {"api_url": slack.api_url, "bot_token": bad, "channel_id": "C0REPORTS1"},
            },
            fail=True,
        )
        assert "invalid_auth" in result["msg"] and "bot token is not valid" in result["msg"]
    finally:
        slack.stop()


def test_demo_playbook_renders_the_daily_report(ansible, pg_server, kpi_db, tmp_path):
    """playbooks/report.yml, as scripts/demo.sh runs it: the daily report into a directory, and says where."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[kpi_control]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n" % __import__("sys").executable)
    out = tmp_path / "reports"
    res = ansible.playbook(
        REPO / "playbooks" / "report.yml",
        inventory=str(inventory),
        extra_vars={
            "kpi_database_host": pg_server.host,
            "kpi_database_port": pg_server.port,
            "kpi_database_name": kpi_db,
            "kpi_database_reader_password": PLANTED["reader_password"],
            "kpi_database_ssl_mode": "disable",
            "kpi_grafana_url": "http://127.0.0.1:3000",
            "kpi_report_output_dir": str(out),
        },
    )
    pdfs = list(out.glob("kpi-daily-*.pdf"))
    assert len(pdfs) == 1 and "PDF: %s" % pdfs[0] in res.stdout
    assert "http://127.0.0.1:3000/d/cx-catalyst-kpi?from=" in res.stdout

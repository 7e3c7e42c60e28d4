"""The corrected KPI definitions (issue 9, docs/data-model.md "Formulas"), each with the case that broke it.

Every expected value is computed HERE, in Python, from the raw rows this test inserts (CASES, TOKENS, BUDGETS):
never by re-running the view SQL. The session runs in a time zone where the local time is about 08:00, set
before the schema is applied (so the rollups cut days in it too): that makes "a daily budget at 63 % by 08:00"
a real situation whatever the hour the test runs at. Everything happens in one transaction, so CURRENT_DATE
and now() cannot move between insert and check.

The cases that broke the old definitions:
* T-1: five 0.10-confidence drafts approved and five 0.90-confidence drafts rejected. The old accuracy
  |mean confidence - approval rate| read 0.00 ("on target"); the calibration error is 90 points.
* a small deployment: platform cost 600/month against a handful of cases (ROI, cost per case);
* today: resolved, open and pending cases (time saved and savings credit resolved cases only);
* a daily budget at 63 % by ~08:00 (projects exhaustion today), a weekly budget at exactly 80 % of an 80 %
  threshold (no warning: strictly greater), a daily budget above its own 60 % threshold;
* open unrouted cases (not "needing a human"), an unrouted case whose draft a human edited and a
  self-service case whose draft was edited (both needed a human);
* T-3: AI spend and no case (a row in the cost comparison; the running total agrees with MTD / 30 days);
* token rows carrying a case_id (charged to that case's category), one carrying an unknown case_id and
  some carrying none (spread by case share).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from conftest import PLANTED
from kpi_sql import apply_all, ensure_reader_role

D = Decimal
REPO = Path(__file__).resolve().parents[2]
M, H, MM, PLATFORM = D("25.00"), D("40.00"), D(30), D("600.00")  # baselines (platform set by the test)

# id, day offset, local time, category, status, resolution_path, ai_confidence, ai_outcome, handling_minutes
CASES = (
    [(i, 1, "09:00", "billing", "resolved", "self_service", "0.100", "approved", None) for i in range(1, 6)]
    + [(i, 1, "10:00", "shipping", "resolved", "escalated", "0.900", "rejected", "20") for i in range(6, 11)]
    + [
        (11, 0, "01:00", "billing", "resolved", "self_service", "0.800", "approved", None),
        (12, 0, "02:00", "billing", "open", None, None, None, None),  # open, unrouted
        (13, 0, "03:00", "shipping", "open", None, None, None, None),  # open, unrouted
        (14, 0, "04:00", "shipping", "open", None, "0.600", "edited", "10"),  # unrouted, draft edited
        (15, 0, "05:00", "account", "resolved", "self_service", "0.700", "edited", "5"),  # self-service, edited
        (16, 0, "06:00", "account", "pending", "collaborative", None, None, "15"),
        (17, 5, "11:00", "account", "resolved", "collaborative", "0.500", "approved", "30"),
    ]
)
# day offset, local time, case_id, total tokens, cost_usd (explicit, so no price look-up is involved)
TOKENS = [
    (1, "09:05", 1, 50000, "2.00"),  # carried by a billing case
    (1, "10:05", 6, 60000, "3.00"),  # carried by a shipping case
    (1, "12:00", None, 20000, "1.00"),  # no case: spread by case share
    (3, "12:00", None, 40000, "4.00"),  # T-3: AI spend, no case that day
    (0, "01:30", 15, 100000, "0.50"),  # carried by an account case
    (0, "02:30", None, 520000, "1.50"),
    (0, "03:30", 999, 10000, "0.25"),  # unknown case: treated as spend without a case
]
# name, provider, type, limit, first day offset (T - n), last day offset (T + n), alert threshold
BUDGETS = [
    ("Daily All", None, "daily", 1000000, 0, 0, 80),
    ("Daily Tight", None, "daily", 1000000, 0, 0, 60),
    ("Weekly Exact", "anthropic", "weekly", 1000000, 6, 0, 80),
    ("Monthly Low", None, "monthly", 2000000, None, None, 50),  # the calendar month
]
KB = [("Invoices", "billing", True), ("Drafts", "shipping", False)]


def r2(x) -> Decimal:
    return D(x).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def dim(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def platform(day: dt.date) -> Decimal:
    return PLATFORM / dim(day)


def resolved(c):
    return c["status"] in ("resolved", "closed")


def needed_human(c):
    return c["path"] in ("collaborative", "escalated") or c["outcome"] in ("edited", "rejected")


def self_served(c):
    return c["path"] == "self_service" and c["outcome"] not in ("edited", "rejected")


def bucket(conf: Decimal) -> Decimal:
    return D(min(math.floor(conf * 10), 9)) / 10


def ece(cases) -> tuple[Decimal | None, Decimal | None]:
    """(expected calibration error, signed gap) in points over the reviewed cases, by confidence bucket."""
    groups = defaultdict(list)
    for c in cases:
        if c["conf"] is not None and c["outcome"] is not None:
            groups[bucket(c["conf"])].append(c)
    n = sum(len(g) for g in groups.values())
    if not n:
        return None, None
    err = sum(len(g) / D(n) * abs(sum(c["conf"] for c in g) / len(g) - D(sum(c["outcome"] == "approved" for c in g)) / len(g)) for g in groups.values())
    signed = sum(c["conf"] - (c["outcome"] == "approved") for g in groups.values() for c in g) / n
    return r2(100 * err), r2(100 * signed)


@pytest.fixture
def world(pg_server, pg_db):
    """Schema applied in a time zone where it is ~08:00 now; the data set inserted in an open transaction."""
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    conn = pg_server.connect(pg_db)
    utc = dt.datetime.now(dt.timezone.utc)
    offset = 8 - utc.hour
    offset = offset + 24 if offset < -12 else offset - 24 if offset > 14 else offset
    zone = "Etc/GMT%+d" % -offset if offset else "UTC"  # POSIX names: Etc/GMT-2 is UTC+2
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = %s", (zone,))
    conn.commit()
    apply_all(conn)
    cur = conn.cursor()
    cur.execute("SELECT CURRENT_DATE, now()::timestamp")
    today, now_local = cur.fetchone()
    assert now_local.hour in (7, 8, 9), now_local  # the premise of the budget case
    cases = []
    for cid, off, at, cat, status, path, conf, outcome, handling in CASES:
        created = dt.datetime.combine(today - dt.timedelta(days=off), dt.time.fromisoformat(at))
        assert created < now_local
        cases.append(
            {
                "id": cid,
                "day": created.date(),
                "created": created,
                "cat": cat,
                "status": status,
                "path": path,
                "conf": D(conf) if conf else None,
                "outcome": outcome,
                "handling": D(handling) if handling else None,
            }
        )
        cur.execute(
            "INSERT INTO cases (case_id, created_at, resolved_at, status, resolution_path, category, "
            "ai_confidence, ai_outcome, handling_minutes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (cid, created, created + dt.timedelta(minutes=20) if status == "resolved" else None, status, path, cat, conf, outcome, handling),
        )
    tokens = []
    for off, at, case_id, total, cost in TOKENS:
        recorded = dt.datetime.combine(today - dt.timedelta(days=off), dt.time.fromisoformat(at))
        assert recorded < now_local
        tokens.append({"day": recorded.date(), "case_id": case_id, "tokens": total, "cost": D(cost)})
        cur.execute(
            "INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model, input_tokens, "
            "output_tokens, total_tokens, cost_usd) VALUES (%s, 'wf', %s, 'anthropic', 'claude-sonnet-4', "
            "%s, 0, %s, %s)",
            (recorded, case_id, total, total, cost),
        )
    budgets = []
    for name, provider, btype, limit, first, last, threshold in BUDGETS:
        if btype == "monthly":
            start, end = today.replace(day=1), today.replace(day=dim(today))
        else:
            start, end = today - dt.timedelta(days=first), today + dt.timedelta(days=last)
        budgets.append({"name": name, "provider": provider, "type": btype, "limit": limit, "start": start, "end": end, "threshold": threshold})
        cur.execute(
            "INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, period_start, "
            "period_end, alert_threshold_pct) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (name, provider, btype, limit, start, end, threshold),
        )
    cur.executemany("INSERT INTO kb_articles (title, category, is_published) VALUES (%s, %s, %s)", KB)
    cur.execute("UPDATE baseline_config SET config_value = %s WHERE config_key = 'monthly_platform_cost'", (PLATFORM,))
    try:
        yield {"conn": conn, "today": today, "now": now_local, "cases": cases, "tokens": tokens, "budgets": budgets}
    finally:
        conn.rollback()
        conn.close()


def q(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def day_model(w):
    """Per calendar day from the first day with data to today: the parts of the cost figures."""
    cases, tokens, today = w["cases"], w["tokens"], w["today"]
    first = min([c["day"] for c in cases] + [t["day"] for t in tokens])
    out = {}
    day = first
    while day <= today:
        dc = [c for c in cases if c["day"] == day]
        ai = sum((t["cost"] for t in tokens if t["day"] == day), D(0))
        minutes = sum((c["handling"] or 0 for c in dc), D(0))
        human = minutes / 60 * H
        manual = sum(resolved(c) for c in dc) * M
        out[day] = {
            "cases": dc,
            "ai": ai,
            "human": human,
            "minutes": minutes,
            "manual": manual,
            "platform": platform(day),
            "resolved": sum(resolved(c) for c in dc),
            "net": manual - ai - human - platform(day),
        }
        day += dt.timedelta(days=1)
    return out


# ------------------------------------------------------------------------------------------------ calibration


def test_calibration_error_does_not_cancel_opposite_errors(world):
    conn, t = world["conn"], world["today"]
    rows = {r["metric_date"]: r for r in q(conn, "SELECT * FROM v_daily_kpi")}
    y = [c for c in world["cases"] if c["day"] == t - dt.timedelta(days=1)]
    err, signed = ece(y)
    # what the old definition computed: |100 x mean confidence - approval rate|
    reviewed = [c for c in y if c["outcome"]]
    old = abs(100 * sum(c["conf"] for c in reviewed) / len(reviewed) - D(100) * sum(c["outcome"] == "approved" for c in reviewed) / len(reviewed))
    assert old == 0 and err == D("90.00") and signed == D("0.00")
    assert (rows[t - dt.timedelta(days=1)]["ai_confidence_accuracy"], rows[t - dt.timedelta(days=1)]["ai_confidence_bias"]) == (err, signed)
    for day, row in rows.items():
        assert (row["ai_confidence_accuracy"], row["ai_confidence_bias"]) == ece([c for c in world["cases"] if c["day"] == day]), day


def test_calibration_over_a_range_is_exact_not_an_average_of_days(world):
    conn, t = world["conn"], world["today"]
    start = t - dt.timedelta(days=6)
    # the range figure from the additive parts of v_confidence_daily (what the dashboard's stat does)
    (row,) = q(
        conn,
        """
        SELECT round(100 * sum(abs(conf_sum - approved)) / nullif(sum(n), 0), 2) AS ece,
               round(100 * sum(conf_sum - approved) / nullif(sum(n), 0), 2) AS bias
          FROM (SELECT confidence_bucket, sum(reviewed_confidence_sum) AS conf_sum, sum(approved) AS approved,
                       sum(reviewed_cases) AS n
                  FROM v_confidence_daily WHERE metric_date >= %s GROUP BY confidence_bucket) b""",
        (start,),
    )
    expected = ece([c for c in world["cases"] if c["day"] >= start])
    assert (row["ece"], row["bias"]) == expected
    daily = [ece([c for c in world["cases"] if c["day"] == d])[0] for d in {c["day"] for c in world["cases"]}]
    assert expected[0] != r2(sum(daily) / len(daily))  # an average of days would be another number


def test_reliability_panel_matches_buckets(world):
    """The AI Performance reliability panel: approval rate against mean confidence per bucket, with the diagonal."""
    dash = __import__("json").loads((REPO / "files" / "grafana-dashboard.json").read_text())
    panel = next(p for p in dash["panels"] if p["title"] == "Confidence Calibration (Reliability)")
    from grafana_emulator import macros

    start = dt.datetime.combine(world["today"] - dt.timedelta(days=6), dt.time(), dt.timezone.utc)
    sql = macros.interpolate(panel["targets"][0]["rawSql"], start, start + dt.timedelta(days=8), 3600)[0]
    rows = q(world["conn"], sql)
    groups = defaultdict(list)
    for c in world["cases"]:
        if c["conf"] is not None and c["outcome"] and c["day"] >= start.date():
            groups[bucket(c["conf"])].append(c)

    def r1(x):
        return D(x).quantize(D("0.1"), rounding=ROUND_HALF_UP)

    expected = [
        ("%.1f–%.1f" % (b, b + D("0.1")), r1(D(100) * sum(c["outcome"] == "approved" for c in g) / len(g)), r1(100 * sum(c["conf"] for c in g) / len(g)))
        for b, g in sorted(groups.items())
    ]
    assert [(r["Confidence"], r["Approved as is %"], r["Ideal (diagonal) %"]) for r in rows] == expected
    # the 0.9 bucket of T-1 (all rejected) sits far below its diagonal, the 0.1 bucket (all approved) far above
    by_label = {r["Confidence"]: r for r in rows}
    assert by_label["0.9–1.0"]["Approved as is %"] < by_label["0.9–1.0"]["Ideal (diagonal) %"]
    assert by_label["0.1–0.2"]["Approved as is %"] > by_label["0.1–0.2"]["Ideal (diagonal) %"]
    # the Calibration Error stat over the same range equals the ECE of those cases
    stat = next(p for p in dash["panels"] if p["title"] == "Calibration Error")
    sql = macros.interpolate(stat["targets"][0]["rawSql"], start, start + dt.timedelta(days=8), 3600)[0]
    assert q(world["conn"], sql)[0]["Calibration error"] == ece([c for c in world["cases"] if c["day"] >= start.date()])[0]


# ---------------------------------------------------------------------------------------- cost, ROI, savings


def test_roi_cost_and_savings_per_day(world):
    conn = world["conn"]
    rows = {r["metric_date"]: r for r in q(conn, "SELECT * FROM v_daily_kpi")}
    model = day_model(world)
    assert set(rows) == {d for d, m in model.items() if m["cases"]}  # v_daily_kpi: days with cases
    for day, row in rows.items():
        m = model[day]
        actual = m["ai"] + m["human"] + m["platform"]
        n = len(m["cases"])
        assert {
            k: row[k]
            for k in ("manual_cost_usd", "actual_cost_usd", "platform_cost_usd", "cost_per_case_usd", "net_savings_usd", "roi_pct", "time_saved_hours")
        } == {
            "manual_cost_usd": r2(m["manual"]),
            "actual_cost_usd": r2(actual),
            "platform_cost_usd": r2(m["platform"]),
            "cost_per_case_usd": r2(actual / n),
            "net_savings_usd": r2(m["manual"] - actual),
            "roi_pct": r2(100 * (m["manual"] - actual) / (m["ai"] + m["platform"])),
            "time_saved_hours": r2((m["resolved"] * MM - m["minutes"]) / 60),
        }, day
    # small deployment: 600/month of platform against 5 resolved cases on T-5 is a loss, ROI negative
    t5 = rows[world["today"] - dt.timedelta(days=5)]
    assert t5["roi_pct"] < 0 and t5["net_savings_usd"] < 0


def test_unresolved_cases_earn_no_baseline_today(world):
    conn, t = world["conn"], world["today"]
    today = [c for c in world["cases"] if c["day"] == t]
    m = day_model(world)[t]
    (row,) = q(conn, "SELECT * FROM v_executive_summary")
    # 2 of 6 cases resolved: only they are credited 30 minutes and 25.00
    assert sum(resolved(c) for c in today) == 2 and len(today) == 6
    assert row["time_saved_hours_today"] == r2((2 * MM - m["minutes"]) / 60)
    assert row["cost_savings_today_usd"] == r2(m["net"])
    # resolving an open case credits it now
    q(conn, "UPDATE cases SET status = 'resolved', resolved_at = created_at + interval '5 minutes' WHERE case_id = 12 RETURNING 1")
    (after,) = q(conn, "SELECT * FROM v_executive_summary")
    assert after["time_saved_hours_today"] == r2((3 * MM - m["minutes"]) / 60)
    assert after["cost_savings_today_usd"] == r2(m["net"] + M)


def test_day_with_spend_and_no_cases_and_running_total(world):
    conn, t = world["conn"], world["today"]
    model = day_model(world)
    rows = q(conn, "SELECT * FROM v_cost_comparison_daily ORDER BY metric_date")
    assert [r["metric_date"] for r in rows] == sorted(model)  # every calendar day, T-3 included
    running = D(0)
    for r in rows:
        m = model[r["metric_date"]]
        running += m["net"]
        assert (r["manual_cost_usd"], r["ai_assisted_cost_usd"], r["net_savings_usd"], r["cumulative_savings_usd"]) == (
            r2(m["manual"]),
            r2(m["ai"] + m["human"] + m["platform"]),
            r2(m["net"]),
            r2(running),
        )
    t3 = next(r for r in rows if r["metric_date"] == t - dt.timedelta(days=3))
    assert t3["net_savings_usd"] == r2(-D("4.00") - platform(t - dt.timedelta(days=3)))
    (summary,) = q(conn, "SELECT * FROM v_executive_summary")
    month = [d for d in model if d >= t.replace(day=1)]
    last30 = [d for d in model if d >= t - dt.timedelta(days=29)]
    assert summary["cost_savings_mtd_usd"] == r2(sum(model[d]["net"] for d in month))
    savings30 = sum(model[d]["net"] for d in last30)
    invest30 = sum(model[d]["ai"] + model[d]["platform"] for d in last30)
    actual30 = sum(model[d]["ai"] + model[d]["human"] + model[d]["platform"] for d in last30)
    assert summary["roi_30d_pct"] == r2(100 * savings30 / invest30)
    assert summary["cost_per_case_30d_usd"] == r2(actual30 / sum(len(model[d]["cases"]) for d in last30))
    # the running total agrees with the summary: cumulative today - cumulative before the month = MTD
    before = [r["cumulative_savings_usd"] for r in rows if r["metric_date"] < t.replace(day=1)]
    assert abs(rows[-1]["cumulative_savings_usd"] - (before[-1] if before else 0) - summary["cost_savings_mtd_usd"]) <= D("0.01")


def test_per_category_cost_charges_carried_spend(world):
    conn, t = world["conn"], world["today"]
    rows = {(r["metric_date"], r["category"]): r for r in q(conn, "SELECT * FROM v_daily_kpi_by_category")}
    model = day_model(world)
    by_id = {c["id"]: c for c in world["cases"]}
    for day, m in model.items():
        cats = {c["cat"] for c in m["cases"]}
        carried = defaultdict(lambda: D(0))
        for tok in world["tokens"]:
            if tok["day"] == day and tok["case_id"] in by_id:
                carried[by_id[tok["case_id"]]["cat"]] += tok["cost"]
        loose = m["ai"] - sum(carried.values())
        n = len(m["cases"])
        expected = {}
        for cat in cats | set(carried):
            cc = [c for c in m["cases"] if c["cat"] == cat]
            share = D(len(cc)) / n if n else D(0)
            ai = carried[cat] + loose * share
            actual = ai + sum((c["handling"] or 0 for c in cc), D(0)) / 60 * H + m["platform"] * share
            manual = sum(resolved(c) for c in cc) * M
            expected[cat] = (len(cc), r2(ai), r2(actual), r2(manual - actual))
        if not n:
            expected["unassigned"] = (0, r2(loose), r2(loose + m["platform"]), r2(-loose - m["platform"]))
        got = {k[1]: (r["total_cases"], r["ai_cost_usd"], r["actual_cost_usd"], r["net_savings_usd"]) for k, r in rows.items() if k[0] == day}
        assert got == expected, day
    # T-1: billing carries 2.00, shipping 3.00; the 1.00 without a case is shared 5/10 each
    y = t - dt.timedelta(days=1)
    assert (rows[(y, "billing")]["ai_cost_usd"], rows[(y, "shipping")]["ai_cost_usd"]) == (D("2.50"), D("3.50"))
    # a case moved to another category takes its token spend along
    q(conn, "UPDATE cases SET category = 'account' WHERE case_id = 1 RETURNING 1")
    moved = {r["category"]: r["ai_cost_usd"] for r in q(conn, "SELECT * FROM v_daily_kpi_by_category WHERE metric_date = %s", (y,))}
    assert moved == {"billing": D("0.40"), "shipping": D("3.50"), "account": D("2.10")}  # 1.00 x 4/10, 5/10, 1/10


# ------------------------------------------------------------------------------------- human intervention, KB


def test_human_intervention_and_self_service_are_complements(world):
    conn = world["conn"]
    rows = {r["metric_date"]: r for r in q(conn, "SELECT * FROM v_daily_kpi")}
    for day, row in rows.items():
        dc = [c for c in world["cases"] if c["day"] == day]
        human, selfs = sum(map(needed_human, dc)), sum(map(self_served, dc))
        assert (row["human_intervention_cases"], row["self_served_cases"]) == (human, selfs)
        assert row["human_intervention_rate"] == r2(D(100) * human / (human + selfs))
        assert row["self_service_rate"] == r2(D(100) * selfs / (human + selfs))
        assert row["human_intervention_rate"] + row["self_service_rate"] == 100
    today = rows[world["today"]]
    # today: 11 self-served; 14 (unrouted, edited), 15 (self-service path, edited), 16 collaborative needed a
    # human; 12 and 13 (open, unrouted, no AI review) are undecided and in neither
    assert (today["human_intervention_cases"], today["self_served_cases"]) == (3, 1)


def test_kb_gap_counts_cases_needing_a_human(world):
    conn, t = world["conn"], world["today"]
    rows = {r["category"]: r for r in q(conn, "SELECT * FROM v_kb_coverage_gaps")}
    recent = [c for c in world["cases"] if c["day"] >= t - dt.timedelta(days=29)]
    for cat in {c["cat"] for c in recent}:
        cc = [c for c in recent if c["cat"] == cat]
        articles = sum(1 for _title, k, published in KB if k == cat and published)
        human, selfs = sum(map(needed_human, cc)), sum(map(self_served, cc))
        assert (rows[cat]["cases"], rows[cat]["gap_score"], rows[cat]["self_service_rate"]) == (
            len(cc),
            r2(D(human) / (articles + 1)),
            r2(D(100) * selfs / (human + selfs)),
        ), cat
    # billing's open unrouted case 12 does not count: no billing case needed a human
    assert rows["billing"]["gap_score"] == D("0.00")


# -------------------------------------------------------------------------------------------------- budgets


def _expected_budget(w, b):
    used = sum(tok["tokens"] for tok in w["tokens"] if b["start"] <= tok["day"] <= b["end"])
    hours = D((w["now"] - dt.datetime.combine(b["start"], dt.time())).total_seconds()) / 3600
    rate = D(used) / hours
    at = w["now"] + dt.timedelta(hours=float((b["limit"] - used) / rate))
    pct = D(100) * used / b["limit"]
    return {
        "tokens_used": used,
        "token_utilization_pct": r2(pct),
        "projected_exhaustion_date": at.date(),
        "days_remaining": (at.date() - w["today"]).days,
        "exhausts_before_period_end": at.date() <= b["end"],
        "over_alert_threshold": pct > b["threshold"],
        "daily_avg_tokens": int((rate * 24).quantize(D(1), rounding=ROUND_HALF_UP)),
    }


def test_budget_projection_uses_elapsed_hours(world):
    conn, t = world["conn"], world["today"]
    rows = {r["budget_name"]: r for r in q(conn, "SELECT * FROM v_budget_utilization")}
    for b in world["budgets"]:
        exp = _expected_budget(world, b)
        assert {k: rows[b["name"]][k] for k in exp} == exp, b["name"]
    daily = rows["Daily All"]
    # 63 % by ~08:00: at that rate the rest lasts ~5 hours -> runs out today, before the limit is hit
    assert daily["token_utilization_pct"] == D("63.00") and daily["tokens_used"] < 1000000
    assert daily["projected_exhaustion_date"] == t and daily["exhausts_before_period_end"] is True
    # (the old whole-day rate, 630,000/day, projected T + ceil(370,000 / 630,000) = tomorrow: "fine")
    assert t + dt.timedelta(days=math.ceil(370000 / 630000)) > daily["period_end"]


def test_budget_alert_is_strict_and_per_budget(world):
    conn = world["conn"]
    rows = {r["budget_name"]: r for r in q(conn, "SELECT * FROM v_budget_utilization")}
    assert rows["Weekly Exact"]["token_utilization_pct"] == D("80.00")
    assert rows["Weekly Exact"]["over_alert_threshold"] is False  # 80 is not > 80
    assert rows["Daily Tight"]["over_alert_threshold"] is True  # 63 > its own 60
    assert rows["Daily All"]["over_alert_threshold"] is False  # 63 < 80
    expected = {b["name"] for b in world["budgets"] if _expected_budget(world, b)["over_alert_threshold"] and b["start"] <= world["today"] <= b["end"]}
    assert "Daily Tight" in expected
    # the alert rule (files/grafana/alerting/rule-groups.yml) fires for exactly these budgets, every type
    rules = yaml.safe_load((REPO / "files" / "grafana" / "alerting" / "rule-groups.yml").read_text())
    rule = next(r for r in rules["rule_groups"][0]["rules"] if r["title"] == "Budget Warning")
    data = {d["refId"]: d for d in rule["data"]}
    measured = {r["budget_name"]: r["value"] for r in q(conn, data["A"]["model"]["rawSql"])}
    thresholds = {r["budget_name"]: r["value"] for r in q(conn, data["B"]["model"]["rawSql"])}
    assert set(measured) == {b["name"] for b in world["budgets"]}  # daily, weekly and monthly
    assert data["E"]["model"]["expression"] == "$C - $D"
    assert data["F"]["model"]["conditions"][0]["evaluator"] == {"params": [0], "type": "gt"}
    assert {name for name, value in measured.items() if value - thresholds[name] > 0} == expected


def test_carried_spend_counts_each_case_token_pair_once(world):
    """Case before, after or in the same statement as its token rows; category moves; deletes: the per-category
    rollup always equals a rebuild from the base tables."""
    conn = world["conn"]

    def carried():
        return q(conn, "SELECT usage_date, category, requests, cost_usd FROM kpi_daily_category_token_stats ORDER BY 1, 2")

    token = (
        "INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model, input_tokens, "
        "output_tokens, total_tokens, cost_usd) SELECT now() - interval '1 minute', 'wf', {id}, 'anthropic', "
        "'claude-sonnet-4', 10, 0, 10, 0.75 {src}"
    )
    # one statement writes the case and its token row (data-modifying CTE)
    q(
        conn,
        "WITH c AS (INSERT INTO cases (case_id, created_at, status, category) "
        "VALUES (500, now() - interval '2 minutes', 'open', 'returns') RETURNING case_id) " + token.format(id="c.case_id", src="FROM c") + " RETURNING 1",
    )
    # token logged before its case exists, then the case arrives
    q(conn, token.format(id=501, src="") + " RETURNING 1")
    q(conn, "INSERT INTO cases (case_id, created_at, status, category) VALUES (501, now() - interval '3 minutes', 'open', 'returns') RETURNING 1")
    returns = [r for r in carried() if r["category"] == "returns"]
    assert [(r["requests"], r["cost_usd"]) for r in returns] == [(2, D("1.500000"))]
    q(conn, "UPDATE cases SET category = 'billing' WHERE case_id = 500 RETURNING 1")
    q(conn, "DELETE FROM token_usage WHERE case_id = 501 RETURNING 1")
    q(conn, "DELETE FROM cases WHERE case_id = 6 RETURNING 1")
    before = carried()
    assert not [r for r in before if r["category"] == "returns"]
    q(conn, "SELECT kpi_rebuild_rollups()")
    assert carried() == before


def test_migration_0001_backfills_an_existing_history(pg_server, pg_db):
    """An installation of the baseline with history gets the new rollup parts back-filled (in 7-day batches
    over 40 days here), equal to a rebuild from the base tables, and the triggers keep them exact after."""
    from kpi_sql import ORDER, apply_file

    ensure_reader_role(pg_server, PLANTED["reader_password"])
    conn = pg_server.connect(pg_db)
    try:
        baseline = ORDER[: ORDER.index("schema-additions.sql") + 1]
        for name in baseline:
            apply_file(conn, name)
        with conn, conn.cursor() as cur:
            cur.execute("""
                INSERT INTO cases (case_id, created_at, status, resolution_path, category, ai_confidence, ai_outcome,
                                   handling_minutes)
                SELECT g, now() - make_interval(days => g % 40, mins => g), (ARRAY['open', 'resolved'])[1 + g % 2],
                       (ARRAY[NULL, 'self_service', 'collaborative', 'escalated'])[1 + g % 4],
                       (ARRAY['billing', 'shipping', 'account'])[1 + g % 3], (g % 10) / 10.0 + 0.05,
                       (ARRAY[NULL, 'approved', 'edited', 'rejected'])[1 + (g / 4) % 4],
                       CASE WHEN g % 3 = 0 THEN 12 END
                  FROM generate_series(1, 400) g""")
            cur.execute("""
                INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model, input_tokens,
                                         output_tokens, total_tokens, cost_usd)
                SELECT now() - make_interval(days => g % 40), 'wf', CASE WHEN g % 5 <> 0 THEN g END, 'anthropic',
                       'claude-sonnet-4', 100, 10, 110, g / 1000.0
                  FROM generate_series(1, 500) g""")
        for name in ORDER[len(baseline) :]:
            apply_file(conn, name)

        def snapshot():
            with conn, conn.cursor() as cur:
                out = {}
                for table in ("kpi_daily_case_stats", "kpi_daily_confidence_stats", "kpi_daily_category_token_stats"):
                    cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
                    out[table] = cur.fetchall()
                return out

        migrated = snapshot()
        with conn, conn.cursor() as cur:
            cur.execute("SELECT sum(human_needed_cases), sum(self_served_cases) FROM kpi_daily_case_stats")
            human, selfs = cur.fetchone()
            cur.execute(
                "SELECT count(*) FILTER (WHERE resolution_path IN ('collaborative', 'escalated') "
                "OR ai_outcome IN ('edited', 'rejected')), count(*) FILTER (WHERE resolution_path = "
                "'self_service' AND ai_outcome IS DISTINCT FROM 'edited' AND ai_outcome IS DISTINCT FROM "
                "'rejected') FROM cases"
            )
            assert (human, selfs) == cur.fetchone() and human > 0 and selfs > 0
            cur.execute("SELECT sum(cost_usd) FROM kpi_daily_category_token_stats")
            assert cur.fetchone()[0] == sum(D(g) / 1000 for g in range(1, 401) if g % 5)  # cases 1..400 exist
            cur.execute("SELECT kpi_rebuild_rollups()")
        assert snapshot() == migrated
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE cases SET category = 'returns' WHERE case_id % 9 = 0")
            cur.execute("SELECT count(*) FROM v_daily_kpi_by_category WHERE category = 'returns'")
            assert cur.fetchone()[0] > 0
        after = snapshot()
        with conn, conn.cursor() as cur:
            cur.execute("SELECT kpi_rebuild_rollups()")
        assert snapshot() == after
    finally:
        conn.close()

"""Golden test of every KPI view: a small data set with every expected number worked out by hand.

The data set lives in ONE transaction together with the queries, so CURRENT_DATE (T) cannot move between
insert and check even when the test runs across midnight. Days: D0 = T (today), D1 = T-1, D2 = T-2,
D40 = T-40 (outside every 30-day window). Baselines are the seeded defaults: manual cost 25.00/case,
40.00/h support, 30 manual minutes/case, platform 500.00/month (pro rata per calendar day).
Prices: seeded anthropic/claude-sonnet-4 3.00 in / 15.00 out, openai/gpt-4o 2.50 / 10.00 per million.

Cases (category, path, status, minutes to resolve, fcr, confidence, outcome, csat, reason, handling min):
  c1 D0 09:00 billing   self_service  resolved   10  fcr 0.900 approved 5  -                      -
  c2 D0 10:00 billing   collaborative closed     30  -   0.700 edited   4  -                      12
  c3 D0 08:00 shipping  escalated     escalated  -   -   0.400 rejected -  lost_package           30
  c4 D0 11:00 shipping  self_service  resolved    5  fcr 0.950 approved 3  -                      -
  c5 D1 08:00 account   self_service  resolved   20  fcr 1.000 approved 5  -                      -
  c6 D1 12:00 account   escalated     resolved  120  -   0.300 rejected 2  identity_verification  60
  c7 D2 09:00 shipping  escalated     closed     60  -   0.500 approved 4  lost_package           20
  c8 D40 10:00 billing  escalated     escalated  -   -   -     -        -  refund_over_limit      -
Token usage:
  t1 D0 anthropic claude-sonnet-4 workflow-1-intake   1,000,000 in 100,000 out -> 3.00 + 1.50 = 4.50
  t2 D0 openai    gpt-4o          workflow-2-triage     400,000 in  50,000 out -> 1.00 + 0.50 = 1.50
  t3 D1 anthropic claude-sonnet-4 workflow-3-response 2,000,000 in       0 out -> 6.00
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from kpi_sql import apply_all, ensure_reader_role
from conftest import PLANTED

D = Decimal

DATASET = """
INSERT INTO cases (case_id, created_at, resolved_at, status, resolution_path, category, first_contact_resolved,
                   ai_confidence, ai_outcome, csat_score, escalation_reason, handling_minutes, subject)
SELECT v.id, (CURRENT_DATE - v.day) + v.t, (CURRENT_DATE - v.day) + v.t + make_interval(mins => v.res_min),
       v.status, v.path, v.cat, v.fcr, v.conf, v.outcome, v.csat, v.reason, v.handling, 'golden'
  FROM (VALUES
    (1, 0, time '09:00', 10,   'resolved',  'self_service',  'billing',  true,  0.900, 'approved', 5,    NULL,                    NULL),
    (2, 0, time '10:00', 30,   'closed',    'collaborative', 'billing',  false, 0.700, 'edited',   4,    NULL,                    12),
    (3, 0, time '08:00', NULL, 'escalated', 'escalated',     'shipping', false, 0.400, 'rejected', NULL, 'lost_package',          30),
    (4, 0, time '11:00', 5,    'resolved',  'self_service',  'shipping', true,  0.950, 'approved', 3,    NULL,                    NULL),
    (5, 1, time '08:00', 20,   'resolved',  'self_service',  'account',  true,  1.000, 'approved', 5,    NULL,                    NULL),
    (6, 1, time '12:00', 120,  'resolved',  'escalated',     'account',  false, 0.300, 'rejected', 2,    'identity_verification', 60),
    (7, 2, time '09:00', 60,   'closed',    'escalated',     'shipping', false, 0.500, 'approved', 4,    'lost_package',          20),
    (8, 40, time '10:00', NULL, 'escalated', 'escalated',    'billing',  false, NULL,  NULL,       NULL, 'refund_over_limit',     NULL)
  ) AS v(id, day, t, res_min, status, path, cat, fcr, conf, outcome, csat, reason, handling);

INSERT INTO token_usage (usage_id, recorded_at, workflow_name, case_id, provider, model, operation_type,
                         input_tokens, output_tokens, latency_ms)
VALUES (1, CURRENT_DATE + time '09:00', 'workflow-1-intake',   1, 'anthropic', 'claude-sonnet-4', 'intake',   1000000, 100000, 800),
       (2, CURRENT_DATE + time '10:00', 'workflow-2-triage',   2, 'openai',    'gpt-4o',          'triage',    400000,  50000, 1200),
       (3, CURRENT_DATE - 1 + time '12:00', 'workflow-3-response', 6, 'anthropic', 'claude-sonnet-4', 'response', 2000000, 0, NULL);

INSERT INTO kb_articles (title, category, is_published) VALUES
    ('Read your invoice', 'billing', true), ('Refunds', 'billing', true), ('Old price list', 'billing', false),
    ('Track a parcel', 'shipping', true);

INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, cost_limit_usd, period_start, period_end,
                           is_active) VALUES
    ('Anthropic Week', 'anthropic', 'weekly', 8000000, 50.00, CURRENT_DATE - 1, CURRENT_DATE + 5, true),
    ('OpenAI Week',    'openai',    'weekly', 5000000, NULL,  CURRENT_DATE - 1, CURRENT_DATE + 5, true),
    ('All Today',      NULL,        'daily',  1500000, 10.00, CURRENT_DATE,     CURRENT_DATE,     true),
    ('Google Month',   'google',    'monthly', 1000000, NULL, date_trunc('month', CURRENT_DATE)::date,
                                       (date_trunc('month', CURRENT_DATE) + interval '1 month - 1 day')::date, true),
    ('Next Period',    'anthropic', 'weekly', 1000000, NULL,  CURRENT_DATE + 10, CURRENT_DATE + 16, true),
    ('Retired',        'anthropic', 'monthly', 1000,   NULL,  CURRENT_DATE - 1, CURRENT_DATE + 5, false);
"""


def _dim(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


# ROI of a day by days in its month: 100 * net savings / (AI cost + platform), where net savings = manual
# baseline of the RESOLVED cases - (AI + human + platform) and platform = 500.00 / days in that month.
def platform(day: dt.date) -> Decimal:
    return D(500) / _dim(day)


def r2(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture
def kpi(pg_server, pg_db):
    """Schema applied; yields (connection inside an open transaction holding the golden data, T)."""
    ensure_reader_role(pg_server, PLANTED["reader_password"])
    conn = pg_server.connect(pg_db)
    apply_all(conn)
    cur = conn.cursor()
    cur.execute(DATASET)
    cur.execute("SELECT CURRENT_DATE")
    today = cur.fetchone()[0]
    try:
        yield conn, today
    finally:
        conn.rollback()
        conn.close()


def q(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def by(rows, *keys):
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def subset(row, expected):
    return {k: row[k] for k in expected}


def test_daily_kpi_today(kpi):
    conn, t = kpi
    rows = by(q(conn, "SELECT * FROM v_daily_kpi"), "metric_date")
    assert sorted(rows) == [t - dt.timedelta(days=40), t - dt.timedelta(days=2), t - dt.timedelta(days=1), t]
    d0 = rows[t]
    p0 = platform(t)
    expected = {
        "total_cases": 4,
        "resolved_cases": 3,
        "escalated_cases": 1,
        "collaborative_cases": 1,
        "self_service_cases": 2,
        "resolution_rate": D("75.00"),  # 3 of 4 resolved (c1, c2 closed, c4)
        "first_contact_resolution_rate": D("50.00"),  # c1, c4
        "self_service_rate": D("50.00"),  # c1, c4
        "human_intervention_rate": D("50.00"),  # c2 collaborative + c3 escalated
        "escalation_rate": D("25.00"),  # c3
        "avg_resolution_minutes": D("15.00"),  # (10 + 30 + 5) / 3
        "csat_avg": D("4.00"),  # (5 + 4 + 3) / 3
        "ai_approval_rate": D("50.00"),
        "ai_edit_rate": D("25.00"),
        "ai_rejection_rate": D("25.00"),
        "ai_confidence_avg": D("0.738"),  # (0.9 + 0.7 + 0.4 + 0.95) / 4 = 0.7375
        # ECE over buckets: 0.4 |0.40 - 0| + 0.7 |0.70 - 0| + 0.9 |1.85 - 2| = 1.25 over 4 reviewed -> 31.25
        "ai_confidence_accuracy": D("31.25"),
        "ai_confidence_bias": D("23.75"),  # signed: (0.40 + 0.70 - 0.15) / 4 = over-confident
        "time_saved_hours": D("0.80"),  # (3 resolved * 30 - (12 + 30)) / 60
        "manual_cost_usd": D("75.00"),  # 3 resolved * 25 (c3 is still open)
        "ai_cost_usd": D("6.00"),  # t1 4.50 + t2 1.50
        "human_cost_usd": D("28.00"),  # 42 min / 60 * 40
        "platform_cost_usd": r2(p0),
        "actual_cost_usd": r2(34 + p0),  # AI + human + platform
        "cost_per_case_usd": r2((34 + p0) / 4),
        "ai_cost_per_case_usd": D("1.50"),  # 6 / 4
        "net_savings_usd": r2(75 - 34 - p0),
        "roi_pct": r2(100 * (75 - 34 - p0) / (6 + p0)),
        "human_intervention_cases": 2,
        "self_served_cases": 2,
    }
    assert subset(d0, expected) == expected


def test_daily_kpi_past_days(kpi):
    conn, t = kpi
    rows = by(q(conn, "SELECT * FROM v_daily_kpi"), "metric_date")
    d1 = rows[t - dt.timedelta(days=1)]
    p1 = platform(t - dt.timedelta(days=1))
    expected_d1 = {
        "total_cases": 2,
        "resolved_cases": 2,
        "resolution_rate": D("100.00"),
        "first_contact_resolution_rate": D("50.00"),
        "escalation_rate": D("50.00"),
        "avg_resolution_minutes": D("70.00"),  # (20 + 120) / 2
        "csat_avg": D("3.50"),  # (5 + 2) / 2
        "ai_approval_rate": D("50.00"),
        "ai_edit_rate": D("0.00"),
        "ai_rejection_rate": D("50.00"),
        "ai_confidence_avg": D("0.650"),  # (1.000 + 0.300) / 2
        "ai_confidence_accuracy": D("15.00"),  # buckets 0.3 |0.3 - 0| + 0.9 |1.0 - 1| = 0.3 over 2
        "time_saved_hours": D("0.00"),  # (2 * 30 - 60) / 60
        "manual_cost_usd": D("50.00"),
        "ai_cost_usd": D("6.00"),
        "human_cost_usd": D("40.00"),
        "actual_cost_usd": r2(46 + p1),
        "cost_per_case_usd": r2((46 + p1) / 2),
        "ai_cost_per_case_usd": D("3.00"),
        "net_savings_usd": r2(4 - p1),
        "roi_pct": r2(100 * (4 - p1) / (6 + p1)),
    }
    assert subset(d1, expected_d1) == expected_d1
    d2 = rows[t - dt.timedelta(days=2)]
    expected_d2 = {
        "total_cases": 1,
        "resolution_rate": D("100.00"),
        "avg_resolution_minutes": D("60.00"),
        "human_cost_usd": D("13.33"),  # 20 / 60 * 40 = 13.333
        "net_savings_usd": r2(25 - D(20) / 60 * 40 - platform(t - dt.timedelta(days=2))),
        "ai_cost_usd": D("0.00"),
        "ai_confidence_accuracy": D("50.00"),  # |0.5 - 1| over 1
        "ai_confidence_bias": D("-50.00"),  # under-confident
    }
    assert subset(d2, expected_d2) == expected_d2
    d40 = rows[t - dt.timedelta(days=40)]
    expected_d40 = {
        "total_cases": 1,
        "resolved_cases": 0,
        "resolution_rate": D("0.00"),
        "avg_resolution_minutes": None,
        "csat_avg": None,
        "ai_approval_rate": None,
        "ai_confidence_avg": None,
        "ai_confidence_accuracy": None,
        # an unresolved case earns no baseline: nothing saved yet, the platform cost of the day is spent
        "time_saved_hours": D("0.00"),
        "manual_cost_usd": D("0.00"),
        "actual_cost_usd": r2(platform(t - dt.timedelta(days=40))),
        "net_savings_usd": -r2(platform(t - dt.timedelta(days=40))),
        "human_intervention_rate": D("100.00"),
        "self_service_rate": D("0.00"),  # c8 escalated
    }
    assert subset(d40, expected_d40) == expected_d40


def test_daily_kpi_by_category(kpi):
    conn, t = kpi
    rows = by(q(conn, "SELECT * FROM v_daily_kpi_by_category WHERE metric_date = CURRENT_DATE"), "category")
    assert set(rows) == {"billing", "shipping"}
    half_platform = platform(t) / 2  # platform cost shared by case count: 2 of 4 each
    # t1 (case 1) and t2 (case 2) carry billing cases: billing is charged all 6.00 of AI, shipping nothing
    assert subset(
        rows["billing"],
        ["total_cases", "resolved_cases", "self_service_rate", "time_saved_hours", "manual_cost_usd", "ai_cost_usd", "actual_cost_usd", "net_savings_usd"],
    ) == {
        "total_cases": 2,
        "resolved_cases": 2,
        "self_service_rate": D("50.00"),
        "time_saved_hours": D("0.80"),  # (2 * 30 - 12) / 60
        "manual_cost_usd": D("50.00"),
        "ai_cost_usd": D("6.00"),
        "actual_cost_usd": r2(6 + 8 + half_platform),  # AI 6.00 + 12/60*40 = 8.00 + platform share
        "net_savings_usd": r2(50 - 14 - half_platform),
    }
    assert subset(rows["shipping"], ["total_cases", "resolved_cases", "time_saved_hours", "ai_cost_usd", "actual_cost_usd", "net_savings_usd"]) == {
        "total_cases": 2,
        "resolved_cases": 1,
        "time_saved_hours": D("0.00"),  # (1 * 30 - 30) / 60
        "ai_cost_usd": D("0.00"),
        "actual_cost_usd": r2(20 + half_platform),
        "net_savings_usd": r2(25 - 20 - half_platform),
    }


def test_confidence_daily(kpi):
    conn, t = kpi
    rows = q(
        conn,
        "SELECT confidence_bucket, cases, approved, edited, rejected FROM v_confidence_daily "
        "WHERE metric_date >= CURRENT_DATE - 1 ORDER BY metric_date, confidence_bucket",
    )
    assert [tuple(r.values()) for r in rows] == [
        # D1: c6 0.300 rejected; c5 1.000 falls in the top bucket 0.9
        (D("0.3"), 1, 0, 0, 1),
        (D("0.9"), 1, 1, 0, 0),
        # D0: c3 0.400 rejected, c2 0.700 edited, c1 0.900 + c4 0.950 approved
        (D("0.4"), 1, 0, 0, 1),
        (D("0.7"), 1, 0, 1, 0),
        (D("0.9"), 2, 2, 0, 0),
    ]


def test_token_daily(kpi):
    conn, t = kpi
    rows = q(
        conn,
        "SELECT usage_date, provider, model, workflow_name, requests, input_tokens, output_tokens, "
        "total_tokens, cost_usd FROM v_token_daily ORDER BY usage_date, provider",
    )
    y = t - dt.timedelta(days=1)
    assert [tuple(r.values()) for r in rows] == [
        (y, "anthropic", "claude-sonnet-4", "workflow-3-response", 1, 2000000, 0, 2000000, D("6.00")),
        (t, "anthropic", "claude-sonnet-4", "workflow-1-intake", 1, 1000000, 100000, 1100000, D("4.50")),
        (t, "openai", "gpt-4o", "workflow-2-triage", 1, 400000, 50000, 450000, D("1.50")),
    ]


def _projection(now_local: dt.datetime, start: dt.date, used: int, limit: int) -> tuple[dt.date, int]:
    """(projected date, tokens per 24 h) from the rate since period start in elapsed hours."""
    hours = D((now_local - dt.datetime.combine(start, dt.time())).total_seconds()) / 3600
    rate = D(used) / hours
    at = now_local + dt.timedelta(hours=float((limit - used) / rate))
    return at.date(), int((rate * 24).quantize(D(1), rounding=ROUND_HALF_UP))


def test_budget_utilization_and_projected_exhaustion(kpi):
    conn, t = kpi
    rows = by(q(conn, "SELECT * FROM v_budget_utilization"), "budget_name")
    now_local = q(conn, "SELECT now()::timestamp AS n")[0]["n"]
    assert set(rows) == {"Anthropic Week", "OpenAI Week", "All Today", "Google Month", "Next Period"}  # not Retired
    # Anthropic: t1 1.1M + t3 2.0M = 3.1M of 8M since T-1 00:00 (24 h + today's hours); 4.9M left at that rate.
    # Cost 4.50 + 6.00 = 10.50 of 50.00.
    proj, per_day = _projection(now_local, t - dt.timedelta(days=1), 3100000, 8000000)
    assert subset(
        rows["Anthropic Week"],
        [
            "tokens_used",
            "token_utilization_pct",
            "cost_used_usd",
            "cost_utilization_pct",
            "daily_avg_tokens",
            "projected_exhaustion_date",
            "days_remaining",
            "exhausts_before_period_end",
        ],
    ) == {
        "tokens_used": 3100000,
        "token_utilization_pct": D("38.75"),
        "cost_used_usd": D("10.50"),
        "cost_utilization_pct": D("21.00"),
        "daily_avg_tokens": per_day,
        "projected_exhaustion_date": proj,
        "days_remaining": (proj - t).days,
        "exhausts_before_period_end": proj <= t + dt.timedelta(days=5),
    }
    # OpenAI: 450,000 of 5M since T-1 00:00
    proj, per_day = _projection(now_local, t - dt.timedelta(days=1), 450000, 5000000)
    assert proj > t + dt.timedelta(days=5)  # > 10 times the elapsed time left: after the period end
    assert subset(
        rows["OpenAI Week"],
        [
            "tokens_used",
            "token_utilization_pct",
            "cost_utilization_pct",
            "daily_avg_tokens",
            "projected_exhaustion_date",
            "days_remaining",
            "exhausts_before_period_end",
        ],
    ) == {
        "tokens_used": 450000,
        "token_utilization_pct": D("9.00"),
        "cost_utilization_pct": None,
        "daily_avg_tokens": per_day,
        "projected_exhaustion_date": proj,
        "days_remaining": (proj - t).days,
        "exhausts_before_period_end": False,
    }
    # All providers today: 1.1M + 0.45M = 1.55M >= 1.5M -> already used up, on T; cost 6.00 of 10.00
    assert subset(
        rows["All Today"],
        [
            "tokens_used",
            "token_utilization_pct",
            "cost_utilization_pct",
            "projected_exhaustion_date",
            "days_remaining",
            "exhausts_before_period_end",
            "over_alert_threshold",
        ],
    ) == {
        "tokens_used": 1550000,
        "token_utilization_pct": D("103.33"),
        "cost_utilization_pct": D("60.00"),
        "projected_exhaustion_date": t,
        "days_remaining": 0,
        "exhausts_before_period_end": True,
        "over_alert_threshold": True,
    }
    # no usage yet / future period: nothing to project
    for name in ("Google Month", "Next Period"):
        assert subset(
            rows[name], ["tokens_used", "token_utilization_pct", "projected_exhaustion_date", "exhausts_before_period_end", "over_alert_threshold"]
        ) == {
            "tokens_used": 0,
            "token_utilization_pct": D("0.00"),
            "projected_exhaustion_date": None,
            "exhausts_before_period_end": False,
            "over_alert_threshold": False,
        }


def _base_days(t):
    """Per calendar day T-40 .. T: (resolved, AI, human minutes) of the golden data set."""
    days = {t - dt.timedelta(days=i): (0, D(0), D(0)) for i in range(41)}
    days[t] = (3, D("6.00"), D(42))
    days[t - dt.timedelta(days=1)] = (2, D("6.00"), D(60))
    days[t - dt.timedelta(days=2)] = (1, D(0), D(20))
    return days


def _net(day, resolved, ai, minutes):
    return resolved * D(25) - ai - minutes / 60 * 40 - platform(day)


def test_executive_summary(kpi):
    conn, t = kpi
    rows = q(conn, "SELECT * FROM v_executive_summary")
    assert len(rows) == 1
    days = _base_days(t)
    window = [t - dt.timedelta(days=i) for i in range(30)]
    mtd = sum(_net(d, *days[d]) for d in days if d >= t.replace(day=1))
    platform_30 = sum(platform(d) for d in window)
    # 30 days: resolved 6 (c8 is outside) -> baseline 150; AI 12.00; human 122 min -> 81.333; platform per day
    savings_30 = 150 - 12 - D(122) / 60 * 40 - platform_30
    assert rows[0] == {
        "cases_today": 4,
        "resolved_today": 3,
        "resolution_rate_today": D("75.00"),
        "csat_today": D("4.00"),
        "cost_savings_today_usd": r2(_net(t, *days[t])),
        "cost_savings_mtd_usd": r2(mtd),
        # monthly budgets covering today win over others: Google Month has 0 of 1M used
        "token_budget_utilization_pct": D("0.00"),
        "time_saved_hours_today": D("0.80"),  # (3 resolved * 30 - 42) / 60
        "resolution_rate_30d": D("85.71"),  # 6 of 7 (c8 is outside the window)
        "csat_30d": D("3.83"),  # (5+4+3+5+2+4) / 6 = 23 / 6
        "cost_per_case_30d_usd": r2((12 + D(122) / 60 * 40 + platform_30) / 7),
        "roi_30d_pct": r2(100 * savings_30 / (12 + platform_30)),
    }


def test_executive_summary_budget_falls_back_to_non_monthly(kpi):
    conn, t = kpi
    q(conn, "UPDATE token_budgets SET is_active = false WHERE budget_type = 'monthly' RETURNING 1")
    # no monthly budget covers today -> the highest utilisation among the others: All Today 103.33
    assert q(conn, "SELECT token_budget_utilization_pct FROM v_executive_summary") == [{"token_budget_utilization_pct": D("103.33")}]


def test_cost_comparison_daily(kpi):
    conn, t = kpi
    rows = q(conn, "SELECT * FROM v_cost_comparison_daily ORDER BY metric_date")
    days = _base_days(t)
    expected, running = [], D(0)
    for day in sorted(days):  # every calendar day since the first one with data (T-40)
        resolved, ai, minutes = days[day]
        net = _net(day, resolved, ai, minutes)
        running += net
        expected.append((day, r2(resolved * D(25)), r2(ai + minutes / 60 * 40 + platform(day)), r2(net), r2(running)))
    assert [(r["metric_date"], r["manual_cost_usd"], r["ai_assisted_cost_usd"], r["net_savings_usd"], r["cumulative_savings_usd"]) for r in rows] == expected


def test_escalation_views(kpi):
    conn, t = kpi
    daily = q(conn, "SELECT metric_date, escalation_reason, category, escalations FROM v_escalation_reasons_daily ORDER BY metric_date")
    assert [tuple(r.values()) for r in daily] == [
        (t - dt.timedelta(days=40), "refund_over_limit", "billing", 1),
        (t - dt.timedelta(days=2), "lost_package", "shipping", 1),
        (t - dt.timedelta(days=1), "identity_verification", "account", 1),
        (t, "lost_package", "shipping", 1),
    ]
    top = q(conn, "SELECT escalation_reason, escalations, share_pct, top_category, rank FROM v_top_escalation_reasons ORDER BY rank")
    # last 30 days: lost_package 2 (c3, c7), identity_verification 1 (c6); c8 is 40 days old
    assert [tuple(r.values()) for r in top] == [("lost_package", 2, D("66.67"), "shipping", 1), ("identity_verification", 1, D("33.33"), "account", 2)]
    recurring = q(conn, "SELECT * FROM v_recurring_issues")
    # only lost_package/shipping happened on 2 distinct days (T-2 and T)
    assert recurring == [
        {
            "category": "shipping",
            "escalation_reason": "lost_package",
            "occurrences": 2,
            "distinct_days": 2,
            "first_seen": t - dt.timedelta(days=2),
            "last_seen": t,
        }
    ]


def test_kb_coverage_gaps(kpi):
    conn, t = kpi
    rows = q(
        conn,
        "SELECT category, cases, self_service_rate, kb_article_count, gap_score, suggested_article FROM v_kb_coverage_gaps ORDER BY gap_score DESC, category",
    )
    assert [tuple(r.values()) for r in rows] == [
        # account: c5 self-service, c6 not; no article -> (2 - 1) / (0 + 1) = 1.00
        ("account", 2, D("50.00"), 0, D("1.00"), 'Account: how to resolve "identity verification" without an agent'),
        # shipping: c4 self-service of c3, c4, c7; 1 article -> (3 - 1) / (1 + 1) = 1.00
        ("shipping", 3, D("33.33"), 1, D("1.00"), 'Shipping: how to resolve "lost package" without an agent'),
        # billing: c1 of c1, c2; 2 published (1 unpublished ignored) -> 1 / 3 = 0.33; no escalation in 30 days
        ("billing", 2, D("50.00"), 2, D("0.33"), "Billing: self-service guide"),
    ]


def test_low_confidence_categories(kpi):
    conn, t = kpi
    rows = q(conn, "SELECT * FROM v_low_confidence_categories ORDER BY avg_confidence")
    assert [tuple(r.values()) for r in rows] == [
        ("shipping", 3, D("0.617"), D("66.67"), D("33.33")),  # (0.4+0.95+0.5)/3; c4, c7 approved; c3 rejected
        ("account", 2, D("0.650"), D("50.00"), D("50.00")),  # (1.0+0.3)/2
        ("billing", 2, D("0.800"), D("50.00"), D("0.00")),  # (0.9+0.7)/2; c8 (no AI data) is outside 30 days
    ]


def test_kpi_targets(kpi):
    conn, t = kpi
    rows = by(q(conn, "SELECT * FROM v_kpi_targets"), "kpi_key")
    assert len(rows) == 14
    assert (rows["resolution_rate"]["comparator"], rows["resolution_rate"]["target_value"]) == ("gt", 90)
    assert (rows["ai_confidence_accuracy"]["comparator"], rows["ai_confidence_accuracy"]["target_value"]) == ("abs_lt", 5)
    assert (rows["csat_avg"]["comparator"], rows["csat_avg"]["target_value"]) == ("gt", D("4.5"))
    assert (rows["alert_escalation_rate"]["comparator"], rows["alert_escalation_rate"]["target_value"]) == ("gt", 20)


def _rollup_snapshot(conn):
    snap = {}
    for table, key in (
        ("kpi_daily_case_stats", "metric_date, category"),
        ("kpi_daily_confidence_stats", "metric_date, confidence_bucket"),
        ("kpi_daily_escalation_stats", "metric_date, category, escalation_reason"),
        ("kpi_daily_token_stats", "usage_date, provider, model, workflow_name"),
        ("kpi_daily_category_token_stats", "usage_date, category"),
    ):
        with conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {table} ORDER BY {key}")
            snap[table] = cur.fetchall()
    return snap


def assert_rollups_exact(conn):
    """The trigger-maintained rollups equal a full recomputation from the base tables."""
    before = _rollup_snapshot(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT kpi_rebuild_rollups()")
    assert _rollup_snapshot(conn) == before


def test_rollups_follow_updates_and_deletes(kpi):
    conn, t = kpi
    assert_rollups_exact(conn)
    d40 = t - dt.timedelta(days=40)
    # c8 (T-40) is resolved the next day (26 h later) and rated 4: counted on its creation day
    q(conn, "UPDATE cases SET status = 'resolved', resolved_at = created_at + interval '26 hours', csat_score = 4 WHERE case_id = 8 RETURNING 1")
    # c3 gets a CSAT of 1 later
    q(conn, "UPDATE cases SET csat_score = 1 WHERE case_id = 3 RETURNING 1")
    row = by(q(conn, "SELECT * FROM v_daily_kpi"), "metric_date")
    assert subset(row[d40], ["resolved_cases", "resolution_rate", "avg_resolution_minutes", "csat_avg"]) == {
        "resolved_cases": 1,
        "resolution_rate": D("100.00"),
        "avg_resolution_minutes": D("1560.00"),
        "csat_avg": D("4.00"),
    }
    assert row[t]["csat_avg"] == D("3.25")  # (5 + 4 + 1 + 3) / 4
    assert q(conn, "SELECT csat_today FROM v_executive_summary") == [{"csat_today": D("3.25")}]
    assert_rollups_exact(conn)

    # an update of a column the KPIs do not read leaves the rollup rows untouched (no new row version)
    versions = q(conn, "SELECT xmin::text AS v FROM kpi_daily_case_stats ORDER BY metric_date, category")
    q(conn, "UPDATE cases SET subject = 'renamed' RETURNING 1")
    assert q(conn, "SELECT xmin::text AS v FROM kpi_daily_case_stats ORDER BY metric_date, category") == versions

    # delete c2 (billing, collaborative, 0.7 edited): D0 now 3 cases, 2 resolved; bucket 0.7 disappears
    q(conn, "DELETE FROM cases WHERE case_id = 2 RETURNING 1")
    d0 = by(q(conn, "SELECT * FROM v_daily_kpi"), "metric_date")[t]
    assert subset(d0, ["total_cases", "resolved_cases", "resolution_rate", "collaborative_cases", "human_intervention_rate", "manual_cost_usd"]) == {
        "total_cases": 3,
        "resolved_cases": 2,
        "resolution_rate": D("66.67"),
        "collaborative_cases": 0,
        "human_intervention_rate": D("33.33"),
        "manual_cost_usd": D("50.00"),
    }
    assert q(conn, "SELECT count(*) AS n FROM v_confidence_daily WHERE metric_date = CURRENT_DATE AND confidence_bucket = 0.7") == [{"n": 0}]
    assert q(conn, "SELECT count(*) AS n FROM kpi_daily_confidence_stats WHERE cases = 0") == [{"n": 0}]

    # delete the only identity_verification escalation: lost_package is now 100 % of escalations
    q(conn, "DELETE FROM cases WHERE case_id = 6 RETURNING 1")
    assert q(conn, "SELECT escalation_reason, share_pct FROM v_top_escalation_reasons") == [{"escalation_reason": "lost_package", "share_pct": D("100.00")}]

    # moving a case to another day moves its counters
    q(conn, "UPDATE cases SET created_at = created_at - interval '1 day', resolved_at = resolved_at - interval '1 day' WHERE case_id = 1 RETURNING 1")
    totals = {r["metric_date"]: r["total_cases"] for r in q(conn, "SELECT metric_date, total_cases FROM v_daily_kpi")}
    assert totals[t] == 2 and totals[t - dt.timedelta(days=1)] == 2  # D1: c5 + c1 (c6 deleted)
    assert_rollups_exact(conn)

    # token usage: a correction of t1's output is re-priced, a deleted row leaves the rollup
    q(conn, "UPDATE token_usage SET output_tokens = 200000 WHERE usage_id = 1 RETURNING 1")  # 3.00 + 3.00
    q(conn, "DELETE FROM token_usage WHERE usage_id = 2 RETURNING 1")
    assert q(conn, "SELECT provider, total_tokens, cost_usd FROM v_token_daily WHERE usage_date = CURRENT_DATE") == [
        {"provider": "anthropic", "total_tokens": 1200000, "cost_usd": D("6.00")}
    ]
    assert_rollups_exact(conn)

    # TRUNCATE empties the rollups too
    with conn.cursor() as cur:
        cur.execute("TRUNCATE cases, token_usage")
    assert q(conn, "SELECT count(*) AS n FROM v_daily_kpi") == [{"n": 0}]
    assert q(conn, "SELECT count(*) AS n FROM v_token_daily") == [{"n": 0}]

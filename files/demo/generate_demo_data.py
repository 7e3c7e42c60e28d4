#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate realistic, deterministic demo data for the CX-Catalyst KPI dashboard.

Writes ~90 days of support cases up to NOW (weekday and hour-of-day patterns, categories with their own
self-service and AI-confidence profiles, escalation reasons, CSAT, AI review outcomes), the token usage of
each case's AI workflow steps (workflow-1-intake ... workflow-4-escalation, per provider and model),
knowledge-base articles, and token budgets for the current month, so that every KPI view has rows
(including today's executive summary and this month's budget utilisation).

Needs the schema of files/sql (support-core.sql, schema-additions.sql, views.sql) applied first.

As a script::

    PGPASSWORD=... python generate_demo_data.py --dsn "host=db port=5432 dbname=support_system user=kpi"
    python generate_demo_data.py               # connection from PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD

The password is read by libpq from PGPASSWORD (or ~/.pgpass), never from the command line. The script prints
one JSON line: {"changed": bool, "cases": n, "token_rows": n, ...}. When `cases` already holds rows it
changes nothing (changed=false) unless --replace is given, which deletes the existing cases, token usage,
KB articles and the demo budgets first.

As a library::

    from generate_demo_data import generate
    summary = generate(conn, days=90, cases_per_day=300, seed=42)

Only the standard library and psycopg2 are used.
"""

from __future__ import absolute_import, division, print_function

import argparse
import datetime as dt
import json
import math
import random
import sys

__metaclass__ = type

# Category profiles: share of cases, self-service / collaborative probabilities, mean AI confidence,
# escalation reasons (most frequent first).
CATEGORIES = {
    "billing": (0.24, 0.70, 0.20, 0.86, ["refund_over_limit", "disputed_charge", "invoice_correction"]),
    "shipping": (0.20, 0.74, 0.18, 0.88, ["lost_package", "address_change_after_dispatch", "customs_hold"]),
    "account": (0.16, 0.66, 0.22, 0.82, ["identity_verification", "account_locked"]),
    "technical": (0.14, 0.50, 0.32, 0.71, ["bug_report", "integration_error", "data_loss"]),
    "returns": (0.12, 0.68, 0.20, 0.84, ["damaged_item", "outside_return_window"]),
    "product": (0.09, 0.62, 0.26, 0.78, ["warranty_claim", "missing_feature"]),
    "compliance": (0.05, 0.35, 0.35, 0.62, ["legal_request", "gdpr_request", "complaint"]),
}
WEEKDAY_FACTOR = [1.15, 1.10, 1.05, 1.00, 0.95, 0.55, 0.45]  # Monday .. Sunday
# share of a day's cases per hour (local time): quiet night, morning peak, long afternoon
HOUR_WEIGHTS = [0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 3.0, 5.5, 7.5, 8.0, 7.6, 6.8, 7.2, 7.4, 7.0, 6.2, 5.0, 3.8, 3.0, 2.4, 1.8, 1.2, 0.8]
KB_ARTICLES = {
    "billing": ["How to read your invoice", "Update your payment method", "Request a refund", "Understanding proration"],
    "shipping": ["Track your parcel", "Delivery times by region", "Change a delivery address"],
    "account": ["Reset your password", "Enable two-factor authentication"],
    "technical": ["Troubleshooting the mobile app"],
    "returns": ["Start a return", "Return shipping labels"],
    "product": [],
    "compliance": [],
}
# (workflow, provider, model, input token range, output token range, latency range ms)
WORKFLOW_STEPS = [
    ("workflow-1-intake", "anthropic", "claude-haiku-3-5", (600, 1400), (80, 220), (300, 900)),
    ("workflow-2-triage", "anthropic", "claude-sonnet-4", (1500, 3500), (150, 400), (900, 2500)),
    ("workflow-3-response", "anthropic", "claude-sonnet-4", (2500, 6000), (350, 900), (2000, 6000)),
]
RESPONSE_ALT = ("workflow-3-response", "openai", "gpt-4o", (2500, 6000), (350, 900), (1500, 5000))
ESCALATION_STEP = ("workflow-4-escalation", "anthropic", "claude-opus-4", (4000, 9000), (500, 1200), (4000, 12000))
DEMO_BUDGETS = ("Anthropic Monthly", "OpenAI Monthly", "All Providers Daily")
BATCH = 1000


def _server_clock(cur):
    cur.execute("SELECT now(), current_setting('TimeZone')")
    now, tzname = cur.fetchone()
    try:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(tzname)
    except Exception:  # unknown zone name on this host: fall back to the offset of the timestamp
        tz = now.tzinfo
    return now.astimezone(tz), tz


def _beta(rng, mean, strength=12.0):
    mean = min(max(mean, 0.02), 0.98)
    return rng.betavariate(mean * strength, (1 - mean) * strength)


def _pick(rng, weights):
    return rng.choices(range(len(weights)), weights=weights, k=1)[0]


def _make_case(rng, created, now, category):
    share, p_self, p_collab, conf_mean, reasons = CATEGORIES[category]
    r = rng.random()
    path = "self_service" if r < p_self else ("collaborative" if r < p_self + p_collab else "escalated")
    conf_shift = {"self_service": 0.06, "collaborative": -0.08, "escalated": -0.22}[path]
    confidence = round(_beta(rng, conf_mean + conf_shift), 3)
    # humans approve a draft about as often as the AI is confident (slightly over-confident AI)
    approve_p = max(0.0, min(1.0, confidence - 0.03))
    if path == "self_service":
        outcome = "approved" if rng.random() < 0.9 + 0.1 * confidence else "edited"
    else:
        x = rng.random()
        outcome = "approved" if x < approve_p else ("edited" if x < approve_p + (1 - approve_p) * 0.65 else "rejected")
    minutes = {"self_service": rng.uniform(1.5, 12), "collaborative": rng.uniform(8, 55), "escalated": rng.uniform(45, 60 * 30)}[path]
    resolved_at = created + dt.timedelta(minutes=minutes)
    handling = None
    if path == "collaborative":
        handling = round(rng.uniform(4, 16), 2)
    elif path == "escalated":
        handling = round(rng.uniform(18, 95), 2)
    if resolved_at <= now:
        status = "closed" if rng.random() < 0.35 else "resolved"
    else:
        resolved_at = None
        status = {"self_service": "open", "collaborative": "pending", "escalated": "escalated"}[path]
    fcr = resolved_at is not None and ((path == "self_service" and rng.random() < 0.92) or (path == "collaborative" and rng.random() < 0.45))
    csat = None
    if resolved_at is not None and rng.random() < 0.7:
        base = {"self_service": [1, 2, 6, 30, 61], "collaborative": [2, 3, 9, 36, 50], "escalated": [8, 10, 20, 35, 27]}[path]
        csat = 1 + _pick(rng, base)
    reason = None
    if path == "escalated":
        reason = reasons[min(int(rng.expovariate(1.3)), len(reasons) - 1)]
    return {
        "created_at": created,
        "resolved_at": resolved_at,
        "status": status,
        "resolution_path": path,
        "category": category,
        "first_contact_resolved": fcr,
        "ai_confidence": confidence,
        "ai_outcome": outcome,
        "csat_score": csat,
        "escalation_reason": reason,
        "handling_minutes": handling,
    }


def _token_rows(rng, case_id, case, now):
    steps = list(WORKFLOW_STEPS)
    if rng.random() < 0.2:
        steps[2] = RESPONSE_ALT
    if case["resolution_path"] == "escalated":
        steps.append(ESCALATION_STEP)
    t = case["created_at"]
    rows = []
    for workflow, provider, model, (i_lo, i_hi), (o_lo, o_hi), (l_lo, l_hi) in steps:
        latency = rng.randint(l_lo, l_hi)
        t = t + dt.timedelta(milliseconds=latency + rng.randint(200, 4000))
        if t > now:
            break
        success = rng.random() > 0.004
        rows.append(
            (
                t,
                workflow,
                case_id,
                provider,
                model,
                workflow.split("-", 2)[2],
                rng.randint(i_lo, i_hi),
                rng.randint(o_lo, o_hi) if success else 0,
                latency,
                success,
            )
        )
    return rows


def _case_times(rng, day_start, n, now, tz):
    times = []
    for _case in range(n):
        hour = _pick(rng, HOUR_WEIGHTS)
        local = day_start + dt.timedelta(hours=hour, seconds=rng.randint(0, 3599))
        if local <= now:
            times.append(local)
    return sorted(times)


def _set_budgets(cur, now):
    """Budgets for the current month sized from the month's own run rate (one exhausts early, one not)."""
    today = now.date()
    month_start = today.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    month_end = next_month - dt.timedelta(days=1)
    elapsed = (today - month_start).days + 1
    days_in_month = (month_end - month_start).days + 1
    cur.execute(
        """SELECT provider, sum(total_tokens), sum(cost_usd) FROM kpi_daily_token_stats
                    WHERE usage_date BETWEEN %s AND %s GROUP BY provider""",
        (month_start, today),
    )
    used = {p: (int(t or 0), float(c or 0)) for p, t, c in cur.fetchall()}
    cur.execute("SELECT coalesce(sum(total_tokens), 0), coalesce(sum(cost_usd), 0) FROM kpi_daily_token_stats WHERE usage_date = %s", (today,))
    today_tokens, today_cost = cur.fetchone()

    def monthly_limit(provider, factor):
        tokens, cost = used.get(provider, (0, 0.0))
        projected_tokens = max(tokens / elapsed * days_in_month, 1000)
        projected_cost = max(cost / elapsed * days_in_month, 1.0)
        return int(round(projected_tokens * factor, -3)), round(projected_cost * factor, 2)

    a_tokens, a_cost = monthly_limit("anthropic", 1.15)  # lasts past month end
    o_tokens, o_cost = monthly_limit("openai", 0.92)  # projected to run out before month end
    hour_fraction = max((now.hour * 60 + now.minute) / 1440.0, 0.05)
    d_tokens = int(round(max(int(today_tokens) / hour_fraction * 1.3, 1000), -3))
    d_cost = round(max(float(today_cost) / hour_fraction * 1.3, 1.0), 2)
    rows = [
        ("Anthropic Monthly", "anthropic", "monthly", a_tokens, a_cost, month_start, month_end, 80),
        ("OpenAI Monthly", "openai", "monthly", o_tokens, o_cost, month_start, month_end, 80),
        ("All Providers Daily", None, "daily", d_tokens, d_cost, today, today, 90),
    ]
    for row in rows:
        cur.execute(
            """INSERT INTO token_budgets (budget_name, provider, budget_type, token_limit, cost_limit_usd,
                                                  period_start, period_end, alert_threshold_pct)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (budget_name) DO UPDATE SET
                           provider = EXCLUDED.provider, budget_type = EXCLUDED.budget_type,
                           token_limit = EXCLUDED.token_limit, cost_limit_usd = EXCLUDED.cost_limit_usd,
                           period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end,
                           alert_threshold_pct = EXCLUDED.alert_threshold_pct, is_active = true,
                           updated_at = now()""",
            row,
        )
    return len(rows)


def generate(conn, days=90, cases_per_day=300, seed=42, replace=False, now=None):
    """Write the demo data through ``conn`` (psycopg2) in one transaction; return a summary dict.

    ``days`` of history end at the server's NOW (today included, up to the current time); ``cases_per_day``
    is the volume of an average weekday. Same seed, same NOW -> same data. Existing cases make it a no-op
    (``changed: False``) unless ``replace`` is true.
    """
    from psycopg2.extras import execute_values

    if days < 1 or cases_per_day < 1:
        raise ValueError("days and cases_per_day must be at least 1 (got days=%r, cases_per_day=%r)" % (days, cases_per_day))
    rng = random.Random(seed)
    with conn:  # one transaction: all or nothing
        with conn.cursor() as cur:
            server_now, tz = _server_clock(cur)
            now = now.astimezone(tz) if now is not None else server_now
            cur.execute("SELECT EXISTS (SELECT 1 FROM cases)")
            if cur.fetchone()[0]:
                if not replace:
                    return {"changed": False, "msg": "cases already has rows; demo data not generated (use replace to overwrite)"}
                cur.execute("DELETE FROM token_usage")
                cur.execute("DELETE FROM cases")
                cur.execute("DELETE FROM kb_articles")
                cur.execute("DELETE FROM token_budgets WHERE budget_name = ANY(%s)", (list(DEMO_BUDGETS),))

            kb_rows = [(title, cat, now - dt.timedelta(days=200 - i * 7)) for cat, titles in KB_ARTICLES.items() for i, title in enumerate(titles)]
            kb_rows.append(("Legacy shipping rates (archived)", "shipping", now - dt.timedelta(days=400)))
            execute_values(cur, "INSERT INTO kb_articles (title, category, created_at) VALUES %s", kb_rows)
            cur.execute("UPDATE kb_articles SET is_published = false WHERE title LIKE '%%(archived)'")

            names = list(CATEGORIES)
            weights = [CATEGORIES[c][0] for c in names]
            today = now.date()
            n_cases = n_tokens = 0
            pending = []

            def flush(batch):
                ids = execute_values(
                    cur,
                    """INSERT INTO cases (created_at, resolved_at, status, resolution_path, category,
                                               first_contact_resolved, ai_confidence, ai_outcome, csat_score,
                                               escalation_reason, handling_minutes)
                            VALUES %s RETURNING case_id""",
                    [
                        (
                            c["created_at"],
                            c["resolved_at"],
                            c["status"],
                            c["resolution_path"],
                            c["category"],
                            c["first_contact_resolved"],
                            c["ai_confidence"],
                            c["ai_outcome"],
                            c["csat_score"],
                            c["escalation_reason"],
                            c["handling_minutes"],
                        )
                        for c in batch
                    ],
                    page_size=BATCH,
                    fetch=True,
                )
                tokens = []
                for (case_id,), case in zip(ids, batch):
                    tokens.extend(_token_rows(rng, case_id, case, now))
                for i in range(0, len(tokens), BATCH):
                    execute_values(
                        cur,
                        """INSERT INTO token_usage (recorded_at, workflow_name, case_id, provider, model,
                                                         operation_type, input_tokens, output_tokens,
                                                         latency_ms, success) VALUES %s""",
                        tokens[i : i + BATCH],
                        page_size=BATCH,
                    )
                return len(batch), len(tokens)

            for back in range(days - 1, -1, -1):
                day = today - dt.timedelta(days=back)
                day_start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
                growth = 1.0 + 0.15 * (days - back) / days  # adoption grows over the period
                mean = cases_per_day * WEEKDAY_FACTOR[day.weekday()] * growth
                n = max(1, int(round(rng.gauss(mean, math.sqrt(mean)))))
                times = _case_times(rng, day_start, n, now, tz)
                if back == 0 and len(times) < 12:
                    # just after midnight: still give "today" enough cases (>= 10, the escalation alert's
                    # minimum) so the summary and every alert query have data at any time of day
                    span = max(int((now - day_start).total_seconds()), 1)
                    times = sorted(times + [day_start + dt.timedelta(seconds=rng.randint(0, span)) for _extra in range(12 - len(times))])
                for created in times:
                    pending.append(_make_case(rng, created, now, names[_pick(rng, weights)]))
                    if len(pending) >= BATCH:
                        c, t = flush(pending)
                        n_cases, n_tokens, pending = n_cases + c, n_tokens + t, []
            if pending:
                c, t = flush(pending)
                n_cases, n_tokens = n_cases + c, n_tokens + t
            n_budgets = _set_budgets(cur, now)
    return {"changed": True, "cases": n_cases, "token_rows": n_tokens, "kb_articles": len(kb_rows), "budgets": n_budgets, "days": days, "seed": seed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--dsn",
        default="",
        help="libpq connection string without password (default: PG* environment variables); the password comes from PGPASSWORD or ~/.pgpass",
    )
    parser.add_argument("--days", type=int, default=90, help="days of history up to now (default 90)")
    parser.add_argument("--cases-per-day", type=int, default=300, help="cases on an average weekday (default 300)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--replace", action="store_true", help="delete existing cases, token usage, KB articles and demo budgets first")
    args = parser.parse_args(argv)
    if "password" in args.dsn.lower():
        parser.error("--dsn must not contain a password; set PGPASSWORD instead")
    import psycopg2

    try:
        conn = psycopg2.connect(args.dsn)
    except psycopg2.Error as exc:
        print(json.dumps({"changed": False, "failed": True, "msg": "cannot connect to PostgreSQL: %s" % str(exc).strip().splitlines()[0]}))
        return 2
    try:
        summary = generate(conn, days=args.days, cases_per_day=args.cases_per_day, seed=args.seed, replace=args.replace)
    except (psycopg2.Error, ValueError) as exc:
        print(json.dumps({"changed": False, "failed": True, "msg": "demo data generation failed, nothing written: %s" % str(exc).strip()}))
        return 1
    finally:
        conn.close()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

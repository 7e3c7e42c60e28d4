"""Unit tests of kpi_token_budget: periods, validation, rollover, and the exact SQL sent (none in check mode)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_token_budget as tb
from kpi_pg_fake import SECRET, Args, FakeConnection, assert_password_masked, pg_error, run

D = datetime.date


@pytest.mark.parametrize(
    "day, budget_type, expected",
    [
        (D(2026, 3, 18), "daily", (D(2026, 3, 18), D(2026, 3, 18))),
        (D(2026, 3, 18), "weekly", (D(2026, 3, 16), D(2026, 3, 22))),  # Wednesday -> Monday..Sunday
        (D(2026, 3, 16), "weekly", (D(2026, 3, 16), D(2026, 3, 22))),
        (D(2026, 1, 1), "weekly", (D(2025, 12, 29), D(2026, 1, 4))),
        (D(2026, 12, 31), "monthly", (D(2026, 12, 1), D(2026, 12, 31))),
        (D(2028, 2, 10), "monthly", (D(2028, 2, 1), D(2028, 2, 29))),
        (D(2026, 2, 28), "monthly", (D(2026, 2, 1), D(2026, 2, 28))),
    ],
)
def test_period_containing(day, budget_type, expected):
    assert tb.period_containing(day, budget_type) == expected


def params(**kw):
    base = dict(
        name="B",
        state="present",
        provider=None,
        budget_type=None,
        token_limit=None,
        cost_limit_usd=None,
        alert_threshold_pct=None,
        period_start=None,
        period_end=None,
        rollover=False,
        active=None,
    )
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "kw, expected",
    [
        (dict(token_limit=-1), "token_limit must be greater than 0 and at most 9223372036854775807 (column type bigint), got -1"),
        (dict(token_limit=0), "token_limit must be greater than 0 and at most 9223372036854775807 (column type bigint), got 0"),
        (dict(cost_limit_usd=-0.01), "cost_limit_usd must be greater than 0"),
        (dict(alert_threshold_pct=120), "alert_threshold_pct must be above 0 and at most 100"),
        (dict(period_start="2026-02-10", period_end="2026-02-01"), "period_end (2026-02-01) must not be before"),
        (dict(period_start="10/02/2026", period_end="2026-02-11"), "period_start must be a date in the form YYYY-MM-DD"),
        (dict(rollover=True, period_start="2026-02-01", period_end="2026-02-28"), "rollover=true cannot be combined"),
    ],
)
def test_validation_errors(kw, expected):
    with pytest.raises(ValueError) as err:
        tb.validated_options(params(**kw))
    assert expected in str(err.value)


def test_cost_is_quantized_to_column_scale():
    assert tb.validated_options(params(cost_limit_usd=4500.00001))["cost_limit_usd"] == Decimal("4500.0000")


CURRENT = dict(
    budget_name="B",
    provider="anthropic",
    budget_type="monthly",
    token_limit=100,
    cost_limit_usd=Decimal("50.0000"),
    alert_threshold_pct=Decimal("80.00"),
    period_start=D(2026, 1, 1),
    period_end=D(2026, 1, 31),
    is_active=True,
)


def test_desired_new_budget_needs_type_and_gets_current_period():
    with pytest.raises(ValueError, match="budget_type is required to create the budget 'B'"):
        tb.desired_budget(None, {}, params(), D(2026, 3, 5))
    want = tb.desired_budget(None, dict(budget_type="weekly"), params(), D(2026, 3, 5))
    assert (want["period_start"], want["period_end"]) == (D(2026, 3, 2), D(2026, 3, 8))


def test_desired_existing_keeps_period_unless_rollover_or_type_change():
    today = D(2026, 3, 5)
    assert tb.desired_budget(CURRENT, {}, params(), today)["period_start"] == D(2026, 1, 1)
    rolled = tb.desired_budget(CURRENT, {}, params(rollover=True), today)
    assert (rolled["period_start"], rolled["period_end"]) == (D(2026, 3, 1), D(2026, 3, 31))
    daily = tb.desired_budget(CURRENT, dict(budget_type="daily"), params(), today)
    assert (daily["period_start"], daily["period_end"]) == (today, today)


def answers(row):
    return [("FROM token_budgets", [row] if row else []), ("CURRENT_DATE", [dict(today=D(2026, 3, 5))]), ("to_regclass", [dict(present=True)])]


def test_check_mode_update_sends_no_write(monkeypatch):
    conn = FakeConnection(answers(dict(CURRENT, budget_id=7)))
    module = Args(params(token_limit=200), check_mode=True, diff=True)
    result = run(tb, module, conn, monkeypatch)
    assert result["changed"] is True and result["changed_fields"] == ["token_limit"]
    assert conn.writes() == [] and conn.committed == 0
    assert result["queries"] == ["UPDATE token_budgets SET token_limit = 200, updated_at = now() WHERE budget_id = 7"]
    assert result["diff"]["before"]["token_limit"] == 100 and result["diff"]["after"]["token_limit"] == 200


def test_same_values_no_write_no_change(monkeypatch):
    conn = FakeConnection(answers(dict(CURRENT, budget_id=7)))
    module = Args(params(token_limit=100, cost_limit_usd=50.0, budget_type="monthly"))
    result = run(tb, module, conn, monkeypatch)
    assert result["changed"] is False and result["queries"] == []
    assert conn.writes() == []


def test_rollover_writes_exactly_the_period(monkeypatch):
    conn = FakeConnection(answers(dict(CURRENT, budget_id=7)))
    result = run(tb, Args(params(rollover=True), check_mode=True), conn, monkeypatch)
    assert result["queries"] == ["UPDATE token_budgets SET period_start = '2026-03-01', period_end = '2026-03-31', updated_at = now() WHERE budget_id = 7"]


def test_check_mode_before_tables_exist_plans_insert(monkeypatch):
    conn = FakeConnection([("to_regclass", [dict(present=False)]), ("CURRENT_DATE", [dict(today=D(2026, 3, 5))])])
    module = Args(params(budget_type="daily", token_limit=10), check_mode=True)
    result = run(tb, module, conn, monkeypatch)
    assert result["changed"] is True and result["queries"][0].startswith("INSERT INTO token_budgets")
    assert "table token_budgets does not exist yet" in str(result["warnings"])


# ------------------------------------------------------------- argument checking and error mapping (AnsibleModule)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(), "missing required arguments: name"),
        (dict(name="B", budget_type="hourly"), "value of budget_type must be one of: daily, weekly, monthly, got: hourly"),
        (dict(name="B", state="gone"), "value of state must be one of: present, absent, got: gone"),
        (dict(name="B", period_start="2026-01-01"), "parameters are required together: period_start, period_end"),
    ],
)
def test_ansible_argument_checking(monkeypatch, args, message):
    result = run(tb, args, None, monkeypatch)
    assert result["failed"] is True and result["msg"] == message
    assert_password_masked(result)


def test_bad_option_fails_with_the_budget_named_before_connecting(monkeypatch):
    result = run(tb, dict(name="B", budget_type="daily", alert_threshold_pct=120), None, monkeypatch)
    assert result["msg"] == "kpi_token_budget B: alert_threshold_pct must be above 0 and at most 100, got 120.0"
    assert "queries" not in result


def test_sql_error_names_the_action_without_the_password(monkeypatch):
    conn = FakeConnection(answers(None), fail_on="INSERT INTO token_budgets", error=pg_error("password=%s rejected" % SECRET, "42501"))
    result = run(tb, dict(name="B", budget_type="daily", token_limit=10), conn, monkeypatch)
    assert result["failed"] is True
    assert result["msg"] == "could not create budget B: password=******** rejected (SQLSTATE 42501)"
    assert result["queries"][0].startswith("INSERT INTO token_budgets (budget_name, budget_type, token_limit, period_start, period_end)")
    assert conn.committed == 0 and conn.rolled_back == 1 and conn.closed == 1


def test_new_budget_without_type_fails_after_reading(monkeypatch):
    conn = FakeConnection(answers(None))
    result = run(tb, dict(name="B", token_limit=10), conn, monkeypatch)
    assert result["msg"] == "kpi_token_budget B: budget_type is required to create the budget 'B' (daily, weekly or monthly)"
    assert conn.writes() == [] and conn.committed == 0

"""Unit tests of kpi_baseline_config: numeric comparison, exclusive, validation, exact SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_baseline_config as bc
from kpi_pg_fake import SECRET, Args, FakeConnection, assert_password_masked, pg_error, run

ROWS = [
    dict(config_key="hourly_support_cost", config_value=Decimal("40.00"), description=None),
    dict(config_key="manual_cost_per_case", config_value=Decimal("25.00"), description="USD"),
]


def conn():
    return FakeConnection([("to_regclass", [dict(present=True)]), ("FROM baseline_config", ROWS)])


def module(config, check_mode=False, **kw):
    p = dict(config=config, descriptions={}, exclusive=False)
    p.update(kw)
    return Args(p, check_mode=check_mode, diff=True)


def test_numeric_equal_values_are_no_change(monkeypatch):
    c = conn()
    result = run(bc, module({"manual_cost_per_case": 25, "hourly_support_cost": "40.000"}), c, monkeypatch)
    assert result["changed"] is False and result["changed_keys"] == [] and c.writes() == []


def test_update_and_insert_exact_sql_in_check_mode(monkeypatch):
    c = conn()
    result = run(bc, module({"manual_cost_per_case": 25.5, "monthly_platform_cost": 500}, check_mode=True), c, monkeypatch)
    assert result["changed"] is True and result["changed_keys"] == ["manual_cost_per_case", "monthly_platform_cost"]
    assert c.writes() == []
    assert result["queries"][0] == (
        "UPDATE baseline_config SET config_value = 25.5, description = COALESCE(NULL, "
        "description), updated_at = now() WHERE config_key = 'manual_cost_per_case'"
    )
    assert result["queries"][1].startswith("INSERT INTO baseline_config (config_key, config_value, description) VALUES ('monthly_platform_cost', 500, NULL)")
    assert result["config"] == {"hourly_support_cost": 40, "manual_cost_per_case": 25.5, "monthly_platform_cost": 500}


def test_exclusive_deletes_unlisted(monkeypatch):
    c = conn()
    result = run(bc, module({"manual_cost_per_case": 25}, check_mode=True, exclusive=True), c, monkeypatch)
    assert result["removed_keys"] == ["hourly_support_cost"]
    assert result["queries"] == ["DELETE FROM baseline_config WHERE config_key = ANY(ARRAY['hourly_support_cost'])"]


def test_description_change_is_a_change(monkeypatch):
    c = conn()
    result = run(bc, module({"manual_cost_per_case": 25}, check_mode=True, descriptions={"manual_cost_per_case": "USD per manual case"}), c, monkeypatch)
    assert result["changed"] is True and result["changed_keys"] == ["manual_cost_per_case"]


@pytest.mark.parametrize(
    "config, descriptions, expected",
    [
        ({"manual_cost_per_case": "lots"}, {}, "config.manual_cost_per_case must be a number, got 'lots'"),
        ({"x": None}, {}, "config.x must be a number"),
        ({"x": 1}, {"y": "d"}, "descriptions.y has no value in config"),
    ],
)
def test_validation_before_connecting(monkeypatch, config, descriptions, expected):
    c = conn()
    result = run(bc, module(config, descriptions=descriptions), c, monkeypatch)
    assert result["failed"] and expected in result["msg"]
    assert c.executed == []


# ------------------------------------------------------------- argument checking and error mapping (AnsibleModule)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(), "missing required arguments: config"),
        (dict(config={"x": 1}, exclusive="sometimes"), "argument 'exclusive' is of type"),
        (dict(config={"x": 1}, ssl_mode="on"), "value of ssl_mode must be one of: disable, allow, prefer, require, verify-ca, verify-full, got: on"),
    ],
)
def test_ansible_argument_checking(monkeypatch, args, message):
    result = run(bc, args, None, monkeypatch)
    assert result["failed"] is True and result["msg"].startswith(message)
    assert_password_masked(result)


def test_connect_timeout_below_one_fails_before_connecting(monkeypatch):
    result = run(bc, dict(config={"x": 1}, connect_timeout=0), None, monkeypatch)
    assert result["msg"] == "connect_timeout must be at least 1 second, got 0"


def test_sql_error_names_the_table_without_the_password(monkeypatch):
    c = conn()
    c.fail_on, c.error = "DELETE FROM baseline_config", pg_error("permission denied for table baseline_config (%s)" % SECRET, "42501")
    result = run(bc, module({"manual_cost_per_case": 25}, exclusive=True), c, monkeypatch)
    assert result["msg"] == "could not write baseline_config: permission denied for table baseline_config (********) (SQLSTATE 42501)"
    assert result["queries"] == ["DELETE FROM baseline_config WHERE config_key = ANY(ARRAY['hourly_support_cost'])"]
    assert c.committed == 0 and c.rolled_back == 1 and c.closed == 1

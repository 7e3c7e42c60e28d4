"""Unit tests of kpi_baseline_config: numeric comparison, exclusive, validation, exact SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_baseline_config as bc
from kpi_pg_fake import FakeConnection, Args, run

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

"""Unit tests of kpi_api_pricing: validation and the exact SQL of a price change (history kept)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_api_pricing as ap
from kpi_pg_fake import SECRET, Args, FakeConnection, assert_password_masked, pg_error, run

UTC = datetime.timezone.utc


def params(**kw):
    base = dict(provider="anthropic", model="claude-sonnet-4", input_price_per_million=3.0, output_price_per_million=15.0, effective_from=None, state="present")
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "kw, expected",
    [
        (dict(input_price_per_million=-1.0), "input_price_per_million must be >= 0, got -1.0"),
        (dict(output_price_per_million=None), "output_price_per_million is required with state=present"),
    ],
)
def test_validation(kw, expected):
    with pytest.raises(ValueError, match=expected):
        ap.validated_prices(params(**kw))


def test_prices_quantized_to_six_decimals():
    assert ap.validated_prices(params(input_price_per_million="2.5000001")) == {
        "input_price_per_million": Decimal("2.500000"),
        "output_price_per_million": Decimal("15.000000"),
    }


def current_row(**kw):
    row = dict(
        pricing_id=3,
        provider="anthropic",
        model="claude-sonnet-4",
        input_price_per_million=Decimal("3.000000"),
        output_price_per_million=Decimal("15.000000"),
        effective_from=datetime.datetime(2025, 6, 1, tzinfo=UTC),
    )
    row.update(kw)
    return row


def conn_for(current, effective=datetime.datetime(2026, 2, 1, tzinfo=UTC), same_day=None):
    return FakeConnection(
        [
            ("to_regclass", [dict(present=True)]),
            ("AND is_current", [current] if current else []),
            ("AS ts", [dict(ts=effective)]),
            ("AND effective_from =", [same_day] if same_day else []),
        ]
    )


def test_same_price_is_no_change(monkeypatch):
    conn = conn_for(current_row())
    result = run(ap, Args(params(input_price_per_million=3, effective_from="2026-02-01")), conn, monkeypatch)
    assert result["changed"] is False and result["action"] == "none" and conn.writes() == []


def test_price_change_keeps_history_check_mode(monkeypatch):
    conn = conn_for(current_row())
    module = Args(params(input_price_per_million=2.5, output_price_per_million=12.5, effective_from="2026-02-01"), check_mode=True, diff=True)
    result = run(ap, module, conn, monkeypatch)
    assert result["changed"] is True and result["action"] == "superseded"
    assert conn.writes() == []
    assert result["queries"] == [
        "UPDATE api_pricing SET is_current = false WHERE pricing_id = 3",
        "INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, "
        "effective_from, is_current) VALUES ('anthropic', 'claude-sonnet-4', 2.500000, 12.500000, "
        "'2026-02-01 00:00:00+00:00', true)",
    ]
    assert result["diff"]["before"]["input_price_per_million"] == 3
    assert result["diff"]["after"]["input_price_per_million"] == 2.5


def test_same_day_change_corrects_in_place(monkeypatch):
    day = datetime.datetime(2026, 2, 1, tzinfo=UTC)
    conn = conn_for(current_row(effective_from=day), effective=day, same_day=dict(pricing_id=3))
    result = run(ap, Args(params(input_price_per_million=2.0), check_mode=True), conn, monkeypatch)
    assert result["action"] == "corrected"
    assert result["queries"] == [
        "UPDATE api_pricing SET input_price_per_million = 2.000000, output_price_per_million = 15.000000, is_current = true WHERE pricing_id = 3"
    ]


def test_effective_before_current_is_refused(monkeypatch):
    conn = conn_for(current_row(), effective=datetime.datetime(2025, 1, 1, tzinfo=UTC))
    result = run(ap, Args(params(input_price_per_million=1.0, effective_from="2025-01-01")), conn, monkeypatch)
    assert result["failed"] and "effective_from 2025-01-01 is before the current price's effective_from 2025-06-01" in result["msg"]
    assert conn.writes() == [] and conn.committed == 0


def test_absent_retires_current(monkeypatch):
    conn = conn_for(current_row())
    result = run(ap, Args(params(state="absent", input_price_per_million=None, output_price_per_million=None), check_mode=True), conn, monkeypatch)
    assert result["action"] == "retired" and result["pricing"] == {}
    assert result["queries"] == ["UPDATE api_pricing SET is_current = false WHERE pricing_id = 3"]


# ------------------------------------------------------------- argument checking and error mapping (AnsibleModule)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(model="m"), "missing required arguments: provider"),
        (dict(provider="p"), "missing required arguments: model"),
        (dict(provider="p", model="m", state="retired"), "value of state must be one of: present, absent, got: retired"),
    ],
)
def test_ansible_argument_checking(monkeypatch, args, message):
    result = run(ap, args, None, monkeypatch)
    assert result["failed"] is True and result["msg"] == message
    assert_password_masked(result)


def test_missing_price_fails_before_connecting(monkeypatch):
    result = run(ap, dict(provider="anthropic", model="m", input_price_per_million=1), None, monkeypatch)
    assert result["msg"] == "kpi_api_pricing anthropic/m: output_price_per_million is required with state=present"


def test_sql_error_names_the_price_without_the_password(monkeypatch):
    conn = conn_for(current_row())
    conn.fail_on, conn.error = "INSERT INTO api_pricing", pg_error("could not extend file; password=%s" % SECRET)
    result = run(ap, Args(params(input_price_per_million=2.5, effective_from="2026-02-01")), conn, monkeypatch)
    assert result["msg"] == "could not set the price of anthropic/claude-sonnet-4: could not extend file; password=********"
    assert result["queries"] == [
        "UPDATE api_pricing SET is_current = false WHERE pricing_id = 3",
        "INSERT INTO api_pricing (provider, model, input_price_per_million, output_price_per_million, "
        "effective_from, is_current) VALUES ('anthropic', 'claude-sonnet-4', 2.500000, 15.000000, "
        "'2026-02-01 00:00:00+00:00', true)",
    ]
    assert conn.committed == 0 and conn.rolled_back == 1 and conn.closed == 1

"""Numbers too long or too large for their column: the message names the option and the allowed range.

Issue 8 defect 8: more than 28 significant digits used to end in a bare ``decimal.InvalidOperation``
(Python's default decimal context) from the quantize step.
"""

from __future__ import annotations

import decimal

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._kpi_postgres import to_decimal
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_api_pricing as ap
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_token_budget as tb

LONG = "1" * 30  # 30 significant digits
LONG_FRACTION = "0." + "1" * 40  # 40 significant digits after the point


def budget(**kw):
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


def pricing(**kw):
    base = dict(provider="anthropic", model="m", state="present", input_price_per_million=1, output_price_per_million=1, effective_from=None)
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "call, option, allowed",
    [
        (lambda: tb.validated_options(budget(cost_limit_usd=LONG)), "cost_limit_usd", "below 10000000000"),
        (lambda: tb.validated_options(budget(alert_threshold_pct=LONG)), "alert_threshold_pct", "below 1000"),
        (lambda: ap.validated_prices(pricing(input_price_per_million=LONG)), "input_price_per_million", "below 1000000"),
        (lambda: ap.validated_prices(pricing(output_price_per_million="1e40")), "output_price_per_million", "below 1000000"),
        (lambda: tb.validated_options(budget(token_limit=2**70)), "token_limit", "at most 9223372036854775807"),
    ],
)
def test_out_of_range_names_option_and_range(call, option, allowed):
    with pytest.raises(ValueError) as err:
        call()
    msg = str(err.value)
    assert not isinstance(err.value, decimal.InvalidOperation)
    assert msg.startswith(option) and allowed in msg, msg


def test_long_fraction_is_rounded_not_refused():
    """Digits beyond the column's scale are rounded (as PostgreSQL does), even 40 of them."""
    assert tb.validated_options(budget(cost_limit_usd=LONG_FRACTION))["cost_limit_usd"] == decimal.Decimal("0.1111")
    assert ap.validated_prices(pricing(input_price_per_million="12." + "9" * 40))["input_price_per_million"] == decimal.Decimal("13.000000")


def test_a_value_the_context_cannot_quantize_is_a_named_error():
    with pytest.raises(ValueError) as err:
        to_decimal("9" * 40, "some_option", quantum=decimal.Decimal("0.01"))
    assert "some_option has too many digits: at most 28 significant digits" in str(err.value)


def test_largest_allowed_values_pass():
    assert tb.validated_options(budget(cost_limit_usd="9999999999.9999"))["cost_limit_usd"] == decimal.Decimal("9999999999.9999")
    assert ap.validated_prices(pricing(input_price_per_million="999999.999999"))["input_price_per_million"] == decimal.Decimal("999999.999999")

"""Unit tests of kpi_maintenance: option validation and the state check mode plans from the listed actions."""

from __future__ import annotations

import pytest

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import kpi_maintenance as km


def params(**kw):
    p = dict(keep_months=0, months_ahead=3, retention_action="archive", archive_schema="kpi_archive", budget_rollover=True)
    p.update(kw)
    return p


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(keep_months=-1), "keep_months must be >= 0"),
        (dict(months_ahead=25), "months_ahead must be between 0 and 24"),
        (dict(months_ahead=-1), "months_ahead must be between 0 and 24"),
        (dict(archive_schema="Archive"), "archive_schema 'Archive' is not a lower-case SQL identifier"),
        (dict(archive_schema="a;drop"), "is not a lower-case SQL identifier"),
    ],
)
def test_validate_rejects_bad_options(override, message):
    with pytest.raises(ValueError, match=message):
        km.validate(params(**override))


def test_validate_accepts_defaults_and_limits():
    km.validate(params())
    km.validate(params(keep_months=120, months_ahead=24, archive_schema="old_tokens"))


def test_planned_state_applies_each_action():
    before = dict(
        partitions=["token_usage_p202607", "token_usage_p202611", "token_usage_default"],
        budgets={"Monthly": "2026-10-01..2026-10-31", "Daily": "2026-11-30..2026-11-30"},
    )
    actions = [
        dict(action="create partition", object="token_usage_p202612", detail="recorded_at from ..."),
        dict(action="create partition", object="token_usage_p202606", detail="..., moving 3 rows out of ..."),
        dict(action="archive partition", object="token_usage_p202607", detail="..., 10 rows, moved to schema a"),
        dict(action="drop partition", object="token_usage_p202606", detail="..., 3 rows"),
        dict(action="roll over budget", object="Monthly", detail="monthly: 2026-10-01..2026-10-31 -> 2026-11-01..2026-11-30"),
    ]
    after = km.planned_state(before, actions)
    assert after == dict(
        partitions=["token_usage_p202611", "token_usage_p202612", "token_usage_default"],
        budgets={"Monthly": "2026-11-01..2026-11-30", "Daily": "2026-11-30..2026-11-30"},
    )
    assert before["partitions"][0] == "token_usage_p202607"  # input untouched

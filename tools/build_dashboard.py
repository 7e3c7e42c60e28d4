# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build ``files/grafana-dashboard.json`` (the CX-Catalyst KPI dashboard) from code.

The dashboard is written with Grafana's own builder library, ``grafana_foundation_sdk``: it knows
every panel type's option and field-config schema, lays panels out on the 24-column grid and emits
the JSON model Grafana stores. Two things it does not model, so this script adds them after the
build: the import-time ``__inputs``/``__requires`` sections (the datasource is an import input,
``${DS_SUPPORT_DB}``) and a PostgreSQL query type (the SDK ships no SQL datasource query; the small
``SqlTarget`` in ``tools/dashboard_query.py`` implements its ``Dataquery`` variant).

Every query reads the views of the database layer (docs/kpi-contract.md) and uses Grafana's
PostgreSQL macros, so the time picker drives the panels. Thresholds are the spec's targets (the
``kpi_targets`` rows); ``tests/unit/test_build_dashboard.py`` checks they agree with the contract.

The user's own panels and overrides live beside the output in ``files/grafana-dashboard.custom.yml`` and are
applied last (``tools/dashboard_custom.py``; workflow in docs/customizing.md). The spec's alert rules are built
in ``tools/build_alert_rules.py``; this script writes them too (``files/grafana/alerting/rule-groups.yml``).

Usage::

    .venv/bin/python tools/build_dashboard.py            # rewrite files/grafana-dashboard.json
    .venv/bin/python tools/build_dashboard.py --check    # exit 1 if the committed file is stale
    .venv/bin/python tools/build_dashboard.py --stdout   # print the JSON
    .venv/bin/python tools/build_dashboard.py --adopt EXPORTED.json
        # write the custom file from a dashboard exported from Grafana (grafana_dashboard_export), then rebuild
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import barchart, dashboard, gauge, piechart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    VariableOption,
)

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "files" / "grafana-dashboard.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard_custom  # noqa: E402  (tools/dashboard_custom.py: the user's panels and overrides)
from build_alert_rules import RULES_OUTPUT, render_rules  # noqa: E402  (tools/build_alert_rules.py: the alert rules)
from dashboard_query import DASHBOARD_UID, DATASOURCE, DS_INPUT, DS_TYPE, SqlTarget  # noqa: E402

DASHBOARD_TITLE = "CX-Catalyst KPI Dashboard"
DASHBOARD_TAGS = ["cx-catalyst", "kpi", "support", "ai"]
MIN_GRAFANA = "9.0.0"

# The spec's targets (also rows of kpi_targets, see docs/kpi-contract.md). Thresholds live in the
# JSON because a panel cannot read them from a query without a transformation most Grafana
# versions lack; the unit test keeps the two in step.
TARGETS = {
    "resolution_rate": 90,  # > 90 %
    "alert_resolution_rate": 70,  # alert below 70 %
    "csat_avg": 4.5,  # > 4.5
    "token_utilization_pct": 95,  # < 95 %
    "alert_budget_utilization_pct": 80,
    "cost_per_case_usd": 5,
    "ai_confidence_accuracy": 5,  # calibration error < 5 points
    "ai_cost_per_case_usd": 2,
}

GREEN, ORANGE, RED, BLUE = "green", "orange", "red", "blue"


def thresholds(*steps: tuple) -> dashboard.ThresholdsConfig:
    """steps: (None, base colour), (value, colour), … in ascending order."""
    return dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([Threshold(value=v, color=c) for v, c in steps])


def reduce_last() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False).fields("")


def legend_bottom(mode=common.LegendDisplayMode.LIST) -> common_builders.VizLegendOptions:
    return common_builders.VizLegendOptions().display_mode(mode).placement(common.LegendPlacement.BOTTOM).show_legend(True).calcs([])


def tooltip_all() -> common_builders.VizTooltipOptions:
    return common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)


# ------------------------------------------------------------------------------------------ panels


def stat_panel(title: str, description: str, raw_sql: str, unit: str, steps: tuple, decimals=None):
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(SqlTarget(raw_sql))
        .unit(unit)
        .thresholds(thresholds(*steps))
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE)
        .justify_mode(common.BigValueJustifyMode.CENTER)
        .orientation(common.VizOrientation.AUTO)
        .reduce_options(reduce_last())
        .no_value("No data")
        .span(4)
        .height(5)
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    return panel


def executive_summary_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Executive Summary"))
    board.with_panel(
        stat_panel(
            "Cases Today",
            "Cases opened today (database server's date).",
            """
        SELECT cases_today AS "Cases today"
        FROM v_executive_summary
        """,
            "short",
            ((None, BLUE),),
            decimals=0,
        )
    )
    # Rates over the dashboard range; HAVING makes an empty range return no row, so the panel
    # (and grafana_dashboard_verify) shows "No data" instead of a silent null.
    board.with_panel(
        stat_panel(
            "Resolution Rate",
            "Resolved cases / all cases in the selected range. Target > 90 %, alert < 70 %.",
            """
        SELECT round(100.0 * sum(resolved_cases) / nullif(sum(total_cases), 0), 2) AS "Resolution rate"
        FROM v_daily_kpi
        WHERE $__timeFilter(metric_date)
        HAVING count(*) > 0
        """,
            "percent",
            ((None, RED), (TARGETS["alert_resolution_rate"], ORANGE), (TARGETS["resolution_rate"], GREEN)),
            decimals=1,
        )
    )
    board.with_panel(
        stat_panel(
            "CSAT Score",
            "Average customer satisfaction (1–5) over every rated case in the range. Target > 4.5.",
            """
        SELECT round(sum(csat_score_sum)::numeric / nullif(sum(csat_responses), 0), 2) AS "CSAT"
        FROM v_daily_kpi
        WHERE $__timeFilter(metric_date)
        HAVING count(*) > 0
        """,
            "none",
            ((None, RED), (4, ORANGE), (TARGETS["csat_avg"], GREEN)),
            decimals=2,
        )
    )
    board.with_panel(
        stat_panel(
            "Cost Savings",
            "Manual cost baseline of the resolved cases minus actual cost (AI + human + platform) in the selected range.",
            """
        SELECT sum(net_savings_usd) AS "Net savings"
        FROM v_daily_kpi
        WHERE $__timeFilter(metric_date)
        HAVING count(*) > 0
        """,
            "currencyUSD",
            ((None, RED), (0, GREEN)),
            decimals=0,
        )
    )
    board.with_panel(
        stat_panel(
            "Token Budget",
            "Highest utilisation of an active monthly token budget. Target < 95 %, warning at 80 %.",
            """
        SELECT max(token_utilization_pct) AS "Budget used"
        FROM v_budget_utilization
        WHERE budget_type = 'monthly' AND CURRENT_DATE BETWEEN period_start AND period_end
        HAVING count(*) > 0
        """,
            "percent",
            ((None, GREEN), (TARGETS["alert_budget_utilization_pct"], ORANGE), (TARGETS["token_utilization_pct"], RED)),
            decimals=1,
        )
    )
    board.with_panel(
        stat_panel(
            "Time Saved (Hours)",
            "Agent hours saved in the selected range: manual minutes of the resolved cases minus the human minutes spent.",
            """
        SELECT sum(time_saved_hours) AS "Hours saved"
        FROM v_daily_kpi
        WHERE $__timeFilter(metric_date)
        HAVING count(*) > 0
        """,
            "h",
            ((None, BLUE),),
            decimals=1,
        )
    )


def timeseries_panel(title: str, description: str, targets: list, unit: str, span: int = 12, height: int = 9, bars: bool = False, stacked: bool = False):
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .legend(legend_bottom())
        .tooltip(tooltip_all())
        .span(span)
        .height(height)
        .line_width(2 if not bars else 1)
        .fill_opacity(80 if bars else 10)
        .show_points(common.VisibilityMode.AUTO)
        .span_nulls(False)
        .axis_soft_min(0)
    )
    for target in targets:
        panel = panel.with_target(target)
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).bar_alignment(common.BarAlignment.CENTER)
    else:
        panel = panel.draw_style(common.GraphDrawStyle.LINE).line_interpolation(common.LineInterpolation.SMOOTH)
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL).group("A"))
    return panel


def case_volume_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Case Volume & Resolution"))
    board.with_panel(
        timeseries_panel(
            "Cases Over Time",
            "Cases opened per day: total, resolved and escalated.",
            [
                SqlTarget(
                    """
            SELECT metric_date::timestamptz AS time,
                   total_cases AS "Total",
                   resolved_cases AS "Resolved",
                   escalated_cases AS "Escalated"
            FROM v_daily_kpi
            WHERE $__timeFilter(metric_date)
            ORDER BY 1
            """,
                    "time_series",
                )
            ],
            "short",
        )
    )
    board.with_panel(
        piechart.Panel()
        .title("Resolution by Path")
        .description("How cases were resolved in the selected range: by the AI alone, with an agent, or escalated.")
        .datasource(DATASOURCE)
        .with_target(
            SqlTarget("""
            SELECT sum(self_service_cases) AS "Self-service",
                   sum(collaborative_cases) AS "Collaborative",
                   sum(escalated_cases) AS "Escalated"
            FROM v_daily_kpi
            WHERE $__timeFilter(metric_date)
            HAVING count(*) > 0
            """)
        )
        .pie_type(piechart.piechart.PieChartType.DONUT)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["sum"]).values(False).fields(""))
        .legend(
            piechart.PieChartLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
            .values([piechart.piechart.PieChartLegendValues.VALUE, piechart.piechart.PieChartLegendValues.PERCENT])
        )
        .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.SINGLE).sort(common.SortOrder.NONE))
        .unit("short")
        .span(12)
        .height(9)
    )


def ai_performance_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("AI Performance"))
    board.with_panel(
        barchart.Panel()
        .title("Confidence Distribution")
        .description("Cases per AI confidence bucket and what reviewers did with the AI draft. A well-calibrated model gets more approvals in higher buckets.")
        .datasource(DATASOURCE)
        .with_target(
            SqlTarget("""
            SELECT to_char(confidence_bucket, 'FM0.0') || '–' || to_char(confidence_bucket + 0.1, 'FM0.0') AS "Confidence",
                   sum(approved) AS "Approved",
                   sum(edited) AS "Edited",
                   sum(rejected) AS "Rejected"
            FROM v_confidence_daily
            WHERE $__timeFilter(metric_date)
            GROUP BY confidence_bucket
            ORDER BY confidence_bucket
            """)
        )
        .x_field("Confidence")
        .stacking(common.StackingMode.NORMAL)
        .show_value(common.VisibilityMode.NEVER)
        .orientation(common.VizOrientation.VERTICAL)
        .legend(legend_bottom())
        .tooltip(tooltip_all())
        .fill_opacity(80)
        .unit("short")
        .override_by_name("Approved", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": GREEN})])
        .override_by_name("Edited", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "yellow"})])
        .override_by_name("Rejected", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": RED})])
        .span(12)
        .height(9)
    )
    board.with_panel(
        timeseries_panel(
            "AI Accuracy Over Time",
            "Share of AI drafts approved as is, edited, or rejected by the reviewing agent (per day).",
            [
                SqlTarget(
                    """
            SELECT metric_date::timestamptz AS time,
                   ai_approval_rate AS "Approval rate",
                   ai_edit_rate AS "Edit rate",
                   ai_rejection_rate AS "Rejection rate"
            FROM v_daily_kpi
            WHERE $__timeFilter(metric_date)
            ORDER BY 1
            """,
                    "time_series",
                )
            ],
            "percent",
        )
        .max(100)
        .override_by_name("Approval rate", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": GREEN})])
        .override_by_name("Edit rate", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "yellow"})])
        .override_by_name("Rejection rate", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": RED})])
    )
    # Reliability picture: per confidence bucket, the share of drafts approved as is beside the bucket's
    # mean confidence (where a perfectly calibrated model's approval rate would be: the diagonal).
    board.with_panel(
        barchart.Panel()
        .title("Confidence Calibration (Reliability)")
        .description(
            "Per confidence bucket: share of AI drafts approved as is, beside the ideal diagonal "
            "(the bucket's mean confidence). Bars below the diagonal = over-confident, above = "
            "under-confident."
        )
        .datasource(DATASOURCE)
        .with_target(
            SqlTarget("""
            SELECT to_char(confidence_bucket, 'FM0.0') || '–' || to_char(confidence_bucket + 0.1, 'FM0.0') AS "Confidence",
                   round(100.0 * sum(approved) / sum(reviewed_cases), 1) AS "Approved as is %",
                   round(100 * sum(reviewed_confidence_sum) / sum(reviewed_cases), 1) AS "Ideal (diagonal) %"
            FROM v_confidence_daily
            WHERE $__timeFilter(metric_date)
            GROUP BY confidence_bucket
            HAVING sum(reviewed_cases) > 0
            ORDER BY confidence_bucket
            """)
        )
        .x_field("Confidence")
        .show_value(common.VisibilityMode.NEVER)
        .orientation(common.VizOrientation.VERTICAL)
        .legend(legend_bottom())
        .tooltip(tooltip_all())
        .fill_opacity(80)
        .unit("percent")
        .min(0)
        .max(100)
        .override_by_name("Approved as is %", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": GREEN})])
        .override_by_name("Ideal (diagonal) %", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "gray"})])
        .span(16)
        .height(9)
    )
    board.with_panel(
        stat_panel(
            "Calibration Error",
            "Expected calibration error over the range, in percentage points: the case-weighted mean gap between "
            "each confidence bucket's mean confidence and its approval rate. Target < 5.",
            """
        SELECT round(100 * sum(abs(confidence - approved)) / sum(n), 2) AS "Calibration error"
        FROM (SELECT confidence_bucket,
                     sum(reviewed_confidence_sum) AS confidence,
                     sum(approved) AS approved,
                     sum(reviewed_cases) AS n
              FROM v_confidence_daily
              WHERE $__timeFilter(metric_date)
              GROUP BY confidence_bucket) AS buckets
        HAVING sum(n) > 0
        """,
            "none",
            ((None, GREEN), (TARGETS["ai_confidence_accuracy"], ORANGE), (10, RED)),
            decimals=2,
        )
        .span(8)
        .height(9)
    )


def token_usage_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Token Usage & Costs"))
    board.with_panel(
        timeseries_panel(
            "Daily Token Consumption",
            "Input and output tokens per day, stacked by provider and workflow.",
            [
                SqlTarget(
                    """
            SELECT usage_date::timestamptz AS time,
                   provider || ' / ' || workflow_name || ' · ' || t.direction AS metric,
                   sum(t.tokens) AS value
            FROM v_token_daily
            CROSS JOIN LATERAL (VALUES ('input', input_tokens), ('output', output_tokens)) AS t(direction, tokens)
            WHERE $__timeFilter(usage_date)
            GROUP BY 1, 2
            ORDER BY 1, 2
            """,
                    "time_series",
                )
            ],
            "short",
            span=16,
            bars=True,
            stacked=True,
        )
    )
    board.with_panel(
        gauge.Panel()
        .title("Budget Exhaustion Gauge")
        .description("Share of each active monthly token budget used so far. Warning at 80 %, target < 95 %.")
        .datasource(DATASOURCE)
        .with_target(
            SqlTarget("""
            SELECT budget_name AS "Budget",
                   token_utilization_pct AS "Used"
            FROM v_budget_utilization
            WHERE budget_type = 'monthly' AND CURRENT_DATE BETWEEN period_start AND period_end
            ORDER BY budget_name
            """)
        )
        .unit("percent")
        .min(0)
        .max(100)
        .decimals(1)
        .thresholds(thresholds((None, GREEN), (TARGETS["alert_budget_utilization_pct"], ORANGE), (TARGETS["token_utilization_pct"], RED)))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(True).fields("/^Used$/"))
        .orientation(common.VizOrientation.AUTO)
        .show_threshold_labels(False)
        .show_threshold_markers(True)
        .span(8)
        .height(9)
    )
    board.with_panel(
        timeseries_panel(
            "Daily AI Costs",
            "AI API spend per day and provider (USD).",
            [
                SqlTarget(
                    """
            SELECT usage_date::timestamptz AS time,
                   provider AS metric,
                   sum(cost_usd) AS value
            FROM v_token_daily
            WHERE $__timeFilter(usage_date)
            GROUP BY 1, 2
            ORDER BY 1, 2
            """,
                    "time_series",
                )
            ],
            "currencyUSD",
            span=16,
            height=8,
        )
    )
    board.with_panel(
        table.Panel()
        .title("Projected Exhaustion")
        .description("Date each budget runs out at its usage rate since the period start (elapsed hours). Target: after the period ends.")
        .datasource(DATASOURCE)
        .with_target(
            SqlTarget("""
            SELECT budget_name AS "Budget",
                   projected_exhaustion_date AS "Runs out",
                   period_end AS "Period end",
                   CASE WHEN exhausts_before_period_end THEN 'before period end' ELSE 'ok' END AS "Status"
            FROM v_budget_utilization
            ORDER BY projected_exhaustion_date NULLS LAST, budget_name
            """)
        )
        .override_by_name(
            "Status",
            [
                DynamicConfigValue("custom.cellOptions", {"type": "color-text"}),
                DynamicConfigValue(
                    "mappings", [{"type": "value", "options": {"before period end": {"color": RED, "index": 0}, "ok": {"color": GREEN, "index": 1}}}]
                ),
            ],
        )
        .cell_height(common.TableCellHeight.SM)
        .span(8)
        .height(8)
    )
    board.with_panel(
        table_panel(
            "Token Reconciliation",
            "Per day, provider and model: tokens the per-request log recorded (Log Token Usage) next to what the "
            "provider's usage API reported (Token Tracking). Unlogged tokens are AI calls that never went through "
            "the logging sub-workflow.",
            """
            SELECT usage_date AS "Day",
                   provider AS "Provider",
                   model AS "Model",
                   logged_requests AS "Logged requests",
                   logged_tokens AS "Logged tokens",
                   provider_tokens AS "Provider tokens",
                   unlogged_tokens AS "Unlogged tokens",
                   logged_share_pct AS "Logged share",
                   logged_cost_usd AS "Logged cost",
                   provider_cost_usd AS "Provider cost"
            FROM v_token_reconciliation
            WHERE $__timeFilter(usage_date)
            ORDER BY usage_date DESC, provider, model
            """,
            span=24,
            height=8,
        )
        .override_by_name("Logged share", [DynamicConfigValue("unit", "percent")])
        .override_by_name("Logged cost", [DynamicConfigValue("unit", "currencyUSD")])
        .override_by_name("Provider cost", [DynamicConfigValue("unit", "currencyUSD")])
    )


def efficiency_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Efficiency & Savings"))
    board.with_panel(
        timeseries_panel(
            "Time Saved",
            "Agent hours saved per day, stacked by case category; the line is the running total.",
            [
                SqlTarget(
                    """
            SELECT metric_date::timestamptz AS time,
                   category AS metric,
                   time_saved_hours AS value
            FROM v_daily_kpi_by_category
            WHERE $__timeFilter(metric_date)
            ORDER BY 1, 2
            """,
                    "time_series",
                    "A",
                ),
                SqlTarget(
                    """
            SELECT metric_date::timestamptz AS time,
                   sum(sum(time_saved_hours)) OVER (ORDER BY metric_date) AS "Cumulative hours saved"
            FROM v_daily_kpi_by_category
            WHERE $__timeFilter(metric_date)
            GROUP BY metric_date
            ORDER BY 1
            """,
                    "time_series",
                    "B",
                ),
            ],
            "h",
            bars=True,
            stacked=True,
        ).override_by_name(
            "Cumulative hours saved",
            [
                DynamicConfigValue("custom.drawStyle", "line"),
                DynamicConfigValue("custom.stacking", {"mode": "none", "group": "A"}),
                DynamicConfigValue("custom.axisPlacement", "right"),
                DynamicConfigValue("custom.fillOpacity", 0),
                DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "purple"}),
            ],
        )
    )
    board.with_panel(
        timeseries_panel(
            "Cost Comparison",
            "What the cases would have cost handled manually, what they cost AI-assisted, and the difference.",
            [
                SqlTarget(
                    """
            SELECT metric_date::timestamptz AS time,
                   manual_cost_usd AS "Manual cost baseline",
                   ai_assisted_cost_usd AS "AI-assisted cost",
                   net_savings_usd AS "Net savings"
            FROM v_cost_comparison_daily
            WHERE $__timeFilter(metric_date)
            ORDER BY 1
            """,
                    "time_series",
                )
            ],
            "currencyUSD",
        )
        .override_by_name("Manual cost baseline", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": RED})])
        .override_by_name("AI-assisted cost", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": BLUE})])
        .override_by_name("Net savings", [DynamicConfigValue("color", {"mode": "fixed", "fixedColor": GREEN})])
    )


def table_panel(title: str, description: str, raw_sql: str, span: int = 12, height: int = 9):
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(SqlTarget(raw_sql))
        .cell_height(common.TableCellHeight.SM)
        .span(span)
        .height(height)
    )


def improvement_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Improvement Opportunities"))
    board.with_panel(
        table_panel(
            "Top Escalation Reasons",
            "Why cases escalated in the selected range. Action: write KB articles for the top reasons.",
            """
        WITH by_category AS (
            SELECT escalation_reason, category, sum(escalations) AS n
            FROM v_escalation_reasons_daily
            WHERE $__timeFilter(metric_date)
            GROUP BY escalation_reason, category
        )
        SELECT escalation_reason AS "Reason",
               sum(n) AS "Escalations",
               round(100.0 * sum(n) / sum(sum(n)) OVER (), 2) AS "Share %",
               (array_agg(category ORDER BY n DESC, category))[1] AS "Top category"
        FROM by_category
        GROUP BY escalation_reason
        ORDER BY 2 DESC, 1
        LIMIT 10
        """,
        )
    )
    board.with_panel(
        table_panel(
            "KB Coverage Gaps",
            "Categories with low self-service and few KB articles (last 30 days), with the article to write.",
            """
        SELECT category AS "Category",
               cases AS "Cases",
               self_service_rate AS "Self-service %",
               kb_article_count AS "KB articles",
               gap_score AS "Gap score",
               suggested_article AS "Suggested article"
        FROM v_kb_coverage_gaps
        ORDER BY gap_score DESC, category
        LIMIT 10
        """,
        )
    )
    board.with_panel(
        table_panel(
            "Low Confidence Categories",
            "Categories where the AI is least sure of itself (last 30 days). Action: improve training.",
            """
        SELECT category AS "Category",
               cases AS "Cases",
               avg_confidence AS "Avg confidence",
               approval_rate AS "Approval %",
               rejection_rate AS "Rejection %"
        FROM v_low_confidence_categories
        ORDER BY avg_confidence, category
        LIMIT 10
        """,
            height=8,
        )
    )
    board.with_panel(
        table_panel(
            "Recurring Issues",
            "The same problem escalating again and again (last 30 days). Action: fix the root cause.",
            """
        SELECT category AS "Category",
               escalation_reason AS "Reason",
               occurrences AS "Occurrences",
               distinct_days AS "Days seen",
               first_seen AS "First seen",
               last_seen AS "Last seen"
        FROM v_recurring_issues
        ORDER BY occurrences DESC, category, escalation_reason
        LIMIT 10
        """,
            height=8,
        )
    )


# --------------------------------------------------------------------------------------- assembly


def build_board() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard(DASHBOARD_TITLE)
        .uid(DASHBOARD_UID)
        .description("Effectiveness, efficiency, cost and AI token usage of the CX-Catalyst support system.")
        .tags(DASHBOARD_TAGS)
        .refresh("5m")
        .time("now-30d", "now")
        .timezone("browser")
        .tooltip(dashboard.dashboard.DashboardCursorSync.CROSSHAIR)
        .editable()
        # Same name as the import input: on import Grafana replaces every "${DS_SUPPORT_DB}" with
        # the chosen datasource; when the file is *provisioned* (no import step) this variable
        # resolves it instead, defaulting to the provisioned "Support Database" (support-postgres).
        .with_variable(
            dashboard.DatasourceVariable(DS_INPUT)
            .label("Support Database")
            .type(DS_TYPE)
            .current(VariableOption(text="Support Database", value="support-postgres", selected=True))
            .regex("")
            .multi(False)
            .include_all(False)
        )
    )
    executive_summary_row(board)
    case_volume_row(board)
    ai_performance_row(board)
    token_usage_row(board)
    efficiency_row(board)
    improvement_row(board)
    return board


def _panel_types(panels: list) -> list:
    return sorted({p["type"] for p in panels if p["type"] != "row"})


def build(custom: dict | None = None) -> dict:
    """The dashboard as Grafana's export format (a dict ready for json.dumps).

    ``custom``: the user's panels and overrides (dashboard_custom); None reads the file beside the output.
    """
    model = json.loads(json.dumps(build_board().build(), cls=JSONEncoder))
    # The SDK leaves ids at 0; Grafana needs them unique for links/inspection.
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
    model.pop("id", None)
    model["version"] = 1
    # Grafana's own export always carries these lists; the SDK emits bare {} when they are empty.
    model["annotations"] = {
        "list": [
            {
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True,
                "hide": True,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }
        ]
    }
    model.pop("style", None)  # removed from the schema in Grafana 10; 9.x defaults to dark anyway
    if custom is None:
        custom = dashboard_custom.load(dashboard_custom.default_path(OUTPUT.parent))
    model = dashboard_custom.apply(model, custom, warn=lambda msg: sys.stderr.write("note: %s\n" % msg))
    plugin_names = {"stat": "Stat", "timeseries": "Time series", "piechart": "Pie chart", "barchart": "Bar chart", "gauge": "Gauge", "table": "Table"}
    export = {
        "__inputs": [
            {
                "name": DS_INPUT,
                "label": "Support Database",
                "description": "PostgreSQL database holding the CX-Catalyst KPI views (read-only user is enough)",
                "type": "datasource",
                "pluginId": DS_TYPE,
                "pluginName": "PostgreSQL",
            }
        ],
        "__requires": (
            [
                {"type": "grafana", "id": "grafana", "name": "Grafana", "version": MIN_GRAFANA},
                {"type": "datasource", "id": DS_TYPE, "name": "PostgreSQL", "version": "1.0.0"},
            ]
            + [{"type": "panel", "id": t, "name": plugin_names.get(t, t), "version": ""} for t in _panel_types(model["panels"])]
        ),
    }
    export.update(model)
    return export


def render(custom: dict | None = None) -> str:
    return json.dumps(build(custom), indent=2, ensure_ascii=False) + "\n"


def adopt(exported_path: Path, custom_path: Path) -> int:
    """Write ``custom_path`` so that the generator reproduces the exported dashboard; 0 when it is exact."""
    exported = json.loads(exported_path.read_text(encoding="utf-8"))
    custom = dashboard_custom.adopt(build({}), exported)
    custom_path.write_text(dashboard_custom.render(custom, custom_path), encoding="utf-8")
    sys.stdout.write(
        "%s: %d own panel(s), %d panel override(s), %d dashboard field(s)\n"
        % (custom_path, len(custom.get("panels") or []), len(custom.get("panel_overrides") or {}), len(custom.get("dashboard") or {}))
    )
    problems = dashboard_custom.mismatch(build(custom), exported)
    if problems:
        sys.stderr.write(
            "warning: the regenerated dashboard still differs from %s in: %s; the next deployment "
            "rewrites the dashboard in Grafana (deploy once with overwrite)\n" % (exported_path, "; ".join(problems))
        )
        return 1
    return 0


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="fail if a generated file differs from the generator")
    group.add_argument("--stdout", action="store_true", help="print the dashboard instead of writing it")
    group.add_argument("--adopt", type=Path, metavar="EXPORTED_JSON", help="write the custom file from a dashboard exported from Grafana, then rebuild")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--rules-output", type=Path, default=RULES_OUTPUT)
    parser.add_argument("--custom", type=Path, default=None, help="the custom panels/overrides file (default: grafana-dashboard.custom.yml beside --output)")
    args = parser.parse_args(argv)
    try:
        custom_path = args.custom or dashboard_custom.default_path(args.output.parent)
        adopted = adopt(args.adopt, custom_path) if args.adopt else 0
        custom = dashboard_custom.load(custom_path)
        outputs = {args.output: render(custom), args.rules_output: render_rules()}
    except dashboard_custom.CustomizationError as exc:
        sys.stderr.write("error: %s\n" % exc)
        return 2
    if args.stdout:
        sys.stdout.write(outputs[args.output])
        return 0
    stale = 0
    for path, text in outputs.items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        if args.check:
            sys.stderr.write("%s is stale: run .venv/bin/python tools/build_dashboard.py\n" % path)
            stale = 1
        else:
            path.write_text(text, encoding="utf-8")
    return stale or adopted


if __name__ == "__main__":
    sys.exit(main())

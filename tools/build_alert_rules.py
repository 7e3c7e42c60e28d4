# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The spec's alert rules, built with ``grafana_foundation_sdk`` as Grafana alerting provisioning objects.

``tools/build_dashboard.py`` writes ``render_rules()`` to ``files/grafana/alerting/rule-groups.yml`` beside the
dashboard (one command regenerates both); the rules read the same views and the same datasource input
(``dashboard_query``) as the panels, and link to the dashboard by its uid.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as alerting_models
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from dashboard_query import DASHBOARD_UID, DS_INPUT, SqlTarget

REPO = Path(__file__).resolve().parent.parent
RULES_OUTPUT = REPO / "files" / "grafana" / "alerting" / "rule-groups.yml"


# ------------------------------------------------------------------------------------- alert rules
#
# The spec's three alert rules. Each rule:
#   A  SQL     the measured value (table format; string columns become alert labels)
#   B  SQL     the threshold, read from its kpi_targets row: changing the target in the database
#              changes the alert at its next evaluation, no redeploy needed
#   C  reduce(A, last)     D  reduce(B, last)
#   E  math    the margin by which the target is breached (measured - target, or the reverse)
#   F  threshold(E > 0)    the rule's condition
# Rules carry the label cx_catalyst_route (slack | email) that notification-policy.yml routes on.

ALERT_GROUP = "cx-catalyst-kpi"
ALERT_INTERVAL = "5m"
EXPR_DS = DataSourceRef(type_val="__expr__", uid="__expr__")

ALERT_RULES = [
    {
        "uid": "cx-kpi-budget-warning",
        "title": "Budget Warning",
        "target_key": "alert_budget_utilization_pct",
        "route": "slack",
        "severity": "warning",
        "for": "10m",
        # No active budget covering today means there is nothing to warn about.
        "no_data": "OK",
        # Every active budget (daily, weekly, monthly) against its OWN alert_threshold_pct (the kpi_targets
        # row alert_budget_utilization_pct, 80, is the spec's default for new budgets); strictly greater, on
        # the unrounded utilisation, like v_budget_utilization.over_alert_threshold. A and B carry the same
        # budget_name label, so Grafana's math pairs each budget with its own threshold.
        "measure_sql": """
            SELECT budget_name, budget_type, (100.0 * tokens_used / token_limit)::float8 AS value
            FROM v_budget_utilization
            WHERE CURRENT_DATE BETWEEN period_start AND period_end AND token_limit IS NOT NULL
            """,
        "threshold_sql": """
            SELECT budget_name, budget_type, alert_threshold_pct::float8 AS value
            FROM v_budget_utilization
            WHERE CURRENT_DATE BETWEEN period_start AND period_end AND token_limit IS NOT NULL
            """,
        "margin": "$C - $D",
        "summary": "Token budget {{ $labels.budget_name }} ({{ $labels.budget_type }}) is "
        "{{ humanize $values.C.Value }} % used (warning above {{ $values.D.Value }} %).",
        "description": "v_budget_utilization: tokens used / token limit is above the budget's own "
        "alert_threshold_pct (over_alert_threshold). Raise the budget or slow down the workflows.",
    },
    {
        "uid": "cx-kpi-low-resolution-rate",
        "title": "Low Resolution Rate",
        "target_key": "alert_resolution_rate",
        "route": "email",
        "severity": "critical",
        # "below 70 % for 2 days" is decided in SQL on the two most recent complete days (the better
        # of the two must be below target): a 48 h pending period would restart with every Grafana
        # restart and every rule update.
        "for": "15m",
        "no_data": "NoData",
        "measure_sql": """
            SELECT max(resolution_rate)::float8 AS value
            FROM (SELECT resolution_rate
                  FROM v_daily_kpi
                  WHERE metric_date < CURRENT_DATE
                  ORDER BY metric_date DESC
                  LIMIT 2) AS last_two_days
            HAVING count(*) = 2
            """,
        "margin": "$D - $C",
        "summary": "Resolution rate was below {{ $values.D.Value }} % on each of the last 2 days (better day {{ humanize $values.C.Value }} %).",
        "description": "v_daily_kpi.resolution_rate is below the kpi_targets row alert_resolution_rate on both of the last two complete days.",
    },
    {
        "uid": "cx-kpi-high-escalation-rate",
        "title": "High Escalation Rate",
        "target_key": "alert_escalation_rate",
        "route": "slack",
        "severity": "warning",
        "for": "15m",
        # Fewer than 10 cases today is no signal yet (one escalation out of three is 33 %).
        "no_data": "OK",
        "measure_sql": """
            SELECT escalation_rate::float8 AS value
            FROM v_daily_kpi
            WHERE metric_date = CURRENT_DATE
              AND total_cases >= 10
            """,
        "margin": "$C - $D",
        "summary": "{{ humanize $values.C.Value }} % of today's cases escalated (alert above {{ $values.D.Value }} %).",
        "description": "Escalated cases / all cases today (v_daily_kpi.escalation_rate) is above the kpi_targets row alert_escalation_rate.",
    },
]


def _alert_sql(ref_id: str, raw_sql: str) -> alerting.Query:
    return (
        alerting.Query(ref_id)
        .datasource_uid("${%s}" % DS_INPUT)
        .relative_time_range(alerting_models.RelativeTimeRange(from_val=86400, to=0))
        .model(SqlTarget(raw_sql, "table", ref_id))
    )


def _alert_expr(ref_id: str, model) -> alerting.Query:
    return (
        alerting.Query(ref_id)
        .datasource_uid("__expr__")
        .relative_time_range(alerting_models.RelativeTimeRange(from_val=0, to=0))
        .model(model.ref_id(ref_id).datasource(EXPR_DS))
    )


def alert_rule(spec: dict) -> alerting.Rule:
    target_sql = spec.get("threshold_sql") or ("SELECT target_value::float8 AS value\nFROM kpi_targets\nWHERE kpi_key = '%s'" % spec["target_key"])
    return (
        alerting.Rule(spec["title"])
        .uid(spec["uid"])
        .rule_group(ALERT_GROUP)
        .condition("F")
        .for_val(spec["for"])
        .no_data_state(spec["no_data"])
        .exec_err_state("Error")
        .labels({"severity": spec["severity"], "cx_catalyst_route": spec["route"]})
        .annotations({"summary": spec["summary"], "description": spec["description"], "__dashboardUid__": DASHBOARD_UID})
        .with_query(_alert_sql("A", spec["measure_sql"]))
        .with_query(_alert_sql("B", target_sql))
        .with_query(_alert_expr("C", expr.TypeReduce().expression("A").reducer("last")))
        .with_query(_alert_expr("D", expr.TypeReduce().expression("B").reducer("last")))
        .with_query(_alert_expr("E", expr.TypeMath().expression(spec["margin"])))
        .with_query(
            _alert_expr(
                "F",
                expr.TypeThreshold()
                .expression("E")
                .conditions([expr.ExprTypeThresholdConditions().evaluator(expr.ExprTypeThresholdConditionsEvaluator().type("gt").params([0]))]),
            )
        )
    )


def build_rule_groups() -> dict:
    group = alerting.RuleGroup(ALERT_GROUP).interval(ALERT_INTERVAL)
    for spec in ALERT_RULES:
        group = group.with_rule(alert_rule(spec))
    model = json.loads(json.dumps(group.build(), cls=JSONEncoder))
    for rule in model["rules"]:
        # Set per deployment by the role (the dashboard folder, the org of the connection).
        rule.pop("folderUID", None)
        rule.pop("orgID", None)
    return {"rule_groups": [model]}


class _BlockStyleDumper(yaml.SafeDumper):
    """Writes multi-line strings (the SQL) as literal blocks, so the file reads like SQL, and indents
    list items under their key (the style yamllint and ansible-lint expect)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str_representer(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStyleDumper.add_representer(str, _str_representer)


RULES_HEADER = """\
# GENERATED by tools/build_dashboard.py from ALERT_RULES - edit the generator, then run it.
# The spec's alert rules as Grafana alerting provisioning objects. The role kpi_grafana replaces
# "${DS_SUPPORT_DB}" with the datasource uid and creates each group with
# cx_catalyst.kpi_dashboard.grafana_alert_rule_group in the dashboard folder.
---
"""


def render_rules() -> str:
    return RULES_HEADER + yaml.dump(build_rule_groups(), Dumper=_BlockStyleDumper, sort_keys=False, width=120, allow_unicode=True)

"""The committed dashboard and alert rules are the generator's output, and they are well-formed.

* files/grafana-dashboard.json and files/grafana/alerting/rule-groups.yml equal what
  tools/build_dashboard.py produces (nobody edits one without the other);
* every panel the spec names is present with the right visualisation, in the right row;
* every query is raw SQL on the ``${DS_SUPPORT_DB}`` input, reads only views/tables of the KPI
  contract (docs/kpi-contract.md, and files/sql/views.sql once it exists) and names only their columns;
* thresholds equal the kpi_targets rows of the contract;
* the provisioning files and the alerting data have the shape Grafana and the role expect.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "files" / "grafana-dashboard.json"
RULES = REPO / "files" / "grafana" / "alerting" / "rule-groups.yml"
CONTACT_POINTS = REPO / "files" / "grafana" / "alerting" / "contact-points.yml"
POLICY = REPO / "files" / "grafana" / "alerting" / "notification-policy.yml"
DATASOURCES = REPO / "files" / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
PROVIDERS = REPO / "files" / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
CONTRACT = REPO / "docs" / "kpi-contract.md"
VIEWS_SQL = REPO / "files" / "sql" / "views.sql"

# Row -> (panel title, panel type) as the spec's layout and KPI tables name them.
SPEC_LAYOUT = {
    "Executive Summary": [
        ("Cases Today", "stat"),
        ("Resolution Rate", "stat"),
        ("CSAT Score", "stat"),
        ("Cost Savings", "stat"),
        ("Token Budget", "stat"),
        ("Time Saved (Hours)", "stat"),
    ],
    "Case Volume & Resolution": [("Cases Over Time", "timeseries"), ("Resolution by Path", "piechart")],
    "AI Performance": [("Confidence Distribution", "barchart"), ("AI Accuracy Over Time", "timeseries")],
    "Token Usage & Costs": [
        ("Daily Token Consumption", "timeseries"),
        ("Budget Exhaustion Gauge", "gauge"),
        ("Daily AI Costs", "timeseries"),
        ("Projected Exhaustion", "table"),
    ],
    "Efficiency & Savings": [("Time Saved", "timeseries"), ("Cost Comparison", "timeseries")],
    "Improvement Opportunities": [("Top Escalation Reasons", "table"), ("KB Coverage Gaps", "table")],
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("build_dashboard", REPO / "tools" / "build_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return _load_generator()


@pytest.fixture(scope="module")
def board():
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels_by_row(board):
    rows, current = {}, None
    for panel in board["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
            rows[current] = []
        else:
            rows[current].append(panel)
    return rows


def _contract_objects() -> dict:
    """{view or table name: set of columns} from docs/kpi-contract.md (+ views.sql when present)."""
    text = CONTRACT.read_text(encoding="utf-8")
    objects = {}
    for match in re.finditer(r"^`(v_\w+)`[^\n]*\n: `([^`]+)`", text, re.M):
        objects[match.group(1)] = {c.strip() for c in match.group(2).split(",")}
    cases_cols = set(re.findall(r"^\| (\w+) \| ", text.split("`kb_articles")[0], re.M)) - {"column"}
    objects["cases"] = cases_cols
    targets = re.search(r"`kpi_targets\(([^)]*)\)", text).group(1)
    objects["kpi_targets"] = {c.split()[0] for c in targets.split(",")}
    if VIEWS_SQL.exists():
        for name in re.findall(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:\w+\.)?(v_\w+)", VIEWS_SQL.read_text(), re.I):
            objects.setdefault(name, set())
    return objects


def _all_sql(board) -> list:
    return [(panel["title"], target["rawSql"]) for panel in board["panels"] for target in panel.get("targets", [])]


# ------------------------------------------------------------------------------------- generator


def test_committed_dashboard_equals_generator_output(generator):
    assert DASHBOARD.read_text(encoding="utf-8") == generator.render(), (
        "files/grafana-dashboard.json differs from the generator: run .venv/bin/python tools/build_dashboard.py"
    )


def test_committed_rule_groups_equal_generator_output(generator):
    assert RULES.read_text(encoding="utf-8") == generator.render_rules(), (
        "files/grafana/alerting/rule-groups.yml differs from the generator: run tools/build_dashboard.py"
    )


def test_check_mode_detects_a_stale_file(generator, tmp_path):
    stale = tmp_path / "dash.json"
    stale.write_text(generator.render().replace("now-30d", "now-7d"))
    rules = tmp_path / "rules.yml"
    rules.write_text(generator.render_rules())
    assert generator.main(["--check", "--output", str(stale), "--rules-output", str(rules)]) == 1
    assert generator.main(["--output", str(stale), "--rules-output", str(rules)]) == 0
    assert generator.main(["--check", "--output", str(stale), "--rules-output", str(rules)]) == 0
    assert json.loads(stale.read_text())["time"]["from"] == "now-30d"


def test_spec_file_names_exist():
    """The spec's Files Reference names grafana-dashboard.json and datasources.yaml."""
    assert (REPO / "files" / "grafana-dashboard.json").is_file()
    alias = REPO / "files" / "datasources.yaml"
    assert alias.is_file()
    assert alias.read_text() == DATASOURCES.read_text()


# ------------------------------------------------------------------------------------- dashboard


def test_dashboard_identity(board):
    assert board["uid"] == "cx-catalyst-kpi"
    assert board["refresh"] == "5m"
    assert board["time"] == {"from": "now-30d", "to": "now"}
    assert {"cx-catalyst", "kpi"} <= set(board["tags"])
    assert board["title"]
    assert "id" not in board or board["id"] is None


def test_datasource_is_an_import_input(board):
    inputs = board["__inputs"]
    assert [i["name"] for i in inputs] == ["DS_SUPPORT_DB"]
    assert inputs[0]["type"] == "datasource"
    assert inputs[0]["pluginId"] in ("postgres", "grafana-postgresql-datasource")
    required_panels = {r["id"] for r in board["__requires"] if r["type"] == "panel"}
    assert required_panels == {p["type"] for p in board["panels"] if p["type"] != "row"}
    # When provisioned from a file (no import step) a datasource variable of the same name resolves it.
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["DS_SUPPORT_DB"]["type"] == "datasource"
    assert variables["DS_SUPPORT_DB"]["query"] == inputs[0]["pluginId"]


def test_six_rows_with_every_spec_panel(board):
    rows = _panels_by_row(board)
    assert list(rows) == list(SPEC_LAYOUT), "rows missing or out of order"
    for row, wanted in SPEC_LAYOUT.items():
        have = {(p["title"], p["type"]) for p in rows[row]}
        for title_type in wanted:
            assert title_type in have, "%s: panel %r missing" % (row, title_type)


def test_panel_ids_unique_and_grid_valid(board):
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    titles = [p["title"] for p in board["panels"] if p["type"] != "row"]
    assert len(titles) == len(set(titles)), "panel titles must be unique (verification names panels by title)"
    occupied = set()
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & occupied, "panel %r overlaps another" % panel["title"]
        occupied |= cells


def test_every_target_is_raw_sql_on_the_input(board):
    targets = 0
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_SUPPORT_DB}", panel["title"]
        assert panel["targets"], "%s has no query" % panel["title"]
        for target in panel["targets"]:
            targets += 1
            assert target["datasource"]["uid"] == "${DS_SUPPORT_DB}"
            assert target["rawQuery"] is True and target["editorMode"] == "code"
            assert target["rawSql"].strip()
            assert target["format"] in ("table", "time_series")
            if target["format"] == "time_series":
                assert re.search(r"AS time\b", target["rawSql"]), "%s: time series without a time column" % panel["title"]
    assert targets > len([p for p in board["panels"] if p["type"] != "row"])  # Time Saved has two


def test_queries_read_only_contract_objects_and_columns(board):
    objects = _contract_objects()
    seen = set()
    for title, sql in _all_sql(board):
        names = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql, re.I))
        names -= {"by_category", "last_two_days", "LATERAL"}  # CTE/sub-query aliases
        assert names, "%s: query reads no view" % title
        for name in names:
            assert name.startswith("v_"), "%s: reads base table %s (the reader role may only read v_* views)" % (title, name)
            assert name in objects, "%s: view %s is not in docs/kpi-contract.md" % (title, name)
            seen.add(name)
        # Columns: every identifier that looks like a column of the views read must be one of theirs.
        allowed = set().union(*(objects[n] for n in names if objects[n]))
        used = set(re.findall(r"\b([a-z]+(?:_[a-z0-9]+)+)\b", re.sub(r"'[^']*'|\"[^\"]*\"", "", sql)))
        used -= {"by_category", "last_two_days", "to_char", "array_agg", "nullif"}
        used = {u for u in used if not u.startswith("v_")}
        unknown = used - allowed
        assert not unknown, "%s: columns %s not in the contract of %s" % (title, sorted(unknown), sorted(names))
    # The dashboard covers the whole view layer a reader needs.
    assert {
        "v_executive_summary",
        "v_daily_kpi",
        "v_confidence_daily",
        "v_token_daily",
        "v_budget_utilization",
        "v_cost_comparison_daily",
        "v_daily_kpi_by_category",
        "v_kb_coverage_gaps",
    } <= seen


def test_time_range_panels_use_grafana_macros(board):
    for title, sql in _all_sql(board):
        if re.search(r"\bv_(daily_kpi|daily_kpi_by_category|confidence_daily|cost_comparison_daily|escalation_reasons_daily)\b", sql):
            assert "$__timeFilter(metric_date)" in sql, title
        if "v_token_daily" in sql:
            assert "$__timeFilter(usage_date)" in sql, title
        assert "$__" not in re.sub(r"\$__timeFilter\(\w+\)", "", sql), "%s: unexpected macro" % title


def _targets_from_contract() -> dict:
    text = CONTRACT.read_text(encoding="utf-8")
    return {k: (c, float(v)) for k, c, v in re.findall(r"`(\w+) (gt|lt|abs_lt) ([\d.]+)`", text)}


def _steps(board, title):
    panel = next(p for p in board["panels"] if p["title"] == title)
    return [(s["value"], s["color"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_thresholds_match_kpi_targets(board):
    targets = _targets_from_contract()
    assert targets["resolution_rate"] == ("gt", 90.0)
    res = dict(_steps(board, "Resolution Rate"))
    assert res[targets["resolution_rate"][1]] == "green"
    assert res[targets["alert_resolution_rate"][1]] == "orange"
    csat = dict(_steps(board, "CSAT Score"))
    assert csat[targets["csat_avg"][1]] == "green"
    for title in ("Token Budget", "Budget Exhaustion Gauge"):
        steps = dict(_steps(board, title))
        assert steps[targets["token_utilization_pct"][1]] == "red", title
        assert steps[targets["alert_budget_utilization_pct"][1]] == "orange", title


def test_units(board):
    units = {p["title"]: p["fieldConfig"]["defaults"].get("unit") for p in board["panels"] if p["type"] != "row"}
    assert units["Resolution Rate"] == "percent"
    assert units["Cost Savings"] == "currencyUSD"
    assert units["Daily AI Costs"] == "currencyUSD"
    assert units["Time Saved (Hours)"] == "h"


def test_stacked_bars_where_the_spec_wants_them(board):
    by_title = {p["title"]: p for p in board["panels"]}
    for title in ("Daily Token Consumption", "Time Saved"):
        custom = by_title[title]["fieldConfig"]["defaults"]["custom"]
        assert custom["drawStyle"] == "bars" and custom["stacking"]["mode"] == "normal", title
    tokens_sql = by_title["Daily Token Consumption"]["targets"][0]["rawSql"]
    assert "input_tokens" in tokens_sql and "output_tokens" in tokens_sql and "workflow_name" in tokens_sql
    assert len(by_title["Time Saved"]["targets"]) == 2  # per category + cumulative


# ------------------------------------------------------------------------------- provisioning files


def test_datasource_provisioning():
    doc = yaml.safe_load(DATASOURCES.read_text())
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert ds["name"] == "Support Database" and ds["uid"] == "support-postgres"
    assert ds["type"] in ("postgres", "grafana-postgresql-datasource")
    assert ds["url"] == "${DB_HOST}" and ds["user"] == "${DB_USER}"
    assert ds["secureJsonData"] == {"password": "${DB_PASSWORD}"}
    assert ds["jsonData"]["database"] == "${DB_NAME}"
    assert ds["jsonData"]["sslmode"] == "${DB_SSLMODE}"
    for key in ("maxOpenConns", "maxIdleConns", "connMaxLifetime", "postgresVersion", "timescaledb"):
        assert key in ds["jsonData"], key
    assert "password" not in ds and "password" not in ds["jsonData"]


def test_dashboard_provider():
    doc = yaml.safe_load(PROVIDERS.read_text())
    (provider,) = doc["providers"]
    assert provider["folder"] == "Support" and provider["folderUid"] == "support-dashboards"
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards/json"


# ------------------------------------------------------------------------------------- alerting


@pytest.fixture(scope="module")
def rules():
    doc = yaml.safe_load(RULES.read_text())
    (group,) = doc["rule_groups"]
    return group


def test_three_spec_alert_rules(rules):
    by_title = {r["title"]: r for r in rules["rules"]}
    assert set(by_title) == {"Budget Warning", "Low Resolution Rate", "High Escalation Rate"}
    assert "v_budget_utilization" in by_title["Budget Warning"]["data"][0]["model"]["rawSql"]
    # every active budget (no budget_type filter) against its own alert_threshold_pct, budget by budget
    budget_a = by_title["Budget Warning"]["data"][0]["model"]["rawSql"]
    budget_b = by_title["Budget Warning"]["data"][1]["model"]["rawSql"]
    assert "tokens_used / token_limit" in budget_a and "budget_type =" not in budget_a
    assert "alert_threshold_pct" in budget_b and "v_budget_utilization" in budget_b
    assert budget_a.split("\n")[0].split(",")[:2] == budget_b.split("\n")[0].split(",")[:2]  # same labels
    assert "resolution_rate" in by_title["Low Resolution Rate"]["data"][0]["model"]["rawSql"]
    assert "LIMIT 2" in by_title["Low Resolution Rate"]["data"][0]["model"]["rawSql"]
    assert "escalation_rate" in by_title["High Escalation Rate"]["data"][0]["model"]["rawSql"]
    routes = {t: r["labels"]["cx_catalyst_route"] for t, r in by_title.items()}
    assert routes == {"Budget Warning": "slack", "Low Resolution Rate": "email", "High Escalation Rate": "slack"}
    assert len({r["uid"] for r in rules["rules"]}) == 3


@pytest.mark.parametrize("index", [0, 1, 2])
def test_rule_shape_sql_reduce_math_threshold(rules, index):
    rule = rules["rules"][index]
    data = {d["refId"]: d for d in rule["data"]}
    assert rule["condition"] in data
    assert list(data) == ["A", "B", "C", "D", "E", "F"]
    for ref in ("A", "B"):
        assert data[ref]["datasourceUid"] == "${DS_SUPPORT_DB}"
        assert data[ref]["model"]["format"] == "table" and data[ref]["model"]["rawSql"]
        assert data[ref]["relativeTimeRange"]["from"] > 0
    # The threshold is data, not a literal: the kpi_targets row, or (budget warning) each budget's own
    # alert_threshold_pct, whose default is the kpi_targets row alert_budget_utilization_pct.
    target_sql = data["B"]["model"]["rawSql"]
    if "kpi_targets" in target_sql:
        key = re.search(r"kpi_key = '(\w+)'", target_sql).group(1)
    else:
        assert "alert_threshold_pct" in target_sql and rule["title"] == "Budget Warning"
        key = "alert_budget_utilization_pct"
    assert key in _targets_from_contract()
    assert key.startswith("alert_")
    for ref in "CDEF":
        assert data[ref]["datasourceUid"] == "__expr__"
        assert data[ref]["model"]["datasource"] == {"type": "__expr__", "uid": "__expr__"}
    assert data["C"]["model"] == {**data["C"]["model"], "type": "reduce", "expression": "A", "reducer": "last"}
    assert data["D"]["model"] == {**data["D"]["model"], "type": "reduce", "expression": "B", "reducer": "last"}
    assert data["E"]["model"]["type"] == "math"
    assert set(re.findall(r"\$(\w)", data["E"]["model"]["expression"])) == {"C", "D"}
    threshold = data["F"]["model"]
    assert threshold["type"] == "threshold" and threshold["expression"] == "E"
    assert threshold["conditions"] == [{"evaluator": {"type": "gt", "params": [0]}}]
    # comparator direction agrees with the contract: gt -> measured - target, lt -> target - measured
    comparator = _targets_from_contract()[key][0]
    assert data["E"]["model"]["expression"] == ("$C - $D" if comparator == "gt" else "$D - $C")
    assert rule["noDataState"] in ("OK", "NoData", "Alerting") and rule["execErrState"] == "Error"
    assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_contact_points_and_policy_route_every_rule(rules):
    points = yaml.safe_load(CONTACT_POINTS.read_text())["contact_points"]
    types = {p["key"]: p["type"] for p in points}
    assert types == {"slack": "slack", "email": "email"}
    slack = next(p for p in points if p["type"] == "slack")
    assert slack["settings"]["recipient"] == "#support-alerts"
    # Secrets and addresses are injected by the role, never stored in the file.
    for point in points:
        assert "url" not in point["settings"] and "addresses" not in point["settings"]
    policy = yaml.safe_load(POLICY.read_text())
    receivers = {p["name"] for p in points}
    routed = {}
    for route in policy["routes"]:
        assert route["receiver"] in receivers
        for label, op, value in route["object_matchers"]:
            assert op == "="
            routed[(label, value)] = route["receiver"]
    for rule in rules["rules"]:
        assert ("cx_catalyst_route", rule["labels"]["cx_catalyst_route"]) in routed, rule["title"]

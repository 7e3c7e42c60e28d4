"""The user's panels and overrides beside the generated dashboard (tools/dashboard_custom.py, build_dashboard.py).

* merge/difference: the patch ``difference(a, b)`` turns ``a`` into ``b`` exactly (nulls, removed keys, nesting);
* apply: overrides by generated title, removal, own panels placed by gridPos, taken ids renumbered, clear errors;
* adopt: from a dashboard exported from Grafana (the user added, moved, edited and removed panels, collapsed a
  row, changed the refresh) to a custom file with which the generator reproduces the export exactly;
* ``build_dashboard.py --adopt`` end to end on temporary files, and a later rebuild keeps the user's panel.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import dashboard_custom as dc  # noqa: E402


def _load_generator():
    spec = importlib.util.spec_from_file_location("build_dashboard_for_custom", REPO / "tools" / "build_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return _load_generator()


@pytest.fixture(scope="module")
def generated(generator):
    return generator.build({})


USER_PANEL = {
    "type": "timeseries",
    "title": "Cases by Hour (Today)",
    "id": 900,
    "gridPos": {"h": 8, "w": 12, "x": 0, "y": 16},
    "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
    "fieldConfig": {"defaults": {"unit": "short", "decimals": None}, "overrides": []},
    "targets": [
        {
            "refId": "A",
            "format": "time_series",
            "rawQuery": True,
            "editorMode": "code",
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_SUPPORT_DB}"},
            "rawSql": "SELECT\n    DATE_TRUNC('hour', created_at) as time,\n    COUNT(*) as cases\nFROM cases\n"
            "WHERE created_at >= CURRENT_DATE\nGROUP BY DATE_TRUNC('hour', created_at)\nORDER BY time",
        }
    ],
}


@pytest.mark.parametrize(
    "a, b",
    [
        ({"x": 1, "y": {"z": 2, "w": 3}}, {"x": 1, "y": {"z": 2}}),
        ({"x": 1}, {"x": None, "n": {"deep": [1, None]}}),
        ({"x": {"a": 1}}, {"x": [1, 2]}),
        ({"x": [1, 2], "k": "v"}, {"x": {"a": None}}),
        ({}, {}),
    ],
)
def test_difference_then_merge_is_exact(a, b):
    patch = dc.difference(a, b)
    assert dc.merge(a, patch) == b
    assert a == copy.deepcopy(a)  # inputs untouched


def test_apply_overrides_removal_and_own_panel_by_position(generated):
    custom = {
        "dashboard": {"refresh": "1m"},
        "panel_overrides": {"Cases Today": {"description": "Opened today.", "fieldConfig": {"defaults": {"unit": "none"}}}, "Resolution by Path": None},
        "panels": [USER_PANEL],
    }
    # the user's panel at the position of the row "AI Performance" (same y, x 0)
    row_index = next(i for i, p in enumerate(generated["panels"]) if p["title"] == "AI Performance")
    row = generated["panels"][row_index]
    custom["panels"] = [dict(USER_PANEL, gridPos=dict(USER_PANEL["gridPos"], y=row["gridPos"]["y"]))]
    out = dc.apply(generated, custom)
    titles = [p["title"] for p in out["panels"]]
    assert out["refresh"] == "1m" and "Resolution by Path" not in titles
    cases_today = next(p for p in out["panels"] if p["title"] == "Cases Today")
    assert cases_today["description"] == "Opened today." and cases_today["fieldConfig"]["defaults"]["unit"] == "none"
    # other generated field-config keys are kept (merged, not replaced)
    assert cases_today["fieldConfig"]["defaults"]["thresholds"]
    # placed by gridPos: after the row (same position, the generator's panel first), before the row's panels
    index = titles.index("Cases by Hour (Today)")
    assert titles[index - 1] == "AI Performance"
    assert titles[index + 1] == generated["panels"][row_index + 1]["title"]
    assert generated["refresh"] == "5m"  # the generated model is not changed


def test_apply_renumbers_a_taken_id_and_rejects_unknown_titles(generated):
    notes = []
    out = dc.apply(generated, {"panels": [dict(USER_PANEL, id=3)]}, warn=notes.append)  # 3: a generated id
    ids = [p["id"] for p in out["panels"]]
    assert len(ids) == len(set(ids)) and max(ids) == len(generated["panels"]) + 1
    assert notes and "id 3 is taken" in notes[0]
    with pytest.raises(dc.CustomizationError, match="'No Such Panel'"):
        dc.apply(generated, {"panel_overrides": {"No Such Panel": {"title": "x"}}})


def exported_after_user_edits(generated):
    """What grafana_dashboard_export writes after a user's session in Grafana."""
    live = copy.deepcopy(generated)
    live.pop("version")
    live["refresh"] = "1m"
    panels = live["panels"]
    by_title = {p["title"]: p for p in panels}
    by_title["CSAT Score"]["title"] = "Customer Satisfaction"  # renamed a generated panel
    by_title["Cases Today"]["fieldConfig"]["defaults"].pop("unit")  # removed a setting
    by_title["Cost Savings"]["options"]["colorMode"] = None  # set a null
    panels.remove(by_title["Resolution by Path"])  # deleted a panel
    row = by_title["Improvement Opportunities"]  # collapsed the last row
    children = [p for p in panels if p["gridPos"]["y"] > row["gridPos"]["y"]]
    for child in children:
        panels.remove(child)
    row["collapsed"] = True
    row["panels"] = children
    panels.append(dict(copy.deepcopy(USER_PANEL), id=max(p["id"] for p in generated["panels"]) + 1))  # added...
    panels.sort(key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))  # ...saved in position order
    return live


def test_adopt_reproduces_the_export_exactly(generated):
    exported = exported_after_user_edits(generated)
    custom = dc.adopt(generated, exported)
    assert custom["dashboard"] == {"refresh": "1m"}
    assert [p["title"] for p in custom["panels"]] == ["Cases by Hour (Today)"]
    assert custom["panel_overrides"]["CSAT Score"] == {"title": "Customer Satisfaction"}
    assert custom["panel_overrides"]["Resolution by Path"] is None
    assert custom["panel_overrides"]["Cases Today"] == {"fieldConfig": {"defaults": {"$remove": ["unit"]}}}
    rebuilt = dc.apply(generated, custom)
    assert dc.mismatch(rebuilt, exported) == []
    assert dc.comparable(rebuilt) == dc.comparable(exported)
    # the YAML and the JSON forms of the file hold the same data (nulls, multi-line SQL included)
    for suffix in (".yml", ".json"):
        text = dc.render(custom, Path("custom" + suffix))
        assert (json.loads(text) if suffix == ".json" else yaml.safe_load(text)) == custom
    assert "rawSql: |" in dc.render(custom, Path("c.yml"))


def test_mismatch_names_panel_order(generated):
    exported = copy.deepcopy(generated)
    exported["panels"].append(dict(USER_PANEL, id=max(p["id"] for p in generated["panels"]) + 1))  # out of order
    rebuilt = dc.apply(generated, dc.adopt(generated, exported))
    assert any(p.startswith("panel order") for p in dc.mismatch(rebuilt, exported))


def test_load_checks_the_file(tmp_path):
    assert dc.load(tmp_path / "none.yml") == {}
    bad = tmp_path / "bad.yml"
    bad.write_text("pannels: []\n")  # codespell:ignore
    with pytest.raises(dc.CustomizationError, match="unknown section"):
        dc.load(bad)
    bad.write_text("panels: [{title: no type}]\n")
    with pytest.raises(dc.CustomizationError, match="each with a 'type'"):
        dc.load(bad)
    (tmp_path / "grafana-dashboard.custom.yml").write_text("{}\n")
    (tmp_path / "grafana-dashboard.custom.json").write_text("{}\n")
    with pytest.raises(dc.CustomizationError, match="more than one"):
        dc.default_path(tmp_path)


def test_committed_custom_file_is_valid_and_empty():
    path = dc.default_path(REPO / "files")
    assert path.name == "grafana-dashboard.custom.yml" and dc.load(path) == {}


def test_build_dashboard_adopt_cli_round_trip(generator, generated, tmp_path, capsys):
    out, rules, custom = tmp_path / "grafana-dashboard.json", tmp_path / "rules.yml", tmp_path / "custom.yml"
    assert generator.main(["--output", str(out), "--rules-output", str(rules), "--custom", str(custom)]) == 0
    exported = exported_after_user_edits(generated)
    export_file = tmp_path / "exported.json"
    export_file.write_text(json.dumps(exported, indent=2))
    assert generator.main(["--adopt", str(export_file), "--output", str(out), "--rules-output", str(rules), "--custom", str(custom)]) == 0
    assert "1 own panel(s)" in capsys.readouterr().out
    rebuilt = json.loads(out.read_text())
    assert dc.comparable(rebuilt) == dc.comparable(exported)
    assert {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""} in rebuilt["__requires"]
    # regeneration (e.g. after a generator change) keeps the user's panel; --check agrees with the files
    assert generator.main(["--check", "--output", str(out), "--rules-output", str(rules), "--custom", str(custom)]) == 0
    out.write_text("{}")
    assert generator.main(["--output", str(out), "--rules-output", str(rules), "--custom", str(custom)]) == 0
    assert "Cases by Hour (Today)" in [p["title"] for p in json.loads(out.read_text())["panels"]]
    # a broken custom file is a clear error and nothing is written
    custom.write_text("panels: 3\n")
    out.write_text("{}")
    assert generator.main(["--output", str(out), "--rules-output", str(rules), "--custom", str(custom)]) == 2
    assert out.read_text() == "{}"

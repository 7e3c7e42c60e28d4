# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The user's own panels and overrides for the generated KPI dashboard (``files/grafana-dashboard.custom.yml``).

``tools/build_dashboard.py`` builds the dashboard from code, then applies this file, so panels made in Grafana
survive a regeneration and a redeployment. The file has three sections, all optional::

    dashboard:          # changes to the dashboard's own fields (refresh, time, tags, templating, ...)
      refresh: 1m
    panel_overrides:    # changes to generated panels, keyed by the generated panel's title
      "Cases Today":
        gridPos: {h: 5, w: 4, x: 0, y: 1}
        fieldConfig: {defaults: {unit: none}}
      "Resolution by Path": null          # null removes a generated panel
    panels:             # the user's own panels, as Grafana's panel JSON
      - {type: timeseries, title: "Cases by Hour (Today)", id: 27, gridPos: {...}, targets: [...]}

An override is merged into the generated value key by key, recursively for objects; any other value (a list, a
string, null) replaces the generated one; ``$remove: [key, ...]`` deletes keys. Panels end up ordered by their
position (``gridPos`` y, then x), the order Grafana saves them in. A panel of the user whose id a generated
panel takes later is given a free id.

``adopt()`` writes this file from a dashboard exported from Grafana (grafana_dashboard_export): whatever differs
from the generated dashboard becomes overrides, and panels the generator does not make become ``panels``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

REMOVE = "$remove"
SECTIONS = ("dashboard", "panel_overrides", "panels")
# Fields Grafana manages (and the deployment hash of grafana_dashboard), and the import-only sections: never
# compared, never overridden.
SERVER_MANAGED = ("id", "version", "iteration", "cxDeployedHash")
EXPORT_ONLY = ("__inputs", "__requires", "__elements")
HEADER = """\
# The user's own panels and overrides of the generated KPI dashboard; tools/build_dashboard.py applies them
# when it writes files/grafana-dashboard.json. Written by `tools/build_dashboard.py --adopt EXPORTED.json`
# (comments are not kept); hand edits are fine. Format and workflow: docs/customizing.md.
"""


class CustomizationError(Exception):
    pass


# ----------------------------------------------------------------------------------------------- merging


def merge(base, patch):
    """``base`` with ``patch`` applied (neither is changed)."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key in patch.get(REMOVE) or []:
        out.pop(key, None)
    for key, value in patch.items():
        if key == REMOVE:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def difference(base, target):
    """The smallest patch with ``merge(base, patch) == target`` (both dicts)."""
    patch = {}
    removed = [key for key in base if key not in target]
    if removed:
        patch[REMOVE] = removed
    for key, value in target.items():
        if key not in base:
            patch[key] = copy.deepcopy(value)
        elif base[key] != value:
            if isinstance(base[key], dict) and isinstance(value, dict) and REMOVE not in value:
                patch[key] = difference(base[key], value)
            else:
                patch[key] = copy.deepcopy(value)
    return patch


# ----------------------------------------------------------------------------------------------- the file


def default_path(files_dir: Path) -> Path:
    """The custom file beside the dashboard: ``.yml`` (or an existing ``.yaml``/``.json``)."""
    found = [files_dir / ("grafana-dashboard.custom" + ext) for ext in (".yml", ".yaml", ".json")]
    existing = [p for p in found if p.exists()]
    if len(existing) > 1:
        raise CustomizationError("more than one customisation file: %s; keep one" % ", ".join(str(p) for p in existing))
    return existing[0] if existing else found[0]


def load(path: Path) -> dict:
    """The customisation in ``path`` (empty when the file does not exist), checked."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise CustomizationError("%s is not valid %s: %s" % (path, kind, exc)) from exc
    data = data or {}
    if not isinstance(data, dict):
        raise CustomizationError("%s must hold a mapping with %s" % (path, ", ".join(SECTIONS)))
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise CustomizationError("%s: unknown section(s) %s; the sections are %s" % (path, ", ".join(unknown), ", ".join(SECTIONS)))
    if not isinstance(data.get("dashboard") or {}, dict):
        raise CustomizationError("%s: 'dashboard' must be a mapping of dashboard fields" % path)
    if not isinstance(data.get("panel_overrides") or {}, dict):
        raise CustomizationError("%s: 'panel_overrides' must map generated panel titles to changes" % path)
    panels = data.get("panels") or []
    if not isinstance(panels, list) or not all(isinstance(p, dict) and p.get("type") for p in panels):
        raise CustomizationError("%s: 'panels' must be a list of panels, each with a 'type'" % path)
    return data


class _Dumper(yaml.SafeDumper):
    pass


def _str_block(dumper, value):
    style = "|" if "\n" in value and all(line == line.rstrip() for line in value.split("\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_block)


def render(custom: dict, path: Path) -> str:
    if path.suffix == ".json":
        return json.dumps(custom, indent=2, ensure_ascii=False) + "\n"
    return HEADER + yaml.dump(custom, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


# ----------------------------------------------------------------------------------------------- applying


def _ids(panels):
    for panel in panels:
        if isinstance(panel.get("id"), int):
            yield panel["id"]
        yield from _ids(panel.get("panels") or [])


def _position(panel):
    grid = panel.get("gridPos") or {}
    return (grid.get("y", 0), grid.get("x", 0))


def apply(model: dict, custom: dict, warn=None) -> dict:
    """The generated ``model`` with the customisation applied (a new dict)."""
    if not custom:
        return model
    warn = warn or (lambda msg: None)
    fixed = dict((k, v) for k, v in (custom.get("dashboard") or {}).items() if k not in SERVER_MANAGED + ("panels",))
    out = merge(model, fixed)
    overrides = dict(custom.get("panel_overrides") or {})
    titles = [p.get("title") for p in model["panels"]]
    unknown = [t for t in overrides if t not in titles]
    if unknown:
        raise CustomizationError(
            "panel_overrides name panels the generator does not make: %s (renamed or removed "
            "in tools/build_dashboard.py? move the change to the new title)" % ", ".join(repr(t) for t in unknown)
        )
    panels = []
    for panel in model["panels"]:
        if panel.get("title") not in overrides:
            panels.append(copy.deepcopy(panel))
        elif overrides[panel["title"]] is not None:
            panels.append(merge(panel, overrides[panel["title"]]))
    taken = set(_ids(panels))
    for panel in custom.get("panels") or []:
        panel = copy.deepcopy(panel)
        if panel.get("id") in taken or not isinstance(panel.get("id"), int):
            new_id = max(taken | {0}) + 1
            if "id" in panel:
                warn("panel %r: id %s is taken by a generated panel; it gets id %d" % (panel.get("title"), panel.get("id"), new_id))
            panel["id"] = new_id
        taken.update(_ids([panel]))
        panels.append(panel)
    out["panels"] = sorted(panels, key=_position)  # stable: equal positions keep the generator's order
    return out


# ----------------------------------------------------------------------------------------------- adopting


def comparable(dashboard: dict) -> dict:
    """A dashboard without what Grafana or the import manage: what a deployment compares."""
    if isinstance(dashboard.get("dashboard"), dict) and "panels" not in dashboard:
        dashboard = dashboard["dashboard"]  # an export wrapper {dashboard, meta}
    return dict((k, v) for k, v in dashboard.items() if k not in SERVER_MANAGED + EXPORT_ONLY)


def adopt(generated: dict, exported: dict) -> dict:
    """The customisation that turns the ``generated`` model into the ``exported`` one.

    Generated panels are recognised by their id (the generator numbers them; the export comes from a deployment
    of the same generator) and their overrides keyed by title, which stays stable when the generator adds panels.
    """
    base, live = comparable(generated), comparable(exported)
    custom = {}
    top = difference(dict((k, v) for k, v in base.items() if k != "panels"), dict((k, v) for k, v in live.items() if k != "panels"))
    if top:
        custom["dashboard"] = top
    live_by_id = dict((p.get("id"), p) for p in live.get("panels") or [] if isinstance(p, dict))
    overrides = {}
    generated_ids = set()
    for panel in base.get("panels") or []:
        generated_ids.add(panel.get("id"))
        now = live_by_id.get(panel.get("id"))
        if now is None:
            overrides[panel["title"]] = None
        elif now != panel:
            overrides[panel["title"]] = difference(panel, now)
    if overrides:
        custom["panel_overrides"] = overrides
    own = [copy.deepcopy(p) for p in live.get("panels") or [] if p.get("id") not in generated_ids]
    if own:
        custom["panels"] = own
    return custom


def mismatch(generated_with_custom: dict, exported: dict) -> list[str]:
    """What still differs between the regenerated dashboard and the export (empty: an exact round trip)."""
    a, b = comparable(generated_with_custom), comparable(exported)
    problems = sorted(k for k in set(a) | set(b) if k != "panels" and a.get(k) != b.get(k))
    ids_a = [p.get("id") for p in a.get("panels") or []]
    ids_b = [p.get("id") for p in b.get("panels") or []]
    if ids_a != ids_b:
        problems.append("panel order (regenerated %s, exported %s; panels are ordered by gridPos y, x)" % (ids_a, ids_b))
    elif a.get("panels") != b.get("panels"):
        problems.append("panels")
    return problems

"""Dashboard schema v1 (classic JSON) <-> schema v2 (elements + layout), docs §13.2.

Grafana converts between the two when a dashboard stored in one schema is read in the other.  Which fields
survive is only partly documented ("down-convert v2 to v1 with loss (v2-only layout is dropped)",
grafana/mcp-grafana#937), so the emulator's conversion is **(chosen)** and deliberately small:

* v2 -> v1 keeps title, description, tags, time range, refresh and every panel's id, type, title, description,
  datasource and queries; panels placed by a ``GridLayout`` keep their position; panels inside tabs, rows or
  an auto grid are flattened into one grid column (the layout is lost), and variables, annotations and links
  are dropped.  The result carries the profile's current ``schemaVersion``.
* v1 -> v2 (reading a classic dashboard through a v2 version) maps panels to ``elements`` and ``gridPos`` to a
  ``GridLayout``.

The v2 shape follows the v2beta1 kinds (``Panel``, ``QueryGroup``/``PanelQuery``/``DataQuery``, ``VizConfig``
with ``group``, ``GridLayout``/``GridLayoutItem`` with ``ElementReference``); v2alpha1's ``vizConfig.kind`` is
read as well.
"""

V2_LAYOUT_KINDS = ("GridLayout", "RowsLayout", "TabsLayout", "AutoGridLayout")


def is_v2_spec(spec):
    """A schema-v2 spec has ``elements`` and a ``layout`` object."""
    return isinstance(spec, dict) and isinstance(spec.get("elements"), dict) and isinstance(spec.get("layout"), dict)


def _layout_items(layout, y_offset=0):
    """(element name, gridPos or None) for every element reference in a layout tree."""
    out = []
    if not isinstance(layout, dict):
        return out
    kind, spec = layout.get("kind"), layout.get("spec") or {}
    if kind == "GridLayout":
        for item in spec.get("items") or []:
            s = item.get("spec") or {}
            ref = (s.get("element") or {}).get("name")
            if ref:
                out.append((ref, {"x": s.get("x", 0), "y": s.get("y", 0) + y_offset, "w": s.get("width", 12), "h": s.get("height", 8)}))
        return out
    # rows, tabs, auto grid: walk children; their positions are not kept (lossy)
    for child in (spec.get("rows") or []) + (spec.get("tabs") or []):
        out.extend((name, None) for name, _pos in _layout_items((child.get("spec") or {}).get("layout")))
    for item in spec.get("items") or []:
        ref = ((item.get("spec") or {}).get("element") or {}).get("name")
        if ref:
            out.append((ref, None))
    return out


def v2_to_v1(spec, uid, version, schema_version):
    """Lossy down-conversion of a v2 spec to classic dashboard JSON."""
    elements = spec.get("elements") or {}
    time_settings = spec.get("timeSettings") or {}
    panels = []
    next_y = 0
    for name, pos in _layout_items(spec.get("layout")):
        element = elements.get(name) or {}
        if element.get("kind") != "Panel":
            continue
        p = element.get("spec") or {}
        viz = p.get("vizConfig") or {}
        queries = ((p.get("data") or {}).get("spec") or {}).get("queries") or []
        targets = []
        datasource = None
        for q in queries:
            qs = q.get("spec") or {}
            query = qs.get("query") or {}
            target = dict(query.get("spec") or {})
            target["refId"] = qs.get("refId", "A")
            ds = query.get("datasource") or qs.get("datasource")
            if ds:
                datasource = {"type": query.get("group") or ds.get("type"), "uid": ds.get("name") or ds.get("uid")}
                target["datasource"] = datasource
            targets.append(target)
        if pos is None:
            pos = {"x": 0, "y": next_y, "w": 24, "h": 8}
        next_y = max(next_y, pos["y"] + pos["h"])
        panel = {
            "id": p.get("id"),
            "type": viz.get("group") or viz.get("kind") or "timeseries",
            "title": p.get("title", ""),
            "gridPos": pos,
            "targets": targets,
        }
        if p.get("description"):
            panel["description"] = p["description"]
        if datasource:
            panel["datasource"] = datasource
        panels.append(panel)
    return {
        "uid": uid,
        "version": version,
        "title": spec.get("title", ""),
        "description": spec.get("description", ""),
        "tags": list(spec.get("tags") or []),
        "schemaVersion": schema_version,
        "editable": spec.get("editable", True),
        "time": {"from": time_settings.get("from", "now-6h"), "to": time_settings.get("to", "now")},
        "refresh": time_settings.get("autoRefresh", ""),
        "timezone": time_settings.get("timezone", "browser"),
        "panels": panels,
        "templating": {"list": []},
        "annotations": {"list": []},
    }


def v1_to_v2(dash):
    """Classic dashboard JSON -> v2 spec (elements + GridLayout)."""
    elements = {}
    items = []
    for panel in dash.get("panels") or []:
        if not isinstance(panel, dict) or panel.get("type") == "row":
            continue
        pid = panel.get("id") or len(elements) + 1
        name = "panel-%s" % pid
        queries = []
        for target in panel.get("targets") or []:
            ds = target.get("datasource") or panel.get("datasource") or {}
            query_spec = {k: v for k, v in target.items() if k not in ("refId", "datasource")}
            queries.append(
                {
                    "kind": "PanelQuery",
                    "spec": {
                        "refId": target.get("refId", "A"),
                        "hidden": bool(target.get("hide")),
                        "query": {
                            "kind": "DataQuery",
                            "group": ds.get("type", ""),
                            "version": "v0",
                            "datasource": {"name": ds.get("uid", "")},
                            "spec": query_spec,
                        },
                    },
                }
            )
        elements[name] = {
            "kind": "Panel",
            "spec": {
                "id": pid,
                "title": panel.get("title", ""),
                "description": panel.get("description", ""),
                "links": [],
                "data": {"kind": "QueryGroup", "spec": {"queries": queries, "transformations": [], "queryOptions": {}}},
                "vizConfig": {
                    "kind": "VizConfig",
                    "group": panel.get("type", ""),
                    "version": "",
                    "spec": {"options": panel.get("options") or {}, "fieldConfig": panel.get("fieldConfig") or {"defaults": {}, "overrides": []}},
                },
            },
        }
        pos = panel.get("gridPos") or {}
        items.append(
            {
                "kind": "GridLayoutItem",
                "spec": {
                    "x": pos.get("x", 0),
                    "y": pos.get("y", 0),
                    "width": pos.get("w", 12),
                    "height": pos.get("h", 8),
                    "element": {"kind": "ElementReference", "name": name},
                },
            }
        )
    time = dash.get("time") or {}
    return {
        "title": dash.get("title", ""),
        "description": dash.get("description", ""),
        "tags": list(dash.get("tags") or []),
        "editable": dash.get("editable", True),
        "links": [],
        "timeSettings": {
            "from": time.get("from", "now-6h"),
            "to": time.get("to", "now"),
            "autoRefresh": dash.get("refresh") or "",
            "timezone": dash.get("timezone", "browser"),
        },
        "variables": [],
        "annotations": [],
        "elements": elements,
        "layout": {"kind": "GridLayout", "spec": {"items": items}},
    }

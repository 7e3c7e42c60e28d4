"""Every role phase has a tag, so an operator can re-run one part (`ansible-playbook site.yml --tags X`).

Roles are discovered from roles/, so a new role (or a new tasks file) is covered the day it is added:

* every top-level task or block of every tasks file carries a tag ``<role>_<phase>``, or is a block whose
  tasks all do (a block's tags reach every task in it, so a block spanning several phases carries only the
  role's tag); tasks of a block's ``rescue``/``always`` may instead be tagged ``always``, so they still fire
  under any selection;
* every phase tag a role uses is documented in the role's README ("Tags" section);
* the internal ``_common`` role carries no tags of its own: its tasks are imported statically
  (``import_role``), so they take the importing task's phase tag. An ``include_role`` of it would lose them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir() and not p.name.startswith("_"))
COMMON = "cx_catalyst.kpi_dashboard._common"


def _tags(item: dict) -> list[str]:
    tags = item.get("tags") or []
    return [tags] if isinstance(tags, str) else list(tags)


def _phase_tags(role: str, item: dict) -> list[str]:
    return [t for t in _tags(item) if re.fullmatch(rf"{role}_[a-z0-9_]+", t)]


def _untagged(role: str, items: list, where: str, allow_always: bool = False):
    """Names of the items (recursively into blocks without a phase tag) that have no phase tag."""
    for item in items or []:
        name = item.get("name", "<unnamed>")
        if _phase_tags(role, item) or (allow_always and "always" in _tags(item)):
            continue
        if "block" in item:
            yield from _untagged(role, item["block"], f"{where} > {name}")
            yield from _untagged(role, item.get("rescue"), f"{where} > {name} (rescue)", allow_always=True)
            yield from _untagged(role, item.get("always"), f"{where} > {name} (always)", allow_always=True)
        else:
            yield f"{where}: {name!r}"


def _walk(items):
    for item in items or []:
        yield item
        for key in ("block", "rescue", "always"):
            yield from _walk(item.get(key))


def _task_files(role: str) -> list[Path]:
    return sorted((REPO / "roles" / role / "tasks").glob("*.yml"))


def test_roles_found():
    assert {"kpi_database", "kpi_grafana", "grafana_package", "grafana_docker"} <= set(ROLES)
    assert "_common" not in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_every_task_has_a_phase_tag(role):
    missing = []
    for path in _task_files(role):
        missing += _untagged(role, yaml.safe_load(path.read_text()) or [], path.name)
    assert not missing, f"tasks without a {role}_<phase> tag:\n" + "\n".join(missing)


@pytest.mark.parametrize("role", ROLES)
def test_every_phase_tag_is_documented(role):
    used = set()
    for path in _task_files(role):
        for item in _walk(yaml.safe_load(path.read_text()) or []):
            used.update(_phase_tags(role, item))
    assert used, role
    readme = (REPO / "roles" / role / "README.md").read_text()
    assert "## Tags" in readme, f"roles/{role}/README.md has no Tags section"
    section = readme.split("## Tags", 1)[1].split("\n## ", 1)[0]
    undocumented = sorted(t for t in used if f"`{t}`" not in section)
    assert not undocumented, f"roles/{role}/README.md Tags section misses {undocumented}"


def test_common_is_only_imported_statically():
    """include_role is dynamic: the tasks it brings in would not get the caller's phase tag."""
    common_tasks = REPO / "roles" / "_common" / "tasks"
    entry_points = {p.stem for p in common_tasks.glob("*.yml")}
    used = set()
    for role in ROLES:
        for path in _task_files(role):
            for item in _walk(yaml.safe_load(path.read_text()) or []):
                inc = item.get("ansible.builtin.include_role") or item.get("include_role")
                assert not (isinstance(inc, dict) and inc.get("name") == COMMON), f"{role}/{path.name}: {item.get('name')!r} uses include_role"
                imp = item.get("ansible.builtin.import_role")
                if isinstance(imp, dict) and imp.get("name") == COMMON:
                    used.add(imp["tasks_from"])
    assert used == entry_points, f"entry points never used: {sorted(entry_points - used)}; unknown: {sorted(used - entry_points)}"
    for path in common_tasks.glob("*.yml"):
        for item in _walk(yaml.safe_load(path.read_text()) or []):
            assert not item.get("tags"), f"_common/{path.name}: {item.get('name')!r} has tags (it takes the importer's)"


def test_common_argument_specs_match_the_entry_points():
    """One argument spec per entry point, naming exactly the _common_* variables its tasks read, and every
    import passes every option of the spec (they are all required)."""
    specs = yaml.safe_load((REPO / "roles" / "_common" / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    tasks_dir = REPO / "roles" / "_common" / "tasks"
    assert set(specs) == {p.stem for p in tasks_dir.glob("*.yml")}
    templates = "".join(p.read_text() for p in (REPO / "roles" / "_common" / "templates").glob("*.j2"))
    for entry, spec in specs.items():
        text = (tasks_dir / f"{entry}.yml").read_text()
        if "src: dashboard.json.j2" in text:
            text += templates
        read = set(re.findall(r"(?<![A-Za-z0-9_])(_common_[a-z_]+)", text))
        assert read == set(spec["options"]), f"{entry}: tasks read {sorted(read)}, spec has {sorted(spec['options'])}"
        for name, option in spec["options"].items():
            assert option.get("required") and option.get("description"), f"{entry}.{name}"
    for role in ROLES:
        for path in _task_files(role):
            for item in _walk(yaml.safe_load(path.read_text()) or []):
                imp = item.get("ansible.builtin.import_role")
                if isinstance(imp, dict) and imp.get("name") == COMMON:
                    passed = set(item.get("vars") or {})
                    wanted = set(specs[imp["tasks_from"]]["options"])
                    assert passed == wanted, f"{role}/{path.name} {item.get('name')!r}: passes {sorted(passed)}, spec wants {sorted(wanted)}"

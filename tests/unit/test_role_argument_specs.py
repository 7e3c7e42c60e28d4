"""Every role's meta/argument_specs.yml against its defaults/main.yml and README (one test per role).

Roles are discovered from roles/, so a new role is covered the day it is added.
"""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


def test_roles_found():
    assert {"kpi_database", "kpi_grafana", "grafana_package"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    """meta/argument_specs.yml documents every default of defaults/main.yml with the same value; options
    without one are required (and then have no default that would satisfy "required") or secrets."""
    role_dir = REPO / "roles" / role
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text()) or {}
    options = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(defaults) <= set(options), f"undocumented defaults: {sorted(set(defaults) - set(options))}"
    for name, spec in options.items():
        assert name.startswith(role + "_"), f"{name} is not prefixed with {role}_"
        assert spec.get("description"), f"{name} has no description"
        if name in defaults:
            assert spec.get("default") == defaults[name], f"{name}: spec default {spec.get('default')!r} != {defaults[name]!r}"
            if "choices" in spec:
                assert defaults[name] in spec["choices"], name
        else:
            # no default: a required option (argument validation names it when missing), or a secret
            assert spec.get("required") or spec.get("no_log"), f"{name} has no default in defaults/main.yml and is neither required nor a secret"
        if spec.get("required"):
            assert name not in defaults, f"{name} is required, so defaults/main.yml must not define it"
    readme = (role_dir / "README.md").read_text()
    for name in options:
        assert f"`{name}`" in readme, f"{name} missing from the README's variables table"

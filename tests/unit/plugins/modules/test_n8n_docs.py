"""Every n8n_* module: DOCUMENTATION (+ the n8n doc fragment where used) matches its argument spec exactly."""

import importlib
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(__file__))

# n8n_fake puts the collection on sys.path
import n8n_fake  # noqa: E402,F401  pylint: disable=unused-import

from test_grafana_docs import capture_spec  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.doc_fragments.n8n import ModuleDocFragment  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.doc_fragments.attributes import (  # noqa: E402
    ModuleDocFragment as AttributesFragment,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._n8n_client import (  # noqa: E402
    n8n_argument_spec,
)

MODULES = ["n8n_workflow", "n8n_credential", "n8n_bootstrap"]
SECRET_OPTIONS = {"api_key", "owner_password", "data"}


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_argument_spec(name):
    module = importlib.import_module("ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules." + name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    yaml.safe_load(module.EXAMPLES)
    assert isinstance(yaml.safe_load(module.RETURN), dict)
    fragments = doc["extends_documentation_fragment"]
    assert "cx_catalyst.kpi_dashboard.attributes" in fragments
    attributes = yaml.safe_load(AttributesFragment.DOCUMENTATION)["attributes"]
    for key, value in (doc.get("attributes") or {}).items():
        attributes[key] = dict(attributes.get(key, {}), **value)
    assert attributes["check_mode"]["support"] == "full" and attributes["diff_mode"]["support"] == "full"
    kwargs = capture_spec(module)
    assert kwargs["supports_check_mode"] is True
    spec = kwargs["argument_spec"]
    own = doc.get("options") or {}
    documented = {}
    if "cx_catalyst.kpi_dashboard.n8n" in fragments:
        documented.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
        clash = set(own) & set(n8n_argument_spec())
        assert not clash, "module options shadow shared connection options: %s" % clash
    documented.update(own)
    assert sorted(documented) == sorted(spec)
    for option, opt_spec in spec.items():
        d = documented[option]
        assert d.get("type", "str") == opt_spec.get("type", "str"), option
        assert d.get("default") == opt_spec.get("default"), option
        assert bool(d.get("required", False)) == bool(opt_spec.get("required", False)), option
        assert d.get("choices") == opt_spec.get("choices"), option
        assert d.get("elements") == opt_spec.get("elements"), option
        assert sorted(d.get("aliases") or []) == sorted(opt_spec.get("aliases") or []), option
        assert d.get("description"), option
        if option in SECRET_OPTIONS:
            assert opt_spec.get("no_log") is True, "%s must be no_log" % option

"""Every grafana_* module: DOCUMENTATION (+ the grafana doc fragment) matches its argument spec exactly.

A quick local twin of ``ansible-test sanity --test validate-modules`` for these modules, and a guard against a
module option silently replacing a shared connection option (e.g. a module's own ``url``).
"""

import importlib
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(__file__))

# grafana_fake puts the collection on sys.path
import grafana_fake  # noqa: E402,F401  pylint: disable=unused-import

from ansible.module_utils import basic  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.doc_fragments.grafana import ModuleDocFragment  # noqa: E402
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.doc_fragments.attributes import (  # noqa: E402
    ModuleDocFragment as AttributesFragment,
)
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils._grafana_client import (  # noqa: E402
    grafana_argument_spec,
)

MODULES = [
    "grafana_datasource",
    "grafana_folder",
    "grafana_dashboard",
    "grafana_contact_point",
    "grafana_alert_rule_group",
    "grafana_notification_policy",
    "grafana_service_account",
    "grafana_dashboard_verify",
    "grafana_dashboard_export",
]


class Captured(Exception):
    def __init__(self, kwargs):
        super().__init__("captured")
        self.kwargs = kwargs


def capture_spec(module):
    def fake_init(self, *args, **kwargs):
        raise Captured(kwargs)

    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = fake_init
    try:
        module.main()
    except Captured as cap:
        return cap.kwargs
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError("main() did not build an AnsibleModule")


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_argument_spec(name):
    module = importlib.import_module("ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules." + name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    yaml.safe_load(module.EXAMPLES)
    assert isinstance(yaml.safe_load(module.RETURN), dict)
    assert "cx_catalyst.kpi_dashboard.grafana" in doc["extends_documentation_fragment"]
    # attributes: the collection's fragment, overridden key by key by the module's own (as ansible-doc merges)
    assert "cx_catalyst.kpi_dashboard.attributes" in doc["extends_documentation_fragment"]
    attributes = yaml.safe_load(AttributesFragment.DOCUMENTATION)["attributes"]
    for key, value in (doc.get("attributes") or {}).items():
        attributes[key] = dict(attributes.get(key, {}), **value)
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == "full"
    kwargs = capture_spec(module)
    assert kwargs["supports_check_mode"] is True
    spec = kwargs["argument_spec"]
    documented = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    own = doc.get("options") or {}
    clash = set(own) & set(grafana_argument_spec())
    assert not clash, "module options shadow shared connection options: %s" % clash
    reserved = set(own) & {"message", "syslog_facility"}
    assert not reserved, "option names reserved by Ansible: %s" % reserved
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
        if any(word in option for word in ("password", "secure", "slack_url")) or option == "token":
            assert opt_spec.get("no_log") is True, "%s must be no_log" % option

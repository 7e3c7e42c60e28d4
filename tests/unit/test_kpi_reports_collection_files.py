"""Role kpi_reports installs the report module with every module_utils file it imports, directly or through
another module_utils file (a missing one is an ImportError on the report host at the first scheduled run)."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils"
# "from <package>._name import x" and "from <package> import _name as alias"
IMPORT_RE = re.compile(r"^\s*from " + re.escape(PACKAGE) + r"(?:\.(\w+) import| import (\w+))", re.M)


def module_utils_needed(path, seen=None):
    seen = set() if seen is None else seen
    for dotted, plain in IMPORT_RE.findall(path.read_text(encoding="utf-8")):
        name = dotted or plain
        rel = "plugins/module_utils/%s.py" % name
        if rel not in seen:
            seen.add(rel)
            module_utils_needed(REPO / rel, seen)
    return seen


def test_every_imported_module_utils_file_is_installed():
    role_vars = yaml.safe_load((REPO / "roles/kpi_reports/vars/main.yml").read_text(encoding="utf-8"))
    installed = set(role_vars["__kpi_reports_collection_files"])
    needed = module_utils_needed(REPO / "plugins/modules/kpi_report.py")
    assert {"plugins/module_utils/_grafana_client.py", "plugins/module_utils/_http.py", "plugins/module_utils/_kpi_report.py"} <= needed
    assert needed - installed == set(), "module_utils imported by kpi_report but not installed by the role"
    assert "plugins/modules/kpi_report.py" in installed

"""Third-party clients that are tested upstream against real Grafana behave on the emulator as their upstream
integration tests assert (docs/grafana-behaviour.md §14.13), on every supported profile.

* community.grafana 2.3.0 (datasource, folder, dashboard, contact point) with Basic auth and with a
  service-account token: ``third_party/community_grafana.yml``;
* grafana.grafana 6.0.6 (datasource, folder, dashboard, contact point, notification policy), token only: their
  argument specs take ``grafana_url`` and a required ``grafana_api_key`` sent as ``Authorization: Bearer`` and no
  user or password (``test_grafana_grafana_modules_are_token_only`` reads the specs, so it fails the day upstream
  adds Basic auth and the Basic variant must be added here): ``third_party/grafana_grafana.yml``.

Both collections come out of the ``ansible`` wheel into ``.test-collections/`` (scripts/bootstrap.sh); they are
test-only and never on the project's own collections path. Where Grafana 13 answers differently from the
versions the upstream suites run on, the playbooks assert what the client then does (documented breaks, see the
playbooks' headers) - so a green run on 13 means the emulator breaks these clients exactly as 13 does.
"""

import ast
import os
from pathlib import Path

import pytest

from grafana_emulator.profiles import SUPPORTED_VERSIONS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TEST_COLLECTIONS = REPO / ".test-collections"
CASES = (
    [(version, "community_grafana", "basic") for version in SUPPORTED_VERSIONS]
    + [(version, "community_grafana", "token") for version in SUPPORTED_VERSIONS]
    + [(version, "grafana_grafana", "token") for version in SUPPORTED_VERSIONS]
)


def _collections_ready():
    missing = [c for c in ("community/grafana", "grafana/grafana") if not (TEST_COLLECTIONS / "ansible_collections" / c / "MANIFEST.json").is_file()]
    assert not missing, "third-party collections %s missing under %s: run scripts/bootstrap.sh" % (", ".join(missing), TEST_COLLECTIONS)


@pytest.mark.parametrize("version,client,auth", CASES, ids=["%s-%s-%s" % c for c in CASES])
def test_upstream_assertions_hold(ansible, grafana_emulator_factory, version, client, auth):
    _collections_ready()
    emu = grafana_emulator_factory(version=version)
    ansible.env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(TEST_COLLECTIONS), ansible.env["ANSIBLE_COLLECTIONS_PATH"]])
    extra = {"grafana_url": emu.url, "tp_auth": auth, "tp_major": int(version.split(".")[0])}
    if auth == "token":
        token = emu.create_token("Admin")
        ansible.add_secret(token)
        extra["tp_token"] = token
    else:
        extra["tp_password"] = emu.admin_password
    emu.reset_request_log()
    res = ansible.playbook(HERE / "third_party" / ("%s.yml" % client), extra_vars=extra, expect_rc=None)
    assert res.rc == 0, res.output[-8000:]
    assert "failed=0" in res.stdout
    log = emu.request_log()
    assert log, "the client sent no request"
    # the client's requests reached the routes of this profile; on 13 the numeric-id routes answered 404
    id_route_404 = [r for r in log if r["status"] == 404 and r["path"].startswith("/api/datasources/") and r["path"].split("/")[3].isdigit()]
    if version.startswith("13") and client == "community_grafana":
        assert id_route_404, "community.grafana's PUT /api/datasources/<id> should have met 13's 404"
    if not version.startswith("13"):
        assert not id_route_404
    if auth == "basic":
        assert any(r["path"] == "/api/user/using/1" and r["status"] == 200 for r in log)


GRAFANA_GRAFANA_MODULES = ("datasource", "folder", "dashboard", "alert_contact_point", "alert_notification_policy")
BASIC_AUTH_OPTIONS = {"url_username", "url_password", "grafana_user", "grafana_password", "username", "password", "user", "basic_auth"}


def _module_args(path):
    """The keys of the ``module_args = dict(...)`` argument spec in a module file, with their keyword settings."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "module_args" for t in node.targets):
            call = node.value
            assert isinstance(call, ast.Call) and getattr(call.func, "id", "") == "dict", "module_args is not dict(...) in %s" % path
            return dict((kw.arg, dict((k.arg, ast.literal_eval(k.value)) for k in kw.value.keywords)) for kw in call.keywords)
    raise AssertionError("no module_args argument spec in %s" % path)


@pytest.mark.parametrize("module", GRAFANA_GRAFANA_MODULES)
def test_grafana_grafana_modules_are_token_only(module):
    """Why grafana.grafana has no Basic-auth cases above: the modules accept only a token. Read from the argument
    spec and the request code of the installed collection, so this fails when upstream adds another way in."""
    _collections_ready()
    path = TEST_COLLECTIONS / "ansible_collections" / "grafana" / "grafana" / "plugins" / "modules" / ("%s.py" % module)
    spec = _module_args(path)
    assert spec["grafana_api_key"].get("required") is True and spec["grafana_api_key"].get("no_log") is True
    assert spec["grafana_url"].get("required") is True
    assert not BASIC_AUTH_OPTIONS & set(spec), "grafana.grafana %s now takes %s: add its Basic-auth cases" % (module, sorted(BASIC_AUTH_OPTIONS & set(spec)))
    code = path.read_text()
    assert "'Bearer ' + module.params['grafana_api_key']" in code
    assert "auth=" not in code and "HTTPBasicAuth" not in code and "url_username" not in code

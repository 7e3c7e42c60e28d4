"""File provisioning at start-up (docs §8)."""

import json
import subprocess
import sys

from conftest import PLANTED
from emu_client import Client
from grafana_emulator import provisioning
from grafana_emulator.pytest_plugin import PACKAGE_PARENT


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_interpolation_rules():
    """docs §8: $VAR, ${VAR}, $__env{VAR}, $$ -> $, values only (keys untouched), unset -> empty."""
    env = {"A": "alpha", "PW": "p$w"}
    doc = {"$A": ["$A", "${A}", "$__env{A}", "x$$y", "$UNSET!", 5, "$PW"]}
    assert provisioning.interpolate(doc, env) == {"$A": ["alpha", "alpha", "alpha", "x$y", "!", 5, "p$w"]}


def test_deterministic_uid():
    """docs §8: missing uid -> "P" + upper(hex(first 8 bytes of sha256(name))) (Hello world -> P64EC88CA00B268E5)."""
    assert provisioning.deterministic_uid("Hello world") == "P64EC88CA00B268E5"


def test_datasource_file(grafana_emulator_factory, tmp_path, pg_server, pg_db):
    """docs §8: interpolated values, deleteDatasources first, editable:false -> readOnly (API writes 403),
    missing uid -> deterministic, the provisioned PostgreSQL DS is healthy (secure password from $ENV)."""
    prov = tmp_path / "prov"
    _write(
        prov / "datasources" / "kpi.yaml",
        """
apiVersion: 1
deleteDatasources:
  - name: Old
    orgId: 1
datasources:
  - name: KPI PostgreSQL
    type: grafana-postgresql-datasource
    url: ${PGHOST}:$PGPORT
    user: $__env{PGUSER}
    isDefault: true
    jsonData: {database: %s, sslmode: disable}
    secureJsonData: {password: $PGPASSWORD}
  - name: Editable
    type: prometheus
    url: http://prom:9090
    editable: true
"""
        % pg_db,
    )
    env = {"PGHOST": pg_server.host, "PGPORT": str(pg_server.port), "PGUSER": pg_server.superuser, "PGPASSWORD": PLANTED["db_password"]}
    emu = grafana_emulator_factory(provisioning=prov, env=env)
    api = Client(emu)
    ds = api.get("/api/datasources/name/KPI PostgreSQL").json
    assert ds["uid"] == provisioning.deterministic_uid("KPI PostgreSQL")
    assert ds["url"] == "%s:%d" % (pg_server.host, pg_server.port) and ds["user"] == pg_server.superuser
    assert ds["readOnly"] is True and ds["secureJsonFields"] == {"password": True}
    assert api.get("/api/datasources/uid/%s/health" % ds["uid"]).json["message"] == "Database Connection OK"
    r = api.put("/api/datasources/uid/" + ds["uid"], {"name": "x", "type": "prometheus", "access": "proxy"})
    assert r.status == 403 and r.json["message"] == "Cannot update read-only data source"
    assert api.delete("/api/datasources/uid/" + ds["uid"]).json["message"] == "Cannot delete read-only data source"
    editable = api.get("/api/datasources/name/Editable").json
    assert editable["readOnly"] is False and editable["isDefault"] is False


def test_two_defaults_refuse_to_start(tmp_path):
    """docs §8: more than one isDefault per org -> config invalid; Grafana does not start."""
    prov = tmp_path / "prov"
    _write(prov / "datasources" / "a.yaml", "datasources:\n  - {name: a, type: x, isDefault: true}\n")
    _write(prov / "datasources" / "b.yml", "datasources:\n  - {name: b, type: x, isDefault: true}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "grafana_emulator", "--port", "0", "--provisioning", str(prov)],
        cwd=PACKAGE_PARENT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0
    assert "Only one datasource per organization can be marked as default" in proc.stderr


def test_dashboard_provider(grafana_emulator_factory, tmp_path):
    """docs §8 dashboards: provider folder/folderUid, options.path JSON files loaded and marked provisioned;
    allowUiUpdates:false -> API save 400 Cannot save provisioned dashboard; delete -> 400."""
    dash_dir = tmp_path / "dashboards"
    _write(dash_dir / "kpi.json", json.dumps({"title": "KPI Overview", "uid": "kpi-overview", "version": 42}))
    prov = tmp_path / "prov"
    _write(
        prov / "dashboards" / "kpi.yaml",
        """
apiVersion: 1
providers:
  - name: kpi
    folder: CX Catalyst
    folderUid: cx-catalyst
    options:
      path: $DASH_DIR
""",
    )
    emu = grafana_emulator_factory(provisioning=prov, env={"DASH_DIR": str(dash_dir)})
    api = Client(emu)
    got = api.get("/api/dashboards/uid/kpi-overview").json
    assert got["meta"]["provisioned"] is True and got["meta"]["provisionedExternalId"] == "kpi.json"
    assert got["meta"]["folderUid"] == "cx-catalyst" and got["meta"]["folderTitle"] == "CX Catalyst"
    assert got["dashboard"]["version"] == 1  # file version ignored
    r = api.post("/api/dashboards/db", {"dashboard": dict(got["dashboard"]), "folderUid": "cx-catalyst"})
    assert r.status == 400 and r.json == {"message": "Cannot save provisioned dashboard"}
    r = api.delete("/api/dashboards/uid/kpi-overview")
    assert r.status == 400 and r.json["message"] == "provisioned dashboard cannot be deleted"


def test_dashboard_provider_allow_ui_updates(grafana_emulator_factory, tmp_path):
    """docs §8: allowUiUpdates:true lets the API save a provisioned dashboard."""
    dash_dir = tmp_path / "d"
    _write(dash_dir / "x.json", json.dumps({"title": "X", "uid": "x"}))
    prov = tmp_path / "prov"
    _write(prov / "dashboards" / "p.yaml", "providers:\n  - name: p\n    allowUiUpdates: true\n    options: {path: %s}\n" % dash_dir)
    api = Client(grafana_emulator_factory(provisioning=prov))
    r = api.post("/api/dashboards/db", {"dashboard": {"title": "X", "uid": "x", "version": 1}})
    assert r.status == 200 and r.json["version"] == 2


def test_restart_keeps_state_and_file_removal_deletes(grafana_emulator_factory, tmp_path):
    """--data persists state across restarts; a provisioned dashboard whose file is gone is deleted (no
    disableDeletion); an unchanged file does not bump the version."""
    dash_dir = tmp_path / "d"
    _write(dash_dir / "a.json", json.dumps({"title": "A", "uid": "a"}))
    _write(dash_dir / "b.json", json.dumps({"title": "B", "uid": "b"}))
    prov = tmp_path / "prov"
    _write(prov / "dashboards" / "p.yaml", "providers:\n  - name: p\n    options: {path: %s}\n" % dash_dir)
    data = tmp_path / "state.json"
    emu = grafana_emulator_factory(provisioning=prov, data_file=data)
    Client(emu).post("/api/folders", {"uid": "kept", "title": "Kept"})
    emu.stop()
    (dash_dir / "b.json").unlink()
    api = Client(grafana_emulator_factory(provisioning=prov, data_file=data))
    assert api.get("/api/folders/kept").status == 200
    assert api.get("/api/dashboards/uid/a").json["dashboard"]["version"] == 1
    assert api.get("/api/dashboards/uid/b").status == 404


def test_prune_by_version(grafana_emulator_factory, tmp_path):
    """docs §8/§9: prune:true deletes provisioned data sources removed from the files (11.x+; not 10.x)."""
    for version, survives in (("10.4.0", True), ("11.3.0", False)):
        prov = tmp_path / version / "prov"
        data = tmp_path / version / "state.json"
        _write(prov / "datasources" / "a.yaml", "prune: true\ndatasources:\n  - {name: gone, type: x}\n  - {name: stays, type: x}\n")
        grafana_emulator_factory(version=version, provisioning=prov, data_file=data).stop()
        _write(prov / "datasources" / "a.yaml", "prune: true\ndatasources:\n  - {name: stays, type: x}\n")
        api = Client(grafana_emulator_factory(version=version, provisioning=prov, data_file=data))
        assert (api.get("/api/datasources/name/gone").status == 200) is survives, version


def test_reload_endpoint(grafana_emulator_factory, tmp_path):
    """POST /api/admin/provisioning/dashboards/reload re-reads the provider files (OAS adminProvisioningReload*)."""
    dash_dir = tmp_path / "d"
    _write(dash_dir / "a.json", json.dumps({"title": "A", "uid": "a"}))
    prov = tmp_path / "prov"
    _write(prov / "dashboards" / "p.yaml", "providers:\n  - name: p\n    options: {path: %s}\n" % dash_dir)
    api = Client(grafana_emulator_factory(provisioning=prov))
    _write(dash_dir / "b.json", json.dumps({"title": "B", "uid": "b"}))
    assert api.get("/api/dashboards/uid/b").status == 404
    r = api.post("/api/admin/provisioning/dashboards/reload")
    assert r.status == 200 and r.json == {"message": "Dashboards config reloaded"}
    assert api.get("/api/dashboards/uid/b").json["meta"]["provisioned"] is True
    assert api.post("/api/admin/provisioning/datasources/reload").status == 200

"""File provisioning at start-up (docs §8): data sources and dashboard providers.

Errors that make Grafana refuse to start (invalid YAML, two defaults in one org) raise ProvisioningError,
which stops the emulator with exit status 1 like Grafana; per-file problems Grafana only logs are
returned as a list of messages (visible at GET /__emulator/info and on stderr).
"""

import glob
import hashlib
import json
import os
import re

import yaml

from . import api_datasources as dsapi
from .api_core import ensure_org
from .api_dashboards import save_dashboard
from .api_folders import folder_by_uid, org_folders, short_uid
from .config import ConfigError
from .server import ApiError
from .store import now_iso


class ProvisioningError(ConfigError):
    pass


# ------------------------------------------------------------------------------------------ values

_ENV_BRACED = re.compile(r"\$__env\{([^}]*)\}")
_FILE_BRACED = re.compile(r"\$__file\{([^}]*)\}")
_EXPAND = re.compile(r"\$(\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([*#$@!?\-0-9]))")


def interpolate(value, environ):
    """$__env{VAR}, $__file{path} first, then os.Expand-style $VAR / ${VAR} with $$ -> $ (values only)."""
    if isinstance(value, dict):
        return {k: interpolate(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, environ) for v in value]
    if not isinstance(value, str):
        return value

    def file_(m):
        try:
            with open(m.group(1).strip()) as fh:
                return fh.read().rstrip("\n")
        except OSError as exc:
            raise ProvisioningError("cannot read %s: %s" % (m.group(1), exc.strerror))

    value = _ENV_BRACED.sub(lambda m: environ.get(m.group(1).strip(), ""), value)
    value = _FILE_BRACED.sub(file_, value)

    def expand(m):
        name = m.group(2) if m.group(2) is not None else (m.group(3) or m.group(4))
        if name == "$":
            return "$"
        return environ.get(name, "")

    return _EXPAND.sub(expand, value)


def _load_yaml_files(directory):
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml")) + glob.glob(os.path.join(directory, "*.yml"))):
        try:
            with open(path) as fh:
                doc = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError) as exc:
            raise ProvisioningError("failed to load %s: %s" % (path, exc))
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ProvisioningError("%s: expected a mapping at the top level" % path)
        out.append((path, doc))
    return out


def deterministic_uid(name):
    """docs §8: "P" + upper(hex(first 8 bytes of sha256(name)))."""
    return "P" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()


# ------------------------------------------------------------------------------------------ datasources


def provision_datasources(app, directory, environ):
    store, profile = app.store, app.profile
    warnings = []
    files = _load_yaml_files(directory)
    deletes, entries, prune = [], [], False
    for path, doc in files:
        doc = interpolate(doc, environ)
        for item in doc.get("deleteDatasources") or []:
            deletes.append((item.get("name"), int(item.get("orgId") or 1)))
        for item in doc.get("datasources") or []:
            if not isinstance(item, dict) or not item.get("name"):
                raise ProvisioningError("%s: every datasource needs a name" % path)
            entries.append((path, item))
        prune = prune or bool(doc.get("prune"))
    defaults = {}
    for path, item in entries:
        if item.get("isDefault"):
            org = int(item.get("orgId") or 1)
            defaults[org] = defaults.get(org, 0) + 1
            if defaults[org] > 1:
                raise ProvisioningError("datasource.yaml config is invalid. Only one datasource per organization can be marked as default")
    for name, org_id in deletes:
        ds = dsapi.find(store, org_id, name=name)
        if ds is not None:
            del store.datasources[ds["id"]]
    wanted = set()
    for path, item in entries:
        org_id = int(item.get("orgId") or 1)
        ensure_org(store, org_id, "Org %d" % org_id)
        body = {
            "name": item["name"],
            "type": item.get("type") or "",
            "access": item.get("access") or "proxy",
            "url": str(item.get("url") or ""),
            "user": str(item.get("user") or ""),
            "database": str(item.get("database") or ""),
            "basicAuth": bool(item.get("basicAuth")),
            "basicAuthUser": str(item.get("basicAuthUser") or ""),
            "withCredentials": bool(item.get("withCredentials")),
            "isDefault": bool(item.get("isDefault")),
            "jsonData": item.get("jsonData") or {},
            "secureJsonData": {k: str(v) for k, v in (item.get("secureJsonData") or {}).items()},
            "uid": str(item.get("uid") or deterministic_uid(item["name"])),
            "version": int(item.get("version") or 0),
        }
        try:
            cmd = dsapi.parse_command(profile, body, update=True)
        except ApiError as exc:
            raise ProvisioningError("%s: datasource %s: %s" % (path, item["name"], exc.body))
        read_only = not bool(item.get("editable", False))
        existing = dsapi.find(store, org_id, name=item["name"])
        try:
            if existing is None:
                ds = dsapi.insert(store, profile, org_id, cmd, read_only=read_only)
            elif cmd["version"] and cmd["version"] < existing["version"]:
                warnings.append(
                    "%s: datasource %s not updated: file version %d < stored version %d" % (path, item["name"], cmd["version"], existing["version"])
                )
                ds = existing
            else:
                ds = dsapi.update(store, org_id, existing, cmd, force_version=True)
                ds["readOnly"] = read_only
        except ApiError as exc:
            raise ProvisioningError("%s: datasource %s: %s" % (path, item["name"], exc.body))
        ds["_provisioned"] = True
        wanted.add(ds["id"])
    if prune and profile.provisioning_prune:
        for ds in list(store.datasources.values()):
            if ds.get("_provisioned") and ds["id"] not in wanted:
                del store.datasources[ds["id"]]
    return warnings


# ------------------------------------------------------------------------------------------ dashboards


def _provider_folder(store, org_id, title, uid, login):
    if not title:
        return ""
    folder = folder_by_uid(store, org_id, uid) if uid else None
    if folder is None:
        folder = next((f for f in org_folders(store, org_id) if f["title"] == title and not f.get("parentUid")), None)
    if folder is None:
        ts = now_iso()
        folder = {
            "id": store.next_id("dashboard"),
            "uid": uid or short_uid(),
            "orgId": org_id,
            "title": title,
            "description": "",
            "parentUid": "",
            "version": 1,
            "created": ts,
            "updated": ts,
            "createdBy": login,
            "updatedBy": login,
        }
        store.folders[folder["id"]] = folder
    return folder["uid"]


def provision_dashboards(app, directory, environ):
    store, profile = app.store, app.profile
    warnings = []
    names = set()
    for path, doc in _load_yaml_files(directory):
        doc = interpolate(doc, environ)
        for provider in doc.get("providers") or []:
            name = provider.get("name")
            if not name:
                raise ProvisioningError("%s: every dashboard provider needs a name" % path)
            if name in names:
                raise ProvisioningError("%s: dashboard provider name %r is not unique" % (path, name))
            names.add(name)
            org_id = int(provider.get("orgId") or 1)
            ensure_org(store, org_id, "Org %d" % org_id)
            options = provider.get("options") or {}
            root = options.get("path")
            if not root or not os.path.isdir(root):
                warnings.append("%s: provider %s: path %r is not a directory" % (path, name, root))
                continue
            from_structure = bool(options.get("foldersFromFilesStructure"))
            if from_structure and (provider.get("folder") or provider.get("folderUid")):
                raise ProvisioningError("%s: provider %s: foldersFromFilesStructure cannot be used with folder or folderUid" % (path, name))
            allow_ui = bool(provider.get("allowUiUpdates"))
            seen = set()
            for file_path in sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True)):
                try:
                    with open(file_path, "rb") as fh:
                        raw = fh.read()
                    dash = json.loads(raw)
                except (OSError, ValueError) as exc:
                    warnings.append("%s: cannot load dashboard: %s" % (file_path, exc))
                    continue
                if not isinstance(dash, dict):
                    warnings.append("%s: dashboard JSON is not an object" % file_path)
                    continue
                if from_structure:
                    rel_dir = os.path.relpath(os.path.dirname(file_path), root)
                    title = "" if rel_dir == "." else rel_dir.split(os.sep, maxsplit=1)[0]
                    folder_uid = _provider_folder(store, org_id, title, "", "admin")
                else:
                    folder_uid = _provider_folder(store, org_id, provider.get("folder") or "", provider.get("folderUid") or "", "admin")
                checksum = hashlib.sha256(raw).hexdigest()
                seen.add(file_path)
                current = next(
                    (d for d in store.dashboards.values() if (d.get("provisioned") or {}).get("externalId") == file_path and d["orgId"] == org_id), None
                )
                if current is not None and current["provisioned"].get("checkSum") == checksum and current["folderUid"] == folder_uid:
                    continue
                dash.pop("id", None)
                try:
                    save_dashboard(
                        store,
                        profile,
                        org_id,
                        dash,
                        folder_uid,
                        True,
                        "",
                        "admin",
                        provisioned={"name": name, "externalId": file_path, "allowUiUpdates": allow_ui, "checkSum": checksum, "root": root},
                        provisioning=True,
                    )
                except ApiError as exc:
                    warnings.append("%s: cannot save dashboard: %s" % (file_path, exc.body))
            if not provider.get("disableDeletion"):
                for d in list(store.dashboards.values()):
                    prov = d.get("provisioned") or {}
                    if prov.get("name") == name and prov.get("externalId") not in seen:
                        del store.dashboards[d["id"]]
    return warnings


def apply(app, environ=None):
    """Run data source then dashboard provisioning; return the warnings Grafana would only log."""
    environ = os.environ if environ is None else environ
    base = app.settings.provisioning
    warnings = []
    if not base or not os.path.isdir(base):
        return warnings
    ds_dir = os.path.join(base, "datasources")
    if os.path.isdir(ds_dir):
        warnings += provision_datasources(app, ds_dir, environ)
    dash_dir = os.path.join(base, "dashboards")
    if os.path.isdir(dash_dir):
        warnings += provision_dashboards(app, dash_dir, environ)
    return warnings


def register(app):
    """POST /api/admin/provisioning/{dashboards,datasources}/reload (server admin): re-read the files now."""

    def reload(kind, func, message):
        def handler(req):
            directory = os.path.join(app.settings.provisioning or "", kind)
            if not app.settings.provisioning or not os.path.isdir(directory):
                return {"message": message}
            try:
                app.provisioning_errors = func(app, directory, os.environ)
            except ProvisioningError as exc:
                raise ApiError(500, {"message": str(exc)})
            return {"message": message}

        return handler

    app.route("POST", r"/api/admin/provisioning/dashboards/reload", action="server:admin")(
        reload("dashboards", provision_dashboards, "Dashboards config reloaded")
    )
    app.route("POST", r"/api/admin/provisioning/datasources/reload", action="server:admin")(
        reload("datasources", provision_datasources, "Datasources config reloaded")
    )

"""In-memory state of the emulated Grafana, optionally persisted to a JSON file across restarts.

Everything is keyed by org id where Grafana scopes it by org.  One lock serialises requests that
touch state, which is what makes concurrent-writer tests deterministic.
"""

import copy
import json
import os
import threading
import time
import datetime


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_ms():
    return int(time.time() * 1000)


EMPTY = {
    "seq": {},
    "orgs": {},  # id -> {id, name}
    "users": {},  # id -> {id, login, email, name, password, isGrafanaAdmin, isServiceAccount, orgs{orgId: role}, ...}
    "tokens": {},  # id -> {id, name, saId, orgId, hash, created, expiration}
    "datasources": {},  # id -> DS row (with secureJsonData kept here only)
    "folders": {},  # id -> folder row
    "dashboards": {},  # id -> dashboard row
    "dashboard_versions": [],
    "alert_rules": {},  # uid -> rule row
    "rule_groups": {},  # "<org>/<folderUid>/<group>" -> {interval}
    "contact_points": {},  # uid -> receiver row
    "policies": {},  # org -> route tree
}


class Store(object):
    def __init__(self, path=None):
        self.path = path
        self.lock = threading.RLock()
        self.data = copy.deepcopy(EMPTY)
        if path and os.path.exists(path):
            with open(path) as fh:
                loaded = json.load(fh)
            for key in EMPTY:
                if key in loaded:
                    self.data[key] = loaded[key]
            # JSON object keys are strings; ids are ints
            for key in ("orgs", "users", "tokens", "datasources", "folders", "dashboards"):
                self.data[key] = {int(k): v for k, v in self.data[key].items()}
            for user in self.data["users"].values():
                user["orgs"] = {int(k): v for k, v in user["orgs"].items()}
            self.data["policies"] = {int(k): v for k, v in self.data["policies"].items()}

    def __getattr__(self, name):
        if name in EMPTY:
            return self.data[name]
        raise AttributeError(name)

    def next_id(self, kind):
        self.data["seq"][kind] = self.data["seq"].get(kind, 0) + 1
        return self.data["seq"][kind]

    def save(self):
        if not self.path:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        tmp = self.path + ".tmp"
        # the state holds data source passwords and webhook URLs (Grafana keeps them encrypted in its DB)
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            json.dump(self.data, fh)
        os.replace(tmp, self.path)

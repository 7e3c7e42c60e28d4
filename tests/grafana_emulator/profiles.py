"""Version profiles: which documented behaviour applies to which Grafana version (notes §9).

A profile is derived from any ``x.y.z`` version string by comparing it with the versions at which the
notes record a change, so ``--version 10.2.2`` and ``--version 10.2.3`` differ exactly where Grafana did.
"""

import re


def parse_version(text):
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text).strip())
    if not m:
        raise ValueError("invalid Grafana version %r (expected x.y.z)" % (text,))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


class Profile(object):
    """Behaviour switches for one Grafana version."""

    def __init__(self, version, feature_toggles=()):
        self.version = str(version)
        v = self.v = parse_version(version)
        toggles = set(feature_toggles or ())
        # notes §2/§9: postgres plugin renamed grafana-postgresql-datasource in 10.2.3 (postgres kept as alias)
        self.postgres_plugin_id = "grafana-postgresql-datasource" if v >= (10, 2, 3) else "postgres"
        # notes §2/§9: DS name optional (auto-named <type>, <type>-1, ...) in 11/12 code; first version unverified -> 11.0
        self.ds_name_optional = v >= (11, 0, 0)
        # notes §2: name >190 / url >255 errutil errors are 11.x+
        self.ds_length_errors = v >= (11, 0, 0)
        # notes §3/§9: nested folders behind flag nestedFolders in 9.x/10.x, GA/on by default in 11
        self.nested_folders = v >= (11, 0, 0) or "nestedFolders" in toggles
        # notes §3: max depth 8 in 9.x flag era, 4 from PR #78133 (late 2023, ~10.3)
        self.max_folder_depth = 4 if v >= (10, 3, 0) else 8
        # notes §3/§9: duplicate folder titles allowed under different parents from ~10.4 (PR #77076)
        self.folder_dup_titles_across_parents = v >= (10, 4, 0)
        # notes §3: DELETE folder body: 11.x code {"message":"Folder deleted"}; docs (older) add "id"
        self.folder_delete_has_id = v < (11, 0, 0)
        # notes §5/§9: GET/PUT unknown rule -> 404 empty body (11.x); 9.5 returned 500; 10.x unknown -> treated as 11
        self.rule_404_empty = v >= (10, 0, 0)
        # notes §5/§9: X-Disable-Provenance honoured on all provisioning writes incl. DELETE from 11.x;
        # 9.5 honoured it only on rule POST/PUT (10.x "widened, exact version unverified" -> treated as 9.5)
        self.provenance_header_all_writes = v >= (11, 0, 0)
        # notes §5: DELETE rule group exists in 11.x
        self.rule_group_delete = v >= (11, 0, 0)
        # notes §8/§9: provisioning prune (first version unverified -> 11.0)
        self.provisioning_prune = v >= (11, 0, 0)
        # notes §7: newer SA logins embed the org id (sa-<orgId>-<name>); exact version unverified -> 12.0
        self.sa_login_with_org = v >= (12, 0, 0)
        # notes §6: newer versions add "status":200 per ds/query result (exact version unverified -> 10.0)
        self.query_result_status = v >= (10, 0, 0)
        # notes §0: errutil 401 bodies with the authn service (10.x+); before: {"message":"Invalid API key"}
        self.authn_errutil = v >= (10, 0, 0)

    def resolve_type(self, ds_type):
        """notes §2: ``type`` is reported as the plugin id resolved through aliases (unknown ids echoed)."""
        return self.postgres_plugin_id if self.is_postgres(ds_type) else ds_type

    def is_postgres(self, ds_type):
        """``postgres`` always; ``grafana-postgresql-datasource`` only where that plugin id exists (>=10.2.3)."""
        return ds_type == "postgres" or (ds_type == "grafana-postgresql-datasource" and self.v >= (10, 2, 3))

    def as_dict(self):
        return {k: v for k, v in sorted(vars(self).items()) if k != "v"}

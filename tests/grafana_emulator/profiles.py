"""Version profiles: which documented behaviour applies to which Grafana version (docs §9).

A profile is derived from any ``x.y.z`` version string by comparing it with the versions at which the
docs/grafana-behaviour.md records a change, so ``--version 10.2.2`` and ``--version 10.2.3`` differ exactly where Grafana did.
"""

import re

# The versions users run (issue 11): one profile per supported release line, at a recent patch release.
# The patch numbers are (chosen): 10.4.19 and 11.6.3 are the releases community.grafana's CI runs on
# (docs/grafana-behaviour.md §14.13); 12.4 and 13.3 are the latest minors documented (§13.2, §13.3), patch .0.
SUPPORTED_VERSIONS = ("10.4.19", "11.6.3", "12.4.0", "13.3.0")


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
        # docs §2/§9: postgres plugin renamed grafana-postgresql-datasource in 10.2.3 (postgres kept as alias)
        self.postgres_plugin_id = "grafana-postgresql-datasource" if v >= (10, 2, 3) else "postgres"
        # docs §2/§9: DS name optional (auto-named <type>, <type>-1, ...) in 11/12 code; first version unverified -> 11.0
        self.ds_name_optional = v >= (11, 0, 0)
        # docs §2: name >190 / url >255 errutil errors are 11.x+
        self.ds_length_errors = v >= (11, 0, 0)
        # docs §3/§9: nested folders behind flag nestedFolders in 9.x/10.x, GA/on by default in 11
        self.nested_folders = v >= (11, 0, 0) or "nestedFolders" in toggles
        # docs §3: max depth 8 in 9.x flag era, 4 from PR #78133 (late 2023, ~10.3)
        self.max_folder_depth = 4 if v >= (10, 3, 0) else 8
        # docs §3/§9: duplicate folder titles allowed under different parents from ~10.4 (PR #77076)
        self.folder_dup_titles_across_parents = v >= (10, 4, 0)
        # docs §3: DELETE folder body: 11.x code {"message":"Folder deleted"}; docs (older) add "id"
        self.folder_delete_has_id = v < (11, 0, 0)
        # docs §5/§9: GET/PUT unknown rule -> 404 empty body (11.x); 9.5 returned 500; 10.x unknown -> treated as 11
        self.rule_404_empty = v >= (10, 0, 0)
        # docs §5/§9: X-Disable-Provenance honoured on all provisioning writes incl. DELETE from 11.x;
        # 9.5 honoured it only on rule POST/PUT; 10.x "widened, exact version unverified": from 10.4 (chosen:
        # community.grafana's contact-point idempotency tests pass on real 10.4.19 only if a contact point
        # created with the header has no provenance, docs §14.4, §14.13), before 10.4 as 9.5
        self.provenance_header_all_writes = v >= (10, 4, 0)
        # docs §5: DELETE rule group exists in 11.x
        self.rule_group_delete = v >= (11, 0, 0)
        # docs §8/§9: provisioning prune (first version unverified -> 11.0)
        self.provisioning_prune = v >= (11, 0, 0)
        # §7/§14.9: sa-<orgId>-<name> from the 10.4.x backport (#83953); the first 10.4 patch carrying it is
        # unverified -> every 10.4 (chosen)
        self.sa_login_with_org = v >= (10, 4, 0)
        # docs §6: newer versions add "status":200 per ds/query result (exact version unverified -> 10.0)
        self.query_result_status = v >= (10, 0, 0)
        # docs §0: errutil 401 bodies with the authn service (10.x+); before: {"message":"Invalid API key"}
        self.authn_errutil = v >= (10, 0, 0)
        # §13.5/§14.1: numeric-id data source routes served through 12.x, off by default in 13.0 unless the
        # feature toggle datasourceLegacyIdApi is on
        self.ds_id_routes = v < (13, 0, 0) or "datasourceLegacyIdApi" in toggles
        # §5/§14.4: 10.x+ omits an empty provenance (json omitempty); 9.x sends "provenance":""
        self.provenance_omitempty = v >= (10, 0, 0)
        # "Current code" (docs §14.5-§14.11) vs the 11.x code read: the first release that ships the current
        # behaviour is unverified for each of the switches below.  Rule (chosen): the 11.x code applies through
        # 12.x, the current code from 13.0.  Evidence for 12.x: grafana.grafana's contact-point integration test
        # on a Grafana Cloud stack relies on the 500 (docs §14.3, §14.5).
        current = v >= (13, 0, 0)
        # §14.5: POST contact point with a taken uid: 500 on 10.x-12.x, 409 errutil uidInUse on 13; 9.x unknown ->
        # 400 as before (chosen)
        self.cp_uid_taken_status = 409 if current else (500 if v >= (10, 0, 0) else 400)
        # §14.6: DELETE of a contact point used by a policy: 500 before 13, 409 errutil referenced on 13
        self.cp_in_use_status = 409 if current else 500
        # §14.6: the 11.x contact-point DELETE handler ignores provenance; 12/13 not read -> same (chosen);
        # 9.x/10.x keep the provenance check (chosen: the scope table in docs §9 says the header was narrower then)
        self.cp_delete_ignores_provenance = v >= (11, 0, 0)
        # §14.8: missing rule group -> 404 {"message":"rulegroup not found"} before 13, errutil
        # alerting.alert-rule.notFound on 13
        self.rule_group_404_errutil = current
        # §14.11: POST alert rule with a taken uid: 400 before 13 (9.x/10.x unknown -> like 11.x, chosen), 409
        # errutil alerting.alert-rule.conflict on 13
        self.rule_uid_taken_status = 409 if current else 400
        # §3/§14.10: POST /api/folders with a taken uid: 412 version-mismatch (9.x/10.x), 412 with body {} from 11
        # (seen on 11.4; every later release chosen: grafana.grafana's folder integration test on Grafana Cloud
        # relies on the 412; the 409 is documented for the /apis folder handler, which answers it there)
        self.folder_uid_taken = (412, "empty" if v >= (11, 0, 0) else "version-mismatch")
        # §4/§14.7: dashboard versions list is {"continueToken","versions"} from 11.6; before: an array
        self.dashboard_versions_object = v >= (11, 6, 0)
        # §13.1-§13.3: the /apis generation: dashboard.grafana.app and folder.grafana.app v1beta1 in 12.x,
        # v1 (GA) in 13.x (v1beta1 kept on 13 -- chosen: beta versions are not removed in the docs read);
        # schema-v2 dashboards at v2beta1 from 12.0 (v2alpha1/v2beta1 seen in 12.x; chosen v2beta1), v2 on 13
        # (the 13.x docs point to dashboard.grafana.app/v2)
        self.apis = v >= (12, 0, 0)
        if v >= (13, 0, 0):
            self.apis_dashboard_versions = ("v1", "v1beta1", "v2", "v2beta1")
            self.apis_folder_versions = ("v1", "v1beta1")
        elif self.apis:
            self.apis_dashboard_versions = ("v1beta1", "v2beta1")
            self.apis_folder_versions = ("v1beta1",)
        else:
            self.apis_dashboard_versions = self.apis_folder_versions = ()
        # §13.2/§14.12: legacy GET of a schema-v2 dashboard: 406 on 12.1; later versions down-convert with loss,
        # the release where that replaced the 406 is unverified -> 406 on all of 12.x, conversion on 13 (chosen)
        self.v2_legacy_get = "convert" if v >= (13, 0, 0) else "406"
        # §13.2: current dashboard schemaVersion: 41 in 12.x docs, 42 at 13.2.1
        self.schema_version = 42 if v >= (13, 0, 0) else 41

    def apis_path(self, group, name=""):
        """``/apis`` path of ``name`` (or of the collection) in the newest version of ``<group>.grafana.app`` this
        profile serves, in org 1's namespace (what a client that discovers ``/apis`` uses); None before 12."""
        versions = self.apis_folder_versions if group == "folder" else self.apis_dashboard_versions
        if not versions:
            return None
        path = "/apis/%s.grafana.app/%s/namespaces/default/%ss" % (group, versions[0], group)
        return path + "/" + name if name else path

    def resolve_type(self, ds_type):
        """docs §2: ``type`` is reported as the plugin id resolved through aliases (unknown ids echoed)."""
        return self.postgres_plugin_id if self.is_postgres(ds_type) else ds_type

    def is_postgres(self, ds_type):
        """``postgres`` always; ``grafana-postgresql-datasource`` only where that plugin id exists (>=10.2.3)."""
        return ds_type == "postgres" or (ds_type == "grafana-postgresql-datasource" and self.v >= (10, 2, 3))

    def as_dict(self):
        return {k: v for k, v in sorted(vars(self).items()) if k != "v"}

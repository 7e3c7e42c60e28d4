"""JSON names of the Go request structs the emulated handlers bind (docs §0 "Request bodies", §14.3).

``server.go_bind`` matches body keys to these names case-insensitively, as Go's encoding/json does; keys of
map-typed fields (jsonData, secureJsonData, settings, labels, annotations, a dashboard's JSON, a query's
model) are not struct fields and stay verbatim.  Field lists follow the structs named in docs §2-§7.
"""

# AddDataSourceCommand / UpdateDataSourceCommand (docs §2)
DATASOURCE = (
    "name",
    "type",
    "access",
    "url",
    "user",
    "database",
    "basicAuth",
    "basicAuthUser",
    "withCredentials",
    "isDefault",
    "jsonData",
    "secureJsonData",
    "uid",
    "version",
)
# CreateFolderCommand / UpdateFolderCommand / MoveFolderCommand (docs §3)
FOLDER_CREATE = ("uid", "title", "description", "parentUid")
FOLDER_UPDATE = ("uid", "title", "description", "version", "overwrite")
FOLDER_MOVE = ("parentUid",)
# SaveDashboardCommand and ImportDashboardRequest (docs §4); ``dashboard`` is a simplejson map
DASHBOARD_SAVE = ("dashboard", "folderId", "folderUid", "overwrite", "message", "isFolder")
DASHBOARD_IMPORT = ("dashboard", "overwrite", ("inputs", ("name", "type", "pluginId", "value")), "folderId", "folderUid", "pluginId", "path")
# ProvisionedAlertRule, AlertRuleGroup (docs §5); AlertQuery.model is raw JSON
ALERT_QUERY = ("refId", "queryType", ("relativeTimeRange", ("from", "to")), "datasourceUid", "model")
ALERT_RULE = (
    "id",
    "uid",
    "orgID",
    "folderUID",
    "ruleGroup",
    "title",
    "condition",
    ("data", ALERT_QUERY),
    "updated",
    "noDataState",
    "execErrState",
    "for",
    "annotations",
    "labels",
    "provenance",
    "isPaused",
    "notification_settings",
    "record",
    "keep_firing_for",
    "missing_series_evals_to_resolve",
)
RULE_GROUP = ("title", "folderUid", "interval", ("rules", ALERT_RULE))
# EmbeddedContactPoint (docs §5)
CONTACT_POINT = ("uid", "name", "type", "settings", "disableResolveMessage", "provenance")
# Route (the notification policy tree, recursive; docs §5)
ROUTE = [
    "receiver",
    "group_by",
    "continue",
    "object_matchers",
    "matchers",
    "mute_time_intervals",
    "active_time_intervals",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "provenance",
]
ROUTE.append(("routes", ROUTE))
# service accounts and tokens (docs §7)
SERVICE_ACCOUNT = ("name", "role", "isDisabled")
SA_TOKEN = ("name", "secondsToLive")
# orgs and users (server admin)
ORG = ("name",)
ORG_USER = ("loginOrEmail", "role")
ADMIN_USER = ("name", "email", "login", "password", "OrgId")
# MetricRequest (docs §6); each query is a simplejson map
METRIC_REQUEST = ("from", "to", "queries", "debug")

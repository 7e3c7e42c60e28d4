# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dashboard's datasource and its raw-SQL query, shared by the panels (``build_dashboard.py``) and the
alert rules (``build_alert_rules.py``).

The dashboard's datasource is an import input (``${DS_SUPPORT_DB}``): Grafana asks for a datasource on import
and replaces every ``${DS_SUPPORT_DB}``; the role kpi_grafana replaces it in the alert rules. The SDK ships no
SQL datasource query, so ``SqlTarget`` implements its ``Dataquery`` variant.
"""

from __future__ import annotations

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DASHBOARD_UID = "cx-catalyst-kpi"
# Import input: Grafana asks the user for a datasource and replaces every "${DS_SUPPORT_DB}".
DS_INPUT = "DS_SUPPORT_DB"
# "postgres" is the plugin id every Grafana since 9.0 accepts (10.2.3+ renamed the plugin to
# grafana-postgresql-datasource and keeps "postgres" as an alias), so the file imports on 9.x–12.x.
DS_TYPE = "postgres"
DATASOURCE = DataSourceRef(type_val=DS_TYPE, uid="${%s}" % DS_INPUT)


# ----------------------------------------------------------------------------------------- queries


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL query of Grafana's PostgreSQL datasource (the shape the query editor saves in code mode)."""

    def __init__(self, ref_id: str, raw_sql: str, fmt: str) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.fmt = fmt

    def to_json(self) -> dict:
        return {
            "refId": self.ref_id,
            "datasource": {"type": DS_TYPE, "uid": "${%s}" % DS_INPUT},
            "editorMode": "code",
            "format": self.fmt,
            "rawQuery": True,
            "rawSql": self.raw_sql,
        }


class SqlTarget(cogbuilder.Builder[SqlQuery]):
    def __init__(self, raw_sql: str, fmt: str = "table", ref_id: str = "A") -> None:
        self._internal = SqlQuery(ref_id, _sql(raw_sql), fmt)

    def build(self) -> SqlQuery:
        return self._internal


def _sql(text: str) -> str:
    """Dedent and strip a query so the JSON stays readable in Grafana's editor."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines)

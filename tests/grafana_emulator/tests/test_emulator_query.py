"""POST /api/ds/query and the PostgreSQL macro table (docs §6), run on the real PostgreSQL."""

import datetime

import pytest

from emu_client import Client, pg_datasource
from grafana_emulator import macros

UTC = datetime.timezone.utc
FROM = datetime.datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
TO = datetime.datetime(2024, 5, 1, 11, 30, 0, 500000, tzinfo=UTC)
FROM_MS = 1714557600000


@pytest.mark.parametrize(
    "sql,expanded",
    [
        ("$__time(ts)", 'ts AS "time"'),
        ("$__timeEpoch(ts)", 'extract(epoch from ts) as "time"'),
        ("WHERE $__timeFilter(metric_date)", "WHERE metric_date BETWEEN '2024-05-01T10:00:00Z' AND '2024-05-01T11:30:00.5Z'"),
        ("$__timeFrom() $__timeTo()", "'2024-05-01T10:00:00Z' '2024-05-01T11:30:00.5Z'"),
        ("$__timeGroup(ts,'5m')", "floor(extract(epoch from ts)/300)*300"),
        ("$__timeGroup(ts, 5m, NULL)", "floor(extract(epoch from ts)/300)*300"),
        ("$__timeGroup(ts,'500ms')", "floor(extract(epoch from ts)/0.5)*0.5"),
        ("$__timeGroup(ts,'2w')", "floor(extract(epoch from ts)/1.2096e+06)*1.2096e+06"),
        ("$__timeGroupAlias(ts,'1h')", 'floor(extract(epoch from ts)/3600)*3600 AS "time"'),
        ("SELECT $__timeGroup(ts,'5m'), v", 'SELECT floor(extract(epoch from ts)/300)*300 AS "time", v'),
        ("$__unixEpochFilter(t)", "t >= 1714557600 AND t <= 1714563000"),
        ("$__unixEpochNanoFilter(t)", "t >= 1714557600000000000 AND t <= 1714563000500000000"),
        ("$__unixEpochNanoFrom() $__unixEpochNanoTo()", "1714557600000000000 1714563000500000000"),
        ("$__unixEpochFrom() $__unixEpochTo()", "1714557600 1714563000"),
        ("$__unixEpochGroup(t,'5m')", "floor((t)/300)*300"),
        ("$__unixEpochGroupAlias(t,'5m')", 'floor((t)/300)*300 AS "time"'),
        ("$__interval $__interval_ms", "1m 60000"),
        ("WHERE x = '$var'", "WHERE x = '$var'"),  # template variables are not the backend's job
    ],
)
def test_macro_table(sql, expanded):
    """docs §6 "PostgreSQL macro expansions (exact)": from/to UTC RFC3339Nano, Go %v numbers, global macros."""
    assert macros.interpolate(sql, FROM, TO, 60.0)[0] == expanded


def test_macro_timescaledb_time_bucket():
    """docs §6: $__timeGroup with timescaledb:true -> time_bucket('300.000s',col)."""
    assert macros.interpolate("$__timeGroup(ts,'5m')", FROM, TO, 1, timescaledb=True)[0] == "time_bucket('300.000s',ts)"


@pytest.mark.parametrize(
    "sql,message",
    [
        ("$__nope(x)", 'unknown macro "__nope"'),
        ("$__timeFilter()", "missing time column argument for macro __timeFilter"),
        ("$__timeGroup(ts)", "macro __timeGroup needs time column and interval and optional fill value"),
        ("$__timeGroup(ts, 'abc')", "error parsing interval abc"),
        ("$__timeGroup(ts, '5m', sometimes)", "error parsing fill value sometimes"),
    ],
)
def test_macro_errors(sql, message):
    """docs §6: unknown macro -> unknown macro "<name>"; missing args -> missing time column argument..."""
    with pytest.raises(macros.MacroError) as exc:
        macros.interpolate(sql, FROM, TO, 1)
    assert str(exc.value) == message


def test_interval_format():
    """docs §6: $__interval formatted like Grafana (1m, 2h, 500ms...)."""
    assert [macros.format_interval(s) for s in (0.5, 1, 90, 7200, 86400 * 3)] == ["500ms", "1s", "1m", "2h", "3d"]


@pytest.fixture
def pg_api(grafana_emulator, pg_server, pg_db):
    pg_server.execute(
        """
        CREATE TABLE kpi (metric_date date, category text, cases int, rate numeric(5,2), ok boolean);
        INSERT INTO kpi VALUES ('2024-05-01', 'billing', 10, 93.75, true), ('2024-05-01', 'shipping', 4, 50, false),
                               ('2024-05-02', 'billing', 12, 91.5, true)""",
        dbname=pg_db,
        fetch=False,
    )
    api = Client(grafana_emulator)
    assert api.post("/api/datasources", pg_datasource(pg_server, pg_db, uid="pg")).status == 200
    return api


def _query(api, sql, fmt="table", ref="A", **extra):
    q = {"refId": ref, "datasource": {"uid": "pg", "type": "grafana-postgresql-datasource"}, "rawSql": sql, "format": fmt}
    q.update(extra)
    return api.post("/api/ds/query", {"from": str(FROM_MS), "to": "1714780800000", "queries": [q]})


def test_table_query_real_rows(pg_api):
    """docs §6: 200 results.<refId>.frames, column-major values, field types, executedQueryString."""
    r = _query(pg_api, "SELECT metric_date::timestamptz AS time, category, cases, rate, ok FROM kpi WHERE $__timeFilter(metric_date) ORDER BY 1, 2")
    assert r.status == 200
    frame = r.json["results"]["A"]["frames"][0]
    assert frame["schema"]["meta"]["executedQueryString"].startswith(
        "SELECT metric_date::timestamptz AS time, category, cases, rate, ok FROM kpi WHERE metric_date BETWEEN "
        "'2024-05-01T10:00:00Z' AND '2024-05-04T00:00:00Z'"
    )
    assert [(f["name"], f["type"], f["typeInfo"]["frame"]) for f in frame["schema"]["fields"]] == [
        ("time", "time", "time.Time"),
        ("category", "string", "string"),
        ("cases", "number", "int32"),
        ("rate", "number", "float64"),
        ("ok", "boolean", "bool"),
    ]
    values = frame["data"]["values"]
    # a date column compared with the timestamp literal: PostgreSQL casts the literal to date (05-01 included)
    assert values[1] == ["billing", "shipping", "billing"] and values[2] == [10, 4, 12]
    assert values[3] == [93.75, 50.0, 91.5] and values[4] == [True, False, True]
    assert values[0][2] == 1714608000000


def test_time_series_requires_time_column(pg_api):
    """docs §6: time_series (the default format) requires a time column -> 400 with per-ref error."""
    r = pg_api.post(
        "/api/ds/query", {"from": "now-1h", "to": "now", "queries": [{"refId": "A", "datasource": {"uid": "pg"}, "rawSql": "SELECT cases FROM kpi"}]}
    )
    assert r.status == 400 and r.json["results"]["A"]["error"] == "no time column found"


def test_time_series_long_to_wide_and_float(pg_api):
    """docs §6: time_series renames the time column to Time, converts numbers to float64, pivots on strings."""
    r = _query(pg_api, "SELECT metric_date::timestamptz AS time, category AS metric, cases FROM kpi ORDER BY 1", fmt="time_series")
    assert r.status == 200
    frame = r.json["results"]["A"]["frames"][0]
    fields = frame["schema"]["fields"]
    assert fields[0]["name"] == "Time"
    assert [(f["labels"], f["typeInfo"]["frame"]) for f in fields[1:]] == [({"metric": "billing"}, "float64"), ({"metric": "shipping"}, "float64")]
    assert frame["data"]["values"][1] == [10.0, 12.0] and frame["data"]["values"][2] == [4.0, None]


def test_query_errors_400_per_ref_and_zero_rows(pg_api):
    """docs §6: any query error -> HTTP 400 with per-ref {"error":"db query error: ...", frames}; zero rows ->
    frames []; empty rawSql skipped (no result key)."""
    body = {
        "from": "now-1h",
        "to": "now",
        "queries": [
            {"refId": "A", "datasource": {"uid": "pg"}, "rawSql": "SELECT * FROM no_such_table", "format": "table"},
            {"refId": "B", "datasource": {"uid": "pg"}, "rawSql": "SELECT 1 AS x WHERE false", "format": "table"},
            {"refId": "C", "datasource": {"uid": "pg"}, "rawSql": "", "format": "table"},
            {"refId": "D", "datasource": {"uid": "pg"}, "rawSql": "SELECT $__bogus(x)", "format": "table"},
        ],
    }
    r = pg_api.post("/api/ds/query", body)
    assert r.status == 400
    results = r.json["results"]
    assert results["A"]["error"] == 'db query error: pq: relation "no_such_table" does not exist'
    assert results["A"]["frames"][0]["schema"]["meta"]["executedQueryString"] == "SELECT * FROM no_such_table"
    assert results["B"]["frames"] == [] and "error" not in results["B"]
    assert "C" not in results
    assert results["D"]["error"] == 'unknown macro "__bogus"'


def test_query_unknown_datasource_404(pg_api):
    """docs §6: unknown DS uid -> 404 Data source not found."""
    r = pg_api.post("/api/ds/query", {"from": "now-1h", "to": "now", "queries": [{"refId": "A", "datasource": {"uid": "missing"}, "rawSql": "SELECT 1"}]})
    assert r.status == 404 and r.json["message"] == "Data source not found"


def test_query_uses_secure_password(grafana_emulator, pg_server, pg_db):
    """ds/query connects with the stored secureJsonData password: a wrong one fails the query."""
    api = Client(grafana_emulator)
    api.post("/api/datasources", pg_datasource(pg_server, pg_db, uid="bad", name="bad", password="wrong"))
    r = api.post(
        "/api/ds/query", {"from": "now-1h", "to": "now", "queries": [{"refId": "A", "datasource": {"uid": "bad"}, "rawSql": "SELECT now() AS time, 1 AS v"}]}
    )
    assert r.status == 400
    assert r.json["results"]["A"]["error"] == "failed to connect to server - please inspect Grafana server log for details"


def test_viewer_may_query(grafana_emulator, pg_api):
    """RBAC: datasources:query is granted to Viewers (dashboards work for them)."""
    viewer = Client(grafana_emulator, token=grafana_emulator.create_token("Viewer"))
    r = _query(viewer, "SELECT now() AS time, 1 AS v")
    assert r.status == 200 and r.json["results"]["A"]["frames"][0]["data"]["values"][1] == [1]


@pytest.mark.parametrize("fill,expected", [("NULL", [1.0, None, 3.0, None]), ("previous", [1.0, 1.0, 3.0, 3.0]), ("0", [1.0, 0.0, 3.0, 0.0])])
def test_time_group_fill(grafana_emulator, pg_server, pg_db, fill, expected):
    """docs §6: $__timeGroup fill argument NULL / previous / number fills missing buckets (time_series)."""
    pg_server.execute(
        "CREATE TABLE m (ts timestamptz, v int); INSERT INTO m VALUES ('2024-05-01T10:00:00Z', 1), ('2024-05-01T10:10:00Z', 3)", dbname=pg_db, fetch=False
    )
    api = Client(grafana_emulator)
    api.post("/api/datasources", pg_datasource(pg_server, pg_db, uid="pg"))
    sql = "SELECT $__timeGroupAlias(ts, '5m', %s), sum(v) AS v FROM m GROUP BY 1 ORDER BY 1" % fill
    r = api.post(
        "/api/ds/query",
        {
            "from": str(FROM_MS),
            "to": str(FROM_MS + 15 * 60000),
            "queries": [{"refId": "A", "datasource": {"uid": "pg"}, "rawSql": sql, "format": "time_series"}],
        },
    )
    assert r.status == 200, r
    values = r.json["results"]["A"]["frames"][0]["data"]["values"]
    assert values[0] == [FROM_MS + k * 300000 for k in range(4)]
    assert values[1] == expected

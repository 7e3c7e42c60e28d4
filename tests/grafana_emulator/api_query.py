"""POST /api/ds/query for SQL data sources, run on the real PostgreSQL behind the data source (docs §6)."""

import datetime

from . import macros
from . import pg
from .api_datasources import find
from . import binding
from .server import error, bad_request_data


def register(app):
    store = app.store
    profile = app.profile

    @app.route("POST", r"/api/ds/query", action="datasources:query", lock=False)
    def ds_query(req):
        body = req.json(fields=binding.METRIC_REQUEST)
        queries = body.get("queries")
        if not isinstance(queries, list) or not queries:
            raise bad_request_data("queries is required")
        now = datetime.datetime.now(datetime.timezone.utc)
        try:
            time_from = macros.parse_time(body.get("from", "now-6h"), now)
            time_to = macros.parse_time(body.get("to", "now"), now, end=True)
        except macros.TimeRangeError as exc:
            raise error(400, "Invalid time range", go_error=str(exc))
        # resolve every data source first: an unknown uid fails the whole request (docs §6)
        resolved = []
        with store.lock:
            for q in queries:
                if not isinstance(q, dict):
                    raise bad_request_data()
                dsref = q.get("datasource") or {}
                uid = dsref.get("uid") if isinstance(dsref, dict) else None
                if uid == "__expr__" or (isinstance(dsref, dict) and dsref.get("type") == "__expr__"):
                    raise error(400, "grafana emulator: server-side expressions are not supported")
                ds = find(store, req.org_id, uid=uid) if uid else None
                if ds is None and q.get("datasourceId"):
                    cand = store.datasources.get(q.get("datasourceId"))
                    ds = cand if cand and cand["orgId"] == req.org_id else None
                if ds is None:
                    raise error(404, "Data source not found")
                resolved.append((q, dict(ds, secureJsonData=dict(ds["secureJsonData"]))))
        results = {}
        failed = False
        connections = {}
        try:
            for q, ds in resolved:
                ref_id = q.get("refId") or "A"
                raw_sql = q.get("rawSql") or ""
                if not raw_sql.strip():
                    continue  # docs §6: empty rawSql silently skipped
                if not profile.is_postgres(ds["type"]):
                    raise error(400, "grafana emulator: ds/query only runs PostgreSQL data sources, not %s" % ds["type"])
                result = _one_query(q, ds, ref_id, raw_sql, time_from, time_to, connections)
                failed = failed or "error" in result
                results[ref_id] = result
        finally:
            for conn in connections.values():
                conn.close()
        return (400 if failed else 200), {"results": results}

    def _one_query(q, ds, ref_id, raw_sql, time_from, time_to, connections):
        fmt = q.get("format") or "time_series"  # docs §6: default time_series for SQL
        interval_s = float(q.get("intervalMs") or 1000) / 1000.0
        executed = raw_sql
        status = {"status": 200} if profile.query_result_status else {}
        try:
            timescaledb = bool((ds.get("jsonData") or {}).get("timescaledb"))
            executed, fill = macros.interpolate(raw_sql, time_from, time_to, interval_s, timescaledb=timescaledb)
        except macros.MacroError as exc:
            return _error_result(ref_id, str(exc), executed)
        try:
            conn = connections.get(ds["uid"])
            if conn is None:
                conn = connections[ds["uid"]] = pg.open_connection(ds)
                conn.autocommit = True
        except Exception:  # noqa: BLE001 - any connect failure is reported like Grafana does
            return _error_result(ref_id, pg.CONNECT_FAILED, executed)
        try:
            columns, rows = pg.run_query(conn, executed)
        except Exception as exc:  # noqa: BLE001 - psycopg2.Error subclasses
            return _error_result(ref_id, "db query error: " + pg._message(exc), executed)
        try:
            range_ms = (int(time_from.timestamp() * 1000), int(time_to.timestamp() * 1000))
            frames = pg.build_frames(ref_id, columns, rows, fmt, executed, fill=fill, time_range_ms=range_ms)
        except ValueError as exc:
            return _error_result(ref_id, str(exc), executed)
        return dict(status, frames=frames)

    def _error_result(ref_id, message, executed):
        meta = {"typeVersion": [0, 0], "executedQueryString": executed}
        res = {"error": message, "frames": [{"schema": {"refId": ref_id, "meta": meta}, "data": {"values": []}}]}
        if profile.query_result_status:
            res["status"] = 400
        return res

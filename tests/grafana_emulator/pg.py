"""The PostgreSQL side of a data source: real connections with psycopg2 (docs §2 health, §6 ds/query)."""

import datetime
import decimal

CONNECT_FAILED = "failed to connect to server - please inspect Grafana server log for details"

# PostgreSQL type oid -> (field type, Go frame type)
_TYPES = {
    16: ("boolean", "bool"),
    20: ("number", "int64"),
    21: ("number", "int16"),
    23: ("number", "int32"),
    700: ("number", "float32"),
    701: ("number", "float64"),
    1700: ("number", "float64"),
    1082: ("time", "time.Time"),
    1114: ("time", "time.Time"),
    1184: ("time", "time.Time"),
}


def connect_kwargs(ds):
    """url ``host:port``, top-level user, jsonData.database (then legacy database), jsonData.sslmode,
    secureJsonData.password (docs §2 PostgreSQL data source fields)."""
    url = ds.get("url") or "localhost:5432"
    host, _sep, port = url.rpartition(":") if ":" in url and not url.startswith("/") else (url, "", "5432")
    json_data = ds.get("jsonData") or {}
    # Grafana passes an empty sslmode to lib/pq, whose default is "require"
    sslmode = json_data.get("sslmode") or "require"
    timeout = json_data.get("connectionTimeout") or 10
    return {
        "host": host.strip("[]"),
        "port": int(port or 5432),
        "user": ds.get("user") or "",
        "password": (ds.get("secureJsonData") or {}).get("password", ""),
        "dbname": json_data.get("database") or ds.get("database") or "",
        "sslmode": sslmode,
        "connect_timeout": int(timeout),
        "application_name": "grafana-emulator",
    }


def _message(exc):
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return "pq: " + primary if primary else str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)


def open_connection(ds):
    import psycopg2

    kwargs = connect_kwargs(ds)
    if not kwargs["dbname"]:
        raise ValueError("no default database configured")
    return psycopg2.connect(**kwargs)


def check_health(ds):
    """(ok, message): ``Database Connection OK`` or the driver's error text (docs §2)."""
    import psycopg2

    try:
        conn = open_connection(ds)
    except (psycopg2.Error, ValueError) as exc:
        return False, str(exc).strip() or repr(exc)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True, "Database Connection OK"
    except psycopg2.Error as exc:
        return False, _message(exc)
    finally:
        conn.close()


def _to_epoch_ms(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return int(round(value.timestamp() * 1000))
    if isinstance(value, datetime.date):
        return int(datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc).timestamp() * 1000)
    return value


def _epoch_precision_to_ms(value):
    """sqleng epochPrecisionToMS: seconds (e+09) -> ms, nanoseconds (e+18) -> ms, else ms as is."""
    text = "%e" % float(value)
    if text.endswith("e+09"):
        return float(value) * 1000
    if text.endswith("e+18"):
        return float(value) / 1e6
    return float(value)


def _plain(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return _to_epoch_ms(value)
    if isinstance(value, (datetime.time, datetime.timedelta)):
        return str(value)
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    if isinstance(value, memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value


def run_query(conn, sql):
    """Execute; return list of (name, type_oid) and rows."""
    with conn.cursor() as cur:
        cur.execute(sql)
        if cur.description is None:
            return [], []
        columns = [(c.name, c.type_code) for c in cur.description]
        return columns, cur.fetchall()


def resample(values, fill, from_ms, to_ms):
    """$__timeGroup fill (time_series only): one row per interval from the aligned start to the end of the
    range; missing buckets get NULL, the previous value, or the given number (sqlutil.ResampleWideFrame)."""
    step = int(round(fill["interval"] * 1000))
    if step <= 0:
        return values
    times = values[0]
    index = {t: i for i, t in enumerate(times) if t is not None}
    out = [[] for _column in values]
    previous = [None] * len(values)
    t = (from_ms // step) * step
    while t <= to_ms:
        row = index.get(t)
        out[0].append(t)
        for c in range(1, len(values)):
            if row is not None:
                value = values[c][row]
            elif fill["mode"] == "previous":
                value = previous[c]
            elif fill["mode"] == "value":
                value = fill["value"]
            else:
                value = None
            out[c].append(value)
            previous[c] = value
        t += step
    return out


def build_frames(ref_id, columns, rows, fmt, executed, fill=None, time_range_ms=None):
    """Rows -> data frames (column-major), table vs time_series rules of docs §6. Raises ValueError."""
    meta = {"typeVersion": [0, 0], "executedQueryString": executed}
    if not rows:
        return []
    names = [c[0] for c in columns]
    fields = []
    values = []
    for i, (name, oid) in enumerate(columns):
        ftype, frame = _TYPES.get(oid, ("string", "string"))
        col = [_plain(r[i]) for r in rows]
        fields.append({"name": name, "type": ftype, "typeInfo": {"frame": frame, "nullable": True}})
        values.append(col)
    time_index = names.index("time") if "time" in names else -1
    if time_index >= 0 and fields[time_index]["type"] == "number":
        values[time_index] = [None if v is None else _epoch_precision_to_ms(v) for v in values[time_index]]
        fields[time_index] = {"name": "time", "type": "time", "typeInfo": {"frame": "time.Time", "nullable": True}}
    if fmt != "time_series":
        return [{"schema": {"refId": ref_id, "meta": meta, "fields": fields}, "data": {"values": values}}]
    if time_index < 0:
        raise ValueError("no time column found")
    # time_series: numbers become float64, time column renamed Time, long -> wide on string columns
    for i, f in enumerate(fields):
        if i != time_index and f["type"] == "number":
            fields[i] = {"name": f["name"], "type": "number", "typeInfo": {"frame": "float64", "nullable": True}}
            values[i] = [None if v is None else float(v) for v in values[i]]
    fields[time_index] = dict(fields[time_index], name="Time")
    string_idx = [i for i, f in enumerate(fields) if f["type"] == "string"]
    if not string_idx:
        if fill and time_range_ms:
            order = [time_index] + [i for i in range(len(fields)) if i != time_index]
            fields, values = [fields[i] for i in order], resample([values[i] for i in order], fill, *time_range_ms)
        return [{"schema": {"refId": ref_id, "meta": meta, "fields": fields}, "data": {"values": values}}]
    times = values[time_index]
    if any(times[k] is not None and times[k + 1] is not None and times[k] > times[k + 1] for k in range(len(times) - 1)):
        raise ValueError("long series must be sorted ascending by time to be converted")
    num_idx = [i for i, f in enumerate(fields) if f["type"] in ("number", "boolean") and i != time_index]
    uniq_times = []
    for t in times:
        if not uniq_times or uniq_times[-1] != t:
            uniq_times.append(t)
    series = {}
    order = []
    for r in range(len(times)):
        labels = tuple((fields[i]["name"], "" if values[i][r] is None else str(values[i][r])) for i in string_idx)
        for i in num_idx:
            key = (fields[i]["name"], labels)
            if key not in series:
                series[key] = [None] * len(uniq_times)
                order.append(key)
            series[key][uniq_times.index(times[r])] = values[i][r]
    out_fields = [fields[time_index]]
    out_values = [uniq_times]
    for name, labels in order:
        field = {"name": name, "type": "number", "typeInfo": {"frame": "float64", "nullable": True}, "labels": dict(labels)}
        metric = dict(labels).get("metric")
        if metric is not None:
            field["config"] = {"displayNameFromDS": metric}
        out_fields.append(field)
        out_values.append(series[(name, labels)])
    if fill and time_range_ms:
        out_values = resample(out_values, fill, *time_range_ms)
    return [{"schema": {"refId": ref_id, "meta": meta, "fields": out_fields}, "data": {"values": out_values}}]

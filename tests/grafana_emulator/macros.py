"""Grafana's PostgreSQL macro expansion and time range parsing (docs §6 "PostgreSQL macro expansions").

Order as in Grafana's SQL engine: the global replacements first ($__interval_ms, $__interval,
$__unixEpochFrom(), $__unixEpochTo()), then every ``$identifier(args)`` call is a macro; an unknown
name is an error.
"""

import calendar
import datetime
import decimal
import re

UTC = datetime.timezone.utc
MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class MacroError(Exception):
    pass


class TimeRangeError(Exception):
    pass


# ------------------------------------------------------------------------------------------ time range


def _round(dt, unit, end):
    if unit == "s":
        start = dt.replace(microsecond=0)
        nxt = start + datetime.timedelta(seconds=1)
    elif unit == "m":
        start = dt.replace(second=0, microsecond=0)
        nxt = start + datetime.timedelta(minutes=1)
    elif unit == "h":
        start = dt.replace(minute=0, second=0, microsecond=0)
        nxt = start + datetime.timedelta(hours=1)
    elif unit == "d":
        start = dt.replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = start + datetime.timedelta(days=1)
    elif unit == "w":
        start = (dt - datetime.timedelta(days=dt.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = start + datetime.timedelta(days=7)
    elif unit == "M":
        start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = _add_months(start, 1)
    else:  # y
        start = dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = start.replace(year=start.year + 1)
    return nxt - datetime.timedelta(milliseconds=1) if end else start


def _add_months(dt, months):
    month = dt.month - 1 + months
    year = dt.year + month // 12
    month = month % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def parse_time(text, now, end=False):
    """``now``, ``now-6h``, ``now-1d/d``, epoch milliseconds (string or number)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return datetime.datetime.fromtimestamp(text / 1000.0, UTC)
    text = str(text or "").strip()
    if re.match(r"^\d+$", text):
        return datetime.datetime.fromtimestamp(int(text) / 1000.0, UTC)
    m = re.match(r"^now((?:[+-]\d+[smhdwMy])*)(?:/([smhdwMy]))?$", text)
    if not m:
        try:
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            raise TimeRangeError("invalid time %r" % text)
    dt = now
    for sign, num, unit in re.findall(r"([+-])(\d+)([smhdwMy])", m.group(1)):
        n = int(num) * (1 if sign == "+" else -1)
        if unit == "M":
            dt = _add_months(dt, n)
        elif unit == "y":
            dt = _add_months(dt, 12 * n)
        else:
            dt = dt + datetime.timedelta(seconds=n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit])
    if m.group(2):
        dt = _round(dt, m.group(2), end)
    return dt


def rfc3339nano(dt):
    """Go time.RFC3339Nano for a UTC time: fractional seconds without trailing zeros, ``Z`` suffix."""
    dt = dt.astimezone(UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        base += ("." + "%06d" % dt.microsecond).rstrip("0")
    return base + "Z"


def epoch_ns(dt):
    return calendar.timegm(dt.utctimetuple()) * 1000000000 + dt.microsecond * 1000


# ------------------------------------------------------------------------------------------ intervals


def parse_interval(text):
    """Grafana gtime.ParseInterval: d/w/M/y suffixes plus Go durations (``5m``, ``1h30m``, ``0.5s``)."""
    text = text.strip().strip("'")
    m = re.match(r"^(\d+)([dwMy])$", text)
    if m:
        return int(m.group(1)) * {"d": 86400, "w": 604800, "M": 2592000, "y": 31536000}[m.group(2)]
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise MacroError("error parsing interval %s" % text)
    return sum(float(a) * _GO_UNITS[b] for a, b in parts)


def format_interval(seconds):
    """Grafana gtime.FormatInterval, used for ``$__interval``."""
    ms = int(round(seconds * 1000))
    for unit, size in (("y", 31536000000), ("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        if ms >= size:
            return "%d%s" % (ms // size, unit)
    return "1ms"


def go_v(value):
    """Format a float64 like Go's ``%v``: strconv 'g' with the shortest digits, exponent form when the
    decimal exponent is < -4 or >= 6 (so 300 -> ``300``, 0.5 -> ``0.5``, 1209600 -> ``1.2096e+06``)."""
    value = float(value)
    d = decimal.Decimal(repr(value))
    if value == 0:
        return "0"
    exp = d.adjusted()
    digits = "".join(str(x) for x in d.normalize().as_tuple().digits)
    sign = "-" if value < 0 else ""
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return "%s%se%s%02d" % (sign, mantissa, "-" if exp < 0 else "+", abs(exp))
    text = format(abs(d), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + text


# ------------------------------------------------------------------------------------------ expansion


def interpolate(sql, time_from, time_to, interval_s, timescaledb=False):
    """Return (expanded_sql, fill) or raise MacroError.  ``fill`` is None or the $__timeGroup fill spec."""
    interval_ms = int(round(interval_s * 1000))
    sql = sql.replace("$__interval_ms", str(interval_ms))
    sql = sql.replace("$__interval", format_interval(interval_s))
    sql = sql.replace("$__unixEpochFrom()", str(calendar.timegm(time_from.utctimetuple())))
    sql = sql.replace("$__unixEpochTo()", str(calendar.timegm(time_to.utctimetuple())))
    state = {"fill": None}
    out = []
    pos = 0
    for m in MACRO_RE.finditer(sql):
        name = m.group(1)
        args = [a.strip(" ") for a in m.group(2).split(",")]
        # docs §6: $__timeGroup(...) directly followed by "," is treated as $__timeGroupAlias
        if name == "__timeGroup" and sql[m.end() : m.end() + 1] == ",":
            name = "__timeGroupAlias"
        out.append(sql[pos : m.start()])
        out.append(_evaluate(name, args, time_from, time_to, timescaledb, state))
        pos = m.end()
    out.append(sql[pos:])
    return "".join(out), state["fill"]


def _need_column(name, args):
    if not args or args == [""]:
        raise MacroError("missing time column argument for macro %s" % name)


def _evaluate(name, args, time_from, time_to, timescaledb, state):
    f, t = rfc3339nano(time_from), rfc3339nano(time_to)
    if name == "__time":
        _need_column(name, args)
        return '%s AS "time"' % args[0]
    if name == "__timeEpoch":
        _need_column(name, args)
        return 'extract(epoch from %s) as "time"' % args[0]
    if name == "__timeFilter":
        _need_column(name, args)
        return "%s BETWEEN '%s' AND '%s'" % (args[0], f, t)
    if name == "__timeFrom":
        return "'%s'" % f
    if name == "__timeTo":
        return "'%s'" % t
    if name in ("__timeGroup", "__timeGroupAlias"):
        if len(args) < 2:
            raise MacroError("macro %s needs time column and interval and optional fill value" % name)
        seconds = parse_interval(args[1])
        if len(args) == 3:
            state["fill"] = dict(_parse_fill(args[2]), interval=seconds)
        if timescaledb:
            expr = "time_bucket('%.3fs',%s)" % (seconds, args[0])
        else:
            expr = "floor(extract(epoch from %s)/%s)*%s" % (args[0], go_v(seconds), go_v(seconds))
        return expr + (' AS "time"' if name == "__timeGroupAlias" else "")
    if name == "__unixEpochFilter":
        _need_column(name, args)
        return "%s >= %d AND %s <= %d" % (args[0], calendar.timegm(time_from.utctimetuple()), args[0], calendar.timegm(time_to.utctimetuple()))
    if name == "__unixEpochNanoFilter":
        _need_column(name, args)
        return "%s >= %d AND %s <= %d" % (args[0], epoch_ns(time_from), args[0], epoch_ns(time_to))
    if name == "__unixEpochNanoFrom":
        return "%d" % epoch_ns(time_from)
    if name == "__unixEpochNanoTo":
        return "%d" % epoch_ns(time_to)
    if name in ("__unixEpochGroup", "__unixEpochGroupAlias"):
        if len(args) < 2:
            raise MacroError("macro %s needs time column and interval and optional fill value" % name)
        seconds = parse_interval(args[1])
        if len(args) == 3:
            state["fill"] = dict(_parse_fill(args[2]), interval=seconds)
        expr = "floor((%s)/%s)*%s" % (args[0], go_v(seconds), go_v(seconds))
        return expr + (' AS "time"' if name == "__unixEpochGroupAlias" else "")
    raise MacroError('unknown macro "%s"' % name)


def _parse_fill(arg):
    if arg == "NULL":
        return {"mode": "null"}
    if arg == "previous":
        return {"mode": "previous"}
    try:
        return {"mode": "value", "value": float(arg)}
    except ValueError:
        raise MacroError("error parsing fill value %s" % arg)

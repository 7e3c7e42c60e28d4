"""Token tracking through a real n8n: per-request logging throughput and latency, and the tracker's run time.

Starts a throwaway PostgreSQL 15 and n8n (the test install, scripts/install-n8n.sh, cached under ~/.cache) on
127.0.0.1, applies files/sql with n8n's least-privilege role, deploys the two workflows of files/n8n/ (the
tracker's schedule triggers swapped for webhook triggers, as in the tests) and a caller shaped like the spec's
example (webhook -> Code node -> Execute Workflow "Log Token Usage"), then prints:

1. logging: caller executions per second and rows landed per second in token_usage, sequential and with
   ``--concurrency`` parallel callers, and the latency a caller sees (p50/p95/max, webhook round trip);
2. tracker: run time of one poll over ``--days`` x 24 hourly buckets x ``--models`` models from the usage-API
   emulator (first run: every row inserted; second run: nothing changed; third: after revising one day).

Usage (heavy: run it alone, under the machine's lock)::

    flock /tmp/heavy.lock .venv/bin/python bench/n8n_token_tracking.py --calls 200 --concurrency 4 --days 31 --models 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import pgserver  # noqa: E402  (tests/pgserver.py: the throwaway PostgreSQL of tests, bench and demo)
from planted import PLANTED  # noqa: E402  (tests/planted.yml)
from kpi_sql import N8N_ROLE, apply_all, ensure_n8n_role, ensure_reader_role, schema_files  # noqa: E402
from n8n_support import start_n8n  # noqa: E402
from token_tracking_support import N8nApi, TrackingDeployment  # noqa: E402
from usage_api_emulator import UsageApiEmulator, UsageRecord  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def log_calls(dep, n, concurrency):
    body = {"case_id": 1, "response": {"usage": {"input_tokens": 1200, "output_tokens": 300, "cache_read_input_tokens": 4000}}, "response_time_ms": 800}
    latencies = []
    lock = threading.Lock()

    def one(_index):
        t0 = time.perf_counter()
        resp = dep.hook("caller", body)
        dt_ms = (time.perf_counter() - t0) * 1000
        if resp.status_code != 200:
            raise RuntimeError("caller failed: HTTP %s %s" % (resp.status_code, resp.text[:200]))
        with lock:
            latencies.append(dt_ms)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - t0, latencies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--calls", type=int, default=100, help="caller executions per logging measurement")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel callers in the second measurement")
    parser.add_argument("--days", type=int, default=31, help="days of hourly provider buckets for the tracker")
    parser.add_argument("--models", type=int, default=10, help="models (half Anthropic, half OpenAI)")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="kpi-bench-n8n-"))
    base.chmod(0o755)
    pg = pgserver.start(base / "pg", password=PLANTED["db_password"], settings=pgserver.TEST_SETTINGS)
    n8n = emu = None
    out = {}
    try:
        pg.execute('CREATE DATABASE "bench"')
        ensure_reader_role(pg, PLANTED["reader_password"])
        ensure_n8n_role(pg, PLANTED["n8n_writer_password"])
        conn = pg.connect("bench")
        conn.autocommit = True
        apply_all(conn, schema_files(n8n_writer=True))
        t0 = time.perf_counter()
        n8n = start_n8n(pg)
        print("n8n %s up in %.1f s on %s" % (n8n.version, time.perf_counter() - t0, n8n.url))
        emu = UsageApiEmulator([PLANTED["anthropic_admin_key"]], [PLANTED["openai_admin_key"]]).start()
        dep = TrackingDeployment(N8nApi(n8n.url, n8n.api_key), pg.host, pg.port, "bench", N8N_ROLE, PLANTED["n8n_writer_password"])
        dep.postgres_credential()
        dep.provider_credentials(PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"])
        log_id = dep.deploy_log_workflow()
        dep.deploy_caller(log_id)
        dep.hook("caller", {"response": {"usage": {"input_tokens": 1, "output_tokens": 1}}})  # warm-up

        cur = conn.cursor()
        print("\n1. Per-request logging (caller -> Log Token Usage -> token_usage), %d calls each" % args.calls)
        for conc in (1, args.concurrency):
            cur.execute("SELECT count(*) FROM token_usage")
            before = cur.fetchone()[0]
            wall, lat = log_calls(dep, args.calls, conc)
            cur.execute("SELECT count(*) FROM token_usage")
            landed = cur.fetchone()[0] - before
            row = {
                "concurrency": conc,
                "calls": args.calls,
                "seconds": round(wall, 2),
                "executions_per_s": round(args.calls / wall, 1),
                "rows_per_s": round(landed / wall, 1),
                "rows_landed": landed,
                "latency_ms_p50": round(statistics.median(lat), 1),
                "latency_ms_p95": round(pct(lat, 95), 1),
                "latency_ms_max": round(max(lat), 1),
            }
            out["logging_c%d" % conc] = row
            print(
                "   concurrency %(concurrency)d: %(executions_per_s)s caller executions/s, %(rows_per_s)s rows/s "
                "landed (%(rows_landed)d rows in %(seconds)s s); caller latency p50 %(latency_ms_p50)s ms, "
                "p95 %(latency_ms_p95)s ms, max %(latency_ms_max)s ms" % row
            )

        print("\n2. Tracker poll: %d days x 24 hourly buckets x %d models" % (args.days, args.models))
        now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
        hours = args.days * 24
        models = [("anthropic" if i % 2 == 0 else "openai", "model-%02d" % i) for i in range(args.models)]
        t0 = time.perf_counter()
        for h in range(hours):
            for provider, model in models:
                emu.put_usage(
                    UsageRecord(
                        provider,
                        now - dt.timedelta(hours=h),
                        model,
                        "ws-1",
                        uncached_input_tokens=1000 + h,
                        cache_read_tokens=500,
                        output_tokens=200,
                        requests=3 if provider == "openai" else 0,
                    )
                )
        print("   emulator seeded in %.1f s" % (time.perf_counter() - t0))
        dep.deploy_tracker(
            {"anthropic_base_url": emu.anthropic_url, "openai_base_url": emu.openai_url, "lookback_hours": hours, "cost_lookback_days": min(args.days, 93)},
            {"alerts_enabled": False},  # the poll branch only; the alert branch is not measured here
        )
        for label in ("first run (insert)", "second run (unchanged)", "third run (one day revised)"):
            if label.startswith("third"):
                for h in range(24):
                    for provider, model in models:
                        emu.put_usage(UsageRecord(provider, now - dt.timedelta(hours=h), model, "ws-1", uncached_input_tokens=9999, output_tokens=1))
            t0 = time.perf_counter()
            resp = dep.hook("Every Hour", timeout=1800)
            secs = time.perf_counter() - t0
            if resp.status_code != 200:
                raise RuntimeError("tracker failed: HTTP %s %s" % (resp.status_code, resp.text[:300]))
            counts = resp.json()[0]
            pages = len([r for r in emu.requests() if "usage" in r[2]])
            emu.state.requests.clear()
            cur.execute("SELECT count(*) FROM provider_usage")
            rows = cur.fetchone()[0]
            out["tracker_" + label.split()[0]] = {"seconds": round(secs, 2), "rows": rows, "usage_pages": pages, **{k: int(v) for k, v in counts.items()}}
            print(
                "   %-28s %6.2f s  (%d usage pages; inserted %s, updated %s, unchanged %s; provider_usage rows %d)"
                % (label, secs, pages, counts["usage_inserted"], counts["usage_updated"], counts["usage_unchanged"], rows)
            )
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))
        conn.close()
        return 0
    finally:
        if emu is not None:
            emu.stop()
        if n8n is not None:
            n8n.cleanup()
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

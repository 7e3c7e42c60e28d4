#!/usr/bin/env python
"""Render time and peak memory of the monthly executive KPI report (kpi_report's renderer) on the benchmark data.

Starts its own PostgreSQL 15 (or reuses --cluster-dir from kpi_bench.py), loads --scale x 50,000 cases/day for
--days days exactly as bench/kpi_bench.py does, then renders the report --repeat times, each in a fresh Python
process (as the module runs), as the read-only reader role, and prints per run: wall time of the queries (every
panel query of files/grafana-dashboard.json for the report's windows plus the executive queries), of drawing
(PDF + PNG per page + CSVs), and the child's peak RSS. It asserts nothing.

    .venv/bin/python bench/report_bench.py --scale 0.01                  # small, a few minutes
    .venv/bin/python bench/report_bench.py --scale 1.0 --cluster-dir /tmp/kb   # the full-scale database
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kpi_bench  # noqa: E402  (the same load and cluster handling)
import pgserver  # noqa: E402  (tests/pgserver.py, on sys.path through kpi_bench)

REPO = Path(__file__).resolve().parent.parent
CHILD = r"""
import datetime, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _kpi_report as R
import psycopg2
conn = psycopg2.connect(sys.argv[2])
conn.set_session(readonly=True, autocommit=True)
t0 = time.perf_counter()
data = R.collect(R.PostgresSource(conn), R.load_dashboard(sys.argv[3]), sys.argv[5], datetime.date.today())
t1 = time.perf_counter()
out = R.render(data, sys.argv[4], "bench", grafana_url="http://127.0.0.1:3000")
t2 = time.perf_counter()
print(json.dumps({"query_s": t1 - t0, "draw_s": t2 - t1, "pages": len(out["pngs"]), "csvs": len(out["csvs"]),
                  "errors": out["errors"], "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--scale", type=float, default=0.01, help="1.0 = 50,000 cases/day on average (default 0.01)")
    ap.add_argument("--days", type=int, default=70, help="days of history (default 70: the two months compared)")
    ap.add_argument("--chunk-days", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="renders (default 3)")
    ap.add_argument("--report", choices=["daily", "weekly", "monthly"], default="monthly")
    ap.add_argument("--cluster-dir", type=Path, help="keep/reuse the loaded cluster (same as kpi_bench.py)")
    args = ap.parse_args(argv)
    try:
        cluster = pgserver.start(args.cluster_dir, settings=kpi_bench.SERVER_SETTINGS)
    except pgserver.PgServerError as exc:
        raise SystemExit(str(exc)) from None
    marker = Path(cluster.base) / "loaded.json"
    try:
        if cluster.reused and marker.exists():
            loaded = json.loads(marker.read_text())
            print(
                f"reusing the cluster in {cluster.base}: {loaded['cases']:,} cases, {loaded['tokens']:,} token rows "
                f"(--scale {loaded['scale']} --days {loaded['days']})",
                flush=True,
            )
        else:
            cases, tokens, load_s, analyze_s = kpi_bench.fresh_load(cluster, args)
            marker.write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "days": args.days,
                        "cases": cases,
                        "tokens": tokens,
                        "load_s": load_s,
                        "analyze_s": analyze_s,
                        "loaded_on": time.strftime("%Y-%m-%d"),
                    }
                )
            )
            print(f"loaded {cases:,} cases + {tokens:,} token rows in {load_s:.0f} s", flush=True)
        dsn = cluster.dsn("kpi_bench", user=kpi_bench.READER)
        runs = []
        with tempfile.TemporaryDirectory(prefix="kpi-report-bench-") as out:
            for n in range(args.repeat):
                start = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, str(REPO / ".collections"), dsn, str(REPO / "files" / "grafana-dashboard.json"), out, args.report],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                wall = time.perf_counter() - start
                if proc.returncode != 0:
                    raise SystemExit("render failed:\n" + proc.stderr[-3000:].replace(cluster.password, "********"))
                run = json.loads(proc.stdout.strip().splitlines()[-1])
                run["wall_s"] = wall
                runs.append(run)
                print(
                    f"run {n + 1}: {args.report} report, {run['pages']} pages, {run['csvs']} CSVs; queries "
                    f"{run['query_s']:.2f} s, drawing {run['draw_s']:.2f} s, process wall {wall:.2f} s "
                    f"(incl. Python + matplotlib start); peak RSS {run['maxrss_kb'] / 1024:.0f} MiB"
                    + (f"; panel errors: {run['errors']}" if run["errors"] else ""),
                    flush=True,
                )
        print(
            f"median: queries {statistics.median(r['query_s'] for r in runs):.2f} s, drawing "
            f"{statistics.median(r['draw_s'] for r in runs):.2f} s, wall {statistics.median(r['wall_s'] for r in runs):.2f} s, "
            f"peak RSS {max(r['maxrss_kb'] for r in runs) / 1024:.0f} MiB; load average "
            f"{' '.join('%.1f' % x for x in __import__('os').getloadavg())}"
        )
    finally:
        cluster.stop(keep_files=bool(args.cluster_dir))


if __name__ == "__main__":
    main()

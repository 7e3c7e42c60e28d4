"""python -m usage_api_emulator --keys-file KEYS.json [--data DATA.json] [--port 0] [--slack]

Starts the usage/cost API emulator (and, with --slack, a Slack webhook sink) on 127.0.0.1 and prints one JSON
line with the URLs (never the keys), then serves until SIGTERM/SIGINT. KEYS.json: {"anthropic": [admin keys],
"openai": [admin keys]} (a file, so no key is on a command line). DATA.json: {"usage": [UsageRecord fields,
hour as RFC 3339], "cost": [CostRecord fields, day as YYYY-MM-DD]}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
from decimal import Decimal

from . import CostRecord, SlackWebhookSink, UsageApiEmulator, UsageRecord


def load_data(emulator, path):
    with open(path) as fh:
        data = json.load(fh)
    for row in data.get("usage", []):
        row = dict(row, hour=dt.datetime.fromisoformat(row["hour"].replace("Z", "+00:00")))
        emulator.put_usage(UsageRecord(**row))
    for row in data.get("cost", []):
        row = dict(row, day=dt.date.fromisoformat(row["day"]), amount=Decimal(str(row["amount"])))
        emulator.put_cost(CostRecord(**row))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="usage_api_emulator", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--keys-file", required=True)
    parser.add_argument("--data")
    parser.add_argument("--slack", action="store_true", help="also start a Slack incoming-webhook sink")
    args = parser.parse_args(argv)
    with open(args.keys_file) as fh:
        keys = json.load(fh)
    emulator = UsageApiEmulator(keys.get("anthropic", []), keys.get("openai", []), host=args.host, port=args.port)
    if args.data:
        load_data(emulator, args.data)
    emulator.start()
    info = {"url": emulator.url, "anthropic_url": emulator.anthropic_url, "openai_url": emulator.openai_url}
    sink = None
    if args.slack:
        sink = SlackWebhookSink(host=args.host).start()
        info["slack_webhook_url"] = sink.url
    print(json.dumps(info), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    emulator.stop()
    if sink:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

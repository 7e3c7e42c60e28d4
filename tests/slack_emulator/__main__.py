"""``python -m slack_emulator --port 0 --token-file F [--channel ID]... [--webhook-path /services/T/B/X] [--post-burst N]``."""

import argparse
import os
import signal
import sys
import threading


def main(argv=None):
    if __package__ in (None, ""):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from slack_emulator.server import POST_BURST, make_server

    parser = argparse.ArgumentParser(prog="slack_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token-file", required=True, help="file with the one valid bot token")
    parser.add_argument("--channel", action="append", default=[], help="a known channel id (repeatable)")
    parser.add_argument("--webhook-path", default=None, help="path of the one incoming webhook")
    parser.add_argument("--post-burst", type=int, default=None, help="chat.postMessage burst per channel (refill 1/s)")
    args = parser.parse_args(argv)
    with open(args.token_file) as handle:
        token = handle.readline().strip()
    server = make_server(args.host, args.port, token, args.channel or ["C0REPORTS1"], args.webhook_path, args.post_burst or POST_BURST)
    host, port = server.server_address[:2]
    print("listening on http://%s:%d" % (host, port), flush=True)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

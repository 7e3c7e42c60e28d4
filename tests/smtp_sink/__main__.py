"""``python -m smtp_sink --port P --maildir D --cert C --key K --mode starttls|tls --user U --password-file F``.

aiosmtpd (a real SMTP server: EHLO, STARTTLS, implicit TLS, AUTH PLAIN/LOGIN) that stores each accepted
message as ``<maildir>/<n>.json`` with the envelope (``mail_from``, ``rcpt_tos``) and the raw message.
``--refuse ADDR`` answers 550 to RCPT TO for that address (repeatable).
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading


def main(argv=None):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    parser = argparse.ArgumentParser(prog="smtp_sink")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["starttls", "tls"], default="starttls")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--refuse", action="append", default=[])
    args = parser.parse_args(argv)
    with open(args.password_file) as handle:
        password = handle.readline().strip()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    counter = [0]
    lock = threading.Lock()

    def authenticator(_server, _session, _envelope, mechanism, auth_data):
        ok = getattr(auth_data, "login", b"") == args.user.encode() and getattr(auth_data, "password", b"") == password.encode()
        return AuthResult(success=ok, handled=False)

    class Handler(object):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in args.refuse:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            with lock:
                counter[0] += 1
                path = os.path.join(args.maildir, "%04d.json" % counter[0])
            with open(path, "w") as handle:
                json.dump(
                    {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "content": envelope.original_content.decode("utf-8", "replace")},
                    handle,
                )
            return "250 Message accepted for delivery"

    kwargs = dict(hostname="127.0.0.1", port=args.port, authenticator=authenticator, auth_required=True)
    if args.mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    else:
        kwargs.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(Handler(), **kwargs)
    controller.start()
    print("listening on 127.0.0.1:%d" % args.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: done.set())
    signal.signal(signal.SIGINT, lambda *_a: done.set())
    done.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

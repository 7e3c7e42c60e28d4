"""``python -m grafana_emulator`` (also usable as ``grafana-server`` / ``grafana server``)."""

import os
import signal
import sys
import threading


def main(argv=None):
    # run as a script/binary: make the package importable from its parent directory
    if __package__ in (None, ""):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from grafana_emulator import config
    from grafana_emulator.app import make_server

    try:
        settings = config.parse(sys.argv[1:] if argv is None else argv)
    except config.ConfigError as exc:
        return config.main_error(str(exc))
    if getattr(settings, "print_version", False):
        print("Version %s (commit: emulator, branch: HEAD)" % settings.version)
        return 0
    try:
        server = make_server(settings)
    except OSError as exc:
        return config.main_error("cannot listen on %s:%s: %s" % (settings.host, settings.port, exc.strerror))
    except (ValueError, config.ConfigError) as exc:
        return config.main_error(str(exc))
    host, port = server.server_address[:2]
    if settings.pidfile:
        with open(settings.pidfile, "w") as fh:
            fh.write("%d\n" % os.getpid())
    for err in server.app.provisioning_errors:
        sys.stderr.write("grafana_emulator: provisioning: %s\n" % err)
    print("listening on http://%s:%d" % (host, port), flush=True)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if settings.pidfile:
            try:
                os.unlink(settings.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

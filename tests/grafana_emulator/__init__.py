"""Grafana HTTP API emulator: the stand-in for Grafana in this project's tests.

Every behaviour follows ``docs/grafana-behaviour.md`` of this repository (cited as "docs §N") or the
9.5-era OpenAPI file; see README.md for the behaviour table with sources.  Run it with
``python -m grafana_emulator --host 127.0.0.1 --port 0``.
"""

__version__ = "1.0.0"
DEFAULT_GRAFANA_VERSION = "11.3.0"

"""Exact-call unit tests of the grafana_* modules: Grafana's connection parameters for the shared scripted
fake (http_fake), which checks every request against the script (through the real AnsibleModule)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from http_fake import run_module as _run_module  # noqa: E402
from planted import PLANTED  # noqa: E402  (tests/planted.py: the planted secrets, defined once; http_fake puts tests/ on sys.path)

URL = "http://grafana.test:3000"
TOKEN = PLANTED["grafana_token"]
CONN = {"url": URL, "token": TOKEN, "retries": 0}


def run_module(module, args, script, check=False, diff=False):
    """Run ``module.main()`` against the scripted Grafana; returns (result dict, fake). Fails when the token leaks."""
    return _run_module(module, args, script, CONN, secrets=(TOKEN,), check=check, diff=diff)

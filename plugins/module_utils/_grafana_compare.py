# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the grafana_* (and n8n_credential) modules compare with, apart from the HTTP client.

Salted hashes that detect secret drift without storing or re-sending the secret, the datasource type
aliases Grafana treats as one plugin, and Grafana's Prometheus-style durations. Nothing here talks to a
server; the client is :mod:`._grafana_client`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import hashlib
import hmac
import json
import os
import re

POSTGRES_TYPES = frozenset(("postgres", "grafana-postgresql-datasource"))

# ---------------------------------------------------------------------- secret drift hashes
HASH_SCHEME = "pbkdf2-sha256"
HASH_ITERATIONS = 100000


def secret_hash(secrets, salt=None, iterations=HASH_ITERATIONS):
    """Salted PBKDF2-SHA256 of a dict of secrets, safe to store in a non-secret field.

    Format ``pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>``. The salt is random per object so the
    stored value cannot be matched against another object's or looked up in a table.
    """
    if salt is None:
        salt = os.urandom(16)
    canonical = json.dumps(secrets, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hashlib.pbkdf2_hmac("sha256", canonical, salt, iterations)
    return "%s$%d$%s$%s" % (HASH_SCHEME, iterations, base64.b64encode(salt).decode("ascii"), base64.b64encode(digest).decode("ascii"))


def secret_hash_matches(secrets, stored):
    """True when ``stored`` (from secret_hash) was made from exactly these secrets."""
    if not stored or not isinstance(stored, str):
        return False
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != HASH_SCHEME:
        return False
    try:
        iterations = int(parts[1])
        salt = base64.b64decode(parts[2])
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(secret_hash(secrets, salt, iterations), stored)


# ---------------------------------------------------------------------- comparison helpers
def deep_copy(value):
    return copy.deepcopy(value)


def same_datasource_type(a, b):
    """``postgres`` and ``grafana-postgresql-datasource`` are one plugin (renamed in 10.2.3)."""
    if a == b:
        return True
    return a in POSTGRES_TYPES and b in POSTGRES_TYPES


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(value):
    """'1h30m' / '90s' / 90 -> seconds (float). Raises ValueError on garbage."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError("not a duration: %r" % (value,))
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            raise ValueError("not a duration: %r" % (value,))
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError("not a duration: %r" % (value,))
    return int(total) if total == int(total) else total


def format_duration(seconds):
    """Seconds -> Grafana's Prometheus-style duration ('1h30m', '5m', '0s')."""
    seconds = int(seconds)
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += "%d%s" % (seconds // size, unit)
            seconds %= size
    return out

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grafana Cloud's Allowlist API (docs/grafana-cloud-allowlist.md): the one client of that API.

``GET https://allowlists.<region>.grafana.net/v1/<service>`` answers
``{"metadata": {"schemaVersion": "v1", "region": ...}, "services": {<service>: {"direction": ..., "ipv4": [CIDR]}}}``.
``parse`` validates that document strictly and returns the sorted CIDRs; anything unexpected (another schema
version or region, a missing service, another direction, an empty list, an entry that is not an IPv4 CIDR) is an
``AllowlistError`` so the caller keeps the last good list instead of deleting every rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import tempfile

from ansible.module_utils.urls import fetch_url

SCHEMA_VERSION = "v1"
DIRECTIONS = ("egress-from-grafana", "ingress-to-grafana")


class AllowlistError(Exception):
    pass


def default_url(region, service):
    """docs/grafana-cloud-allowlist.md §1: one service in one region."""
    return "https://allowlists.%s.grafana.net/v1/%s" % (region, service)


def parse(text, service, direction, region=None):
    """Validated, sorted, de-duplicated IPv4 CIDRs of ``service`` from an Allowlist API answer."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise AllowlistError("the answer is not JSON (%s)" % exc)
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict) or not isinstance(doc.get("services"), dict):
        raise AllowlistError("the answer has no 'metadata' and 'services' objects")
    version = doc["metadata"].get("schemaVersion")
    if version != SCHEMA_VERSION:
        raise AllowlistError("metadata.schemaVersion is %r, expected %r" % (version, SCHEMA_VERSION))
    if region and doc["metadata"].get("region") not in (None, region):
        raise AllowlistError("metadata.region is %r, expected %r" % (doc["metadata"].get("region"), region))
    entry = doc["services"].get(service)
    if not isinstance(entry, dict):
        raise AllowlistError("services.%s is missing (services listed: %s)" % (service, ", ".join(sorted(doc["services"])) or "none"))
    if entry.get("direction") != direction:
        raise AllowlistError("services.%s.direction is %r, expected %r" % (service, entry.get("direction"), direction))
    cidrs = entry.get("ipv4")
    if not isinstance(cidrs, list) or not cidrs:
        raise AllowlistError("services.%s.ipv4 is empty or not a list" % service)
    out = set()
    for item in cidrs:
        if not isinstance(item, str) or "/" not in item:
            raise AllowlistError("services.%s.ipv4 entry %r is not an IPv4 CIDR" % (service, item))
        try:
            net = ipaddress.IPv4Network(item, strict=True)
        except ValueError as exc:
            raise AllowlistError("services.%s.ipv4 entry %r is not an IPv4 CIDR (%s)" % (service, item, exc))
        out.add(str(net))
    return sorted(out, key=ipaddress.IPv4Network)


def fetch(module, url, timeout):
    """The answer's text; an HTTP or connection failure is an AllowlistError."""
    resp, info = fetch_url(module, url, method="GET", timeout=timeout, headers={"Accept": "application/json"})
    status = info.get("status")
    if status != 200 or resp is None:
        raise AllowlistError("GET %s answered %s: %s" % (url, status, info.get("msg", "")))
    return resp.read().decode("utf-8", "replace")


def read_cache(path):
    """The last good list ``{"cidrs": [...], "url": ..., "fetched_at": ...}``, or None."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("cidrs"), list):
        return None
    return data


def write_cache(path, data):
    """Atomic write (temporary file + rename), mode 0644."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".allowlist-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

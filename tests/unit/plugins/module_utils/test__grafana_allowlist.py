"""_grafana_allowlist.parse: the Allowlist API document is validated strictly (docs/grafana-cloud-allowlist.md §2-§4)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "modules"))

# grafana_fake puts the collection on sys.path
import grafana_fake  # noqa: E402,F401  pylint: disable=unused-import

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _grafana_allowlist as al  # noqa: E402


def doc(**grafana):
    entry = {"direction": "egress-from-grafana", "ipv4": ["203.0.113.21/32", "203.0.113.20/32", "203.0.113.20/32"]}
    entry.update(grafana)
    return json.dumps(
        {
            "metadata": {"schemaVersion": "v1", "region": "prod-eu-west-2"},
            "services": {"grafana": entry, "metrics": {"direction": "ingress-to-grafana", "ipv4": ["198.51.100.10/32"]}},
        }
    )


def test_valid_document_sorted_unique():
    assert al.parse(doc(), "grafana", "egress-from-grafana", "prod-eu-west-2") == ["203.0.113.20/32", "203.0.113.21/32"]
    assert al.default_url("prod-eu-west-2", "grafana") == "https://allowlists.prod-eu-west-2.grafana.net/v1/grafana"


@pytest.mark.parametrize(
    "text,expect",
    [
        ("", "not JSON"),
        ("[]", "no 'metadata'"),
        ('{"metadata": {}, "services": {}}', "schemaVersion"),
        (doc(ipv4=[]), "empty"),
        (doc(ipv4="203.0.113.20/32"), "empty or not a list"),
        (doc(direction="ingress-to-grafana"), "direction"),
        (doc(ipv4=["203.0.113.20"]), "not an IPv4 CIDR"),
        (doc(ipv4=["203.0.113.20/33"]), "not an IPv4 CIDR"),
        (doc(ipv4=["203.0.113.1/24"]), "not an IPv4 CIDR"),
        (doc(ipv4=["2001:db8::/32"]), "not an IPv4 CIDR"),
        (doc(ipv4=[None]), "not an IPv4 CIDR"),
    ],
)
def test_bad_documents_are_errors(text, expect):
    with pytest.raises(al.AllowlistError, match=expect):
        al.parse(text, "grafana", "egress-from-grafana")


def test_other_region_and_missing_service():
    with pytest.raises(al.AllowlistError, match="metadata.region"):
        al.parse(doc(), "grafana", "egress-from-grafana", "prod-us-east-0")
    with pytest.raises(al.AllowlistError, match="services.logs is missing"):
        al.parse(doc(), "logs", "egress-from-grafana")


def test_cache_round_trip(tmp_path):
    path = tmp_path / "sub" / "cache.json"
    assert al.read_cache(str(path)) is None
    al.write_cache(str(path), {"cidrs": ["203.0.113.20/32"]})
    assert al.read_cache(str(path)) == {"cidrs": ["203.0.113.20/32"]}
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    path.write_text("not json")
    assert al.read_cache(str(path)) is None

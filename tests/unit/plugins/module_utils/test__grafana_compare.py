"""_grafana_compare: secret drift hashes, datasource type aliases, Grafana durations (no server involved)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "modules"))

# http_fake puts the collection and tests/ (planted.py) on sys.path
import http_fake  # noqa: E402,F401  pylint: disable=unused-import
from planted import PLANTED  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.module_utils import _grafana_compare as cmp  # noqa: E402


def test_secret_hash_roundtrip_and_salt():
    first = cmp.secret_hash({"password": "a"})
    second = cmp.secret_hash({"password": "a"})
    assert first != second  # random salt per object
    assert first.startswith("pbkdf2-sha256$100000$")
    assert cmp.secret_hash_matches({"password": "a"}, first)
    assert not cmp.secret_hash_matches({"password": "b"}, first)
    assert not cmp.secret_hash_matches({"password": "a", "extra": "x"}, first)
    assert PLANTED["db_password"] not in cmp.secret_hash({"password": PLANTED["db_password"]})


@pytest.mark.parametrize("stored", [None, "", 42, "garbage", "md5$1$AA==$AA==", "pbkdf2-sha256$x$AA==$AA==", "pbkdf2-sha256$1$!!$AA=="])
def test_secret_hash_matches_refuses_what_it_did_not_make(stored):
    assert cmp.secret_hash_matches({"password": "a"}, stored) is False


def test_same_datasource_type_knows_the_renamed_postgres_plugin():
    assert cmp.same_datasource_type("postgres", "grafana-postgresql-datasource")
    assert cmp.same_datasource_type("grafana-postgresql-datasource", "postgres")
    assert cmp.same_datasource_type("prometheus", "prometheus")
    assert not cmp.same_datasource_type("postgres", "mysql")


def test_deep_copy_is_independent():
    original = {"a": [1, {"b": 2}]}
    copied = cmp.deep_copy(original)
    copied["a"][1]["b"] = 3
    assert original == {"a": [1, {"b": 2}]}


@pytest.mark.parametrize("text,seconds", [("5m", 300), ("1h30m", 5400), ("90", 90), (60, 60), ("0s", 0), ("1d", 86400)])
def test_durations(text, seconds):
    assert cmp.duration_seconds(text) == seconds
    assert cmp.duration_seconds(cmp.format_duration(seconds)) == seconds


def test_format_duration_uses_the_largest_units():
    assert cmp.format_duration(5400) == "1h30m"
    assert cmp.format_duration(604800 + 61) == "1w1m1s"
    assert cmp.format_duration(0) == "0s"


@pytest.mark.parametrize("bad", ["5 minutes", "m5", "5x", True])
def test_bad_duration(bad):
    with pytest.raises(ValueError):
        cmp.duration_seconds(bad)

"""Concurrent writers (bounded): the emulator serialises state changes like a database would."""

from concurrent.futures import ThreadPoolExecutor

from emu_client import Client


def test_concurrent_dashboard_saves_are_serialised(grafana_emulator):
    """docs §4 version rules under concurrency: 20 writers with the same stale version -> exactly one wins
    with version 2, the others get 412 version-mismatch; 20 overwrites give 20 distinct consecutive versions."""
    api = Client(grafana_emulator, validate=False)
    assert api.post("/api/dashboards/db", {"dashboard": {"title": "Race", "uid": "race"}}).status == 200

    def save_v1(i):
        return Client(grafana_emulator, validate=False).post("/api/dashboards/db", {"dashboard": {"title": "Race", "uid": "race", "version": 1, "i": i}})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(save_v1, range(20)))
    assert sorted(r.status for r in results) == [200] + [412] * 19

    def overwrite(i):
        return Client(grafana_emulator, validate=False).post("/api/dashboards/db", {"dashboard": {"title": "Race", "uid": "race", "i": i}, "overwrite": True})

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = sorted(r.json["version"] for r in pool.map(overwrite, range(20)))
    assert versions == list(range(3, 23))

"""meta/main.yml of every role claims only the platforms a test converges.

Every molecule scenario (molecule/*/molecule.yml) and every container test (tests/molecule/) runs the one base
image built from Debian 12 (molecule/_shared/build-base-image.sh, suite in lib.sh), so Debian bookworm is the only platform a
role may list. A new scenario on another distribution adds its platform here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "main.yml").is_file())
TESTED = {"Debian": {"bookworm"}}


def test_the_scenarios_run_debian_12_only():
    images = set()
    for path in (REPO / "molecule").glob("*/molecule.yml"):
        images |= {p["image"] for p in yaml.safe_load(path.read_text())["platforms"]}
    assert images == {"localhost/cx-kpi/debian12-systemd:latest"}, images
    # the image's root file system is debootstrapped from this suite (molecule/_shared/lib.sh)
    assert "\nDEBIAN_SUITE=bookworm\n" in (REPO / "molecule" / "_shared" / "lib.sh").read_text()


@pytest.mark.parametrize("role", ROLES)
def test_meta_lists_only_tested_platforms(role):
    info = yaml.safe_load((REPO / "roles" / role / "meta" / "main.yml").read_text())["galaxy_info"]
    claimed = {p["name"]: set(map(str, p["versions"])) for p in info["platforms"]}
    assert claimed == TESTED, f"{role}: {claimed}"

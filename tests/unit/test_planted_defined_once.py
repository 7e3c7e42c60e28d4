"""The planted secrets are defined once (tests/planted.yml) and every other file reads them from there.

A literal copy elsewhere would drift from the one the leak checks search for (the ``ansible`` fixture,
scripts/molecule-all.sh), so a test or scenario could feed a value that nobody looks for.
"""

import subprocess
from pathlib import Path

from planted import PLANTED, SOURCE

REPO = Path(__file__).resolve().parents[2]


def test_planted_values_are_distinct_and_long():
    values = list(PLANTED.values())
    assert len(values) == len(set(values)) >= 11
    assert all(len(v) >= 20 for v in values)


def test_no_planted_value_is_written_anywhere_else():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    copies = []
    for name in tracked:
        path = REPO / name
        if not name or path == SOURCE or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        copies += ["%s: %s" % (name, key) for key, value in PLANTED.items() if value in text]
    assert copies == []

"""The planted secrets (``tests/planted.yml``, their one definition) as ``PLANTED``: {name: value}.

Importable from the tests (``tests/`` is on sys.path; ``tests/conftest.py`` re-exports ``PLANTED``), the
benchmarks and molecule's testinfra helpers. ``python tests/planted.py`` prints the values, one a line (for
shell scripts that scan a log for them; never print them anywhere else).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

SOURCE = Path(__file__).resolve().with_name("planted.yml")


def load(path: Path = SOURCE) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()):
        raise ValueError("%s must map names to non-empty strings" % path)
    return data


PLANTED = load()


if __name__ == "__main__":
    sys.stdout.write("".join(value + "\n" for value in PLANTED.values()))

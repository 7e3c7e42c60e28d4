"""Every test file in the tree is collected by pytest (a file under a folder that norecursedirs or a
conftest hides, or with a name pytest does not pick up, would never run).

Collection is done in a subprocess over the whole tests/ tree without marker selection, so this also
covers the files that a gate deselects by marker (tests/molecule runs in the molecule gate).
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {"output", "__pycache__"}


def _test_files():
    files = set()
    for path in (REPO / "tests").rglob("*.py"):
        rel = path.relative_to(REPO)
        if SKIP_DIRS & set(rel.parts):
            continue
        if re.fullmatch(r"test_.*\.py|.*_test\.py", path.name):
            files.add(rel.as_posix())
    return files


def test_every_test_file_is_collected():
    files = _test_files()
    assert "tests/molecule/test_grafana_package_redhat.py" in files  # the walk itself works
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    collected = {line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line}
    missing = sorted(files - collected)
    assert not missing, f"test files that pytest never collects: {missing}"

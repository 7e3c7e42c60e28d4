"""Every change to a released module or role since the last release comes with a changelog fragment.

The last release is the last commit that changed ``changelogs/changelog.yaml`` (``antsibull-changelog release``
writes it). For every file under ``plugins/modules/`` or ``roles/<role>/`` that existed at that release and was
changed since, a fragment added or changed since then must name the module or role; a change to other plugin
code (module_utils, doc_fragments) needs at least one fragment. New modules and roles need none (antsibull-
changelog announces them from ``version_added`` / the release notes).
"""

import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def git(*args):
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def _last_release():
    return git("log", "-1", "--format=%H", "--", "changelogs/changelog.yaml").strip()


def _changes_since(base):
    """(status, path) of everything changed between ``base`` and the work tree (committed or not)."""
    out = git("diff", "--name-status", "--no-renames", base, "--")
    changes = [tuple(line.split("\t", 1)) for line in out.splitlines() if line]
    untracked = git("ls-files", "--others", "--exclude-standard").splitlines()
    return changes + [("A", p) for p in untracked]


def _subjects(changes):
    """Released modules/roles that changed, and whether other plugin code changed."""
    names, other = set(), False
    for status, path in changes:
        if status == "A":
            continue
        m = re.match(r"plugins/modules/(\w+)\.py$", path) or re.match(r"roles/(\w+)/", path)
        if m:
            names.add(m.group(1))
        elif path.startswith("plugins/"):
            other = True
    return names, other


def test_release_point_exists():
    base = _last_release()
    assert base, "no commit changed changelogs/changelog.yaml"
    releases = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert releases, "changelogs/changelog.yaml has no release"


def test_changed_modules_and_roles_have_fragments():
    changes = _changes_since(_last_release())
    fragments = [REPO / p for s, p in changes if s in ("A", "M") and p.startswith("changelogs/fragments/") and p.endswith((".yml", ".yaml"))]
    text = "\n".join(f.read_text() for f in fragments if f.exists())
    names, other = _subjects(changes)
    missing = sorted(n for n in names if not re.search(r"\b%s\b" % re.escape(n), text))
    assert not missing, f"changed since the last release without a changelog fragment naming them: {missing}"
    if other or names:
        assert fragments, "plugins/ changed since the last release but no changelog fragment was added"


def test_subjects_detects_changes():
    """The detector itself: a modified module and role count, an added one does not."""
    names, other = _subjects(
        [
            ("M", "plugins/modules/grafana_folder.py"),
            ("A", "plugins/modules/new_one.py"),
            ("M", "roles/kpi_grafana/tasks/main.yml"),
            ("M", "plugins/module_utils/_x.py"),
        ]
    )
    assert names == {"grafana_folder", "kpi_grafana"} and other

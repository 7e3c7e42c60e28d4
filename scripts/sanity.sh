#!/usr/bin/env bash
# ansible-test sanity, offline-capable: ansible-test wants to download get-pip.py from a host this machine
# cannot reach, so seed its cache with pip's wheel (from PyPI) and a small bootstrap that installs from it.
# (docs/DEVELOPMENT.md, "Facts about the build/CI machine")
# The collection is copied (tracked files only) to .../ansible_collections/cx_catalyst/kpi_dashboard, the
# layout ansible-test requires.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# SANITY_VENV: another virtualenv (scripts/compat.sh runs sanity on the lowest supported ansible-core too)
VENV="${SANITY_VENV:-$REPO/.venv}"
CACHE_DIR="$HOME/.ansible/test/cache"
# the pip version this ansible-test bootstraps (default_packages in ansible_test's python_requirements.py)
PIP_VERSION="$("$VENV/bin/python" - <<'PY'
import pathlib, re, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"\bpip='([0-9.]+)'", src).group(1))
PY
)"
mkdir -p "$CACHE_DIR"
if ! ls "$CACHE_DIR"/pip-"$PIP_VERSION"-*.whl >/dev/null 2>&1; then
  "$VENV/bin/pip" download -q --no-deps "pip==$PIP_VERSION" -d "$CACHE_DIR" 2>&1 | grep -v '^WARNING: Location' || true
fi
cat > "$CACHE_DIR/get_pip_${PIP_VERSION//./_}.py" <<PY
# Stand-in for get-pip.py (see scripts/sanity.sh): installs pip from the cached wheel, then the packages.
import glob, os, sys
wheel = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pip-$PIP_VERSION-*.whl')))[-1]
sys.path.insert(0, wheel)
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', wheel] + args))
PY

WORK="$(mktemp -d /tmp/kpi-sanity.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
DEST="$WORK/ansible_collections/cx_catalyst/kpi_dashboard"
mkdir -p "$DEST"
cd "$REPO"
# tracked + untracked-but-not-ignored files, so a developer's new files are checked before they commit
git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' | \
  xargs -0 -I{} sh -c 'if test -e "{}"; then printf "%s\0" "{}"; fi' | tar --null -T - -cf - | tar -xf - -C "$DEST"
cd "$DEST"
git init -q && git add -A >/dev/null 2>&1 && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity >/dev/null
export PATH="$VENV/bin:$PATH"
# the venv's own Python (3.11 on this machine; scripts/compat-newest.sh runs this in a Debian 13 container, 3.13)
PY_VERSION="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
ansible-test sanity --venv --python "$PY_VERSION" --color no "$@"

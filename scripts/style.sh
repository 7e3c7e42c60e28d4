#!/usr/bin/env bash
# The style gate: the checks of .pre-commit-config.yaml over the whole tree (ruff lint and format, yamllint, codespell).
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1
rc=0
"$REPO/.venv/bin/ruff" check --no-cache . || rc=1
"$REPO/.venv/bin/ruff" format --check --no-cache . || rc=1
"$REPO/.venv/bin/yamllint" --strict . || rc=1
"$REPO/.venv/bin/codespell" || rc=1
exit "$rc"

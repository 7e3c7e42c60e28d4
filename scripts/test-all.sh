#!/usr/bin/env bash
# The whole test suite (README "Run the tests"; .ci/run calls exactly this).
# Gates, in order: ansible-test sanity, compat (sanity + unit tests on the lowest supported ansible-core),
# compat-newest (the same on the newest, 2.21, in a Debian 13 container),
# style (ruff, yamllint, codespell), docs (antsibull-docs lint + docsite build), ansible-lint (production profile), changelog lint, pytest (unit,
# integration on real PostgreSQL and the Grafana API emulator on the four supported profiles, the emulators' own
# tests), molecule.
# Every gate runs even when an earlier one failed; the last line counts them.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1
export PATH="$REPO/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$REPO/ansible.cfg"
ONLY="${KPI_GATES:-sanity compat compat-newest style docs lint changelog pytest molecule}"

bash scripts/bootstrap.sh || { echo "bootstrap failed"; exit 1; }

passed=0; failed=0; failed_names=()
gate() {
  local name="$1"; shift
  case " $ONLY " in *" $name "*) ;; *) echo "== gate $name: not selected (KPI_GATES)"; return 0;; esac
  echo "== gate $name: $*"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "== gate $name: passed in $((SECONDS - t0)) s"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "== gate $name: FAILED after $((SECONDS - t0)) s"
  fi
}

gate sanity bash scripts/sanity.sh
gate compat bash scripts/compat.sh
gate compat-newest bash scripts/compat-newest.sh
gate style bash scripts/style.sh
gate docs bash scripts/docs.sh
gate lint ansible-lint --profile production --offline
gate changelog antsibull-changelog lint
gate pytest python -m pytest -p no:cacheprovider -n 2 --dist loadfile -ra -m "not molecule" tests
if [ -x scripts/molecule-all.sh ]; then
  gate molecule bash scripts/molecule-all.sh
else
  echo "== gate molecule: scripts/molecule-all.sh missing"; failed=$((failed + 1)); failed_names+=(molecule)
fi

[ "$failed" -eq 0 ] || echo "failed gates: ${failed_names[*]}"
echo "gates: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

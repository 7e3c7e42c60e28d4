#!/usr/bin/env bash
# Runs scripts/molecule-prepare.sh, then `molecule test -s <scenario>` for every scenario, one after
# the other (they share two cores with nothing else while CI runs them; docs/DEVELOPMENT.md, machine facts). Each scenario's output goes
# to molecule/.logs/<scenario>.log and is scanned for the planted secrets of tests/planted.yml: a
# scenario whose output shows one fails even when molecule passed.
# Exits non-zero if any scenario fails. MOLECULE_SCENARIOS="default docker" picks a subset.
# Scenarios: docker (grafana_docker), default (the whole site.yml on one instance: converge on Grafana 11.6.3,
# in-place upgrade to 13.3.0 in side_effect, verify with grafana_package's and grafana_pdc_agent's checks too)
# and reports (kpi_reports); molecule/README.md.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1
export PATH="$REPO/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1 PY_COLORS=0
# Free 127.0.0.1 ports for the scenarios that publish on the host's loopback (docker, default).
free_port() { "$REPO/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for v in CX_MOLECULE_DOCKER_GRAFANA_PORT CX_MOLECULE_DOCKER_HTTP_PORT CX_MOLECULE_DOCKER_HTTPS_PORT \
         CX_MOLECULE_DEFAULT_PG_PORT CX_MOLECULE_DEFAULT_GRAFANA_PORT CX_MOLECULE_DEFAULT_REPO_PORT; do
  [ -n "${!v:-}" ] || export "$v=$(free_port)"
done
# The local APT repository and PDC release molecule-prepare.sh publishes (mounted into the instances).
export CX_MOLECULE_PUBLISHED="${XDG_CACHE_HOME:-$HOME/.cache}/cx-kpi-dashboard/molecule/published"
SCENARIOS="${MOLECULE_SCENARIOS:-docker default reports}"
LOGS="$REPO/molecule/.logs"
mkdir -p "$LOGS"

t0=$SECONDS
if ! bash scripts/molecule-prepare.sh; then
  echo "molecule-all: molecule-prepare.sh failed"; exit 1
fi
echo "molecule-all: prepare took $((SECONDS - t0)) s"

planted="$("$REPO/.venv/bin/python" "$REPO/tests/planted.py")"  # the planted secrets (tests/planted.yml), one a line

failed=()
ran=0
# Tests marked `molecule` (tests/molecule/) need the base image prepare has just built.
if [ -z "${MOLECULE_SCENARIOS:-}" ]; then
  t=$SECONDS; ran=$((ran + 1))
  if python -m pytest -p no:cacheprovider -q -m molecule tests/molecule >"$LOGS/pytest-molecule.log" 2>&1; then
    echo "== pytest -m molecule: passed in $((SECONDS - t)) s ($(tail -1 "$LOGS/pytest-molecule.log"))"
  else
    echo "== pytest -m molecule: FAILED in $((SECONDS - t)) s"; tail -40 "$LOGS/pytest-molecule.log"; failed+=(pytest-molecule)
  fi
fi
for s in $SCENARIOS; do
  t=$SECONDS
  log="$LOGS/$s.log"
  echo "== molecule test -s $s (log: $log)"
  if molecule --base-config "$REPO/.config/molecule/config.yml" test -s "$s" >"$log" 2>&1; then rc=0; else rc=$?; fi
  leaked=()
  while IFS= read -r value; do
    [ -n "$value" ] && grep -qF -- "$value" "$log" && leaked+=("${value:0:8}...")
  done <<<"$planted"
  if [ "${#leaked[@]}" -gt 0 ]; then
    echo "== $s: planted secret(s) in the output: ${leaked[*]}"; rc=1
  fi
  if [ "$rc" -eq 0 ]; then
    echo "== $s: passed in $((SECONDS - t)) s"
  else
    echo "== $s: FAILED in $((SECONDS - t)) s; last lines:"; tail -40 "$log" | grep -vF -f <(printf '%s\n' "$planted" | sed '/^$/d') || true
    failed+=("$s")
  fi
done
ran=$((ran + $(wc -w <<<"$SCENARIOS")))
echo "molecule-all: $((ran - ${#failed[@]})) passed, ${#failed[@]} failed in $((SECONDS - t0)) s"
[ "${#failed[@]}" -eq 0 ]

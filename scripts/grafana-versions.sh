#!/usr/bin/env bash
# The grafana-versions gate: every integration test of the grafana_* modules and the kpi_grafana role that takes
# the default Grafana emulator fixture, run again on the two current profiles (11.6.3: legacy /api routes;
# 13.3.0: the /apis generation). The pytest gate runs them on the fixture's default profile; test_grafana_versions
# and test_site_check_mode are parametrised over all four profiles there already.
#   bash scripts/grafana-versions.sh [VERSION ...]   (default: 11.6.3 13.3.0)
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1
FILES=(
  tests/integration/test_grafana_modules.py
  tests/integration/test_grafana_bad_answers.py
  tests/integration/test_grafana_faults.py
  tests/integration/test_grafana_kpi_dashboard.py
  tests/integration/test_grafana_report.py
  tests/integration/test_grafana_cloud_source_ips.py
  tests/integration/test_kpi_grafana_role.py
)
VERSIONS=("$@")
[ "${#VERSIONS[@]}" -gt 0 ] || VERSIONS=(11.6.3 13.3.0)
rc=0
for v in "${VERSIONS[@]}"; do
  t=$SECONDS
  if CX_GRAFANA_EMULATOR_VERSION="$v" "$REPO/.venv/bin/python" -m pytest -p no:cacheprovider -q -n 2 --dist loadfile \
    -m "not molecule" "${FILES[@]}"; then
    echo "== grafana-versions: Grafana $v passed in $((SECONDS - t)) s"
  else
    echo "== grafana-versions: Grafana $v FAILED after $((SECONDS - t)) s"; rc=1
  fi
done
exit "$rc"

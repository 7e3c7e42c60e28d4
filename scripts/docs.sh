#!/usr/bin/env bash
# The docs gate: antsibull-docs lints the collection's docs (module DOCUMENTATION/EXAMPLES/RETURN, role
# argument specs, links between them) and builds the collection docsite with Sphinx, failing on any error or
# warning. Output: tests/output/docsite/build/html/ (git-ignored).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$REPO/.venv/bin:$PATH"
WORK="$REPO/tests/output/docsite"
rm -rf "$WORK"
mkdir -p "$WORK/collections/ansible_collections/cx_catalyst"
# only this collection on the path: antsibull-docs documents every collection it finds
ln -s "$REPO" "$WORK/collections/ansible_collections/cx_catalyst/kpi_dashboard"
# ... and the collections galaxy.yml depends on, with theirs (antsibull-docs resolves them), as bootstrap.sh
# unpacked them
for ns in community ansible; do
  ln -s "$REPO/.collections/ansible_collections/$ns" "$WORK/collections/ansible_collections/$ns"
done
printf "[defaults]\n" > "$WORK/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_CONFIG="$WORK/ansible.cfg"
cd "$WORK"
antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck "$WORK/collections/ansible_collections/cx_catalyst/kpi_dashboard"
mkdir -p "$WORK/site"
antsibull-docs sphinx-init --use-current --dest-dir "$WORK/site" --fail-on-error cx_catalyst.kpi_dashboard >/dev/null
cd "$WORK/site"
# no intersphinx: docs.ansible.com is out of reach (its labels are filtered below)
printf '\nintersphinx_mapping = {}\n' >> conf.py
mkdir -p rst && chmod og-w rst
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error --use-current \
  --dest-dir rst cx_catalyst.kpi_dashboard
# Sphinx: every warning fails the gate, except references into docs.ansible.com (intersphinx cannot fetch its
# inventory without that host), which must not point into this collection.
sphinx-build -M html rst build -c . -q -w "$WORK/warnings.txt" || true
grep -v -E "WARNING: undefined label: '(common_return_values|ansible_configuration_settings|ansible_collections\.(community|ansible)\.[a-z_.]+)'" \
  "$WORK/warnings.txt" | grep -E "WARNING|ERROR" && { echo "docs: Sphinx warnings above"; exit 1; }
[ -f "$WORK/site/build/html/collections/cx_catalyst/kpi_dashboard/index.html" ] || { echo "docs: no collection index built"; exit 1; }
echo "docs: $(find "$WORK/site/build/html" -name '*.html' | wc -l) pages in $WORK/site/build/html"

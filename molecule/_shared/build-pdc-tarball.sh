#!/usr/bin/env bash
# Builds a local PDC agent "release" shaped like the upstream GitHub release (goreleaser):
#   $PDC_RELEASE_DIR/pdc-agent_Linux_x86_64.tar.gz   (and _arm64), each wrapping a directory of the
#   same name that holds the `pdc` binary, plus checksums.txt (sha256, goreleaser format).
# The `pdc` inside is a TEST DOUBLE (pdc/pdc-test-double.sh) that records its arguments and
# environment and then idles.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

recipe="$(recipe_hash "${BASH_SOURCE[0]}" "$MOLECULE_SHARED/pdc/pdc-test-double.sh" "$PDC_TEST_VERSION")"
if [ "$(cat "$PDC_RELEASE_DIR/.recipe" 2>/dev/null)" = "$recipe" ]; then
  log "PDC test release $PDC_RELEASE_DIR up to date"; exit 0
fi
tmp="$PDC_RELEASE_DIR.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
for arch in x86_64 arm64; do
  name="pdc-agent_Linux_$arch"
  install -d "$tmp/build/$name"
  sed "s/@VERSION@/$PDC_TEST_VERSION/g" "$MOLECULE_SHARED/pdc/pdc-test-double.sh" >"$tmp/build/$name/pdc"
  chmod 0755 "$tmp/build/$name/pdc"
  printf 'TEST DOUBLE of the Grafana PDC agent, built by cx_catalyst.kpi_dashboard molecule tests.\n' \
    >"$tmp/build/$name/README.md"
  tar -C "$tmp/build" --owner=0 --group=0 --mtime='2026-01-01' -czf "$tmp/$name.tar.gz" "$name"
done
rm -rf "$tmp/build"
(cd "$tmp" && sha256sum pdc-agent_Linux_*.tar.gz >checksums.txt)
echo "$recipe" >"$tmp/.recipe"
rm -rf "$PDC_RELEASE_DIR"; mv "$tmp" "$PDC_RELEASE_DIR"
log "built PDC test release $PDC_RELEASE_DIR"

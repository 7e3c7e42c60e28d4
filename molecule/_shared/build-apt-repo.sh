#!/usr/bin/env bash
# Builds the local test APT repository, shaped like apt.grafana.com (`deb URL stable main`), signed
# with a generated test key (cached; the private key never leaves the cache directory):
#   $APT_REPO_DIR/gpg.key                      armored public key (what the role downloads)
#   $APT_REPO_DIR/dists/stable/{Release,Release.gpg,InRelease}
#   $APT_REPO_DIR/dists/stable/main/binary-{amd64,arm64}/Packages(.gz)
#   $APT_REPO_DIR/pool/main/g/grafana/*.deb  (one test-double package per version in GRAFANA_REPO_VERSIONS)
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

debs=()
for v in $GRAFANA_REPO_VERSIONS; do
  debs+=("$(bash "$MOLECULE_SHARED/build-grafana-deb.sh" "$v")")
done

export GNUPGHOME="$GPG_HOME"
# gpg starts an agent for signing; stop it again so nothing of ours keeps running.
trap 'gpgconf --kill gpg-agent 2>/dev/null || true' EXIT
if [ ! -f "$GPG_HOME/.cx-test-key" ]; then
  rm -rf "$GPG_HOME"; install -d -m 0700 "$GPG_HOME"
  gpg --batch --quiet --passphrase '' --quick-gen-key \
    'cx_catalyst.kpi_dashboard TEST repository key <test-repo@example.invalid>' ed25519 sign never
  gpg --batch --with-colons --list-keys | awk -F: '/^fpr:/ {print $10; exit}' >"$GPG_HOME/.cx-test-key"
  log "generated test APT signing key $(cat "$GPG_HOME/.cx-test-key")"
fi
fpr="$(cat "$GPG_HOME/.cx-test-key")"

recipe="$(recipe_hash "${BASH_SOURCE[0]}" "${debs[@]}" "$fpr")"
if [ "$(cat "$APT_REPO_DIR/.recipe" 2>/dev/null)" = "$recipe" ]; then
  log "APT repository $APT_REPO_DIR up to date"
  exit 0
fi
rm -rf "$APT_REPO_DIR.tmp"
repo="$APT_REPO_DIR.tmp"
install -d "$repo/pool/main/g/grafana"
cp "${debs[@]}" "$repo/pool/main/g/grafana/"
gpg --batch --armor --export "$fpr" >"$repo/gpg.key"
(
  cd "$repo" || exit 1
  for arch in amd64 arm64; do
    d="dists/stable/main/binary-$arch"; install -d "$d"
    apt-ftparchive --arch "$arch" packages pool/main >"$d/Packages"
    gzip -9nk "$d/Packages"
  done
  apt-ftparchive \
    -o APT::FTPArchive::Release::Origin=cx-kpi-test -o APT::FTPArchive::Release::Label=cx-kpi-test \
    -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \
    -o APT::FTPArchive::Release::Architectures='amd64 arm64' -o APT::FTPArchive::Release::Components=main \
    release dists/stable >dists/stable/Release.new
  mv dists/stable/Release.new dists/stable/Release
  gpg --batch --yes --local-user "$fpr" --clearsign -o dists/stable/InRelease dists/stable/Release
  gpg --batch --yes --local-user "$fpr" -abs -o dists/stable/Release.gpg dists/stable/Release
)
echo "$recipe" >"$repo/.recipe"
rm -rf "$APT_REPO_DIR"; mv "$repo" "$APT_REPO_DIR"
log "built APT repository $APT_REPO_DIR"

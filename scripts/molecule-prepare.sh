#!/usr/bin/env bash
# Everything the molecule scenarios need on this machine, idempotent and cached under
# ~/.cache/cx-kpi-dashboard/molecule (a second run only checks; see molecule/README.md):
#   host packages (podman, runc, debootstrap, dpkg-dev, apt-utils, gnupg, ...) and podman's runc config,
#   the containers.podman collection (molecule's podman driver), the Debian 12 + systemd base image,
#   the test `grafana` .deb and its signed APT repository, the test PDC release tarball, and the local
#   images the docker scenario's compose file names (grafana/grafana:<tag>, nginx:alpine).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S="$REPO/molecule/_shared"
t0=$SECONDS
[ -x "$REPO/.venv/bin/molecule" ] || bash "$REPO/scripts/bootstrap.sh"
bash "$S/setup-podman.sh"
bash "$S/build-base-image.sh"
bash "$S/build-apt-repo.sh"
bash "$S/build-pdc-tarball.sh"
bash "$S/build-app-images.sh"
echo "molecule-prepare: ok in $((SECONDS - t0)) s"

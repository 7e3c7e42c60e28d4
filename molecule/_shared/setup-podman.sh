#!/usr/bin/env bash
# Host packages and podman configuration the scenarios need (idempotent).
# crun fails on this machine kind (rlimits, hybrid cgroups), so podman is pointed at runc, and the
# default ulimits are lowered to values an unprivileged container may set.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need=()
for pair in podman:podman runc:runc debootstrap:debootstrap dpkg-deb:dpkg-dev apt-ftparchive:apt-utils \
            gpg:gnupg systemd-analyze:systemd slirp4netns:slirp4netns openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
# uidmap provides newuidmap, which podman looks for even when running as root.
command -v newuidmap >/dev/null || need+=(uidmap)
# Debian 12's podman (4.3) uses the CNI network backend, whose bridge networks resolve container names
# only with the dnsname plugin; without it the docker scenario's nginx exits with
# 'host not found in upstream "grafana:3000"' (compose services reach each other by name).
[ -x /usr/lib/cni/dnsname ] || need+=(golang-github-containernetworking-plugin-dnsname)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing host packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
want='# Written by cx_catalyst.kpi_dashboard molecule/_shared/setup-podman.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
'
if [ "$(cat "$conf" 2>/dev/null)" != "$(printf '%s' "$want")" ]; then
  if [ -f "$conf" ] && ! grep -q 'cx_catalyst.kpi_dashboard' "$conf"; then
    cp -p "$conf" "$conf.before-cx-kpi"
    log "kept the previous $conf as $conf.before-cx-kpi"
  fi
  mkdir -p /etc/containers
  printf '%s' "$want" >"$conf"
  log "wrote $conf (runtime runc, ulimits)"
fi

# The podman driver of molecule needs the containers.podman collection; Galaxy is unreachable, so it
# comes out of the same cached `ansible` wheel scripts/bootstrap.sh uses.
coll="$REPO/.collections/ansible_collections"
if [ ! -d "$coll/containers/podman" ]; then
  wheel="$(find "$CX_CACHE" -mindepth 2 -maxdepth 2 -path "$CX_CACHE/ansible-wheel-*/ansible-*.whl" 2>/dev/null | sort | tail -1 || true)"
  if [ -z "$wheel" ]; then
    ver="${ANSIBLE_WHEEL_VERSION:-12.3.0}"
    mkdir -p "$CX_CACHE/ansible-wheel-$ver"
    "$REPO/.venv/bin/pip" download -q --no-deps "ansible==$ver" -d "$CX_CACHE/ansible-wheel-$ver"
    wheel="$(find "$CX_CACHE/ansible-wheel-$ver" -maxdepth 1 -name 'ansible-*.whl' | sort | head -1)"
  fi
  log "unpacking containers.podman from $wheel"
  unzip -q -o "$wheel" 'ansible_collections/containers/podman/*' -d "$REPO/.collections"
fi

#!/usr/bin/env bash
# Builds (or loads from cache) the Debian 12 + systemd image every molecule scenario boots.
#   rootfs: debootstrap --variant=minbase with the target packages included, cached as a tarball
#   image:  podman import of that tarball, cached as a `podman save` archive
# Re-running is cheap: the image is rebuilt only when this recipe changes (label cx.recipe).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Bump when the rootfs tweaks or the import options below change (the package list is hashed anyway).
BASE_RECIPE_VERSION=2
recipe="$(recipe_hash "base-$BASE_RECIPE_VERSION" "$BASE_PACKAGES" "$DEBIAN_SUITE")"
rootfs_tar="$MOL_CACHE/rootfs-$DEBIAN_SUITE-$recipe.tar.gz"
image_archive="$MOL_CACHE/image-debian12-systemd-$recipe.tar"

if image_exists "$BASE_IMAGE" && \
   [ "$(podman image inspect --format '{{ index .Labels "cx.recipe" }}' "$BASE_IMAGE")" = "$recipe" ]; then
  log "base image $BASE_IMAGE up to date ($recipe)"
  exit 0
fi

if [ -f "$image_archive" ]; then
  log "loading $BASE_IMAGE from $image_archive"
  podman load -q -i "$image_archive" >/dev/null
  exit 0
fi

# Scenarios are hermetic: everything a target needs is already installed, and the only APT source a
# scenario uses is its own local test repository. A stale Debian source would make `apt-get update`
# fail inside a container without a route to the mirror.
base_rootfs_tweaks() {
  local root="$1" unit
  : >"$root/etc/apt/sources.list"
  # Each container gets its own machine id at boot.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  # Units that have nothing to do in a container and only slow the boot down or fail.
  for unit in getty@tty1.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
              e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
}

[ -f "$rootfs_tar" ] || debootstrap_rootfs "$DEBIAN_SUITE" "$BASE_PACKAGES" "$rootfs_tar" base_rootfs_tweaks

old_id="$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)"
log "importing $rootfs_tar as $BASE_IMAGE"
podman import -q \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL cx.recipe=$recipe" \
  "$rootfs_tar" "$BASE_IMAGE" >/dev/null
# The previous build of this image (now untagged) is ours to remove, unless a container still uses it.
[ -n "$old_id" ] && podman rmi "$old_id" >/dev/null 2>&1 || true
podman save -q -o "$image_archive.tmp" "$BASE_IMAGE"
mv "$image_archive.tmp" "$image_archive"
# Older archives of this image are dead weight once a new recipe is cached.
find "$MOL_CACHE" -maxdepth 1 \( -name 'image-debian12-systemd-*.tar' -o -name "rootfs-$DEBIAN_SUITE-*.tar.gz" \) \
  ! -name "*$recipe*" -delete
log "base image $BASE_IMAGE built ($recipe)"

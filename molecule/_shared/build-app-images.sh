#!/usr/bin/env bash
# Builds the local images the docker scenario's compose file names, since no registry is reachable:
#   grafana/grafana:<tag>  the test grafana .deb (emulator) on the base image, official image's layout
#   nginx:alpine           Debian's nginx on the base image, official image's layout
# Tagged under docker.io/ because podman's Docker API normalises short names that way.
# Rebuilt only when a recipe changes (label cx.recipe).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
img="$MOLECULE_SHARED/images"
base_id="$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE")"

build() {  # build NAME CONTAINERFILE RECIPE CONTEXT
  local name="$1" file="$2" recipe="$3" ctx="$4"
  if image_exists "$name" && [ "$(podman image inspect --format '{{ index .Labels "cx.recipe" }}' "$name")" = "$recipe" ]; then
    log "image $name up to date"; return 0
  fi
  local old_id
  old_id="$(podman image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)"
  log "building image $name"
  podman build -q --network host --build-arg "BASE=$BASE_IMAGE" --build-arg "DEBIAN_MIRROR=$DEBIAN_MIRROR" \
    --label "cx.recipe=$recipe" -f "$file" -t "$name" "$ctx" >/dev/null
  # The previous build (now untagged) is ours to remove, unless a container still uses it.
  if [ -n "$old_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
}

deb="$(bash "$MOLECULE_SHARED/build-grafana-deb.sh")"
ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
cp "$deb" "$ctx/grafana.deb"; cp "$img/run.sh" "$img/nginx.conf" "$ctx/"
build "$GRAFANA_IMAGE" "$img/grafana.Containerfile" \
  "$(recipe_hash "$img/grafana.Containerfile" "$img/run.sh" "$deb" "$base_id")" "$ctx"
build "$NGINX_IMAGE" "$img/nginx.Containerfile" \
  "$(recipe_hash "$img/nginx.Containerfile" "$img/nginx.conf" "$base_id")" "$ctx"
for alias in $GRAFANA_IMAGE_ALIASES; do podman tag "$GRAFANA_IMAGE" "$alias"; done
for alias in $NGINX_IMAGE_ALIASES; do podman tag "$NGINX_IMAGE" "$alias"; done
# Earlier builds of these images, untagged now, are ours (label cx.recipe): remove them unless in use.
for old in $(podman images -q --filter dangling=true --filter label=cx.recipe); do
  podman rmi "$old" >/dev/null 2>&1 || true
done

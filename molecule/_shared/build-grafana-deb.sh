#!/usr/bin/env bash
# Builds the TEST DOUBLE `grafana` .deb whose grafana-server is the project's Grafana emulator
# (tests/grafana_emulator), laid out like the real package. Cached by recipe hash (this script, the
# package files and the emulator's source), so it is rebuilt only when one of them changes.
# Prints the path of the .deb.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src="$MOLECULE_SHARED/grafana-deb"
emulator="$REPO/tests/grafana_emulator"
if [ ! -f "$emulator/__main__.py" ] && [ ! -f "$emulator/__init__.py" ]; then
  echo "build-grafana-deb: the Grafana emulator is missing at $emulator (expected a python package)" >&2
  exit 1
fi
version="${1:-$GRAFANA_TEST_VERSION}"
recipe="$(recipe_hash "${BASH_SOURCE[0]}" "$src" "$emulator" "$version")"
out_dir="$MOL_CACHE/debs"
deb="$out_dir/grafana_${version}_all.deb"
stamp="$deb.recipe"
if [ -f "$deb" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$recipe" ]; then
  echo "$deb"; exit 0
fi
mkdir -p "$out_dir"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
root="$work/grafana"
install -d "$root/DEBIAN" "$root/usr/sbin" "$root/usr/share/grafana/bin" "$root/usr/share/grafana/conf" \
  "$root/usr/share/grafana/public" "$root/usr/share/grafana/emulator" "$root/lib/systemd/system" \
  "$root/etc/default" "$root/etc/grafana/provisioning/datasources" "$root/etc/grafana/provisioning/dashboards" \
  "$root/etc/grafana/provisioning/alerting" "$root/etc/grafana/provisioning/plugins" \
  "$root/etc/grafana/provisioning/notifiers" "$root/usr/share/doc/grafana"
sed "s/@VERSION@/$version/g" "$src/control.in" >"$root/DEBIAN/control"
install -m 0755 "$src/postinst" "$src/prerm" "$root/DEBIAN/"
printf '/etc/grafana/grafana.ini\n/etc/default/grafana-server\n' >"$root/DEBIAN/conffiles"
sed "s/@VERSION@/$version/g" "$src/grafana-server" >"$root/usr/sbin/grafana-server"
sed "s/@VERSION@/$version/g" "$src/grafana-cli" >"$root/usr/sbin/grafana-cli"
chmod 0755 "$root/usr/sbin/grafana-server" "$root/usr/sbin/grafana-cli"
ln -s /usr/sbin/grafana-server "$root/usr/share/grafana/bin/grafana-server"
ln -s /usr/sbin/grafana-cli "$root/usr/share/grafana/bin/grafana-cli"
install -m 0644 "$src/grafana-server.service" "$root/lib/systemd/system/grafana-server.service"
install -m 0644 "$src/default-grafana-server" "$root/etc/default/grafana-server"
install -m 0640 "$src/grafana.ini" "$root/etc/grafana/grafana.ini"
install -m 0644 "$src/grafana.ini" "$root/usr/share/grafana/conf/defaults.ini"
install -m 0644 "$src/README.test-double" "$root/usr/share/doc/grafana/README.test-double"
echo "$version" >"$root/usr/share/grafana/VERSION"
# The emulator's source, without its own tests and caches.
tar -C "$emulator/.." --exclude='__pycache__' --exclude='*.pyc' --exclude='grafana_emulator/tests' \
  -cf - grafana_emulator | tar -C "$root/usr/share/grafana/emulator" -xf -
dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "$recipe" >"$stamp"
log "built $deb"
echo "$deb"

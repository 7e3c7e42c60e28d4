#!/bin/sh
# Entrypoint of the local grafana/grafana stand-in, shaped like the official image's /run.sh.
# GF_SECURITY_ADMIN_PASSWORD__FILE (Docker secrets) is honoured like upstream does.
for var in $(env | sed -n 's/^\(GF_[A-Z0-9_]*\)__FILE=.*/\1/p'); do
  file="$(eval echo "\${${var}__FILE}")"
  if [ -r "$file" ]; then export "$var=$(cat "$file")"; unset "${var}__FILE"; fi
done
exec /usr/sbin/grafana-server \
  --homepath="$GF_PATHS_HOME" \
  --config="$GF_PATHS_CONFIG" \
  --packaging=docker \
  "$@" \
  cfg:default.log.mode=console \
  cfg:default.paths.data="$GF_PATHS_DATA" \
  cfg:default.paths.logs="$GF_PATHS_LOGS" \
  cfg:default.paths.plugins="$GF_PATHS_PLUGINS" \
  cfg:default.paths.provisioning="$GF_PATHS_PROVISIONING"

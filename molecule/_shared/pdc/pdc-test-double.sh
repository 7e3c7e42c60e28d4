#!/bin/sh
# TEST DOUBLE of Grafana's `pdc` agent binary (molecule/_shared/build-pdc-tarball.sh).
# Records its arguments and environment to a 0600 file, then idles like a connected agent until
# stopped. It never prints the environment: the token must not reach the journal.
for a in "$@"; do
  case "$a" in -version|--version) echo "v@VERSION@"; exit 0 ;; esac
done
dir="${PDC_TEST_DOUBLE_RECORD_DIR:-${STATE_DIRECTORY:-${HOME:-/tmp}}}"
dir="${dir%%:*}"
umask 077
rec="$dir/pdc-test-double.record"
{
  echo "pid=$$"
  echo "user=$(id -un)"
  for a in "$@"; do printf 'arg=%s\n' "$a"; done
  env | sed 's/^/env=/'
} >"$rec.tmp" && mv -f "$rec.tmp" "$rec"
echo "pdc test double v@VERSION@ running as $(id -un) (pid $$); arguments and environment recorded in $rec"
trap 'echo "pdc test double: stopping"; exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $!
done

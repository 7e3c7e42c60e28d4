#!/usr/bin/env bash
# Local demo stack (README "Run the demo"): a throwaway PostgreSQL, a Grafana, and `site.yml` against
# inventories/local, ending with the dashboard verification table and the daily KPI report rendered into
# .demo/reports (PDF, a PNG per page, CSV per table panel).
#
#   scripts/demo.sh [up]      bring the demo up (idempotent: a second run reports no changes)
#   scripts/demo.sh down      stop what `up` started (by PID) and keep the data in .demo/
#   scripts/demo.sh purge     stop and delete .demo/
#
# Which Grafana (KPI_DEMO_GRAFANA):
#   emulator (default)  the project's Grafana API emulator on 127.0.0.1 — real Grafana cannot be installed on
#                       machines without grafana.com access; the output says so plainly.
#   existing            an existing Grafana or Grafana Cloud stack: KPI_DEMO_GRAFANA_URL and
#                       KPI_DEMO_GRAFANA_TOKEN (service-account token) must be set.
#   package | docker    install real Grafana on this machine with the grafana_package / grafana_docker role
#                       (needs apt.grafana.com, or a container registry, to be reachable).
# Which PostgreSQL: by default a throwaway cluster in .demo/pg on a free 127.0.0.1 port. Set KPI_DEMO_DB_HOST,
# KPI_DEMO_DB_PORT, KPI_DEMO_DB_USER and PGPASSWORD to use an existing server instead (the database
# KPI_DEMO_DB_NAME, default support_system, is created if missing).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$REPO/.demo"
PG_BIN="${KPI_PG_BIN:-/usr/lib/postgresql/15/bin}"
VAULT_PASS_FILE="$REPO/inventories/local/demo-vault-password.txt"
VAULT_FILE="$REPO/inventories/local/group_vars/all/vault.yml"
GRAFANA_MODE="${KPI_DEMO_GRAFANA:-emulator}"
action="${1:-up}"

log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() { "$REPO/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

vault_value() {  # vault_value KEY -> prints the value of KEY from the local inventory's vault file
  "$REPO/.venv/bin/ansible-vault" view --vault-password-file "$VAULT_PASS_FILE" "$VAULT_FILE" |
    "$REPO/.venv/bin/python" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)[sys.argv[1]])' "$1"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {
  local f="$1"
  if pid_alive "$f"; then
    kill "$(cat "$f")" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$f" || break; sleep 0.1; done
    pid_alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  stop_pidfile "$STATE/grafana/emulator.pid"
  if [ -f "$STATE/pg/data/postmaster.pid" ]; then
    stop_pidfile_pg="$(head -1 "$STATE/pg/data/postmaster.pid")"
    kill "$stop_pidfile_pg" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$stop_pidfile_pg" 2>/dev/null || break; sleep 0.1; done
  fi
  echo "demo stopped (data kept in $STATE)"
}

start_postgres() {
  if [ -n "${KPI_DEMO_DB_HOST:-}" ]; then
    DB_HOST="$KPI_DEMO_DB_HOST"; DB_PORT="${KPI_DEMO_DB_PORT:-5432}"; DB_ADMIN="${KPI_DEMO_DB_USER:-postgres}"
    : "${PGPASSWORD:?set PGPASSWORD for the existing server named by KPI_DEMO_DB_HOST}"
    DB_ADMIN_PASSWORD="$PGPASSWORD"
    return
  fi
  DB_HOST=127.0.0.1; DB_ADMIN=postgres
  DB_ADMIN_PASSWORD="$(vault_value vault_kpi_db_admin_password)"
  mkdir -p "$STATE/pg"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$STATE/pg"; fi
  if [ ! -f "$STATE/pg/data/PG_VERSION" ]; then
    local pwfile="$STATE/pg/.pw"
    (umask 077; printf '%s\n' "$DB_ADMIN_PASSWORD" > "$pwfile")
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$pwfile"; fi
    as_postgres "$PG_BIN/initdb" -D "$STATE/pg/data" -U postgres -A scram-sha-256 --pwfile="$pwfile" \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  if [ -f "$STATE/pg/port" ] && [ -f "$STATE/pg/data/postmaster.pid" ] && kill -0 "$(head -1 "$STATE/pg/data/postmaster.pid")" 2>/dev/null; then
    DB_PORT="$(cat "$STATE/pg/port")"
  else
    DB_PORT="$(free_port)"; echo "$DB_PORT" > "$STATE/pg/port"
    mkdir -p "$STATE/pg/sock"; if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$STATE/pg/sock"; fi
    as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 30 \
      -o "-p $DB_PORT -k $STATE/pg/sock -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  echo "PostgreSQL 15 (throwaway) on 127.0.0.1:$DB_PORT, data in $STATE/pg"
}

ensure_database() {
  local db="${KPI_DEMO_DB_NAME:-support_system}"
  local exists
  exists="$(PGPASSWORD="$DB_ADMIN_PASSWORD" psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_ADMIN" -d postgres -Atc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")"
  if [ "$exists" != 1 ]; then
    PGPASSWORD="$DB_ADMIN_PASSWORD" psql -q -h "$DB_HOST" -p "$DB_PORT" -U "$DB_ADMIN" -d postgres \
      -c "CREATE DATABASE \"$db\"" && echo "created database $db"
  fi
}

start_emulator() {
  mkdir -p "$STATE/grafana"
  local pwfile="$STATE/grafana/admin-password"
  (umask 077; vault_value vault_kpi_grafana_admin_password > "$pwfile")
  if pid_alive "$STATE/grafana/emulator.pid"; then
    GRAFANA_PORT="$(cat "$STATE/grafana/port")"
  else
    GRAFANA_PORT="$(free_port)"; echo "$GRAFANA_PORT" > "$STATE/grafana/port"
    PYTHONPATH="$REPO/tests" nohup "$REPO/.venv/bin/python" -m grafana_emulator --host 127.0.0.1 \
      --port "$GRAFANA_PORT" --admin-password-file "$pwfile" --data "$STATE/grafana/state.json" \
      > "$STATE/grafana/emulator.log" 2>&1 &
    echo $! > "$STATE/grafana/emulator.pid"
    for _ in $(seq 100); do
      curl -fsS "http://127.0.0.1:$GRAFANA_PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1
    done
  fi
  GRAFANA_URL="http://127.0.0.1:$GRAFANA_PORT"
  cat <<EOF
NOTE: Grafana here is the project's Grafana API EMULATOR (tests/grafana_emulator), not real Grafana:
      real Grafana cannot be installed on a machine without access to grafana.com. It speaks Grafana's HTTP
      API and runs the dashboard's SQL on the real PostgreSQL, but it has no web UI.
      Use KPI_DEMO_GRAFANA=existing|package|docker for a real Grafana (README, "Local demo").
Grafana API emulator on $GRAFANA_URL (admin password in the local vault)
EOF
}

up() {
  log "Installing what the demo needs"
  bash "$REPO/scripts/bootstrap.sh"
  mkdir -p "$STATE"; chmod 0755 "$STATE"
  log "PostgreSQL"
  start_postgres
  local extra=(-e "kpi_demo_db_host=$DB_HOST" -e "kpi_demo_db_port=$DB_PORT" -e "kpi_demo_db_admin_user=$DB_ADMIN")
  ensure_database
  log "Grafana ($GRAFANA_MODE)"
  case "$GRAFANA_MODE" in
    emulator)
      start_emulator
      extra+=(-e "kpi_demo_grafana_url=$GRAFANA_URL" -e kpi_demo_grafana_install_method=none -e kpi_demo_grafana_auth=basic) ;;
    existing)
      : "${KPI_DEMO_GRAFANA_URL:?set KPI_DEMO_GRAFANA_URL}"; : "${KPI_DEMO_GRAFANA_TOKEN:?set KPI_DEMO_GRAFANA_TOKEN}"
      extra+=(-e "kpi_demo_grafana_url=$KPI_DEMO_GRAFANA_URL" -e kpi_demo_grafana_install_method=none -e kpi_demo_grafana_auth=token) ;;
    package|docker)
      extra+=(-e "kpi_demo_grafana_url=http://127.0.0.1:3000" -e "kpi_demo_grafana_install_method=$GRAFANA_MODE" -e kpi_demo_grafana_auth=basic) ;;
    *) echo "KPI_DEMO_GRAFANA must be emulator, existing, package or docker (got '$GRAFANA_MODE')" >&2; exit 2 ;;
  esac
  log "ansible-playbook ${KPI_DEMO_SITE:-site.yml} -i inventories/local"
  cd "$REPO"
  # The admin password of an existing server comes from the environment, never from argv.
  KPI_DEMO_DB_ADMIN_PASSWORD="${DB_ADMIN_PASSWORD}" \
    "$REPO/.venv/bin/ansible-playbook" "${KPI_DEMO_SITE:-site.yml}" -i inventories/local \
    --vault-password-file "$VAULT_PASS_FILE" "${extra[@]}"
  log "Daily KPI report (rendered from the data, playbooks/report.yml)"
  KPI_DEMO_DB_ADMIN_PASSWORD="${DB_ADMIN_PASSWORD}" \
    "$REPO/.venv/bin/ansible-playbook" playbooks/report.yml -i inventories/local \
    --vault-password-file "$VAULT_PASS_FILE" "${extra[@]}" -e "kpi_report_output_dir=$STATE/reports"
  echo "Daily report: $(ls "$STATE"/reports/kpi-daily-*.pdf 2>/dev/null | tail -1) (PNG pages and CSVs next to it)"
  log "Demo is up"
  echo "PostgreSQL: 127.0.0.1:$DB_PORT (database support_system); Grafana: ${GRAFANA_URL:-${KPI_DEMO_GRAFANA_URL:-http://127.0.0.1:3000}}"
  echo "Stop it with: scripts/demo.sh down"
}

case "$action" in
  up) up ;;
  down) down ;;
  purge) down; rm -rf "$STATE"; echo "removed $STATE" ;;
  *) echo "usage: $0 [up|down|purge]" >&2; exit 2 ;;
esac

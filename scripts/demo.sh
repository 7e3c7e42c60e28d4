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
# Which n8n (KPI_DEMO_N8N), for the token-tracking workflows:
#   local (default)     n8n from npm (scripts/install-n8n.sh: the first run installs it into ~/.cache, later runs
#                       reuse it) on a free 127.0.0.1 port, on the demo PostgreSQL; owner and API key are created
#                       on the first start and kept in .demo/n8n (0600, never printed). The provider usage APIs
#                       and Slack's Web API are the project's emulators (tests/usage_api_emulator,
#                       tests/slack_emulator; the budget alerts land in the Slack emulator's channel C0KPIALERTS).
#   existing            an existing n8n: KPI_DEMO_N8N_URL and KPI_DEMO_N8N_API_KEY_FILE (a file holding its API key).
#   none                skip n8n (the kpi_n8n role is skipped by its tag).
# Which PostgreSQL: by default a throwaway cluster in .demo/pg on a free 127.0.0.1 port. Set KPI_DEMO_DB_HOST,
# KPI_DEMO_DB_PORT, KPI_DEMO_DB_USER and PGPASSWORD to use an existing server instead (the database
# KPI_DEMO_DB_NAME, default support_system, is created if missing).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$REPO/.demo"
VAULT_PASS_FILE="$REPO/inventories/local/demo-vault-password.txt"
VAULT_FILE="$REPO/inventories/local/group_vars/all/vault.yml"
GRAFANA_MODE="${KPI_DEMO_GRAFANA:-emulator}"
N8N_MODE="${KPI_DEMO_N8N:-local}"
action="${1:-up}"

log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() { "$REPO/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

vault_value() {  # vault_value KEY -> prints the value of KEY from the local inventory's vault file
  # Decrypted into a private (0600) temporary file, never parsed from `ansible-vault view`: with
  # ANSIBLE_VERBOSITY or ANSIBLE_DEBUG set, ansible-vault prints a banner on stdout before the plaintext.
  local tmp rc=0
  tmp="$(mktemp)"
  "$REPO/.venv/bin/ansible-vault" decrypt --vault-password-file "$VAULT_PASS_FILE" --output "$tmp" \
    "$VAULT_FILE" >/dev/null || rc=$?
  if [ "$rc" -eq 0 ]; then
    "$REPO/.venv/bin/python" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)[sys.argv[1]])' "$1" \
      < "$tmp" || rc=$?
  fi
  rm -f "$tmp"
  return "$rc"
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
  stop_pidfile "$STATE/n8n/usage-emulator.pid"
  stop_pidfile "$STATE/n8n/slack-emulator.pid"
  stop_pidfile "$STATE/n8n/n8n.pid"
  "$REPO/.venv/bin/python" "$REPO/tests/pgserver.py" stop --dir "$STATE/pg"
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
  # tests/pgserver.py (the throwaway cluster of the tests and benchmarks too): initdb on the first run, then
  # reuse; starts it on a free port unless it is running; prints the port. The password goes through stdin.
  DB_PORT="$(printf '%s\n' "$DB_ADMIN_PASSWORD" |
    "$REPO/.venv/bin/python" "$REPO/tests/pgserver.py" start --dir "$STATE/pg" --password-stdin)"
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

start_n8n() {
  local dir n8n_port broker_port
  mkdir -p "$STATE/n8n"; chmod 0700 "$STATE/n8n"
  dir="$(bash "$REPO/scripts/install-n8n.sh")"
  # shellcheck disable=SC1091
  . "$dir/env"   # NODE, N8N_BIN, N8N_VERSION
  PGPASSWORD="$DB_ADMIN_PASSWORD" psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_ADMIN" -d postgres -Atc \
    "SELECT 1 FROM pg_database WHERE datname = 'n8n'" | grep -q 1 ||
    PGPASSWORD="$DB_ADMIN_PASSWORD" psql -q -h "$DB_HOST" -p "$DB_PORT" -U "$DB_ADMIN" -d postgres -c 'CREATE DATABASE n8n'
  [ -f "$STATE/n8n/encryption-key" ] || (umask 077; "$REPO/.venv/bin/python" -c 'import secrets; print(secrets.token_hex(24))' > "$STATE/n8n/encryption-key")
  if pid_alive "$STATE/n8n/n8n.pid"; then
    n8n_port="$(cat "$STATE/n8n/port")"
  else
    n8n_port="$(free_port)"; broker_port="$(free_port)"; echo "$n8n_port" > "$STATE/n8n/port"
    # secrets reach n8n through its environment (not its command line)
    N8N_USER_FOLDER="$STATE/n8n" N8N_ENCRYPTION_KEY="$(cat "$STATE/n8n/encryption-key")" \
    N8N_LISTEN_ADDRESS=127.0.0.1 N8N_HOST=127.0.0.1 N8N_PORT="$n8n_port" N8N_PROTOCOL=http \
    N8N_RUNNERS_BROKER_PORT="$broker_port" N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1 N8N_SECURE_COOKIE=false \
    N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false \
    N8N_PERSONALIZATION_ENABLED=false N8N_PUBLIC_API_DISABLED=false GENERIC_TIMEZONE=UTC \
    DB_TYPE=postgresdb DB_POSTGRESDB_HOST="$DB_HOST" DB_POSTGRESDB_PORT="$DB_PORT" DB_POSTGRESDB_DATABASE=n8n \
    DB_POSTGRESDB_USER="$DB_ADMIN" DB_POSTGRESDB_PASSWORD="$DB_ADMIN_PASSWORD" \
      setsid nohup "$NODE" "$N8N_BIN" start > "$STATE/n8n/n8n.log" 2>&1 &
    echo $! > "$STATE/n8n/n8n.pid"
    for _ in $(seq 600); do
      curl -fsS "http://127.0.0.1:$n8n_port/healthz/readiness" >/dev/null 2>&1 && break; sleep 0.5
    done
  fi
  N8N_URL="http://127.0.0.1:$n8n_port"
  # owner account and API key: module n8n_bootstrap (idempotent: keeps a key file n8n accepts; the key goes to a
  # 0600 file, never to the terminal; the owner password reaches the module through a file lookup, not argv)
  [ -s "$STATE/n8n/owner-password" ] ||
    (umask 077; "$REPO/.venv/bin/python" -c 'import secrets; print("Demo-" + secrets.token_urlsafe(12) + "9")' > "$STATE/n8n/owner-password")
  boot_args="$("$REPO/.venv/bin/python" -c 'import json, sys; print(json.dumps({"url": sys.argv[1],
    "owner_email": "owner@demo.kpi.local", "owner_first_name": "Demo", "owner_last_name": "Owner",
    "owner_password": "{{ lookup(\"ansible.builtin.file\", \"%s\") }}" % sys.argv[2],
    "api_key_file": sys.argv[3], "api_key_label": "cx-kpi-demo"}))' \
    "$N8N_URL" "$STATE/n8n/owner-password" "$STATE/n8n/api-key")"
  (cd "$REPO" && ANSIBLE_CONFIG="$REPO/ansible.cfg" "$REPO/.venv/bin/ansible" localhost -i localhost, -c local -o \
    -e ansible_python_interpreter="$REPO/.venv/bin/python" -m cx_catalyst.kpi_dashboard.n8n_bootstrap -a "$boot_args") >&2
  # provider usage APIs and Slack: the project's emulator with the vault's demo admin keys and some usage
  if ! pid_alive "$STATE/n8n/usage-emulator.pid"; then
    # the demo admin keys go from the vault to a 0600 file through a pipe (never a command line)
    (umask 077; "$REPO/.venv/bin/ansible-vault" view --vault-password-file "$VAULT_PASS_FILE" "$VAULT_FILE" |
      "$REPO/.venv/bin/python" -c 'import json, sys, yaml; v = yaml.safe_load(sys.stdin); print(json.dumps({"anthropic": [v["vault_anthropic_admin_key"]], "openai": [v["vault_openai_admin_key"]]}))' \
      > "$STATE/n8n/provider-keys.json")
    "$REPO/.venv/bin/python" - "$STATE/n8n/usage-data.json" <<'PY'
import datetime as dt, json, sys
now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
usage = []
for h in range(48):
    t = (now - dt.timedelta(hours=h)).isoformat()
    usage.append({"provider": "anthropic", "hour": t, "model": "claude-sonnet-4", "uncached_input_tokens": 40000,
                  "cache_read_tokens": 120000, "output_tokens": 9000})
    usage.append({"provider": "openai", "hour": t, "model": "gpt-4o-mini", "uncached_input_tokens": 20000,
                  "cache_read_tokens": 5000, "output_tokens": 4000, "requests": 25})
json.dump({"usage": usage}, open(sys.argv[1], "w"))
PY
    PYTHONPATH="$REPO/tests" setsid nohup "$REPO/.venv/bin/python" -m usage_api_emulator \
      --keys-file "$STATE/n8n/provider-keys.json" --data "$STATE/n8n/usage-data.json" \
      > "$STATE/n8n/usage-emulator.log" 2>&1 &
    echo $! > "$STATE/n8n/usage-emulator.pid"
    for _ in $(seq 100); do [ -s "$STATE/n8n/usage-emulator.log" ] && break; sleep 0.1; done
  fi
  USAGE_INFO="$(head -1 "$STATE/n8n/usage-emulator.log")"
  # Slack's Web API for the budget alerts: the project's emulator, knowing the vault's bot token (0600 file)
  if ! pid_alive "$STATE/n8n/slack-emulator.pid"; then
    (umask 077; vault_value vault_kpi_slack_bot_token > "$STATE/n8n/slack-token")
    PYTHONPATH="$REPO/tests" setsid nohup "$REPO/.venv/bin/python" -m slack_emulator --port 0 \
      --token-file "$STATE/n8n/slack-token" --channel C0KPIALERTS > "$STATE/n8n/slack-emulator.log" 2>&1 &
    echo $! > "$STATE/n8n/slack-emulator.pid"
    for _ in $(seq 100); do grep -q '^listening on ' "$STATE/n8n/slack-emulator.log" 2>/dev/null && break; sleep 0.1; done
  fi
  SLACK_API_URL="$(sed -n 's/^listening on //p' "$STATE/n8n/slack-emulator.log" | head -1)/api"
  ANTHROPIC_URL="$(printf '%s' "$USAGE_INFO" | "$REPO/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["anthropic_url"])')"
  OPENAI_URL="$(printf '%s' "$USAGE_INFO" | "$REPO/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["openai_url"])')"
  echo "n8n $N8N_VERSION on $N8N_URL (owner owner@demo.kpi.local, password in $STATE/n8n/owner-password)"
  echo "NOTE: the provider usage APIs and Slack are the project's emulators (tests/usage_api_emulator, tests/slack_emulator:"
  echo "      budget alerts show in $(dirname "$SLACK_API_URL")/__emulator/state)."
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
  log "n8n ($N8N_MODE)"
  case "$N8N_MODE" in
    local)
      start_n8n
      extra+=(-e "kpi_demo_n8n_url=$N8N_URL" -e "kpi_demo_n8n_api_key_file=$STATE/n8n/api-key"
              -e "kpi_demo_slack_api_url=$SLACK_API_URL"
              -e "kpi_demo_anthropic_base_url=$ANTHROPIC_URL" -e "kpi_demo_openai_base_url=$OPENAI_URL") ;;
    existing)
      : "${KPI_DEMO_N8N_URL:?set KPI_DEMO_N8N_URL}"; : "${KPI_DEMO_N8N_API_KEY_FILE:?set KPI_DEMO_N8N_API_KEY_FILE}"
      N8N_URL="$KPI_DEMO_N8N_URL"
      extra+=(-e "kpi_demo_n8n_url=$KPI_DEMO_N8N_URL" -e "kpi_demo_n8n_api_key_file=$KPI_DEMO_N8N_API_KEY_FILE") ;;
    none) extra+=(--skip-tags kpi_n8n) ;;
    *) echo "KPI_DEMO_N8N must be local, existing or none (got '$N8N_MODE')" >&2; exit 2 ;;
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
  echo "Daily report: $(find "$STATE/reports" -name 'kpi-daily-*.pdf' 2>/dev/null | sort | tail -1) (PNG pages and CSVs next to it)"
  log "Demo is up"
  echo "PostgreSQL: 127.0.0.1:$DB_PORT (database support_system); Grafana: ${GRAFANA_URL:-${KPI_DEMO_GRAFANA_URL:-http://127.0.0.1:3000}}"
  [ -n "${N8N_URL:-}" ] && echo "n8n: $N8N_URL (workflows: Log Token Usage, Token Tracking)"
  echo "Stop it with: scripts/demo.sh down"
}

# Sourcing the script (tests do) defines the functions without running an action.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "$action" in
    up) up ;;
    down) down ;;
    purge) down; rm -rf "$STATE"; echo "removed $STATE" ;;
    *) echo "usage: $0 [up|down|purge]" >&2; exit 2 ;;
  esac
fi

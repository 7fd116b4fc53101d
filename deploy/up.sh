#!/usr/bin/env bash
# Brings up what DE needs on one Debian/Ubuntu machine: PostgreSQL and RabbitMQ,
# installed from the OS packages when missing and started when down. Idempotent:
# run it as often as you like. With --demo it then builds DE and runs every role
# in one process with a demo (`electrons dev --demo`).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
log() { printf '\033[1m[up]\033[0m %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 name=$2 tries=${3:-90}
  for _ in $(seq "$tries"); do
    if port_open "$port"; then return 0; fi
    sleep 1
  done
  log "$name did not open port $port in ${tries}s"; return 1
}

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! port_open 5432; then
  log "starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  wait_for_port 5432 PostgreSQL
fi

# DE connects over TCP as `postgres`. Fresh Debian installs ask for a password
# there; give the role one the default URL can use when that is the case.
if ! PGCONNECT_TIMEOUT=5 psql "postgres://postgres@127.0.0.1:5432/postgres" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  if PGCONNECT_TIMEOUT=5 psql "postgres://postgres:postgres@127.0.0.1:5432/postgres" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    :
  else
    log "setting a password for the postgres role (local development only)"
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null 2>&1 \
      || su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  fi
  export DE_DATABASE_URL="${DE_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/electrons}"
  log "use DE_DATABASE_URL=$DE_DATABASE_URL"
fi

if ! port_open 5672; then
  log "starting RabbitMQ"
  $SUDO rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_for_port 5672 RabbitMQ 120
fi
log "PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672 are up"

if [ "${1:-}" = "--demo" ]; then
  log "building DE (release) and starting every role with the demo"
  cargo build --release -p electrons --bin electrons
  exec ./target/release/electrons dev --demo
fi

#!/usr/bin/env bash
# Brings up what DE needs on one Debian/Ubuntu machine: a C toolchain for the
# build, curl, PostgreSQL and RabbitMQ, installed from the OS packages when
# missing and started (on 127.0.0.1 only) when down. It never waits for input and
# changes nothing on a machine that already has it all: run it as often as you
# like. With --demo it then builds DE and runs every role in one process with a
# demo (`electrons dev --demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib.sh

# What the build and the stack use; `cc` is not part of rustup's toolchain.
apt_install cc:build-essential curl:curl /etc/ssl/certs/ca-certificates.crt:ca-certificates \
  psql:postgresql-client

# A broker this script installs is set up to listen on loopback only before its
# package starts it; the files are not the package's, so dpkg asks nothing.
if [ ! -x /usr/sbin/rabbitmq-server ]; then
  as_root mkdir -p /etc/rabbitmq
  [ -e /etc/rabbitmq/rabbitmq.conf ] || printf 'listeners.tcp.default = 127.0.0.1:5672\n' \
    | as_root tee /etc/rabbitmq/rabbitmq.conf >/dev/null
  [ -e /etc/rabbitmq/rabbitmq-env.conf ] || printf '%s\n' 'NODENAME=rabbit@localhost' \
    'ERL_EPMD_ADDRESS=127.0.0.1' 'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"' \
    | as_root tee /etc/rabbitmq/rabbitmq-env.conf >/dev/null
fi
installing_postgresql=false
command -v pg_ctlcluster >/dev/null 2>&1 || installing_postgresql=true
apt_install pg_ctlcluster:postgresql /usr/sbin/rabbitmq-server:rabbitmq-server
if $installing_postgresql; then
  for version in $(ls /etc/postgresql); do
    printf "listen_addresses = '127.0.0.1'\n" \
      | as_root tee "/etc/postgresql/$version/main/conf.d/50-de-loopback.conf" >/dev/null
    # A package that started its cluster (systemd) started it on `localhost`.
    if as_root pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main restart
    fi
  done
fi

if ! port_open 5432; then
  log "starting PostgreSQL on 127.0.0.1:5432"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
      -- -o "-c listen_addresses=127.0.0.1" || true
  done
  wait_for_port 5432 PostgreSQL
fi

# DE connects over TCP as `postgres`. Debian's own pg_hba.conf asks for a password
# there: give the role the development password the second default URL carries,
# through the local socket (peer authentication), and use that URL.
if ! database_url="$(pick_database_url)"; then
  if [ -n "${DE_DATABASE_URL:-}" ]; then exit 1; fi
  log "PostgreSQL asks for a password on 127.0.0.1: setting 'postgres' for the postgres role (local development only)"
  as_root runuser -u postgres -- psql -w -X -qc "ALTER USER postgres PASSWORD 'postgres'" </dev/null >/dev/null
  database_url="$(pick_database_url)" || { log "PostgreSQL still refuses $DE_PASSWORD_DATABASE_URL"; exit 1; }
fi
export DE_DATABASE_URL="$database_url"
[ "$database_url" = "$DE_DEFAULT_DATABASE_URL" ] || log "use DE_DATABASE_URL=$database_url"

if ! port_open 5672; then
  log "starting RabbitMQ on 127.0.0.1:5672"
  # The environment keeps AMQP, Erlang distribution and epmd on loopback even
  # where the broker's configuration files say nothing about it.
  as_root env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    /usr/sbin/rabbitmq-server -detached </dev/null >/dev/null 2>&1 || true
  wait_for_port 5672 RabbitMQ 120
fi
log "PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672 are up"

if [ "${1:-}" = "--demo" ]; then
  log "building DE (release; the first build takes about 8 minutes on 2 cores) and starting every role with the demo"
  cargo build --release -p electrons --bin electrons
  # Where cargo put it: CARGO_TARGET_DIR, when set, moves it out of ./target.
  exec "${CARGO_TARGET_DIR:-./target}/release/electrons" dev --demo
fi

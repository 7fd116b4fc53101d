#!/usr/bin/env bash
# Starts a real S3-protocol server for the tests: moto's server (PyPI), which
# this project did not write, in memory on 127.0.0.1:${DE_TEST_S3_PORT:-9000}.
# Installed once into a virtualenv under the user's cache (moto 5.2.5: 5.2.1
# answers CompleteMultipartUpload with the wrong XML root), with python3-venv and
# curl from the OS packages when missing. Idempotent: a server already answering
# on the port is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=s3
. deploy/lib.sh

PORT="${DE_TEST_S3_PORT:-9000}"
MOTO_VERSION="5.2.5"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/de-moto-$MOTO_VERSION"
LOG="${TMPDIR:-/tmp}/de-moto-$PORT.log"

apt_install curl:curl
answering() { curl -sf -o /dev/null "http://127.0.0.1:$PORT/moto-api/"; }

if answering; then
  log "moto already serving S3 on 127.0.0.1:$PORT"
  exit 0
fi

if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_get_install python3-venv
  log "installing moto[server]==$MOTO_VERSION into $VENV (PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

log "starting moto on 127.0.0.1:$PORT (log: $LOG)"
nohup setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 </dev/null &
for _ in $(seq 100); do
  if answering; then
    log "moto serving S3 on 127.0.0.1:$PORT"
    exit 0
  fi
  sleep 0.2
done
log "moto did not answer on 127.0.0.1:$PORT; its log:"
tail -20 "$LOG" >&2
exit 1

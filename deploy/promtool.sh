#!/usr/bin/env bash
# Prints the path of Prometheus's `promtool`, which the metrics test lints
# `/metrics` with. When it is not on PATH, the binary alone is unpacked from
# Debian's `prometheus` package into the user's cache: installing the package
# would also pull a web UI's libraries and start a Prometheus server.
# Idempotent; never waits for input.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=promtool
. deploy/lib.sh

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/de-promtool"
if [ ! -x "$DIR/promtool" ]; then
  log "unpacking promtool from Debian's prometheus package into $DIR" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    (cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1)
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/unpacked"
  mkdir -p "$DIR"
  cp "$work/unpacked/usr/bin/promtool" "$DIR/promtool"
fi
printf '%s\n' "$DIR/promtool"

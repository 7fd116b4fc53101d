#!/usr/bin/env bash
# Prints the path of a Python with the packages the tests run pinned in
# tests/python/requirements.txt (openapi-spec-validator, which the OpenAPI test
# validates /openapi.json with; Playwright, which drives the console test's
# Chromium), installed from PyPI into a virtualenv at
# ${DE_PY_TOOLS:-$HOME/.cache/de-py-tools}, with python3-venv from the OS
# packages when missing. Reinstalls only when the requirements change.
# Idempotent; never waits for input. Only the path goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=py-tools
. deploy/lib.sh

VENV="${DE_PY_TOOLS:-$HOME/.cache/de-py-tools}"
REQUIREMENTS="tests/python/requirements.txt"
STAMP="$VENV/.requirements"

if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$STAMP"; then
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_get_install python3-venv >&2
  log "installing $REQUIREMENTS into $VENV (PyPI)" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2
  cp "$REQUIREMENTS" "$STAMP"
fi
printf '%s\n' "$VENV/bin/python"

#!/usr/bin/env bash
# Prints the path of the Chromium the console's browser test drives (through
# Playwright, by executable path: no browser download). Installs Debian's
# chromium and chromium-driver (and a font, so screenshots have text) when
# missing. Idempotent; never waits for input.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=browser
. deploy/lib.sh

apt_install /usr/bin/chromium:chromium /usr/bin/chromedriver:chromium-driver \
  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core >&2
printf '%s\n' /usr/bin/chromium

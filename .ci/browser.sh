#!/usr/bin/env bash
# Headless Chromium for the /docs test (tests/it/docs.rs): Debian's
# `chromium` package, installed when /usr/bin/chromium is missing (quick
# when it is there).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version

#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser test, idempotently (about a minute the first time).
# Playwright for .NET drives it through ExecutablePath; no browser is downloaded. Nothing keeps running: the test
# starts and stops the browser and its `vmeco serve` daemon itself. Recipe validated in the team's shared notes.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get install -y --no-install-recommends chromium >/dev/null
fi
command -v chromium >/dev/null

#!/usr/bin/env bash
# setup-sysbench.sh - installs Debian's sysbench for the tuning integration test (idempotent, nothing to stop).
set -euo pipefail
if command -v sysbench >/dev/null 2>&1; then
  echo "sysbench already installed: $(sysbench --version)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends sysbench >/dev/null 2>&1 \
  || { apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends sysbench >/dev/null; }
echo "installed $(sysbench --version)"

#!/usr/bin/env bash
# The project's copy of the team's validated recipe (same licence as this repository).
# A private RabbitMQ broker for tests: own node name, port, data and logs under BASE, loopback only, stopped by PID.
#   setup.sh [start]   install Debian's rabbitmq-server if missing (about 15 s), start (a few seconds), print the AMQP URI
#   setup.sh stop      stop the broker this script started (and epmd when no other Erlang node uses it)
# Root is fine: Debian's rabbitmq-server script runs the broker as the 'rabbitmq' user.
set -euo pipefail
BASE=${VMECO_RMQ_BASE:-/tmp/vmeco-rmq}
PORT=${VMECO_RMQ_PORT:-55672}
NODE=vmeco-test@localhost

if [ "${1:-start}" = stop ]; then
  if [ -f "$BASE/rabbit.pid" ]; then
    pid=$(cat "$BASE/rabbit.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$BASE/rabbit.pid"
  fi
  if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q '^name '; then epmd -kill >/dev/null 2>&1 || true; fi
  exit 0
fi

if ! command -v rabbitmq-server >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 rabbitmq-server >/dev/null
fi
ready() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'AMQP\x00\x00\x09\x01' >&3 && timeout 2 head -c 8 <&3 | grep -q .) 2>/dev/null; }
if ! ready; then
  mkdir -p "$BASE"
  echo "[]." > "$BASE/enabled_plugins"
  printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$PORT" > "$BASE/rabbitmq.conf"
  chown -R rabbitmq: "$BASE" 2>/dev/null || true
  ( export RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$((PORT + 1)) \
      RABBITMQ_MNESIA_BASE=$BASE/mnesia RABBITMQ_LOG_BASE=$BASE/log RABBITMQ_PID_FILE=$BASE/rabbit.pid \
      RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins RABBITMQ_CONFIG_FILE=$BASE/rabbitmq
    setsid rabbitmq-server >"$BASE/stdout.log" 2>&1 < /dev/null & )
  for _ in $(seq 1 120); do ready && break; sleep 0.5; done
  ready || { echo "RabbitMQ did not start; see $BASE/stdout.log and $BASE/log" >&2; exit 1; }
fi
echo "amqp://guest:guest@127.0.0.1:$PORT/"

#!/usr/bin/env bash
# A private PostgreSQL for the PostgreSQL store tests: own data directory and port, loopback only, stopped by PID.
# The project's copy of the team's validated recipe (same licence as this repository).
#   setup.sh [start]   initialise (once) and start; prints the connection string
#   setup.sh stop      stop the server this script started
# Root is fine: the server runs as the 'postgres' user. Installs Debian's postgresql if it is missing.
set -euo pipefail
BASE=${VMECO_PG_BASE:-/tmp/vmeco-pg}
PORT=${VMECO_PG_PORT:-55432}
DATA=$BASE/data
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=vmeco"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-start}" = stop ]; then
  if [ -f "$DATA/postmaster.pid" ]; then
    pid=$(head -1 "$DATA/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  exit 0
fi

if [ -z "$(bin_dir)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 postgresql >/dev/null
fi
B=$(bin_dir)
mkdir -p "$BASE"; chown postgres: "$BASE" 2>/dev/null || true
if [ ! -f "$DATA/PG_VERSION" ]; then
  as_pg "$B/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! { [ -f "$DATA/postmaster.pid" ] && kill -0 "$(head -1 "$DATA/postmaster.pid")" 2>/dev/null; }; then
  as_pg "$B/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -t 60 \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k $BASE -c fsync=off -c max_connections=200" start >/dev/null
fi
as_pg "$B/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='vmeco'" | grep -q 1 \
  || as_pg "$B/createdb" -h 127.0.0.1 -p "$PORT" -U postgres vmeco
echo "$CONN"

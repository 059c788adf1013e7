#!/usr/bin/env bash
# Runs a throwaway PostgreSQL cluster (Debian's `postgresql`) for development and tests.
#
#   infra/postgres/postgres.sh start|stop|status|dsn
#
# Environment (all optional):
#   PG_PORT      port on 127.0.0.1 (default 55432, away from a system cluster's 5432)
#   PG_DATA_DIR  cluster folder (default <repo>/.data/postgres)
#   PG_SETTINGS  server options given at start (default: sized for a city, below)
#
# Creates the role `liandong` (password `liandong`) and two databases:
# `liandong_events` (the event store) and `liandong_views` (the read models).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
port=${PG_PORT:-55432}
data=${PG_DATA_DIR:-$repo/.data/postgres}

log() { printf 'postgres: %s\n' "$*" >&2; }

# Sized for a city's views (docs/scaling.md, "PostgreSQL"), given at each start so that a
# cluster made by an older version of this script gets them too. The defaults (128 MB of
# buffers, a checkpoint every 1 GB of WAL) made the city benchmark's PostgreSQL use 261 s
# of CPU; these 211 s. Shared memory is taken as it is used, not at start.
SETTINGS=${PG_SETTINGS:--c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=15min}

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ]; then
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$dir"
}

# PostgreSQL refuses to run as root; run its tools as the `postgres` user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_admin() { as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt "$@"; }

start() {
  bin=$(find_bin)
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating cluster in $data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 200
fsync = on
CONF
  fi
  if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "already running on 127.0.0.1:$port"
  elif "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    # Another cluster holds the port (a second checkout, say): use it, as kafka.sh does.
    log "a PostgreSQL server already answers on 127.0.0.1:$port; using it"
  else
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -o "$SETTINGS" start >/dev/null
    log "ready on 127.0.0.1:$port"
  fi
  if [ "$(psql_admin -c "select 1 from pg_roles where rolname='liandong'")" != 1 ]; then
    psql_admin -c "create role liandong login superuser password 'liandong'"
  fi
  for db in liandong_events liandong_views; do
    if [ "$(psql_admin -c "select 1 from pg_database where datname='$db'")" != 1 ]; then
      psql_admin -c "create database $db owner liandong"
    fi
  done
}

stop() {
  bin=$(find_bin)
  if [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    log "stopped"
  else
    log "not running"
  fi
}

status() {
  bin=$(find_bin)
  if [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "postgres: up on 127.0.0.1:$port"
  else
    echo "postgres: down"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  dsn) echo "postgresql://liandong:liandong@127.0.0.1:$port/liandong_events" ;;
  *) echo "usage: $0 start|stop|status|dsn" >&2; exit 2 ;;
esac

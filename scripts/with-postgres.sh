#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster (127.0.0.1, random port, fsync off) and removes it afterwards.
# Usage: bash scripts/with-postgres.sh <command…>   → the command sees TEST_DATABASE_URL=postgres://postgres@127.0.0.1:<port>/postgres
# WITH_POSTGRES_DURABLE=1 keeps fsync on (benchmarks). WITH_POSTGRES_OPTS="-c name=value …" adds server settings
# (e.g. shared_preload_libraries=pg_stat_statements to see which statements cost the server its time).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/with-postgres.sh <command…>" >&2
  exit 2
fi

# Debian keeps the server binaries out of PATH, in /usr/lib/postgresql/<version>/bin: take the newest.
find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir)
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  fi
  return 1
}

BIN=$(find_bindir || true)
if [ -z "$BIN" ]; then
  echo "with-postgres: initdb not found, installing Debian's postgresql" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  BIN=$(find_bindir || true)
  if [ -z "$BIN" ]; then
    echo "with-postgres: postgresql installed but initdb still not found" >&2
    exit 1
  fi
fi

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  if command -v runuser >/dev/null 2>&1; then
    as_owner() { runuser -u postgres -- "$@"; }
  else
    as_owner() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
  fi
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/fb-pg.XXXXXX")
DATA="$ROOT/data"
LOG="$ROOT/server.log"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$ROOT"; fi
chmod 700 "$ROOT"

STARTED=0
cleanup() {
  local code=$?
  if [ "$STARTED" -eq 1 ]; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$ROOT"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# WITH_POSTGRES_ICU=1: a linguistic default collation (ICU "en"), as many production clusters have, so that text
# ordering that silently relies on byte order shows up in tests.
INITDB_LOCALE="--locale=C.UTF-8"
if [ "${WITH_POSTGRES_ICU:-0}" = "1" ]; then INITDB_LOCALE="--locale=C.UTF-8 --locale-provider=icu --icu-locale=en"; fi
# shellcheck disable=SC2086
as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 $INITDB_LOCALE >"$ROOT/initdb.log" 2>&1 \
  || as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --no-locale >"$ROOT/initdb.log" 2>&1 \
  || { cat "$ROOT/initdb.log" >&2; exit 1; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Tests want speed (fsync off); benchmarks want the durability a user runs with: WITH_POSTGRES_DURABLE=1.
if [ "${WITH_POSTGRES_DURABLE:-0}" = "1" ]; then
  DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
else
  DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi

# A port can be taken between probing and binding: try a few.
PORT=""
for attempt in 1 2 3 4 5; do
  candidate=$(free_port)
  if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $candidate -k $ROOT $DURABILITY -c max_connections=300 -c shared_buffers=128MB -c deadlock_timeout=100ms ${WITH_POSTGRES_OPTS:-}" \
    >/dev/null 2>&1; then
    PORT=$candidate
    STARTED=1
    break
  fi
done
if [ -z "$PORT" ]; then
  echo "with-postgres: the server did not start" >&2
  cat "$LOG" >&2 || true
  exit 1
fi

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') at $TEST_DATABASE_URL" >&2

set +e
"$@"
CODE=$?
set -e
exit "$CODE"

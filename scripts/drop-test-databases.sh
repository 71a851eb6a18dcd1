#!/usr/bin/env bash
# Drops the PostgreSQL databases that test processes left behind (todoql_test_<pid>_<id>)
# whose process no longer runs. Drops run 8 at a time: each DROP DATABASE forces a
# checkpoint (over a second here), and concurrent drops share one.
set -euo pipefail
host="${PGHOST:-127.0.0.1}"
export PGOPTIONS="--client-min-messages=warning"
psql -h "$host" -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'todoql\_test\_%'" |
  while read -r db; do
    pid=$(printf '%s' "$db" | cut -d_ -f3)
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ]; then continue; fi
    printf '%s\n' "$db"
  done |
  xargs -r -P 8 -I{} psql -h "$host" -U postgres -qc 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'

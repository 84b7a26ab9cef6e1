# Starts a throwaway PostgreSQL cluster on a free loopback port for the test run and exports
# BERTH_TEST_POSTGRES_URL; the cluster is removed when the calling script exits.
# shellcheck shell=bash

start_test_postgres() {
  apt_ensure postgresql
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PG_DIR=$(mktemp -d /tmp/berth-pg.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # PostgreSQL refuses to run as root: use the postgres account the package created.
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$PG_DIR/initdb.log"
  "${as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  PG_STOP=("${as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
  on_exit stop_test_postgres
  export BERTH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port (data in $PG_DIR)"
}

stop_test_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

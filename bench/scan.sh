#!/usr/bin/env bash
# Scanning benchmark on the embedded defaults (SQLite + filesystem), release build: peak RSS
# while a 1 GiB layer is scanned, and how much slower a 256 MiB blob pull gets while 20 images
# are being scanned. Reads the real advisories and package databases in ../shared/vulndb.
# Usage: bench/scan.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$BERTH_ROOT"
apt_ensure python3 curl
VULNDB=${VULNDB:-$BERTH_ROOT/../shared/vulndb}
[ -d "$VULNDB/osv" ] || { echo "the shared vulnerability data is absent at $VULNDB"; exit 1; }

BERTH_BIN=${BERTH_BIN:-$CARGO_TARGET_DIR/release/berth}
if [ "$BERTH_BIN" = "$CARGO_TARGET_DIR/release/berth" ]; then
  log "building Berth (release)"
  cargo build --release -p server
fi
work=$(mktemp -d /tmp/berth-scan-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
password="Scan-Bench-$(date +%s)"
export BERTH_DATA_DIR="$work/data" BERTH_HTTP__PORT=$port BERTH_HTTP__BIND=127.0.0.1 \
  BERTH_ADMIN_PASSWORD=$password BERTH_LOG__LEVEL=warn
log "importing the OSV records"
"$BERTH_BIN" vulndb import "$VULNDB/osv" | tail -1
"$BERTH_BIN" 2>>"$work/berth.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 "$BERTH_ROOT/bench/scan.py" "http://127.0.0.1:$port" "$password" "$pid" "$work" "$VULNDB"

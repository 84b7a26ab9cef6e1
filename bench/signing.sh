#!/usr/bin/env bash
# Signature policy benchmark on the embedded defaults, release build: manifest GET (wrk, 64
# connections) of a cosign-signed artifact in a project that enforces signatures, against the
# same GET in a project without a policy. The verdict is stored, so the two should be close.
# Usage: bench/signing.sh [seconds per run, default 10] [rounds, default 3]
source "$(dirname "$0")/../scripts/lib.sh"
cd "$BERTH_ROOT"
apt_ensure python3 curl wrk
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
BERTH_BIN=${BERTH_BIN:-$CARGO_TARGET_DIR/release/berth}
if [ "$BERTH_BIN" = "$CARGO_TARGET_DIR/release/berth" ]; then
  log "building Berth (release)"
  cargo build --release -p server
fi
work=$(mktemp -d /tmp/berth-signing-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
password="Signing-Bench-$(date +%s)"
BERTH_DATA_DIR="$work/data" BERTH_HTTP__PORT=$port BERTH_HTTP__BIND=127.0.0.1 \
  BERTH_ADMIN_PASSWORD=$password BERTH_LOG__LEVEL=warn "$BERTH_BIN" 2>>"$work/berth.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 "$BERTH_ROOT/bench/signing.py" "127.0.0.1:$port" "$password" "$work" "$SECONDS_PER_RUN" "$ROUNDS"

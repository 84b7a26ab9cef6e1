#!/usr/bin/env bash
# Measures online garbage collection over N unreferenced blobs (default 100,000) on the embedded
# defaults (SQLite + filesystem): N blob rows, N repository links and N files, all older than
# the window, then one `POST /api/v2.0/system/gc`. Prints the report and the wall time.
# Usage: bench/gc.sh [N]
source "$(dirname "$0")/../scripts/lib.sh"
cd "$BERTH_ROOT"
N=${1:-100000}
apt_ensure python3 curl

BERTH_BIN=${BERTH_BIN:-$CARGO_TARGET_DIR/release/berth}
if [ "$BERTH_BIN" = "$CARGO_TARGET_DIR/release/berth" ]; then
  log "building Berth (release)"
  cargo build --release -p server
fi
work=$(mktemp -d /tmp/berth-gc-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
password="Gc-Bench-$(date +%s)"
start() {
  BERTH_DATA_DIR="$work" BERTH_HTTP__PORT=$port BERTH_HTTP__BIND=127.0.0.1 BERTH_ADMIN_PASSWORD=$password \
    BERTH_LOG__LEVEL=warn "$BERTH_BIN" 2>>"$work/berth.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "Berth did not start"; cat "$work/berth.log"; exit 1
}
start
curl -sf -u "admin:$password" -H 'Content-Type: application/json' \
  -d '{"project_name":"gc"}' "http://127.0.0.1:$port/api/v2.0/projects" >/dev/null
seed=$(printf 'seed blob' | sha256sum | cut -d' ' -f1)
curl -sf -u "admin:$password" --data-binary 'seed blob' \
  "http://127.0.0.1:$port/v2/gc/app/blobs/uploads/?digest=sha256:$seed" >/dev/null
kill "$pid"; wait "$pid" 2>/dev/null; pid=

log "writing $N unreferenced blobs (rows, links and files)"
python3 - "$work" "$N" <<'PY'
import hashlib, os, sqlite3, sys
work, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(os.path.join(work, "berth.db"))
repo_id, created = db.execute(
    "SELECT rb.repository_id, b.created_at FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest").fetchone()
old = "2020" + created[4:]   # same format, six years earlier
blobs, links = [], []
for i in range(n):
    content = b"garbage %d" % i
    hexd = hashlib.sha256(content).hexdigest()
    d = os.path.join(work, "blobs", "blobs", "sha256", hexd[:2])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hexd), "wb") as f:
        f.write(content)
    blobs.append(("sha256:" + hexd, len(content), old))
    links.append((repo_id, "sha256:" + hexd, old))
db.executemany("INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)", blobs)
db.executemany("INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?)", links)
db.commit()
PY
start
log "running garbage collection"
t0=$(date +%s.%N)
report=$(curl -sf -u "admin:$password" -H 'Content-Type: application/json' \
  -d '{"window_minutes": 60}' "http://127.0.0.1:$port/api/v2.0/system/gc")
t1=$(date +%s.%N)
echo "$report"
python3 - "$report" "$t0" "$t1" "$N" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); wall = float(sys.argv[3]) - float(sys.argv[2]); n = int(sys.argv[4])
assert r["blobs_deleted"] == n and r["links_removed"] == n, r
print(f"GC over {n} unreferenced blobs: {wall:.1f} s wall ({n / wall:.0f} blobs/s), {r['elapsed_ms']} ms inside Berth")
PY
left=$(find "$work/blobs/blobs" -type f | wc -l)
echo "files left in the store: $left (the one referenced-by-nothing-but-young seed blob is kept by the window)"

#!/usr/bin/env bash
# Benchmarks Berth against CNCF distribution (Debian's docker-registry) and nginx on loopback.
# Usage: bench/run.sh [blob size in MiB, default 1024] [rounds, default 3]
# Prints the table that goes into docs/performance.md; raw numbers land in bench/results.json.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$BERTH_ROOT"
SIZE_MIB=${1:-1024}
ROUNDS=${2:-3}
WRK_SECONDS=${WRK_SECONDS:-10}
apt_ensure docker-registry nginx wrk python3

BERTH_BIN=${BERTH_BIN:-$CARGO_TARGET_DIR/release/berth}
if [ "$BERTH_BIN" = "$CARGO_TARGET_DIR/release/berth" ]; then
  log "building Berth (release)"
  cargo build --release -p server
fi

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "writing a ${SIZE_MIB} MiB test blob"
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$work/blob.bin"

bport=$(free_port); dport=$(free_port); nport=$(free_port)
password="Bench-Admin-$(date +%s)"
BERTH_DATA_DIR="$work/berth" BERTH_HTTP__PORT=$bport BERTH_HTTP__BIND=127.0.0.1 BERTH_ADMIN_PASSWORD=$password \
  BERTH_LOG__LEVEL=warn "$BERTH_BIN" 2>"$work/berth.log" &
pids+=($!); berth_pid=$!

cat > "$work/distribution.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/distribution}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$dport}
YML
/usr/bin/docker-registry serve "$work/distribution.yml" 2>"$work/distribution.log" &
pids+=($!); dist_pid=$!

mkdir -p "$work/www"; ln "$work/blob.bin" "$work/www/blob.bin"
# nginx workers run unprivileged: let them read the file.
chmod 755 "$work" "$work/www"; chmod 644 "$work/blob.bin"
cat > "$work/nginx.conf" <<NGX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path $work/ngx-body; proxy_temp_path $work/ngx-proxy; fastcgi_temp_path $work/ngx-fcgi;
  uwsgi_temp_path $work/ngx-uwsgi; scgi_temp_path $work/ngx-scgi;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
NGX
nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)

for url in "http://127.0.0.1:$bport/readyz" "http://127.0.0.1:$dport/v2/" "http://127.0.0.1:$nport/blob.bin"; do
  for _ in $(seq 100); do curl -sfI "$url" >/dev/null && break; sleep 0.1; done
done
curl -sf -u "admin:$password" -H 'content-type: application/json' -d '{"project_name":"bench"}' "http://127.0.0.1:$bport/api/v2.0/projects" >/dev/null

log "measuring (${ROUNDS} interleaved rounds)"
python3 bench/registry_bench.py --berth "127.0.0.1:$bport" --berth-pid "$berth_pid" --berth-user admin \
  --berth-password "$password" --distribution "127.0.0.1:$dport" --distribution-pid "$dist_pid" \
  --nginx "127.0.0.1:$nport" --blob "$work/blob.bin" --rounds "$ROUNDS" --wrk-seconds "$WRK_SECONDS"
mv results.json bench/results.json 2>/dev/null || true

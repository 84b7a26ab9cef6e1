#!/usr/bin/env bash
# Builds Berth the way cargo-leptos would: the server binary, the hydration bundle (wasm +
# wasm-bindgen JS), the Tailwind stylesheet, and public/ copied into the site directory.
# Usage: scripts/build-site.sh [--release]
source "$(dirname "$0")/lib.sh"
cd "$BERTH_ROOT"

profile=debug
server_flags=()
wasm_flags=()
if [ "${1:-}" = "--release" ]; then
  profile=release
  server_flags=(--release)
  wasm_flags=(--profile wasm-release)
fi
wasm_profile_dir=$([ "$profile" = release ] && echo wasm-release || echo debug)
# The server looks for its site next to itself: target/<profile>/site.
site="$CARGO_TARGET_DIR/$profile/site"

ensure_build_tools

log "building the server ($profile)"
cargo build -p server "${server_flags[@]}"

log "building the browser bundle (wasm32, $wasm_profile_dir)"
cargo build -p frontend --lib --target wasm32-unknown-unknown "${wasm_flags[@]}"

pkg="$site/pkg"
mkdir -p "$pkg"
# Release bundles drop the name section (function names for stack traces: 3.6 of 6.4 MB).
# No wasm-opt: Debian's binaryen (108) rewrites this module into one Chromium rejects
# (`WebAssembly.Table.set(): Argument 1 is invalid for table`), and without names the bundle
# is already smaller compressed than wasm-opt's (docs/decisions.md has the numbers).
bindgen_flags=()
[ "$profile" = release ] && bindgen_flags=(--remove-name-section --remove-producers-section)
wasm-bindgen --target web --no-typescript "${bindgen_flags[@]}" --out-dir "$pkg" --out-name berth \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile_dir/frontend.wasm"

log "compiling the stylesheet with the Tailwind CLI"
node_modules/.bin/tailwindcss -i style/tailwind.css -o "$pkg/berth.css" --minify 2>/dev/null

cp -r public/. "$site/"

# Compressed copies beside each asset; the server sends the one the browser accepts.
log "compressing the bundle (gzip, brotli)"
for f in "$pkg/berth_bg.wasm" "$pkg/berth.js" "$pkg/berth.css"; do
  gzip -9 -k -f -n "$f"
  brotli -q 11 -f -o "$f.br" "$f"
done
log "site ready in $site; server at $CARGO_TARGET_DIR/$profile/berth"

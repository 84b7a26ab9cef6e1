#!/usr/bin/env bash
# Sets up and starts Berth on its embedded defaults: SQLite and blobs under ./data, console and
# registry on http://localhost:8080. Extra arguments go to `berth` (e.g. --config berth.yml).
source "$(dirname "$0")/lib.sh"
cd "$BERTH_ROOT"
"$BERTH_ROOT/scripts/build-site.sh" --release
exec "$CARGO_TARGET_DIR/release/berth" "$@"

#!/usr/bin/env bash
# Installs everything the tests need (PostgreSQL, Chromium, skopeo, podman, umoci, CNCF
# distribution as a replication remote (Debian's docker-registry), Debian's docker.io, Node
# packages including the OpenID provider `oidc-provider`, the wasm toolchain, SeaweedFS as S3),
# then runs the whole suite: formatting, clippy, the Rust tests on SQLite with the filesystem
# store and on PostgreSQL with S3 (with a private docker daemon for the docker CLI tests), and
# the Playwright end-to-end tests in Chromium against the release artifact `./scripts/run.sh`
# serves. Idempotent; safe to re-run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/postgres.sh"
source "$(dirname "$0")/docker.sh"
source "$(dirname "$0")/seaweedfs.sh"
started_at=$(date +%s)
step() { log "$* (at $(( $(date +%s) - started_at )) s)"; }
cd "$BERTH_ROOT"

ensure_build_tools
apt_ensure chromium skopeo podman umoci docker.io docker-registry ca-certificates python3 hostname curl nginx openssl
# The signing tests' independent producer of cosign and Notation signatures.
python3 -c 'import cryptography' 2>/dev/null || apt_ensure python3-cryptography
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography
# Independent SBOM validators (server/tests/sbom/check.py): the published CycloneDX 1.6 schema
# through cyclonedx-python-lib, and spdx-tools for SPDX 2.3.
python3 -c 'import cyclonedx.validation.json, spdx_tools.spdx.parser.parse_anything' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check \
    "cyclonedx-python-lib[json-validation]==11.12.0" "spdx-tools==0.8.5"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (server side, then the wasm bundle)"
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

rust_tests() {
  cargo test --workspace --exclude frontend
}

start_test_docker
# The S3 store suite and the three-replica test (PostgreSQL + S3 behind nginx) run in both
# passes; the second pass also keeps every blob of every test in S3.
start_test_seaweedfs
start_test_postgres
export BERTH_TEST_POSTGRES_SERVER="$BERTH_TEST_POSTGRES_URL"
step "Rust tests on SQLite and the filesystem blob store"
(unset BERTH_TEST_POSTGRES_URL BERTH_TEST_BLOB_STORE; rust_tests)

step "Rust tests on PostgreSQL ($BERTH_TEST_POSTGRES_URL) and S3 (SeaweedFS, $BERTH_TEST_S3_ENDPOINT)"
BERTH_TEST_BLOB_STORE=s3 rust_tests

step "building the release artifact that ./scripts/run.sh serves"
"$BERTH_ROOT/scripts/build-site.sh" --release

step "Playwright end-to-end tests in Chromium (release build; one test starts ./scripts/run.sh)"
# Three free loopback ports: Berth, Berth with single sign-on, and the OpenID provider.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export BERTH_E2E_PORT BERTH_E2E_OIDC_PORT BERTH_E2E_IDP_PORT
BERTH_E2E_PORT=$(free_port)
BERTH_E2E_OIDC_PORT=$(free_port)
BERTH_E2E_IDP_PORT=$(free_port)
rm -rf end2end/test-results
node_modules/.bin/playwright test -c end2end/playwright.config.ts
step "all tests passed"

#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: the unit tests of each
# framework crate and the integration test binary (tests/integration), after
# a formatting check. Needs only a Rust toolchain: the tests read the bundled
# datasets and start no service. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
# One closing line over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"

#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: unit tests of each
# framework crate and the integration test binary (tests/integration).
# Needs only a Rust toolchain; installs and starts anything else the tests
# need (none yet beyond cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo test --workspace --locked "$@"

#!/usr/bin/env bash
# The test command of the README: every test of the workspace, as CI runs it.
#
# Needs the Rust toolchain (rust-toolchain.toml pins it; rustup installs it on first use)
# and cargo-nextest. Run it from anywhere: it works from the repository root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Builds go outside the clone, so a fresh clone reuses every compiled dependency.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"

"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# PostgreSQL, rsyslog, Chromium and the Python clients of the integration tests.
"$(dirname "${BASH_SOURCE[0]}")/setup-integrations.sh" >/dev/null
if ! command -v cargo-nextest >/dev/null 2>&1; then
    echo "error: 'cargo-nextest' is not installed. Install it with: cargo install --locked cargo-nextest" >&2
    exit 1
fi

# Every fresh clone builds the workspace's tests under new hashes: prune those of old
# clones before they fill the disk.
"$(dirname "${BASH_SOURCE[0]}")/prune-target.sh"
cargo nextest run --workspace --locked --profile ci
# nextest does not run doctests; the examples in the docs are tests too.
cargo test --workspace --locked --doc

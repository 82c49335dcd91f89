#!/usr/bin/env bash
# The test command of the README: every test of the workspace, as CI runs it.
#
# Needs the Rust toolchain (rust-toolchain.toml pins it; rustup installs it on first use)
# and cargo-nextest. Run it from anywhere: it works from the repository root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Builds go outside the clone, so a fresh clone reuses every compiled dependency.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"

# Fails with a clear message when a tool is missing. $1 is the command, $2 how to get it.
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "error: '$1' is not installed. Install it with: $2" >&2
        exit 1
    fi
}

need cargo "https://rustup.rs (the toolchain itself is pinned by rust-toolchain.toml)"
need cargo-nextest "cargo install --locked cargo-nextest (or see https://nexte.st)"

# RocksDB (arrives with the node) needs libclang for its bindgen, which a fresh machine
# lacks. When it lands, install it here:
# if ! ldconfig -p | grep -q libclang; then
#     sudo apt-get update && sudo apt-get install -y libclang-dev
# fi

cargo nextest run --workspace --locked --profile ci
# nextest does not run doctests; the examples in the docs are tests too.
cargo test --workspace --locked --doc

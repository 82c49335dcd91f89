#!/usr/bin/env bash
# Offers load to the local consortium that ./testnet/run.sh is running, and prints
# committed transactions per second and commit latency percentiles.
#
# Arguments go to panacea-bench, for example:
#   ./testnet/bench.sh --rate 200 --duration 20 --json bench.json
# PROFILE=release uses the optimised binaries (start run.sh with the same PROFILE).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"
DATA="${PANACEA_DATA:-$PWD/.panacea-local}"

"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# The same build as run.sh and the test command.
if [ "${PROFILE:-debug}" = "release" ]; then
    # Optimised binaries for measurements (a second RocksDB build the first time).
    cargo build --release --locked --workspace --bins
else
    cargo test --workspace --locked --no-run 2>&1 | grep -v '^  Executable'
fi
exec "$CARGO_TARGET_DIR/${PROFILE:-debug}/panacea-bench" --consortium "$DATA" "$@"

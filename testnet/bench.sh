#!/usr/bin/env bash
# Offers load to the local consortium that ./testnet/run.sh is running, and prints
# committed transactions per second and commit latency percentiles.
#
# Arguments go to panacea-bench, for example:
#   ./testnet/bench.sh --rate 200 --duration 20 --json bench.json
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"
DATA="${PANACEA_DATA:-$PWD/.panacea-local}"

"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# The same build as run.sh and the test command.
cargo test --workspace --locked --no-run 2>&1 | grep -v '^  Executable'
exec "$CARGO_TARGET_DIR/debug/panacea-bench" --consortium "$DATA" "$@"

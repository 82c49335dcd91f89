#!/usr/bin/env bash
# The run command of the README.
#
# The node arrives with issue 4; until then this runs the deterministic consortium
# simulator: four validators in one process, virtual time, and a trace of every step.
# When the node lands, this script starts a local consortium of real node processes.
#
# Extra arguments go to the simulator after the defaults, for example:
#   ./testnet/run.sh --seed 7
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"

"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec cargo run --release --locked -p panacea-consensus --example sim -- \
    --scenario happy --validators 4 --seed 1 --trace "$@"

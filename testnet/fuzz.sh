#!/usr/bin/env bash
# Fuzzes every decoder a peer, a client or a file reaches, and the contracts with validly
# signed transactions of fuzzed fields (fuzz/fuzz_targets/), with libFuzzer through
# cargo-fuzz on the nightly toolchain. Installs cargo-fuzz the first time.
#
#   ./testnet/fuzz.sh            # every target for FUZZ_SECONDS (default 15): what CI runs
#   FUZZ_SECONDS=600 ./testnet/fuzz.sh [TARGET...]   # a campaign (docs/benchmarks.md, "Fuzzing")
#
# A crash stops the run with the input under fuzz/artifacts/<target>/; replay it with
# `cargo +nightly fuzz run <target> <file>` and make it a regression test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-15}"
# Sanitizer builds differ from the main ones: their own folder, kept between clones.
TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/panacea-fuzz-target}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "==> installing the nightly toolchain (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo +nightly install --locked cargo-fuzz
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O --target-dir "$TARGET_DIR" 2>&1 | grep -v '^ *Compiling '
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "==> fuzzing $target for ${SECONDS_PER_TARGET} s"
    # -rss_limit_mb: a decoder that allocates past its limits is a finding too.
    status=0
    cargo +nightly fuzz run -O --target-dir "$TARGET_DIR" "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)|DONE' "$log" || true
    if [ "$status" -ne 0 ] || [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
        tail -n 40 "$log" >&2
        echo "error: $target failed (exit $status): $(ls "artifacts/$target" 2>/dev/null)" >&2
        exit 1
    fi
done
echo "==> fuzzing: no crash in ${#targets[@]} targets"

#!/usr/bin/env bash
# Throughput across an epoch change (docs/benchmarks.md, "Governance: joining and epoch
# changes"). Against a consortium started with `PANACEA_DATA=DIR ./testnet/run.sh --fresh`
# (4 hospitals + 1 authority): consents load at RATE tx/s for 70 s; 30 s in, the
# consortium votes hospital-3's validator out (or, if it is out, back in), which changes
# the validator set at the next epoch. Prints node 0's committed transactions per second,
# one-second samples with the epoch after each, and the load generator's report.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"
BIN="$CARGO_TARGET_DIR/${PROFILE:-debug}"
DATA="${PANACEA_DATA:-$PWD/.panacea-local}"
URL="${URL:-http://127.0.0.1:8645}"
RATE="${RATE:-400}"
OUT="$(mktemp -d)"

validators=$(curl -sf "$URL/v1/validators" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["validators"]))')
if [ "$validators" -ge 4 ]; then
    action=(set-validator hospital-3 --none)
else
    key=$("$BIN/panacea-node" show-node-id --home "$DATA/node3" | awk '/validator key/{print $3}')
    action=(set-validator hospital-3 --key "$key")
fi

"$BIN/panacea-bench" --consortium "$DATA" --workload consents --rate "$RATE" --duration 70 --warmup 5 \
    > "$OUT/bench.log" 2>&1 &
bench=$!
metric() { curl -sf "$URL/metrics" | awk -v name="$1" '$1 == name {print $2}'; }
previous=$(metric panacea_executed_transactions_total)
at=$(date +%s.%N)
for i in $(seq 1 75); do
    sleep 1
    if [ "$i" -eq 30 ]; then
        (
            id=$("$BIN/panacea" --node "$URL" --json gov propose --key "$DATA/node0/keys/admin_key.json" \
                --voting-hours 1 "${action[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
            for voter in 1 2 4; do
                "$BIN/panacea" --node "$URL" gov vote --key "$DATA/node$voter/keys/admin_key.json" "$id" --approve \
                    > /dev/null
            done
        ) &
        echo "-- proposal and votes sent"
    fi
    now=$(date +%s.%N)
    count=$(metric panacea_executed_transactions_total)
    python3 -c "print(f'{round(($count - $previous) / ($now - $at)):>6} tx/s  epoch $(metric panacea_epoch)')"
    previous=$count
    at=$now
done
wait "$bench" || true
cat "$OUT/bench.log"

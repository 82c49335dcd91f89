#!/usr/bin/env bash
# Time for a node to rejoin from nothing (docs/benchmarks.md, "A new member voting"):
# against a consortium started with `PANACEA_DATA=DIR ./testnet/run.sh --fresh`, stops
# node NODE (default 4, the health authority's observer), deletes its chain data
# (`panacea-node reset`), starts it again and prints the seconds from its start until its
# height equals node 0's. MODE=replay turns state sync off for that node first
# (`[state_sync] enabled = false`); MODE=sync (default) leaves it on. The node keeps
# running afterwards, writing to its node.log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"
BIN="$CARGO_TARGET_DIR/${PROFILE:-debug}"
DATA="${PANACEA_DATA:-$PWD/.panacea-local}"
NODE="${NODE:-4}"
MODE="${MODE:-sync}"
home="$DATA/node$NODE"
[ -d "$home" ] || { echo "error: no node $NODE in $DATA" >&2; exit 1; }
reference=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$DATA/node0/addresses.json")

pkill -f "panacea-node start --home $home" || true
for _ in $(seq 1 100); do
    pgrep -f "panacea-node start --home $home" > /dev/null || break
    sleep 0.1
done
"$BIN/panacea-node" reset --home "$home" --yes > /dev/null
case "$MODE" in
    replay) sed -i 's/^enabled = true/enabled = false/' "$home/config.toml" ;;
    sync) sed -i 's/^enabled = false/enabled = true/' "$home/config.toml" ;;
    *) echo "error: MODE is sync or replay" >&2; exit 1 ;;
esac
rm -f "$home/addresses.json"
start=$(date +%s.%N)
"$BIN/panacea-node" start --home "$home" >> "$home/node.log" 2>&1 &
height() { curl -sf "$1/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo -1; }
deadline=$(( $(date +%s) + 3600 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -f "$home/addresses.json" ]; then
        api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$home/addresses.json")
        mine=$(height "$api")
        theirs=$(height "$reference")
        if [ "$mine" -ge 0 ] && [ "$mine" -ge "$theirs" ]; then
            end=$(date +%s.%N)
            synced=$(curl -sf "$api/metrics" | awk '$1 == "panacea_state_synced_from" {print $2}')
            echo "node$NODE ($MODE) at height $mine, node 0 at $theirs, after $(python3 -c "print(f'{$end - $start:.1f}')") s; state synced from ${synced:-0}"
            exit 0
        fi
    fi
    sleep 0.1
done
echo "error: node$NODE did not catch up within an hour" >&2
exit 1

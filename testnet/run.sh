#!/usr/bin/env bash
# The run command of the README: a local consortium of real node processes on this
# machine — four hospital validators and one regional health authority's observer, each
# with its own embedded RocksDB under one data folder, from a generated genesis.
#
# Prints each node's API address; Ctrl-C stops every node cleanly.
#
# Environment:
#   PANACEA_DATA  the data folder (default: .panacea-local in the repository)
#   P2P_PORT      first peer-to-peer port (default 26656; node i uses P2P_PORT + i)
#   API_PORT      first API port (default 8645; node i uses API_PORT + i)
#   VALIDATORS, OBSERVERS  the consortium's shape (default 4 and 1)
#   PROFILE       debug (default: the build the tests share) or release (for measurements)
#   ORDERING_ONLY 1 generates a consensus-only benchmark chain (opaque transactions,
#                 neither signed nor executed; see docs/benchmarks.md)
#   PG_PORT, COLLECTOR_PORT  with --auditor: PostgreSQL's and the ATNA collector's ports
#                 (default 55432 and 16514)
# Pass --fresh to delete the data folder and generate a new consortium, and --auditor to
# make the health authority's observer dashboard-ready: an auditor keystore for the
# dashboard, the PostgreSQL analytics sink (a local cluster, testnet/postgres.sh) and the
# IHE ATNA export to a local rsyslog collector (testnet/collector.sh), both started here.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"
DATA="${PANACEA_DATA:-$PWD/.panacea-local}"
P2P_PORT="${P2P_PORT:-26656}"
API_PORT="${API_PORT:-8645}"
VALIDATORS="${VALIDATORS:-4}"
OBSERVERS="${OBSERVERS:-1}"
fresh=0
auditor=0
for argument in "$@"; do
    case "$argument" in
    --fresh) fresh=1 ;;
    --auditor) auditor=1 ;;
    *)
        echo "usage: $0 [--fresh] [--auditor]" >&2
        exit 2
        ;;
    esac
done

"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# Only the binaries: the node, the CLI and the load generators. The tests build later on
# the same RocksDB (Cargo.toml's build-override keeps its build script's hash the same for
# `cargo build` and `cargo test`), so the first run does not wait for every test.
echo "==> building panacea-node and the panacea CLI"
if [ "${PROFILE:-debug}" = "release" ]; then
    # Optimised binaries for measurements (a second RocksDB build the first time).
    cargo build --release --locked --workspace --bins
else
    cargo build --locked --workspace --bins
fi
NODE="$CARGO_TARGET_DIR/${PROFILE:-debug}/panacea-node"
if [ ! -x "$NODE" ]; then
    echo "error: the build did not produce $NODE" >&2
    exit 1
fi

if [ "$fresh" = "1" ]; then
    rm -rf "$DATA"
fi
mode=()
if [ "${ORDERING_ONLY:-0}" = "1" ]; then
    mode=(--ordering-only)
fi
risk_fresh=0
if [ ! -d "$DATA/node0" ]; then
    echo "==> generating a consortium of $VALIDATORS hospitals and $OBSERVERS health authorities in $DATA"
    "$NODE" testnet --out "$DATA" --validators "$VALIDATORS" --observers "$OBSERVERS" \
        --p2p-port "$P2P_PORT" --api-port "$API_PORT" "${mode[@]}"
    if [ "${ORDERING_ONLY:-0}" != "1" ] && [ "$VALIDATORS" -ge 2 ]; then
        # Dynamic risk (docs/risk.md): hospital-0's risk worker assesses the sample hospital
        # as its inventory; hospital-1's worker attests it from the copy hospital-0 shared.
        # Each worker registers its own service identity with its organisation's admin key.
        echo "==> configuring the risk workers of hospital-0 (assesses) and hospital-1 (attests)"
        risk_fresh=1
        PANACEA="$CARGO_TARGET_DIR/${PROFILE:-debug}/panacea"
        mkdir -p "$DATA/node0/inventory" "$DATA/node1/shared/hospital-0"
        for doc in testnet/sample-hospital/hospital-a/*.json; do
            [ "$(basename "$doc")" = "assessment.json" ] && continue
            cp "$doc" "$DATA/node0/inventory/"
            cp "$doc" "$DATA/node1/shared/hospital-0/"
        done
        "$PANACEA" keys new --out "$DATA/node0/keys/risk_key.json" >/dev/null
        "$PANACEA" keys new --out "$DATA/node1/keys/risk_key.json" >/dev/null
        sed -i 's|^poll_interval_ms = 60000$|poll_interval_ms = 5000\ninventory_dir = "inventory"\nservice_key_file = "keys/risk_key.json"|' \
            "$DATA/node0/config.toml"
        sed -i 's|^poll_interval_ms = 60000$|poll_interval_ms = 5000\nservice_key_file = "keys/risk_key.json"\n\n[[risk.attest]]\norg = "hospital-0"\ninventory_dir = "shared/hospital-0"|' \
            "$DATA/node1/config.toml"
    fi
fi

total=$(find "$DATA" -maxdepth 1 -name 'node*' -type d | wc -l)
pids=()
stop() {
    trap - INT TERM EXIT
    if [ "${#pids[@]}" -gt 0 ]; then
        echo
        echo "==> stopping ${#pids[@]} nodes"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    if [ "$auditor" = "1" ]; then
        testnet/collector.sh stop "$DATA/collector" || true
        testnet/postgres.sh stop "$DATA/postgres" >/dev/null 2>&1 || true
    fi
    echo "==> stopped; data kept in $DATA (./testnet/run.sh --fresh starts over)"
}
trap stop INT TERM EXIT

observer="$DATA/node$((total - 1))"
if [ "$auditor" = "1" ]; then
    if [ "${ORDERING_ONLY:-0}" = "1" ] || [ "$OBSERVERS" -lt 1 ]; then
        echo "error: --auditor needs a health authority's observer on a contracts chain" >&2
        exit 2
    fi
    # The health authority's observer, dashboard-ready: its chain mirrored into a local
    # PostgreSQL and its audit log exported to a local ATNA collector (docs/node.md).
    testnet/setup-integrations.sh >/dev/null
    testnet/postgres.sh start "$DATA/postgres" "${PG_PORT:-55432}"
    postgres_url=$(testnet/postgres.sh url "$DATA/postgres")
    collector_port="${COLLECTOR_PORT:-16514}"
    testnet/collector.sh start "$DATA/collector" "$collector_port"
    mkdir -p "$observer/atna"
    cp "$DATA/collector/ca.pem" "$DATA/collector/client.pem" "$DATA/collector/client.key" "$observer/atna/"
    sed -i "/^\[analytics\]/,/^\[/ { s|^enabled = false|enabled = true|; s|^postgres_url = .*|postgres_url = \"$postgres_url\"| }" \
        "$observer/config.toml"
    sed -i "/^\[atna\]/,/^\[/ { s|^#* *collector = .*|collector = \"127.0.0.1:$collector_port\"|; s|^# server_name = .*|server_name = \"localhost\"|; s|^# ca_file = .*|ca_file = \"atna/ca.pem\"|; s|^# cert_file = .*|cert_file = \"atna/client.pem\"|; s|^# key_file = .*|key_file = \"atna/client.key\"| }" \
        "$observer/config.toml"
fi

for ((i = 0; i < total; i++)); do
    home="$DATA/node$i"
    rm -f "$home/addresses.json"
    "$NODE" start --home "$home" >>"$home/node.log" 2>&1 &
    pids+=("$!")
done

echo "==> waiting for $total nodes"
for ((i = 0; i < total; i++)); do
    home="$DATA/node$i"
    for _ in $(seq 1 600); do
        [ -f "$home/addresses.json" ] && break
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "error: node $i exited; its log ends with:" >&2
            tail -n 20 "$home/node.log" >&2
            exit 1
        fi
        sleep 0.1
    done
done

if [ "$risk_fresh" = "1" ]; then
    # hospital-0 registers the infusion pump its inventory names first among the devices
    # at high risk; its worker sees the identity map change, submits again, and the pump
    # is quarantined (docs/risk.md).
    api0=$(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$DATA/node0/addresses.json")
    high=$("$PANACEA" --json risk assess "$DATA/node0/inventory" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["assessment"]["high_risk_devices"][0])')
    "$PANACEA" keys new --out "$DATA/node0/keys/pump_key.json" >/dev/null
    pump=$("$PANACEA" keys show --key "$DATA/node0/keys/pump_key.json")
    # The pump's firmware is a product with its SBOM, attested by the health authority's
    # assessor (the last node's organisation): no device is registered on firmware
    # without an attestation in force (docs/registries.md).
    authority="$DATA/node$((total - 1))"
    "$PANACEA" keys new --out "$authority/keys/assessor_key.json" >/dev/null
    assessor=$("$PANACEA" keys show --key "$authority/keys/assessor_key.json")
    sbom="$DATA/node0/pump.cdx.json"
    printf '%s\n' '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"busybox","version":"1.36.1"},{"type":"library","name":"openssl","version":"1.1.1k"}]}' >"$sbom"
    sbom_hash=$(sha256sum "$sbom" | cut -d' ' -f1)
    firmware=$(printf 'sample pump firmware 1.0.0' | sha256sum | cut -d' ' -f1)
    for attempt in 1 2 3 4 5; do
        "$PANACEA" --node "$api0" identity register-staff --key "$authority/keys/admin_key.json" \
            --public-key "$assessor" --role assessor >/dev/null 2>&1 && break
        sleep 1
    done
    "$PANACEA" --node "$api0" product register --key "$DATA/node0/keys/admin_key.json" \
        --manufacturer sample --model sample --firmware-version 1.0.0 --firmware "$firmware" \
        --sbom "$sbom" --claim "IEC 81001-5-1=$sbom_hash" >/dev/null 2>&1 || true
    "$PANACEA" --node "$api0" product attest --key "$authority/keys/assessor_key.json" "$firmware" \
        --standard "IEC 81001-5-1" --report "$sbom_hash" >/dev/null 2>&1 || true
    pump_id=""
    for attempt in 1 2 3 4 5; do
        pump_id=$("$PANACEA" --node "$api0" --json identity register-device \
            --key "$DATA/node0/keys/admin_key.json" --public-key "$pump" --device-type infusion-pump \
            --manufacturer sample --model sample --firmware-hash "$firmware" --sbom-hash "$sbom_hash" 2>/dev/null |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["receipt"]["outcome"]["ok"]["events"][0]["entity"]["identity"])' \
            2>/dev/null) && break
        sleep 1
    done
    if [ -n "$pump_id" ]; then
        printf '{"%s": "%s"}\n' "$high" "$pump_id" >"$DATA/node0/inventory/identities.json"
        echo "==> registered hospital-0's infusion pump $pump_id (inventory device $high, at high risk)"
    fi
fi

echo
printf '%-6s %-22s %-10s %s\n' NODE ORGANISATION ROLE API
for ((i = 0; i < total; i++)); do
    home="$DATA/node$i"
    moniker=$(sed -n 's/^moniker = "\(.*\)"/\1/p' "$home/config.toml")
    role=$(sed -n 's/^role = "\(.*\)"/\1/p' "$home/config.toml")
    api=$(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$home/addresses.json")
    printf '%-6s %-22s %-10s %s\n' "node$i" "$moniker" "$role" "$api"
done
echo
echo "Try:  curl -s $(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$DATA/node0/addresses.json")/v1/status"
if [ -d "$DATA/node0/inventory" ]; then
    echo "Risk: panacea --node $(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$DATA/node0/addresses.json") risk show --key $DATA/node0/keys/admin_key.json hospital-0"
fi
if [ "$auditor" = "1" ]; then
    # An auditor of the health authority, with a keystore for the dashboard (once).
    keystore="$DATA/auditor/auditor.keystore"
    if [ ! -f "$keystore" ]; then
        PANACEA="$CARGO_TARGET_DIR/${PROFILE:-debug}/panacea"
        mkdir -p "$DATA/auditor"
        "$PANACEA" keys new --out "$DATA/auditor/auditor_key.json" >/dev/null
        head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$DATA/auditor/passphrase"
        chmod 600 "$DATA/auditor/passphrase"
        api0=$(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$DATA/node0/addresses.json")
        for attempt in 1 2 3 4 5; do
            "$PANACEA" --node "$api0" identity register-staff --key "$observer/keys/admin_key.json" \
                --public-key "$("$PANACEA" keys show --key "$DATA/auditor/auditor_key.json")" --role auditor \
                >/dev/null 2>&1 && break
            sleep 1
        done
        "$PANACEA" keys export --key "$DATA/auditor/auditor_key.json" --out "$keystore" \
            --passphrase-file "$DATA/auditor/passphrase" >/dev/null
    fi
    observer_api=$(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$observer/addresses.json")
    echo "Dashboard: $observer_api/dashboard/  (keystore $keystore, passphrase in $DATA/auditor/passphrase)"
    echo "FHIR:      $observer_api/fhir/metadata"
    echo "SQL:       psql \"$postgres_url\" -c 'select count(*) from panacea_blocks'  (docs/analytics-queries.sql)"
    echo "ATNA:      tail -f $DATA/collector/received.log"
fi
echo "Logs: $DATA/node*/node.log    Ctrl-C stops every node."
wait

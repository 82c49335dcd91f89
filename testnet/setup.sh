#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test Panacea; safe to run repeatedly.
# Called by run.sh, test.sh and .ci/run.
set -euo pipefail

# Fails with a clear message when a tool is missing. $1 is the command, $2 how to get it.
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "error: '$1' is not installed. Install it with: $2" >&2
        exit 1
    fi
}

need cargo "https://rustup.rs (the toolchain itself is pinned by rust-toolchain.toml)"

# RocksDB's bindgen needs libclang (the C library), which a fresh machine lacks.
if ! ldconfig -p | grep -q 'libclang\.so\|libclang-[0-9.]*\.so'; then
    echo "==> installing libclang-dev (RocksDB's build needs libclang)"
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libclang-dev
fi

#!/usr/bin/env bash
# Prunes stale build outputs from the shared target directory ($CARGO_TARGET_DIR, by
# default ~/.cache/panacea-target): every fresh clone (CI's, a worktree's) builds the
# workspace's test executables and incremental caches under new hashes, and the old ones
# filled the disk more than once. Executables in debug/deps (only the workspace's tests,
# binaries and examples are executables there; dependencies are libraries) and the
# incremental caches of the workspace's crates that no build has touched for
# PRUNE_AGE_MINUTES (default 120: two hours; a working session builds several fresh clones,
# each several GiB, and 720 let them fill the disk) are removed. Several crates share a name
# (each crate's `tests/it` is `it`), so age, not "newest per name", says what is stale;
# dependencies are untouched, so the next build stays incremental. Called by test.sh
# before it builds.
#
# Usage: testnet/prune-target.sh [--dry-run]
set -euo pipefail

target="${CARGO_TARGET_DIR:-$HOME/.cache/panacea-target}"
dry_run=0
if [ "${1:-}" = "--dry-run" ]; then dry_run=1; fi

age_minutes="${PRUNE_AGE_MINUTES:-120}"

# Removes every path read on stdin.
prune() {
    while IFS= read -r stale; do
        if [ "$dry_run" -eq 1 ]; then
            echo "would remove ${stale}"
        else
            rm -rf -- "${stale}"
        fi
    done
}

freed_before=$(df -Pk "${target}" 2>/dev/null | awk 'NR == 2 { print $4 }' || echo 0)

# Test executables and binaries: files without an extension named NAME-HASH16.
if [ -d "${target}/debug/deps" ]; then
    find "${target}/debug/deps" -maxdepth 1 -type f -perm -u+x -regextype posix-extended \
        -regex '.*/[A-Za-z0-9_]+-[0-9a-f]{16}' -mmin "+${age_minutes}" -print | prune
fi

# Incremental caches: one folder NAME-HASH per crate target and clone (only the workspace's
# crates build incrementally). A cache in use is touched by every build that uses it.
if [ -d "${target}/debug/incremental" ]; then
    find "${target}/debug/incremental" -mindepth 1 -maxdepth 1 -type d -mmin "+${age_minutes}" -print | prune
fi

if [ "$dry_run" -eq 0 ]; then
    freed_after=$(df -Pk "${target}" 2>/dev/null | awk 'NR == 2 { print $4 }' || echo 0)
    echo "==> pruned stale test executables and caches in ${target} ($(((freed_after - freed_before) / 1024)) MiB freed)"
fi

//! Storage per consent: a node's RocksDB filled with `--consents` opt-in consents by
//! executing real signed transactions through the contracts and committing each block
//! through the node's storage, with the transactions in the blocks as a node stores them.
//! Then every memtable is flushed and every column family compacted, and the example
//! prints what each column family, and each kind of state key, costs per consent.
//!
//! ```text
//! cargo build --release -p panacea-node --example storage_scale
//! $CARGO_TARGET_DIR/release/examples/storage_scale --consents 100000 --per-block 500 --dir /tmp/storage-scale
//! ```
//!
//! `--keep` leaves the database in place for inspection.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr, missing_docs)]

#[path = "common/fill.rs"]
mod fill;

use std::collections::BTreeMap;
use std::time::Instant;

use fill::{Filler, arg, disk, peak_rss_mib};
use panacea_contracts::state::Store;
use panacea_node::storage::Storage;

/// The kind of a state key: its text up to the second `/` (`s/consent`, `j/n`, `a/e`).
fn kind(key: &[u8]) -> String {
    let mut slashes = 0;
    let end = key
        .iter()
        .position(|b| {
            slashes += usize::from(*b == b'/');
            slashes == 2
        })
        .unwrap_or(key.len().min(24));
    String::from_utf8_lossy(&key[..end]).into_owned()
}

fn main() {
    let consents: u64 = arg("--consents").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let per_block: u64 = arg("--per-block").and_then(|v| v.parse().ok()).unwrap_or(500);
    let root = arg("--dir").map(std::path::PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("storage-scale"));
    let keep = std::env::args().any(|a| a == "--keep");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();

    let mut filler = Filler::new(Storage::open(&root.join("db")).unwrap());
    let began = Instant::now();
    filler.fill_to(consents, per_block);
    let fill = began.elapsed();
    let before = disk(&root.join("db"));
    println!(
        "filled: {consents} consents in blocks of {per_block} ({} blocks), {:.0} s ({:.0} consents/s executed and stored); {:.0} bytes per consent on disk before compaction",
        filler.tip.header.height,
        fill.as_secs_f64(),
        consents as f64 / fill.as_secs_f64(),
        before as f64 / consents as f64
    );

    let storage = &filler.storage;
    let began = Instant::now();
    storage.compact().unwrap();
    let after = disk(&root.join("db"));
    println!(
        "compacted in {:.1} s: {:.0} bytes per consent on disk ({:.1} MiB)",
        began.elapsed().as_secs_f64(),
        after as f64 / consents as f64,
        after as f64 / f64::from(1u32 << 20)
    );
    println!("\n| column family | table bytes per consent | keys |");
    println!("|---|---:|---:|");
    for usage in storage.usage().unwrap() {
        println!("| `{}` | {:.0} | {} |", usage.name, usage.table_bytes as f64 / consents as f64, usage.keys);
    }

    // State keys by kind, uncompressed.
    let mut kinds: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let state = storage.state();
    let mut after_key: Option<Vec<u8>> = None;
    loop {
        let entries = state.scan(b"", after_key.as_deref(), 10_000).unwrap();
        let Some((last, _)) = entries.last() else { break };
        after_key = Some(last.clone());
        for (key, value) in &entries {
            let entry = kinds.entry(kind(key)).or_default();
            entry.0 += 1;
            entry.1 += key.len() as u64;
            entry.2 += value.len() as u64;
        }
    }
    println!("\n| state keys | entries per consent | key bytes per consent | value bytes per consent |");
    println!("|---|---:|---:|---:|");
    let per = |n: u64| n as f64 / consents as f64;
    let mut total = (0, 0, 0);
    for (kind, (count, keys, values)) in &kinds {
        println!("| `{kind}` | {:.2} | {:.0} | {:.0} |", per(*count), per(*keys), per(*values));
        total = (total.0 + count, total.1 + keys, total.2 + values);
    }
    println!("| all | {:.2} | {:.0} | {:.0} |", per(total.0), per(total.1), per(total.2));
    let block = storage.block(filler.tip.header.height).unwrap().unwrap();
    let block_bytes = panacea_primitives::codec::encode(&block).len() as u64;
    println!(
        "\nlast block: {block_bytes} bytes encoded, {:.0} per consent; peak RSS {} MiB",
        block_bytes as f64 / per_block as f64,
        peak_rss_mib()
    );
    if !keep {
        let _ = std::fs::remove_dir_all(&root);
    }
}

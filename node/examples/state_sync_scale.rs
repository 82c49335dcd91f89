//! State sync at scale: a node's RocksDB filled with `--consents` opt-in consents by
//! executing real signed transactions through the contracts (as replay does, without the
//! network), then the node's own snapshot code exports it (`Snapshots`: checkpoint and
//! chunk files), and a second, empty database takes every chunk in through the importer
//! (each checked against the attested roots) until the rebuilt state root equals the
//! source's.
//!
//! ```text
//! cargo run -p panacea-node --example state_sync_scale -- --consents 1000000 --dir /tmp/ss
//! ```
//!
//! Prints the fill (execute and store) rate, which bounds replay from below, the snapshot's
//! export time, size and chunks, and the import time. The network transfer is not in it:
//! chunks are read from the source's snapshot folder.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr, missing_docs)]

#[path = "common/fill.rs"]
mod fill;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fill::{Filler, arg, disk, peak_rss_mib, write_genesis};
use panacea_contracts::state::snapshot::{AuditChunk, CHUNK_BYTES_MAX, Importer, StateChunk};
use panacea_node::metrics::Metrics;
use panacea_node::statesync::Snapshots;
use panacea_node::storage::Storage;
use panacea_primitives::codec;

/// Consents per block.
const PER_BLOCK: u64 = 2_000;

fn main() {
    let consents: u64 = arg("--consents").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let root =
        arg("--dir").map(std::path::PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("state-sync-scale"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut filler = Filler::new(Storage::open(&root.join("source")).unwrap());
    let began = Instant::now();
    filler.fill_to(consents, PER_BLOCK);
    let source = &filler.storage;
    let tip = &filler.tip;
    let fill = began.elapsed();
    let height = tip.header.height;
    let source_bytes = disk(&root.join("source"));
    println!(
        "filled: {consents} consents in {height} blocks, {:.0} s ({:.0} consents/s executed and stored), {:.2} GiB on disk ({:.0} bytes per consent)",
        fill.as_secs_f64(),
        consents as f64 / fill.as_secs_f64(),
        source_bytes as f64 / f64::from(1u32 << 30),
        source_bytes as f64 / consents as f64
    );

    // The node's snapshot code: checkpoint, then chunk files in a thread.
    let metrics = Arc::new(Metrics::new());
    let snapshots = Arc::new(Snapshots::open(&root.join("snapshots"), height.0, 1, metrics).unwrap());
    let began = Instant::now();
    snapshots.after_commit(source, height).unwrap();
    while !snapshots.heights().contains(&height) {
        assert!(began.elapsed() < Duration::from_secs(3_600), "the snapshot was not made");
        std::thread::sleep(Duration::from_millis(50));
    }
    let export = began.elapsed();
    let info_bytes = std::fs::read(root.join("snapshots").join(height.0.to_string()).join("info")).unwrap();
    let info = codec::decode::<panacea_node::statesync::store::Info, 256>(&info_bytes).unwrap();
    let chunk_bytes = disk(&root.join("snapshots"));
    println!(
        "snapshot: {} state and {} audit chunks, {:.2} GiB, exported in {:.1} s",
        info.state_chunks,
        info.audit_chunks,
        chunk_bytes as f64 / f64::from(1u32 << 30),
        export.as_secs_f64()
    );

    // A fresh node takes it in, chunk by chunk, as the shell's import thread does.
    let joiner = Storage::open(&root.join("joiner")).unwrap();
    write_genesis(&joiner);
    let began = Instant::now();
    joiner.begin_import().unwrap();
    let mut importer = Importer::new(info.meta).unwrap();
    for index in 0..info.state_chunks + info.audit_chunks {
        let bytes = snapshots.chunk(height, index).unwrap();
        if index < info.state_chunks {
            importer.add_state_chunk(&codec::decode::<StateChunk, CHUNK_BYTES_MAX>(&bytes).unwrap()).unwrap();
        } else {
            importer.add_audit_chunk(&codec::decode::<AuditChunk, CHUNK_BYTES_MAX>(&bytes).unwrap()).unwrap();
        }
        joiner.import_writes(&importer.drain().unwrap()).unwrap();
    }
    let rest = importer.finish_over(&joiner.state()).unwrap();
    let block = source.block(height).unwrap().unwrap();
    joiner.finish_import(&block, info.meta, &rest, &[]).unwrap();
    let import = began.elapsed();
    assert_eq!(joiner.state_root(height).unwrap(), source.state_root(height).unwrap());
    println!(
        "import: {:.1} s, the rebuilt state root equals the source's; export and import together {:.1} s; peak RSS of the process {} MiB",
        import.as_secs_f64(),
        (export + import).as_secs_f64(),
        peak_rss_mib()
    );
    let _ = std::fs::remove_dir_all(&root);
}

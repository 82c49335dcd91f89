//! Snapshots on disk: made from a RocksDB checkpoint at every `snapshot_interval` committed
//! heights, exported off the consensus task into chunk files, the newest `snapshots_kept`
//! kept, and served to joining nodes.
//!
//! Layout under the node's `snapshots/` folder:
//!
//! | path | what |
//! |---|---|
//! | `<height>.checkpoint/` | the checkpoint being exported (deleted once exported) |
//! | `<height>.tmp/` | chunks being written (renamed when complete) |
//! | `<height>/info` | the bookkeeping and chunk counts |
//! | `<height>/s-<i>`, `<height>/a-<i>` | state and audit chunks, encoded |
//!
//! A snapshot exists only once renamed; anything else found at start is left over from a
//! stop and deleted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use panacea_contracts::state::Meta;
use panacea_contracts::state::snapshot::{self, CHUNK_BYTES_MAX, ChunkLimits, SnapshotError};
use panacea_primitives::{BlockMeta, Epoch, Height, codec};

use super::{OFFER_HEADERS_MAX, Offer};
use crate::metrics::Metrics;
use crate::storage::{Storage, StorageError};

/// Entries or events per chunk, and bytes after which a chunk is cut.
pub const CHUNK_LIMITS: ChunkLimits = ChunkLimits { entries: 4_096, bytes: 1024 * 1024 };

/// A complete snapshot's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct Info {
    /// The state's bookkeeping at the snapshot's height.
    pub meta: Meta,
    /// Chunks of module state.
    pub state_chunks: u32,
    /// Chunks of the audit log.
    pub audit_chunks: u32,
}

#[derive(Debug, Default)]
struct Inner {
    ready: BTreeMap<Height, Info>,
    making: Option<Height>,
    /// The offer last built, for the newest usable snapshot.
    offer: Option<Offer>,
}

/// The node's snapshots.
#[derive(Debug)]
pub struct Snapshots {
    dir: PathBuf,
    interval: u64,
    kept: usize,
    metrics: Arc<Metrics>,
    inner: Mutex<Inner>,
}

fn io_error(doing: &str, path: &Path, e: std::io::Error) -> String {
    format!("{doing} {}: {e}", path.display())
}

impl Snapshots {
    /// Opens the snapshot folder: keeps complete snapshots, deletes what a stop left half
    /// made. `interval` 0 makes none (the node still serves those it has).
    pub fn open(dir: &Path, interval: u64, kept: usize, metrics: Arc<Metrics>) -> Result<Snapshots, String> {
        std::fs::create_dir_all(dir).map_err(|e| io_error("creating", dir, e))?;
        let mut ready = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io_error("reading", dir, e))? {
            let entry = entry.map_err(|e| io_error("reading", dir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            match name.parse::<u64>() {
                Ok(height) => match read_info(&path) {
                    Ok(info) => {
                        ready.insert(Height(height), info);
                    }
                    Err(e) => {
                        tracing::warn!(snapshot = %path.display(), error = %e, "deleting an unreadable snapshot");
                        let _ = std::fs::remove_dir_all(&path);
                    }
                },
                Err(_) if name.ends_with(".tmp") || name.ends_with(".checkpoint") => {
                    let _ = std::fs::remove_dir_all(&path);
                }
                Err(_) => {}
            }
        }
        let snapshots = Snapshots {
            dir: dir.to_path_buf(),
            interval,
            kept: kept.max(1),
            metrics,
            inner: Mutex::new(Inner { ready, ..Inner::default() }),
        };
        snapshots.prune();
        snapshots.publish();
        Ok(snapshots)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Heights of the complete snapshots, oldest first.
    pub fn heights(&self) -> Vec<Height> {
        self.lock().ready.keys().copied().collect()
    }

    fn publish(&self) {
        let newest = self.lock().ready.keys().next_back().map_or(0, |h| h.0);
        self.metrics.snapshot_height.set(i64::try_from(newest).unwrap_or(i64::MAX));
    }

    /// Called after each committed block: at every `interval` heights, checkpoints the
    /// database (before the next block is written, so the checkpoint holds exactly the
    /// state at `height`) and exports it in a thread of its own. One export at a time; a
    /// height reached while one runs is skipped.
    pub fn after_commit(self: &Arc<Self>, storage: &Storage, height: Height) -> Result<(), StorageError> {
        if self.interval == 0 || height.0 == 0 || !height.0.is_multiple_of(self.interval) {
            return Ok(());
        }
        {
            let mut inner = self.lock();
            if let Some(making) = inner.making {
                tracing::info!(%height, %making, "a snapshot is still being made; skipping this one");
                return Ok(());
            }
            inner.making = Some(height);
        }
        let checkpoint = self.dir.join(format!("{}.checkpoint", height.0));
        let _ = std::fs::remove_dir_all(&checkpoint);
        if let Err(e) = storage.checkpoint(&checkpoint) {
            self.lock().making = None;
            return Err(e);
        }
        let this = self.clone();
        let spawned = std::thread::Builder::new().name("snapshot".into()).spawn(move || {
            let started = std::time::Instant::now();
            let result = this.export(&checkpoint, height);
            let _ = std::fs::remove_dir_all(&checkpoint);
            match result {
                Ok(info) => {
                    tracing::info!(
                        %height,
                        state_chunks = info.state_chunks,
                        audit_chunks = info.audit_chunks,
                        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "snapshot made"
                    );
                    let mut inner = this.lock();
                    inner.ready.insert(height, info);
                    inner.making = None;
                    drop(inner);
                    this.metrics.snapshots_made.inc();
                    this.prune();
                    this.publish();
                }
                Err(e) => {
                    tracing::warn!(%height, error = %e, "cannot make a snapshot");
                    let _ = std::fs::remove_dir_all(this.dir.join(format!("{}.tmp", height.0)));
                    this.lock().making = None;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the snapshot thread");
            self.lock().making = None;
        }
        Ok(())
    }

    /// Exports the checkpoint at `path` into `<height>.tmp/`, then renames it.
    fn export(&self, path: &Path, height: Height) -> Result<Info, String> {
        let source = Storage::open_read_only(path).map_err(|e| e.to_string())?;
        let meta = source
            .state_meta(height)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the checkpoint has no bookkeeping for height {height}"))?;
        let state = source.state();
        if Meta::load(&state).map_err(|e| e.to_string())? != meta {
            return Err("the checkpoint's state is not the state at its height".into());
        }
        let tmp = self.dir.join(format!("{}.tmp", height.0));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| io_error("creating", &tmp, e))?;
        let write = |name: String, bytes: Vec<u8>| -> Result<(), SnapshotError> {
            std::fs::write(tmp.join(&name), bytes).map_err(|e| SnapshotError::Refused(format!("writing {name}: {e}")))
        };
        let mut index = 0u32;
        let state_chunks = snapshot::export_state_with(&state, CHUNK_LIMITS, |chunk| {
            let name = format!("s-{index}");
            index += 1;
            write(name, codec::encode(&chunk))
        })
        .map_err(|e| e.to_string())?;
        let mut index = 0u32;
        let audit_chunks = snapshot::export_audit_with(&state, CHUNK_LIMITS, |chunk| {
            let name = format!("a-{index}");
            index += 1;
            write(name, codec::encode(&chunk))
        })
        .map_err(|e| e.to_string())?;
        let info = Info { meta, state_chunks, audit_chunks };
        std::fs::write(tmp.join("info"), codec::encode(&info)).map_err(|e| io_error("writing", &tmp, e))?;
        let done = self.dir.join(height.0.to_string());
        std::fs::rename(&tmp, &done).map_err(|e| io_error("renaming", &tmp, e))?;
        Ok(info)
    }

    /// Keeps the newest `kept` snapshots.
    fn prune(&self) {
        let old: Vec<Height> = {
            let mut inner = self.lock();
            let excess = inner.ready.len().saturating_sub(self.kept);
            let old: Vec<Height> = inner.ready.keys().take(excess).copied().collect();
            for height in &old {
                inner.ready.remove(height);
            }
            if inner.offer.as_ref().is_some_and(|offer| old.contains(&offer.height)) {
                inner.offer = None;
            }
            old
        };
        for height in old {
            let _ = std::fs::remove_dir_all(self.dir.join(height.0.to_string()));
        }
    }

    /// The offer of the newest snapshot that a committed, certified block attests, if any.
    /// A snapshot that no block will ever prove (none of the [`OFFER_HEADERS_MAX`] blocks
    /// above it attests exactly its height, or they cross an epoch's end first) is deleted,
    /// so that it does not take the place of a usable one.
    pub fn offer(&self, storage: &Storage) -> Result<Option<Offer>, StorageError> {
        let ready: Vec<(Height, Info)> = self.lock().ready.iter().rev().map(|(h, i)| (*h, *i)).collect();
        for (height, info) in ready {
            if let Some(offer) = self.lock().offer.as_ref().filter(|o| o.height == height) {
                return Ok(Some(offer.clone()));
            }
            match build_offer(storage, height, info)? {
                Provable::Yes(offer) => {
                    self.lock().offer = Some(offer.clone());
                    return Ok(Some(offer));
                }
                Provable::NotYet => {}
                Provable::Never => {
                    tracing::info!(%height, "no certified block attests this snapshot; deleting it");
                    self.lock().ready.remove(&height);
                    let _ = std::fs::remove_dir_all(self.dir.join(height.0.to_string()));
                    self.publish();
                }
            }
        }
        Ok(None)
    }

    /// Chunk `index` (state chunks first, then audit chunks) of the snapshot at `height`.
    pub fn chunk(&self, height: Height, index: u32) -> Option<Vec<u8>> {
        let info = *self.lock().ready.get(&height)?;
        let name = if index < info.state_chunks {
            format!("s-{index}")
        } else if index - info.state_chunks < info.audit_chunks {
            format!("a-{}", index - info.state_chunks)
        } else {
            return None;
        };
        let path = self.dir.join(height.0.to_string()).join(name);
        let length = std::fs::metadata(&path).ok()?.len();
        if length > CHUNK_BYTES_MAX as u64 {
            return None;
        }
        std::fs::read(&path).ok()
    }
}

fn read_info(dir: &Path) -> Result<Info, String> {
    let bytes = std::fs::read(dir.join("info")).map_err(|e| e.to_string())?;
    codec::decode::<Info, 256>(&bytes).map_err(|e| e.to_string())
}

/// Whether a snapshot can be proved.
#[allow(clippy::large_enum_variant, reason = "built once per snapshot and cached")]
enum Provable {
    Yes(Offer),
    /// The blocks that would prove it are not committed yet.
    NotYet,
    /// The blocks above it are committed and none proves it.
    Never,
}

/// The offer of the snapshot at `height`: its block, the headers above it up to the first
/// certified one (all of one epoch), among them the first whose meta attests exactly
/// `height`, and the epoch changes up to that epoch.
fn build_offer(storage: &Storage, height: Height, info: Info) -> Result<Provable, StorageError> {
    let Some(block) = storage.block(height)? else { return Ok(Provable::Never) };
    let tip = storage.committed_height()?.unwrap_or(Height::ZERO);
    let mut headers = Vec::new();
    let mut attesting: Option<(u32, Vec<u8>, panacea_primitives::Hash)> = None;
    let mut next = height.next();
    while headers.len() < OFFER_HEADERS_MAX {
        if next > tip {
            return Ok(Provable::NotYet);
        }
        let Some(above) = storage.block(next)? else { return Ok(Provable::Never) };
        if headers.first().is_some_and(|first: &panacea_consensus::BlockHeader| first.epoch != above.header.epoch) {
            return Ok(Provable::Never);
        }
        let attested = BlockMeta::decode(&above.payload.meta).map(|meta| meta.state.height).ok();
        if attesting.is_none() && attested == Some(height) {
            let index = u32::try_from(headers.len()).unwrap_or(u32::MAX);
            attesting =
                Some((index, above.payload.meta.clone(), panacea_primitives::Hash::digest(&above.payload.data)));
        }
        headers.push(above.header.clone());
        if storage.epoch_end(next)?.is_some() {
            return Ok(Provable::Never);
        }
        if let (Some((index, meta, digest)), Some(certificate)) = (&attesting, storage.certificate(next)?) {
            let epoch = above.header.epoch;
            let mut epoch_changes = Vec::new();
            for e in 1..=epoch.0 {
                match storage.epoch_change(Epoch(e))? {
                    Some(change) => epoch_changes.push(change),
                    None => return Ok(Provable::Never),
                }
            }
            return Ok(Provable::Yes(Offer {
                height,
                meta: info.meta,
                block,
                headers,
                attesting: *index,
                attesting_meta: meta.clone(),
                attesting_data_digest: *digest,
                certificate,
                epoch_changes,
                state_chunks: info.state_chunks,
                audit_chunks: info.audit_chunks,
            }));
        }
        next = next.next();
    }
    Ok(Provable::Never)
}

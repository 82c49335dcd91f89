//! Catch-up: fetching committed blocks from a peer when far behind, checking them against
//! the current epoch's validators, and serving them to others. A response never crosses
//! an epoch boundary: it ends at the block that ends an epoch, with the certificate (and,
//! when that block was committed together with blocks above it that the epoch change
//! abandoned, those blocks' headers up to the certified one) that proves it final. The
//! requester executes it, switches epoch, and asks again with the new validator set.

use std::time::{Duration, Instant};

use libp2p::PeerId;
use panacea_consensus::{Block, BlockHeader, BlockRequest, CommitCertificate};
use panacea_primitives::Height;

use super::{SYNC_LAG, Shell, ShellError};
use crate::network::{NetCommand, SYNC_BLOCKS_MAX, SyncRequest, SyncResponse};

/// How long a catch-up request may stay unanswered before another peer is asked.
pub(super) const SYNC_RETRY: Duration = Duration::from_secs(5);
/// Bytes of blocks after which a sync response ends at the next certificate.
const SYNC_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// Blocks scanned at most for a certificate when serving catch-up.
const SYNC_SCAN_MAX: u64 = 256;

/// A catch-up response that does not check out.
#[derive(Debug)]
pub(super) struct SyncRefused(pub(super) String);

impl Shell {
    /// Asks a peer for committed blocks if this node is far behind.
    pub(super) fn maybe_sync(&mut self, hint: Option<PeerId>) {
        if self.maybe_state_sync() {
            return;
        }
        if self.best_seen.0 <= self.tip.height.0 + SYNC_LAG && !self.epoch_ahead {
            return;
        }
        if self.syncing_since.is_some_and(|since| since.elapsed() < SYNC_RETRY) {
            return;
        }
        let peer = hint.filter(|p| self.shared.peers().contains(p)).or_else(|| self.any_member_peer());
        if let Some(peer) = peer {
            tracing::info!(from = %self.tip.height.next(), best = %self.best_seen, %peer, "catching up");
            self.send(NetCommand::Sync {
                to: peer,
                request: SyncRequest::Committed { from: self.tip.height.next(), count: SYNC_BLOCKS_MAX },
            });
            self.syncing_since = Some(Instant::now());
        }
    }

    /// Handles a catch-up answer: checks it, executes the blocks above the tip, and
    /// restarts the replica on the new tip (in the new epoch if a block ended one).
    pub(super) fn on_committed_blocks(
        &mut self,
        from: PeerId,
        blocks: &[Block],
        certificate: Option<&CommitCertificate>,
        suffix: &[BlockHeader],
    ) -> Result<(), ShellError> {
        self.syncing_since = None;
        if self.state_syncing() {
            // An answer to a request sent before the state sync began.
            return Ok(());
        }
        match self.verify_sync(blocks, certificate, suffix) {
            Ok(()) if blocks.last().is_some_and(|b| b.header.height > self.tip.height) => {
                let mut applied = 0usize;
                let mut ended = None;
                for (i, block) in blocks.iter().enumerate() {
                    if block.header.height <= self.tip.height {
                        continue;
                    }
                    // Every block gets the certificate (only the one it certifies keeps it)
                    // and the headers above it, in case it ends the epoch.
                    let above: Vec<BlockHeader> =
                        blocks[i + 1..].iter().map(|b| b.header.clone()).chain(suffix.iter().cloned()).collect();
                    let change = self.execute_and_store(block, certificate, &above)?;
                    self.shared.metrics.synced_blocks.inc();
                    applied += 1;
                    if change.is_some() {
                        ended = change;
                        break;
                    }
                }
                tracing::info!(applied, height = %self.tip.height, peer = %from, "caught up blocks");
                match ended {
                    Some(record) => self.switch_epoch(&record)?,
                    None => self.restart_replica()?,
                }
            }
            Ok(()) => {
                // The peer has nothing beyond our tip: forget the height and epoch claims.
                self.best_seen = self.tip.height;
                self.epoch_ahead = false;
            }
            Err(SyncRefused(reason)) => {
                tracing::warn!(peer = %from, reason, "catch-up response refused");
            }
        }
        self.maybe_sync(Some(from));
        Ok(())
    }

    /// Checks a catch-up response: the blocks chain from the committed tip within this
    /// epoch, and a commit certificate signed by this epoch's validators makes the last one
    /// (hence all) final, directly or through the headers of abandoned blocks above it.
    fn verify_sync(
        &self,
        blocks: &[Block],
        certificate: Option<&CommitCertificate>,
        suffix: &[BlockHeader],
    ) -> Result<(), SyncRefused> {
        let Some(last) = blocks.last() else { return Ok(()) };
        if last.header.height <= self.tip.height {
            return Ok(());
        }
        let Some(certificate) = certificate else {
            return Err(SyncRefused("blocks without a certificate".into()));
        };
        self.epoch
            .set
            .verify_commit(certificate, self.epoch.anchor_id())
            .map_err(|e| SyncRefused(format!("certificate does not verify: {e}")))?;
        let mut certified = last.id();
        for header in suffix {
            if header.parent() != certified || header.epoch != last.header.epoch {
                return Err(SyncRefused("the certified headers do not chain from the last block".into()));
            }
            certified = header.id();
        }
        if certificate.committed != certified {
            return Err(SyncRefused("certificate is for another block".into()));
        }
        let mut parent = self.tip.id;
        let mut height = self.tip.height;
        // Blocks this node committed since it asked are skipped (the caller skips them too).
        for block in blocks.iter().filter(|b| b.header.height > self.tip.height) {
            if block.header.parent() != parent || block.header.height != height.next() {
                return Err(SyncRefused("blocks do not chain from the committed tip".into()));
            }
            if block.header.epoch != self.epoch.epoch() {
                return Err(SyncRefused("a block of another epoch".into()));
            }
            if block.payload.digest() != block.header.payload_digest {
                return Err(SyncRefused("a payload does not match its header".into()));
            }
            parent = block.id();
            height = block.header.height;
        }
        Ok(())
    }

    /// Answers a peer's catch-up or block request from storage and the replica's tree.
    pub(super) fn serve(&mut self, request: SyncRequest) -> Result<SyncResponse, ShellError> {
        let storage = self.shared.storage.clone();
        match request {
            SyncRequest::Blocks(BlockRequest { block_id, count, above_height }) => {
                let mut out = Vec::new();
                let mut id = block_id;
                let count = count.min(SYNC_BLOCKS_MAX);
                while out.len() < count as usize {
                    let block = match self.replica.block(&id) {
                        Some(block) => Block::clone(&block),
                        None => match storage.height_of(&id)? {
                            Some(height) => match storage.block(height)? {
                                Some(block) => block,
                                None => break,
                            },
                            None => break,
                        },
                    };
                    if block.header.height <= above_height {
                        break;
                    }
                    id = block.header.parent();
                    let genesis = block.header.height == Height::ZERO;
                    out.push(block);
                    if genesis {
                        break;
                    }
                }
                Ok(SyncResponse::Blocks(out))
            }
            SyncRequest::Committed { from, count } => {
                let count = u64::from(count.clamp(1, SYNC_BLOCKS_MAX));
                let mut blocks: Vec<Block> = Vec::new();
                let mut bytes = 0u64;
                let mut certificate = None;
                let mut suffix = Vec::new();
                let mut height = from;
                while height.0 < from.0.saturating_add(SYNC_SCAN_MAX) && height <= self.tip.height {
                    let Some(block) = storage.block(height)? else { break };
                    // One epoch per answer: the requester needs the new set to check more.
                    if blocks.first().is_some_and(|first| first.header.epoch != block.header.epoch) {
                        break;
                    }
                    bytes += block.header.payload_bytes;
                    blocks.push(block);
                    if let Some(end) = storage.epoch_end(height)? {
                        certificate = Some(end.certificate);
                        suffix = end.suffix;
                        break;
                    }
                    if let Some(cert) = storage.certificate(height)? {
                        certificate = Some(cert);
                        if blocks.len() as u64 >= count || bytes >= SYNC_RESPONSE_BYTES {
                            break;
                        }
                    }
                    height = height.next();
                }
                // End the answer at the last block with a certificate.
                match &certificate {
                    Some(cert) if suffix.is_empty() => {
                        let keep = blocks.iter().position(|b| b.id() == cert.committed).map_or(0, |p| p + 1);
                        blocks.truncate(keep);
                    }
                    Some(_) => {}
                    None => blocks.clear(),
                }
                Ok(SyncResponse::Committed { blocks, certificate, suffix })
            }
            SyncRequest::SnapshotOffer => Ok(SyncResponse::Offer(self.shared.snapshots.offer(&storage)?.map(Box::new))),
            SyncRequest::SnapshotChunk { height, index } => {
                Ok(SyncResponse::Chunk { height, index, bytes: self.shared.snapshots.chunk(height, index) })
            }
        }
    }
}

//! The transaction pool: bounded in count and bytes, deduplicated, and ordered so that a
//! signer's transactions reach a block in nonce order.
//!
//! Admission ([`Mempool::admit`]) checks what can be checked before ordering: size,
//! encoding, chain id, signature and nonce against committed state. A full pool refuses
//! with [`AdmitError::Full`], which the API turns into "try later": nothing is dropped
//! silently.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use panacea_contracts::SignedTransaction;
use panacea_contracts::tx::TRANSACTION_BYTES_MAX;
use panacea_primitives::{ChainId, Hash, PublicKey};

use crate::config::MempoolConfig;

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// Larger than a transaction may be.
    #[error("the transaction is {0} bytes; the limit is {TRANSACTION_BYTES_MAX}")]
    TooLarge(usize),
    /// Not a signed transaction.
    #[error("the transaction does not decode: {0}")]
    Malformed(String),
    /// For another chain.
    #[error("the transaction is for chain {got}; this node runs {expected}")]
    WrongChain {
        /// The transaction's chain.
        got: ChainId,
        /// This node's.
        expected: ChainId,
    },
    /// The signature does not verify.
    #[error("the signature does not verify for this signer and transaction")]
    BadSignature,
    /// The nonce was used already.
    #[error("nonce {nonce} was already used; the signer's next nonce is {next}")]
    NonceUsed {
        /// The transaction's nonce.
        nonce: u64,
        /// The next one.
        next: u64,
    },
    /// The nonce is too far ahead.
    #[error("nonce {nonce} is too far ahead of the signer's next nonce {next}")]
    NonceTooFar {
        /// The transaction's nonce.
        nonce: u64,
        /// The next one.
        next: u64,
    },
    /// Already held (or already committed).
    #[error("the transaction is already known")]
    Duplicate,
    /// Another transaction of the same signer holds this nonce.
    #[error("another pending transaction of this signer uses nonce {0}")]
    NonceTaken(u64),
    /// The pool is full.
    #[error("the transaction pool is full; try again later")]
    Full,
    /// The signer may not act on this chain (per committed state).
    #[error("the signing key may not act on this chain: {reason}")]
    UnknownSigner {
        /// Why.
        reason: SignerRefusal,
    },
}

/// Why a signer may not act, in committed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignerRefusal {
    /// No organisation registered the key.
    #[error("the key is not registered; an admin of your organisation registers it")]
    NotRegistered,
    /// The key belonged to an identity that rotated to another one.
    #[error("the key was rotated out; sign with the identity's current key")]
    RotatedOut,
    /// The identity is suspended or revoked.
    #[error("the identity is suspended or revoked")]
    IdentityInactive,
    /// The key's organisation is suspended or no longer a member.
    #[error("the key's organisation is not an active member")]
    OrganisationInactive,
    /// A patient key whose binding was replaced or revoked.
    #[error("the patient key's binding was replaced or revoked; sign with a key bound now")]
    BindingRevoked,
}

/// A transaction in the pool.
#[derive(Debug, Clone)]
struct Entry {
    tx: Arc<SignedTransaction>,
    bytes: usize,
    seq: u64,
    added: Instant,
}

/// Counters for metrics and status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MempoolStats {
    /// Transactions held.
    pub transactions: usize,
    /// Bytes held.
    pub bytes: usize,
}

/// The pool. Not thread-safe by itself; the node keeps it behind a mutex held briefly.
#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    by_id: BTreeMap<Hash, Entry>,
    by_signer: BTreeMap<([u8; 32], u64), Hash>,
    arrival: BTreeMap<u64, Hash>,
    next_seq: u64,
    bytes: usize,
}

impl Mempool {
    /// An empty pool.
    pub fn new(config: MempoolConfig) -> Mempool {
        Mempool {
            config,
            by_id: BTreeMap::new(),
            by_signer: BTreeMap::new(),
            arrival: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
        }
    }

    /// Counts.
    pub fn stats(&self) -> MempoolStats {
        MempoolStats { transactions: self.by_id.len(), bytes: self.bytes }
    }

    /// True if `id` is held.
    pub fn contains(&self, id: &Hash) -> bool {
        self.by_id.contains_key(id)
    }

    /// When `id` was admitted, if it is held.
    pub fn admitted_at(&self, id: &Hash) -> Option<Instant> {
        self.by_id.get(id).map(|e| e.added)
    }

    /// Decodes and checks a transaction from a client or a peer, without the nonce.
    pub fn check_stateless(bytes: &[u8], chain_id: &ChainId) -> Result<SignedTransaction, AdmitError> {
        if bytes.len() > TRANSACTION_BYTES_MAX {
            return Err(AdmitError::TooLarge(bytes.len()));
        }
        let tx = SignedTransaction::decode(bytes).map_err(|e| AdmitError::Malformed(e.to_string()))?;
        if tx.tx.chain_id != *chain_id {
            return Err(AdmitError::WrongChain { got: tx.tx.chain_id.clone(), expected: chain_id.clone() });
        }
        if !tx.verify() {
            return Err(AdmitError::BadSignature);
        }
        Ok(tx)
    }

    /// [`Mempool::check_stateless`] for many transactions, with one batch signature check
    /// (single checks only if the batch fails): about a third of the cost per signature.
    pub fn check_stateless_batch<B: AsRef<[u8]>>(
        items: &[B],
        chain_id: &ChainId,
    ) -> Vec<Result<SignedTransaction, AdmitError>> {
        let mut decoded: Vec<Result<SignedTransaction, AdmitError>> = items
            .iter()
            .map(|bytes| {
                let bytes = bytes.as_ref();
                if bytes.len() > TRANSACTION_BYTES_MAX {
                    return Err(AdmitError::TooLarge(bytes.len()));
                }
                let tx = SignedTransaction::decode(bytes).map_err(|e| AdmitError::Malformed(e.to_string()))?;
                if tx.tx.chain_id != *chain_id {
                    return Err(AdmitError::WrongChain { got: tx.tx.chain_id.clone(), expected: chain_id.clone() });
                }
                Ok(tx)
            })
            .collect();
        let mut batch = panacea_primitives::BatchVerifier::with_capacity(decoded.len());
        for tx in decoded.iter().flatten() {
            let domain = panacea_contracts::Transaction::domain(&tx.tx.chain_id);
            batch.push(&tx.tx.signer, &domain, tx.tx.signing_hash().as_bytes(), &tx.signature);
        }
        let mut verdicts = batch.verify_each().into_iter();
        for result in &mut decoded {
            if result.is_ok() && verdicts.next() != Some(true) {
                *result = Err(AdmitError::BadSignature);
            }
        }
        decoded
    }

    /// Adds a checked transaction whose signer's next committed nonce is `next_nonce`.
    pub fn insert(
        &mut self,
        tx: SignedTransaction,
        bytes: usize,
        next_nonce: u64,
        now: Instant,
    ) -> Result<(Hash, Arc<SignedTransaction>), AdmitError> {
        let id = tx.id();
        let nonce = tx.tx.nonce;
        if self.by_id.contains_key(&id) {
            return Err(AdmitError::Duplicate);
        }
        if nonce < next_nonce {
            return Err(AdmitError::NonceUsed { nonce, next: next_nonce });
        }
        if nonce - next_nonce >= self.config.nonce_window {
            return Err(AdmitError::NonceTooFar { nonce, next: next_nonce });
        }
        let signer = tx.tx.signer.to_bytes();
        if self.by_signer.contains_key(&(signer, nonce)) {
            return Err(AdmitError::NonceTaken(nonce));
        }
        if self.by_id.len() >= self.config.transactions_max || self.bytes.saturating_add(bytes) > self.config.bytes_max
        {
            return Err(AdmitError::Full);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let tx = Arc::new(tx);
        self.by_signer.insert((signer, nonce), id);
        self.arrival.insert(seq, id);
        self.by_id.insert(id, Entry { tx: tx.clone(), bytes, seq, added: now });
        self.bytes += bytes;
        Ok((id, tx))
    }

    /// The nonce after `signer`'s transactions waiting here in an unbroken run from its next
    /// committed nonce `committed_next`: what its next new transaction submitted to this node
    /// should carry (a client that took `committed_next` while one is pending would be told
    /// `nonce_taken`). Bounded by the nonce window.
    pub fn next_free_nonce(&self, signer: &panacea_primitives::PublicKey, committed_next: u64) -> u64 {
        let signer = signer.to_bytes();
        let mut nonce = committed_next;
        while nonce - committed_next < self.config.nonce_window && self.by_signer.contains_key(&(signer, nonce)) {
            nonce += 1;
        }
        nonce
    }

    fn remove(&mut self, id: &Hash) -> Option<Entry> {
        let entry = self.by_id.remove(id)?;
        self.by_signer.remove(&(entry.tx.tx.signer.to_bytes(), entry.tx.tx.nonce));
        self.arrival.remove(&entry.seq);
        self.bytes -= entry.bytes;
        Some(entry)
    }

    /// Picks transactions for a block: oldest signers first, each signer's transactions
    /// in consecutive nonce order from its next nonce, skipping those already in a block
    /// on the way to the committed tip (`in_flight`). `next_nonce` reads committed state.
    pub fn select(
        &self,
        transactions_max: usize,
        bytes_max: usize,
        in_flight: &BTreeSet<Hash>,
        mut next_nonce: impl FnMut(&PublicKey) -> u64,
    ) -> Vec<Arc<SignedTransaction>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut seen = BTreeSet::new();
        'signers: for id in self.arrival.values() {
            let Some(entry) = self.by_id.get(id) else { continue };
            let signer = entry.tx.tx.signer;
            if !seen.insert(signer.to_bytes()) {
                continue;
            }
            let first = next_nonce(&signer);
            let key = signer.to_bytes();
            let pending = self.by_signer.range((key, first)..=(key, u64::MAX));
            for (expected, ((_, nonce), id)) in (first..).zip(pending) {
                if *nonce != expected {
                    break;
                }
                if in_flight.contains(id) {
                    continue;
                }
                let Some(entry) = self.by_id.get(id) else { break };
                if out.len() >= transactions_max || bytes + entry.bytes > bytes_max {
                    break 'signers;
                }
                bytes += entry.bytes;
                out.push(entry.tx.clone());
            }
        }
        out
    }

    /// Forgets committed transactions and every pending one of their signers whose
    /// nonce is now used (`next_nonce` reads the new committed state).
    pub fn on_commit(
        &mut self,
        committed: &[Hash],
        signers: &[PublicKey],
        mut next_nonce: impl FnMut(&PublicKey) -> u64,
    ) {
        for id in committed {
            self.remove(id);
        }
        let signers: BTreeSet<[u8; 32]> = signers.iter().map(PublicKey::to_bytes).collect();
        for signer in signers {
            let Ok(key) = PublicKey::from_bytes(signer) else { continue };
            let next = next_nonce(&key);
            let stale: Vec<Hash> = self.by_signer.range((signer, 0)..(signer, next)).map(|(_, id)| *id).collect();
            for id in stale {
                self.remove(&id);
            }
        }
    }

    /// Drops transactions older than the configured time to live; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let ttl = Duration::from_secs(self.config.ttl_secs);
        let old: Vec<Hash> = self
            .arrival
            .values()
            .take_while(|id| self.by_id.get(*id).is_some_and(|e| now.duration_since(e.added) > ttl))
            .copied()
            .collect();
        for id in &old {
            self.remove(id);
        }
        old.len()
    }
}

#[cfg(test)]
mod tests {
    use panacea_contracts::codes::StaffRole;
    use panacea_contracts::identity::{IdentityCall, IdentityKind};
    use panacea_contracts::tx::{Call, Transaction};
    use panacea_primitives::Keypair;

    use super::*;

    fn chain() -> ChainId {
        ChainId::new("test-chain").unwrap()
    }

    fn tx(key: &Keypair, nonce: u64) -> SignedTransaction {
        let staff = Keypair::from_seed([u8::try_from(nonce).unwrap(); 32]).public();
        let call = Call::Identity(IdentityCall::Register {
            key: staff,
            kind: IdentityKind::Staff { role: StaffRole::Physician },
        });
        Transaction { chain_id: chain(), signer: key.public(), nonce, call }.sign(key)
    }

    #[test]
    fn batch_admission_gives_each_transaction_the_single_verdict() {
        let key = Keypair::from_seed([1; 32]);
        let mut forged = tx(&key, 3);
        forged.tx.nonce = 4;
        let other = Transaction { chain_id: ChainId::new("other").unwrap(), ..tx(&key, 5).tx }.sign(&key);
        let items: Vec<Vec<u8>> =
            vec![tx(&key, 1).encode(), vec![1, 2, 3], tx(&key, 2).encode(), forged.encode(), other.encode()];
        let batch = Mempool::check_stateless_batch(&items, &chain());
        let single: Vec<_> = items.iter().map(|bytes| Mempool::check_stateless(bytes, &chain())).collect();
        assert_eq!(batch, single);
        assert!(batch[0].is_ok() && batch[2].is_ok());
        assert_eq!(batch[3], Err(AdmitError::BadSignature));
        // All valid: one batch equation.
        let good: Vec<Vec<u8>> = (1..=64).map(|n| tx(&key, n).encode()).collect();
        assert!(Mempool::check_stateless_batch(&good, &chain()).iter().all(Result::is_ok));
    }

    fn pool(max: usize) -> Mempool {
        Mempool::new(MempoolConfig {
            transactions_max: max,
            bytes_max: 1 << 20,
            nonce_window: 10,
            ttl_secs: 60,
            ..MempoolConfig::default()
        })
    }

    #[test]
    fn the_free_nonce_follows_the_signers_unbroken_run_of_pending_nonces() {
        let key = Keypair::from_seed([1; 32]);
        let other = Keypair::from_seed([2; 32]);
        let mut pool = pool(100);
        let now = Instant::now();
        assert_eq!(pool.next_free_nonce(&key.public(), 3), 3, "nothing pending");
        for nonce in [3, 4, 6] {
            let tx = tx(&key, nonce);
            let bytes = tx.encode().len();
            pool.insert(tx, bytes, 3, now).unwrap();
        }
        assert_eq!(pool.next_free_nonce(&key.public(), 3), 5, "stops at the gap");
        assert_eq!(pool.next_free_nonce(&other.public(), 1), 1, "per signer");
        // Never past the window the pool admits within.
        for nonce in 7..13 {
            let tx = tx(&key, nonce);
            let bytes = tx.encode().len();
            let _ = pool.insert(tx, bytes, 3, now);
        }
        let tx = tx(&key, 5);
        let bytes = tx.encode().len();
        pool.insert(tx, bytes, 3, now).unwrap();
        assert_eq!(pool.next_free_nonce(&key.public(), 3), 13, "3..=12 pending: the window of 10 from 3");
    }

    #[test]
    fn admission_checks_chain_signature_and_size() {
        let key = Keypair::from_seed([1; 32]);
        let good = tx(&key, 1);
        assert!(Mempool::check_stateless(&good.encode(), &chain()).is_ok());
        let other = ChainId::new("other").unwrap();
        assert!(matches!(Mempool::check_stateless(&good.encode(), &other), Err(AdmitError::WrongChain { .. })));
        let mut forged = good.clone();
        forged.tx.nonce = 2;
        assert_eq!(Mempool::check_stateless(&forged.encode(), &chain()), Err(AdmitError::BadSignature));
        assert!(matches!(Mempool::check_stateless(&[1, 2, 3], &chain()), Err(AdmitError::Malformed(_))));
        let huge = vec![0u8; TRANSACTION_BYTES_MAX + 1];
        assert!(matches!(Mempool::check_stateless(&huge, &chain()), Err(AdmitError::TooLarge(_))));
    }

    #[test]
    fn full_pool_refuses_and_duplicates_are_refused() {
        let mut pool = pool(2);
        let now = Instant::now();
        let key = Keypair::from_seed([2; 32]);
        pool.insert(tx(&key, 1), 100, 1, now).unwrap();
        assert_eq!(pool.insert(tx(&key, 1), 100, 1, now).unwrap_err(), AdmitError::Duplicate);
        pool.insert(tx(&key, 2), 100, 1, now).unwrap();
        assert_eq!(pool.insert(tx(&key, 3), 100, 1, now).unwrap_err(), AdmitError::Full);
        assert!(matches!(pool.insert(tx(&key, 0), 100, 1, now).unwrap_err(), AdmitError::NonceUsed { .. }));
        assert!(matches!(pool.insert(tx(&key, 50), 100, 1, now).unwrap_err(), AdmitError::NonceTooFar { .. }));
        assert_eq!(pool.stats(), MempoolStats { transactions: 2, bytes: 200 });
    }

    #[test]
    fn selection_follows_nonces_and_skips_in_flight() {
        let mut pool = pool(100);
        let now = Instant::now();
        let a = Keypair::from_seed([3; 32]);
        let b = Keypair::from_seed([4; 32]);
        // a's nonce 2 arrives before 1; b has a gap after 1.
        let (a2, _) = pool.insert(tx(&a, 2), 10, 1, now).unwrap();
        let (a1, _) = pool.insert(tx(&a, 1), 10, 1, now).unwrap();
        let (b1, _) = pool.insert(tx(&b, 1), 10, 1, now).unwrap();
        pool.insert(tx(&b, 3), 10, 1, now).unwrap();
        let ids = |txs: Vec<Arc<SignedTransaction>>| txs.iter().map(|t| t.id()).collect::<Vec<_>>();
        assert_eq!(ids(pool.select(10, 1000, &BTreeSet::new(), |_| 1)), vec![a1, a2, b1]);
        let in_flight: BTreeSet<Hash> = [a1].into();
        assert_eq!(ids(pool.select(10, 1000, &in_flight, |_| 1)), vec![a2, b1]);
        assert_eq!(ids(pool.select(1, 1000, &BTreeSet::new(), |_| 1)), vec![a1]);
        // a's nonce 1 commits: it and nothing else of a's goes.
        pool.on_commit(&[a1], &[a.public()], |_| 2);
        assert_eq!(
            ids(pool.select(10, 1000, &BTreeSet::new(), |k| if *k == a.public() { 2 } else { 1 })),
            vec![a2, b1]
        );
    }

    #[test]
    fn old_transactions_expire() {
        let mut pool = pool(10);
        let then = Instant::now();
        let key = Keypair::from_seed([5; 32]);
        pool.insert(tx(&key, 1), 10, 1, then).unwrap();
        assert_eq!(pool.expire(then), 0);
        assert_eq!(pool.expire(then + Duration::from_secs(61)), 1);
        assert_eq!(pool.stats().transactions, 0);
    }
}

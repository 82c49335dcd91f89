//! The state-transition function: a genesis, then blocks of transactions, each producing
//! receipts, one write batch and a state root.

use panacea_primitives::{BatchVerifier, Hash};

use crate::context::{BlockContext, TxContext};
use crate::error::{CallError, ErrorCode, ExecError};
use crate::identity::principal;
use crate::membership::{Genesis, MembershipError, apply_genesis};
use crate::state::{BlockState, Meta, StateError, Store, WriteBatch, key};
use crate::tx::{Call, Outcome, Receipt, SignedTransaction, Transaction};

/// Most transactions in one block.
pub const BLOCK_TRANSACTIONS_MAX: usize = 20_000;

/// What a block did.
#[derive(Debug)]
pub struct BlockOutcome {
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Everything to write, atomically, to commit the block.
    pub writes: WriteBatch,
    /// Bookkeeping after the block.
    pub meta: Meta,
    /// The state root after the block.
    pub state_root: Hash,
    /// The next epoch, when this block ends the current one (the host switches its
    /// consensus replica to it once the block is committed).
    pub epoch_change: Option<crate::governance::EpochRecord>,
    /// Audit events the block logged before its transactions (proposals expiring, the
    /// epoch ending): in the log like any other, in no transaction's receipt.
    pub block_events: Vec<crate::audit::AuditEvent>,
}

/// A genesis that cannot start a chain.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The document is invalid.
    #[error("invalid genesis: {0}")]
    Invalid(#[from] MembershipError),
    /// The store already holds a chain.
    #[error("the state store is not empty")]
    NotEmpty,
    /// Storage failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Writes the genesis state into an empty store.
pub fn genesis(store: &dyn Store, genesis: &Genesis) -> Result<BlockOutcome, GenesisError> {
    if Meta::load(store).map_err(StateError::from)?.tree_version.is_some() {
        return Err(GenesisError::NotEmpty);
    }
    let mut state = BlockState::new(store)?;
    apply_genesis(&mut state, genesis)?;
    state.commit_tx();
    let (writes, meta) = state.finish()?;
    Ok(BlockOutcome {
        receipts: Vec::new(),
        writes,
        state_root: meta.state_root(),
        meta,
        epoch_change: None,
        block_events: Vec::new(),
    })
}

fn nonce_key(tx: &Transaction) -> Vec<u8> {
    signer_nonce_key(&tx.signer)
}

fn signer_nonce_key(signer: &panacea_primitives::PublicKey) -> Vec<u8> {
    key("nonce", &[&signer.to_bytes()])
}

/// The nonce `signer`'s next transaction must carry in committed state `store` (1 for a
/// key that never signed). Mempools use it to admit and order transactions.
pub fn next_nonce(store: &dyn Store, signer: &panacea_primitives::PublicKey) -> Result<u64, StateError> {
    Ok(crate::state::read::<u64, _>(store, &signer_nonce_key(signer))?.unwrap_or(0).saturating_add(1))
}

/// Executes the transactions of one committed block on top of `store`.
///
/// Deterministic: the same store, block and transactions always give the same receipts,
/// writes and root. Signatures are checked in one batch; a transaction for another chain,
/// with a bad signature, from an unknown key or with a wrong nonce fails without touching
/// state. Any other failed call consumes the signer's nonce (so the same transaction
/// cannot be replayed) and changes nothing else.
pub fn execute_block(
    store: &dyn Store,
    block: &BlockContext,
    txs: &[SignedTransaction],
) -> Result<BlockOutcome, StateError> {
    execute_block_verified(store, block, txs, &|_| false)
}

/// [`execute_block`] for a host that has checked some of the signatures already (a node,
/// when it admitted the transactions to its pool): the check of a transaction whose id
/// `verified` names is skipped. A transaction's id binds every field of it and its
/// signature, so the outcome is [`execute_block`]'s exactly as long as `verified` names
/// only transactions whose signatures pass [`SignedTransaction::verify`], the rule
/// admission applies.
pub fn execute_block_verified(
    store: &dyn Store,
    block: &BlockContext,
    txs: &[SignedTransaction],
    verified: &dyn Fn(&Hash) -> bool,
) -> Result<BlockOutcome, StateError> {
    let mut state = BlockState::new(store)?;
    let (epoch_change, block_events) = crate::governance::begin_block(&mut state, block)?;
    let mut batch = BatchVerifier::with_capacity(txs.len());
    let mut ids: Vec<Hash> = Vec::with_capacity(txs.len());
    let mut checked: Vec<bool> = Vec::with_capacity(txs.len());
    for signed in txs {
        let signing_hash = signed.tx.signing_hash();
        let id = SignedTransaction::id_of(&signing_hash, &signed.signature);
        let check = !verified(&id);
        if check {
            batch.push(
                &signed.tx.signer,
                &Transaction::domain(&signed.tx.chain_id),
                signing_hash.as_bytes(),
                &signed.signature,
            );
        }
        ids.push(id);
        checked.push(check);
    }
    let mut verdicts = batch.verify_each().into_iter();
    let signatures_ok: Vec<bool> =
        checked.into_iter().map(|check| !check || verdicts.next().unwrap_or(false)).collect();
    let mut receipts = Vec::with_capacity(txs.len());
    for ((signed, id), signature_ok) in txs.iter().zip(ids).zip(signatures_ok) {
        let outcome = execute_tx(&mut state, block, signed, id, signature_ok)?;
        receipts.push(Receipt { tx: id, outcome });
    }
    let (writes, meta) = state.finish()?;
    Ok(BlockOutcome { receipts, writes, state_root: meta.state_root(), meta, epoch_change, block_events })
}

fn failed(code: ErrorCode, message: impl Into<String>) -> Outcome {
    Outcome::Failed { code, message: message.into() }
}

fn execute_tx(
    state: &mut BlockState<'_>,
    block: &BlockContext,
    signed: &SignedTransaction,
    id: Hash,
    signature_ok: bool,
) -> Result<Outcome, StateError> {
    let tx = &signed.tx;
    if tx.chain_id != block.chain_id {
        return Ok(failed(
            ErrorCode::WrongChain,
            format!("transaction for chain {}, this is {}", tx.chain_id, block.chain_id),
        ));
    }
    if !signature_ok {
        return Ok(failed(ErrorCode::BadSignature, "the signature does not verify for this signer and transaction"));
    }
    let ctx = TxContext { block: block.clone(), signer: tx.signer, tx: id };
    let who = match principal(state, &ctx) {
        Ok(who) => who,
        Err(ExecError::Call(e)) => return Ok(failed(e.code, e.message)),
        Err(ExecError::State(e)) => return Err(e),
    };
    let expected = state.get::<u64>(&nonce_key(tx))?.unwrap_or(0).saturating_add(1);
    if tx.nonce != expected {
        return Ok(failed(ErrorCode::BadNonce, format!("nonce {} is not the signer's next one, {expected}", tx.nonce)));
    }
    let result = match tx.call.clone() {
        Call::Identity(call) => crate::identity::execute(state, &ctx, &who, call),
        Call::Consent(call) => crate::consent::execute(state, &ctx, &who, call),
        Call::Access(call) => crate::access::execute(state, &ctx, &who, call),
        Call::Document(call) => crate::document::execute(state, &ctx, &who, call),
        Call::Risk(call) => crate::risk::execute(state, &ctx, &who, call),
        Call::Governance(call) => crate::governance::execute(state, &ctx, &who, call),
        Call::Product(call) => crate::product::execute(state, &ctx, &who, call),
        Call::Csf(call) => crate::csf::execute(state, &ctx, &who, call),
        Call::Connection(call) => crate::connection::execute(state, &ctx, &who, call),
        Call::Training(call) => crate::training::execute(state, &ctx, &who, call),
    };
    match result {
        Ok(()) => {
            state.put(nonce_key(tx), &tx.nonce);
            Ok(Outcome::Ok { events: state.commit_tx() })
        }
        Err(ExecError::Call(CallError { code, message })) => {
            state.abort_tx();
            state.put(nonce_key(tx), &tx.nonce);
            state.commit_tx();
            Ok(failed(code, message))
        }
        Err(ExecError::State(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Chain, error_code};
    use crate::{Call, ErrorCode, identity::IdentityCall};

    #[test]
    fn a_signature_the_host_verified_is_not_checked_again_and_others_are() {
        let mut chain = Chain::new();
        let admin = chain.admin("hospital-a");
        let staff = crate::testing::key("staff");
        let call = Call::Identity(IdentityCall::Register {
            key: staff.public(),
            kind: crate::identity::IdentityKind::Staff { role: crate::codes::StaffRole::Physician },
        });
        let mut forged = chain.sign(&admin, call);
        forged.signature.0[0] ^= 1;
        let block =
            crate::BlockContext::new(crate::testing::chain_id(), chain.height.next(), chain.time.plus_millis(1));
        let refused = super::execute_block(&chain.store, &block, std::slice::from_ref(&forged)).unwrap();
        assert_eq!(error_code(&refused.receipts[0].outcome), Some(ErrorCode::BadSignature));
        let id = refused.receipts[0].tx;
        // Named as verified, its check is skipped (a host must only name what verified).
        let skipped =
            super::execute_block_verified(&chain.store, &block, std::slice::from_ref(&forged), &|t| *t == id).unwrap();
        assert_eq!(error_code(&skipped.receipts[0].outcome), None, "{:?}", skipped.receipts[0].outcome);
        // Anything else is still checked.
        let other = super::execute_block_verified(&chain.store, &block, &[forged], &|_| false).unwrap();
        assert_eq!(error_code(&other.receipts[0].outcome), Some(ErrorCode::BadSignature));
    }
}

use super::messages::{AccessDecision, Review, ReviewStatus};
use crate::ids::DecisionId;
use crate::state::{BlockState, INDEX_PREFIX, StateError, Store, key, read};

pub(crate) fn decision_key(id: &DecisionId) -> Vec<u8> {
    key("decision", &[id.0.as_bytes()])
}

fn review_key(id: &DecisionId) -> Vec<u8> {
    key("review", &[id.0.as_bytes()])
}

const OPEN_REVIEWS: &[u8] = b"i/review/open/";

fn open_review_index(review: &Review) -> Vec<u8> {
    debug_assert!(OPEN_REVIEWS.starts_with(INDEX_PREFIX));
    [OPEN_REVIEWS, review.custodian.as_str().as_bytes(), b"/", review.decision.0.as_bytes()].concat()
}

/// The indexes a module-state entry implies (an open review's), for a snapshot import.
pub(crate) fn derived_indexes(state_key: &[u8], value: &[u8]) -> Vec<Vec<u8>> {
    let mut prefix = key("review", &[]);
    prefix.push(b'/');
    if !state_key.starts_with(&prefix) {
        return Vec::new();
    }
    match panacea_primitives::codec::decode::<Review, { crate::state::VALUE_BYTES_MAX }>(value) {
        Ok(review) if matches!(review.status, ReviewStatus::Open) => vec![open_review_index(&review)],
        _ => Vec::new(),
    }
}

pub(crate) fn put_decision(state: &mut BlockState<'_>, decision: &AccessDecision) {
    state.put(decision_key(&decision.id), decision);
}

pub(crate) fn get_decision(state: &BlockState<'_>, id: &DecisionId) -> Result<Option<AccessDecision>, StateError> {
    state.get(&decision_key(id))
}

pub(crate) fn get_review(state: &BlockState<'_>, id: &DecisionId) -> Result<Option<Review>, StateError> {
    state.get(&review_key(id))
}

pub(crate) fn put_review(state: &mut BlockState<'_>, review: &Review) {
    state.put(review_key(&review.decision), review);
    match review.status {
        ReviewStatus::Open => state.put(open_review_index(review), &()),
        ReviewStatus::Closed { .. } => state.delete(open_review_index(review)),
    }
}

/// The decision `id`, from committed state.
pub fn decision<S: Store + ?Sized>(store: &S, id: &DecisionId) -> Result<Option<AccessDecision>, StateError> {
    read(store, &decision_key(id))
}

/// The review of decision `id`, from committed state.
pub fn review<S: Store + ?Sized>(store: &S, id: &DecisionId) -> Result<Option<Review>, StateError> {
    read(store, &review_key(id))
}

/// Open reviews of a custodian, at most `limit`.
pub fn open_reviews<S: Store + ?Sized>(
    store: &S,
    custodian: &crate::ids::OrgId,
    limit: usize,
) -> Result<Vec<Review>, StateError> {
    open_reviews_after(store, custodian, None, limit)
}

/// Open reviews of a custodian in decision-id order, after `after` (the last decision of
/// the previous page), at most `limit` (and at most 1,000).
pub fn open_reviews_after<S: Store + ?Sized>(
    store: &S,
    custodian: &crate::ids::OrgId,
    after: Option<&DecisionId>,
    limit: usize,
) -> Result<Vec<Review>, StateError> {
    let prefix = [OPEN_REVIEWS, custodian.as_str().as_bytes(), b"/"].concat();
    let cursor = after.map(|id| [prefix.as_slice(), id.0.as_bytes()].concat());
    let mut out = Vec::new();
    for (k, _) in store.scan(&prefix, cursor.as_deref(), limit.min(1_000))? {
        let Some(id) = k.get(prefix.len()..).and_then(|b| <[u8; 32]>::try_from(b).ok()) else { continue };
        if let Some(review) = review(store, &DecisionId(panacea_primitives::Hash(id)))? {
            out.push(review);
        }
    }
    Ok(out)
}

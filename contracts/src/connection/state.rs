use super::messages::{ConnectionRule, RuleId};
use crate::ids::OrgId;
use crate::state::{BlockState, StateError, Store, key, read};

pub(crate) fn rule_key(id: &RuleId) -> Vec<u8> {
    key("connection-rule", &[id.as_bytes()])
}

fn rules_of_key(org: &OrgId) -> Vec<u8> {
    key("connection-rules-of", &[org.as_str().as_bytes()])
}

pub(crate) fn get_rule(state: &BlockState<'_>, id: &RuleId) -> Result<Option<ConnectionRule>, StateError> {
    state.get(&rule_key(id))
}

pub(crate) fn rules_in(state: &BlockState<'_>, org: &OrgId) -> Result<Vec<RuleId>, StateError> {
    Ok(state.get(&rules_of_key(org))?.unwrap_or_default())
}

pub(crate) fn put_rules(state: &mut BlockState<'_>, org: &OrgId, rules: &Vec<RuleId>) {
    state.put(rules_of_key(org), rules);
}

/// A rule, from committed state.
pub fn rule<S: Store + ?Sized>(store: &S, id: &RuleId) -> Result<Option<ConnectionRule>, StateError> {
    read(store, &rule_key(id))
}

/// An organisation's rules (expired ones included until removed), from committed state.
pub fn rules<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Vec<ConnectionRule>, StateError> {
    let ids: Vec<RuleId> = read(store, &rules_of_key(org))?.unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(found) = rule(store, &id)? {
            out.push(found);
        }
    }
    Ok(out)
}

//! The records a client can ask the node to prove, and the state keys they live under.
//!
//! A proof ties a key's value (or its absence) to a state root; this module names the
//! keys, so that the node serving a proof and the client checking it agree on which key
//! holds which record without either spelling key layouts by hand.

use crate::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};

/// A provable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An organisation (`membership::Organisation`).
    Organisation(OrgId),
    /// An identity (`identity::Identity`).
    Identity(IdentityId),
    /// The latest version of a consent (`consent::Consent`).
    Consent(ConsentId),
    /// A version of a consent that a later one superseded (`consent::Consent`); the latest
    /// version is under [`Record::Consent`] only.
    ConsentEarlierVersion(ConsentId, u32),
    /// The ids of a patient's consents that are not revoked (`Vec<ConsentId>`).
    PatientConsents(PatientRef),
    /// An access decision (`access::AccessDecision`).
    Decision(DecisionId),
    /// A registered document (`document::DocumentRecord`).
    Document(DocumentHash),
    /// A medical product, by firmware hash (`product::Product`).
    Product(panacea_primitives::Hash),
    /// One version of an organisation's self-assessment (`csf::SelfAssessment`).
    SelfAssessment(OrgId, u32),
    /// A machine-to-machine connection rule (`connection::ConnectionRule`).
    ConnectionRule(panacea_primitives::Hash),
    /// A holder's credential for a course (`training::Credential`).
    Credential(IdentityId, String),
}

impl Record {
    /// The state key the record is stored under.
    pub fn key(&self) -> Vec<u8> {
        match self {
            Record::Organisation(org) => crate::membership::state::org_key(org),
            Record::Identity(id) => crate::identity::state::identity_key(id),
            Record::Consent(id) => crate::consent::state::consent_key(id),
            Record::ConsentEarlierVersion(id, version) => crate::consent::state::earlier_version_key(id, *version),
            Record::PatientConsents(patient) => crate::consent::state::patient_key(patient),
            Record::Decision(id) => crate::access::state::decision_key(id),
            Record::Document(hash) => crate::document::state::document_key(hash),
            Record::Product(firmware) => crate::product::state::product_key(firmware),
            Record::SelfAssessment(org, version) => crate::csf::state::version_key(org, *version),
            Record::ConnectionRule(id) => crate::connection::state::rule_key(id),
            Record::Credential(holder, course) => crate::training::state::credential_key(holder, course),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use panacea_primitives::Hash;

    #[test]
    fn keys_are_distinct_per_record() {
        let h = Hash::digest(b"x");
        let keys = [
            Record::Organisation(OrgId::new("hospital-a").unwrap()).key(),
            Record::Identity(IdentityId(h)).key(),
            Record::Consent(ConsentId(h)).key(),
            Record::ConsentEarlierVersion(ConsentId(h), 1).key(),
            Record::ConsentEarlierVersion(ConsentId(h), 2).key(),
            Record::PatientConsents(PatientRef(h)).key(),
            Record::Decision(DecisionId(h)).key(),
            Record::Document(DocumentHash(h)).key(),
            Record::Product(h).key(),
            Record::SelfAssessment(OrgId::new("hospital-a").unwrap(), 1).key(),
            Record::ConnectionRule(h).key(),
            Record::Credential(IdentityId(h), "emergency-access".into()).key(),
        ];
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        assert!(keys.iter().all(|k| k.starts_with(crate::state::STATE_PREFIX)));
    }
}

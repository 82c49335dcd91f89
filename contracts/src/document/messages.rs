use bincode::{Decode, Encode};
use panacea_primitives::Timestamp;
use serde::{Deserialize, Serialize};

use crate::codes::{DataClass, ResourceType};
use crate::ids::{DecisionId, DocumentHash, OrgId, PatientRef};

/// Most documents one custodian registers for one patient and data class; a grant for the
/// class covers them all.
pub const DOCUMENTS_PER_CLASS_MAX: usize = 256;

/// Calls of the document module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentCall {
    /// The custodian (an admin or identity of it) registers a document it holds.
    Register {
        /// The document's salted commitment.
        document: DocumentHash,
        /// About whom.
        patient: PatientRef,
        /// What kind of data.
        data_class: DataClass,
        /// Its FHIR resource type, when the custodian states it (it must be able to hold
        /// `data_class`). A grant for a resource type covers only documents of that type.
        resource_type: Option<ResourceType>,
    },
    /// The custodian records that it destroyed the document's keys everywhere it held
    /// them; no delivery is possible afterwards.
    Erase {
        /// The document.
        document: DocumentHash,
    },
    /// The requesting organisation (an admin or identity of it) confirms that a document
    /// arrived under a grant. Once per decision and document.
    ConfirmDelivery {
        /// The grant.
        decision: DecisionId,
        /// The document.
        document: DocumentHash,
    },
}

impl DocumentRecord {
    /// True if a grant for `data_class` (and `resource_type`, when it names one) covers
    /// this document.
    pub fn of_kind(&self, data_class: DataClass, resource_type: Option<ResourceType>) -> bool {
        self.data_class == data_class && resource_type.is_none_or(|asked| self.resource_type == Some(asked))
    }
}

/// A registered document.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// Its salted commitment.
    pub document: DocumentHash,
    /// The organisation holding it.
    pub custodian: OrgId,
    /// About whom.
    pub patient: PatientRef,
    /// What kind of data.
    pub data_class: DataClass,
    /// Its FHIR resource type, when stated.
    pub resource_type: Option<ResourceType>,
    /// Block time of registration.
    pub registered_at: Timestamp,
    /// Block time of erasure, if erased.
    pub erased_at: Option<Timestamp>,
}

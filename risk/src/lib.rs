//! # panacea-risk
//!
//! The multi-layer attack-graph risk model of PANACEA's Dynamic Risk Management Platform, as a pure library:
//! network layer (devices, CVEs, reachability), human layer (employees, survey-derived human
//! vulnerabilities), the credentials joining them, and the business layer (service levels, dependencies,
//! impact). See `README.md` in the crate for the decisions taken where the model is ambiguous.
//!
//! Pipeline: [`Inputs::from_json_documents`] (parse + validate) -> [`assess`] -> [`Assessment`]
//! (deterministic, [`Assessment::canonical_json`] / [`Assessment::hash`]); [`what_if`] for remediation;
//! [`generate::hospital`] for synthetic data.

#![forbid(unsafe_code)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "indices and counts are bounded by validation (MAX_ITEMS, 2^20) far below u32::MAX, and every float is clamped to its target range before it is converted"
)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod assess;
mod error;
pub mod generate;
pub mod graph;
pub mod impact;
pub mod input;
pub mod likelihood;
pub mod reach;
mod remedy;
mod validate;

pub use assess::{Assessment, AttackPath, RiskRow, ServicePaths, assess};
pub use error::RiskError;
pub use input::*;
pub use remedy::{Remedy, RemedyKind, what_if};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest accepted JSON document, in bytes (64 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;
/// Largest accepted length of an id or name, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Largest accepted number of items in any list of a document.
pub const MAX_ITEMS: usize = 1 << 20;
/// Largest accepted number of service levels.
pub const MAX_SERVICE_LEVELS: usize = 4096;
/// Deepest accepted dependency tree.
pub const MAX_DEPTH: usize = 32;

/// The names of the ten documents, in the order of [`Inputs`]'s fields.
pub const DOCUMENT_NAMES: [&str; 10] = [
    "devices.json",
    "vulnerabilities.json",
    "network.json",
    "employees.json",
    "relations.json",
    "profiles.json",
    "human_vulnerabilities.json",
    "credentials.json",
    "business.json",
    "config.json",
];

/// All the input documents of an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// `devices.json`.
    pub devices: DevicesDoc,
    /// `vulnerabilities.json`.
    pub vulnerabilities: VulnerabilityCatalogue,
    /// `network.json`.
    pub network: NetworkPolicy,
    /// `employees.json`.
    pub employees: EmployeesDoc,
    /// `relations.json`.
    pub relations: WorkRelationsDoc,
    /// `profiles.json`.
    pub profiles: SecurityProfilesDoc,
    /// `human_vulnerabilities.json`.
    pub human_vulnerabilities: HumanVulnerabilityCatalogue,
    /// `credentials.json`.
    pub credentials: CredentialsDoc,
    /// `business.json`.
    pub business: BusinessModel,
    /// `config.json`.
    pub config: Configuration,
}

fn parse_doc<T: serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T, RiskError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(RiskError::TooLarge { path: name.to_owned(), size: bytes.len(), limit: MAX_DOCUMENT_BYTES });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| RiskError::Parse { path: format!("{name}:{}", e.path()), message: e.inner().to_string() })?;
    de.end().map_err(|e| RiskError::Parse { path: format!("{name}:."), message: e.to_string() })?;
    Ok(value)
}

impl Inputs {
    /// Parses the ten documents, given as (name, bytes) with the names of [`DOCUMENT_NAMES`], each exactly
    /// once, then validates the references between them.
    pub fn from_json_documents(docs: &[(&str, &[u8])]) -> Result<Self, RiskError> {
        let mut slots: [Option<&[u8]>; 10] = [None; 10];
        for (name, bytes) in docs {
            let Some(i) = DOCUMENT_NAMES.iter().position(|n| n == name) else {
                return Err(RiskError::Document { path: (*name).to_owned(), message: "unknown document".into() });
            };
            if slots[i].is_some() {
                return Err(RiskError::Document { path: (*name).to_owned(), message: "given twice".into() });
            }
            slots[i] = Some(bytes);
        }
        let get = |i: usize| -> Result<&[u8], RiskError> {
            slots[i]
                .ok_or_else(|| RiskError::Document { path: DOCUMENT_NAMES[i].to_owned(), message: "missing".into() })
        };
        let inputs = Self {
            devices: parse_doc(DOCUMENT_NAMES[0], get(0)?)?,
            vulnerabilities: parse_doc(DOCUMENT_NAMES[1], get(1)?)?,
            network: parse_doc(DOCUMENT_NAMES[2], get(2)?)?,
            employees: parse_doc(DOCUMENT_NAMES[3], get(3)?)?,
            relations: parse_doc(DOCUMENT_NAMES[4], get(4)?)?,
            profiles: parse_doc(DOCUMENT_NAMES[5], get(5)?)?,
            human_vulnerabilities: parse_doc(DOCUMENT_NAMES[6], get(6)?)?,
            credentials: parse_doc(DOCUMENT_NAMES[7], get(7)?)?,
            business: parse_doc(DOCUMENT_NAMES[8], get(8)?)?,
            config: parse_doc(DOCUMENT_NAMES[9], get(9)?)?,
        };
        inputs.validate()?;
        Ok(inputs)
    }

    /// Checks every reference, bound and the dependency graph; [`assess`] calls it too.
    pub fn validate(&self) -> Result<(), RiskError> {
        validate::validate(self)
    }

    /// The ten documents as pretty JSON, named as in [`DOCUMENT_NAMES`].
    pub fn to_documents(&self) -> Result<Vec<(String, Vec<u8>)>, RiskError> {
        fn doc<T: Serialize>(name: &str, v: &T) -> Result<(String, Vec<u8>), RiskError> {
            let mut bytes = serde_json::to_vec_pretty(v)
                .map_err(|e| RiskError::Document { path: name.to_owned(), message: e.to_string() })?;
            bytes.push(b'\n');
            Ok((name.to_owned(), bytes))
        }
        Ok(vec![
            doc(DOCUMENT_NAMES[0], &self.devices)?,
            doc(DOCUMENT_NAMES[1], &self.vulnerabilities)?,
            doc(DOCUMENT_NAMES[2], &self.network)?,
            doc(DOCUMENT_NAMES[3], &self.employees)?,
            doc(DOCUMENT_NAMES[4], &self.relations)?,
            doc(DOCUMENT_NAMES[5], &self.profiles)?,
            doc(DOCUMENT_NAMES[6], &self.human_vulnerabilities)?,
            doc(DOCUMENT_NAMES[7], &self.credentials)?,
            doc(DOCUMENT_NAMES[8], &self.business)?,
            doc(DOCUMENT_NAMES[9], &self.config)?,
        ])
    }
}

/// SHA-256 of some input bytes, lowercase hex (what goes on the ledger instead of the inventory).
pub fn input_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses a dotted IPv4 address.
pub(crate) fn parse_ip(s: &str) -> Option<u32> {
    let mut out: u32 = 0;
    let mut n = 0;
    for part in s.split('.') {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = part.parse().ok()?;
        if v > 255 {
            return None;
        }
        out = (out << 8) | v;
        n += 1;
    }
    (n == 4).then_some(out)
}

/// The network mask of a prefix length (0..=32).
pub(crate) fn mask_of(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) }
}

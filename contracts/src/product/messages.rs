use bincode::{Decode, Encode};
use panacea_primitives::{Hash, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::{IdentityId, OrgId};

/// Longest manufacturer, model, firmware version, component or standard text, in bytes.
pub const PRODUCT_TEXT_BYTES_MAX: usize = 128;
/// Most SBOM components recorded for one product.
pub const SBOM_COMPONENTS_MAX: usize = 256;
/// Most standards one product claims.
pub const STANDARD_CLAIMS_MAX: usize = 16;
/// Devices listed per page of a firmware's device index.
pub const DEVICE_PAGE_MAX: usize = 256;
/// Most devices one firmware build may run on (pages × page size).
pub const DEVICES_PER_FIRMWARE_MAX: usize = 64 * DEVICE_PAGE_MAX;
/// Longest an attestation may stay in force: five years.
pub const ATTESTATION_MS_MAX: u64 = 5 * 366 * 24 * 60 * 60 * 1000;
/// Products listed per page by [`super::products`] (and most per query).
pub const PRODUCTS_PAGE_MAX: usize = 256;

/// A product is one firmware build of a medical device model: its id is the SHA-256 of the
/// firmware image, which a device identity names too.
pub type ProductId = Hash;

/// The SBOM's format, as imported.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomFormat {
    /// CycloneDX JSON.
    CycloneDx,
    /// SPDX JSON.
    Spdx,
}

/// One component of the SBOM: what a vulnerability feed is matched against.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Component {
    /// Its name (for example `openssl`).
    pub name: String,
    /// Its version (for example `1.1.1k`).
    pub version: String,
    /// Its package URL, when the SBOM gives one.
    pub purl: Option<String>,
}

/// The software bill of materials: the document by hash, its components listed.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Sbom {
    /// Its format.
    pub format: SbomFormat,
    /// SHA-256 of the SBOM document (which the device identity names as `sbom_hash`).
    pub hash: Hash,
    /// Its components, sorted, without duplicates.
    pub components: Vec<Component>,
}

/// A standard the manufacturer claims (for example `IEC 81001-5-1`), with its evidence.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct StandardClaim {
    /// The standard.
    pub standard: String,
    /// SHA-256 of the evidence, kept off chain.
    pub evidence: Hash,
}

/// An assessor's attestation of a product.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ProductAttestation {
    /// The assessor identity (staff role `assessor`).
    pub assessor: IdentityId,
    /// Its organisation (never the one that registered the product).
    pub assessor_org: OrgId,
    /// The claimed standards the assessor confirms.
    pub standards: Vec<String>,
    /// SHA-256 of the assessment report, kept off chain.
    pub report: Hash,
    /// Block time of the attestation.
    pub attested_at: Timestamp,
    /// It is in force before this time.
    pub expires: Timestamp,
}

/// Why a product's attestation was revoked.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// The firmware has a vulnerability that must not stay in service.
    VulnerableFirmware,
    /// The manufacturer withdrew the product.
    Withdrawn,
    /// The claims proved false.
    ClaimsUnfounded,
}

/// A revocation: final for this firmware build.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Revocation {
    /// Why.
    pub reason: RevocationReason,
    /// SHA-256 of the record behind it (an advisory, a withdrawal notice), off chain.
    pub record: Hash,
    /// The organisation whose key revoked it.
    pub by: OrgId,
    /// Block time.
    pub at: Timestamp,
}

/// A registered product (one firmware build).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Product {
    /// SHA-256 of the firmware image: the product's id.
    pub firmware_hash: ProductId,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// The software bill of materials.
    pub sbom: Sbom,
    /// The standards claimed.
    pub claims: Vec<StandardClaim>,
    /// The member that registered it (a vendor, or a hospital's procurement).
    pub registered_by: OrgId,
    /// Block time of registration.
    pub registered_at: Timestamp,
    /// The attestation, once an assessor gave one (a later one replaces it).
    pub attestation: Option<ProductAttestation>,
    /// The revocation, if any: no device runs this firmware from the next block.
    pub revoked: Option<Revocation>,
}

impl Product {
    /// True if devices on this firmware may be registered or reactivated at `at`: attested,
    /// the attestation not expired, the product not revoked.
    pub fn in_force(&self, at: Timestamp) -> bool {
        self.revoked.is_none() && self.attestation.as_ref().is_some_and(|a| at < a.expires)
    }
}

/// Calls of the product module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProductCall {
    /// Register a firmware build of a product. Signed by an admin or a security officer of
    /// any member.
    Register {
        /// Manufacturer.
        manufacturer: String,
        /// Model.
        model: String,
        /// Firmware version.
        firmware_version: String,
        /// SHA-256 of the firmware image.
        firmware_hash: Hash,
        /// The SBOM.
        sbom: Sbom,
        /// The standards claimed.
        claims: Vec<StandardClaim>,
    },
    /// Attest a product, or renew its attestation. Signed by an assessor identity of a
    /// member other than the one that registered it.
    Attest {
        /// The product.
        product: ProductId,
        /// The claimed standards confirmed (at least one).
        standards: Vec<String>,
        /// SHA-256 of the report.
        report: Hash,
        /// End of validity.
        expires: Timestamp,
    },
    /// Revoke the product's attestation for good: every device on this firmware is
    /// suspended from the next block. Signed by any assessor identity or an admin of the
    /// member that registered it.
    Revoke {
        /// The product.
        product: ProductId,
        /// Why.
        reason: RevocationReason,
        /// SHA-256 of the record behind it.
        record: Hash,
    },
}

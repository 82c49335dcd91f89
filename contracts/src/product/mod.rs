//! Security by design: medical products on chain, gating the devices that run them.
//!
//! A product is one firmware build of a device model (its id is the firmware image's
//! SHA-256): manufacturer, model, firmware version, the SBOM (CycloneDX or SPDX JSON,
//! imported: its hash and component list), and the standards claimed (IEC 81001-5-1,
//! IEC 62443-4-2, ...) with evidence hashes. An assessor identity of another member
//! attests it, with an expiry. The consequence is in the identity module: a device
//! identity is registered or reactivated only on firmware whose attestation is in force
//! and whose SBOM it names; revoking an attestation (a vulnerable firmware) suspends every
//! device on that firmware from the next block, one audit event each. The risk worker
//! reads the SBOM's components to add known CVEs to the device inventory.
//!
//! Evidence, reports and advisories stay off chain, named by SHA-256.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::ProductError;
pub(crate) use execution::{device_gate, execute, record_device};
pub use messages::{
    ATTESTATION_MS_MAX, Component, DEVICE_PAGE_MAX, DEVICES_PER_FIRMWARE_MAX, PRODUCT_TEXT_BYTES_MAX,
    PRODUCTS_PAGE_MAX, Product, ProductAttestation, ProductCall, ProductId, Revocation, RevocationReason,
    SBOM_COMPONENTS_MAX, STANDARD_CLAIMS_MAX, Sbom, SbomFormat, StandardClaim,
};
pub use state::{product, product_devices, products};

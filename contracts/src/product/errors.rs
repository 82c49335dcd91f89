use crate::error::{CallError, ErrorCode};
use crate::ids::OrgId;

use super::messages::ProductId;

/// Why a product call failed, or a device was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    /// Only an admin or a security officer registers products.
    #[error("products are registered by a member's admin or security officer")]
    NotRegistrar,
    /// Only an assessor identity attests.
    #[error("products are attested by an assessor identity (staff role assessor)")]
    NotAssessor,
    /// An assessor may not attest its own organisation's product.
    #[error("an assessor of {0} may not attest a product {0} registered")]
    OwnProduct(OrgId),
    /// Only an assessor or the registering member's admin revokes.
    #[error("a product's attestation is revoked by an assessor or an admin of {0}")]
    NotRevoker(OrgId),
    /// The product exists already.
    #[error("product {0} (this firmware hash) is registered already")]
    Exists(ProductId),
    /// No such product.
    #[error("no product has firmware hash {0}")]
    Unknown(ProductId),
    /// Revocation is final.
    #[error("product {0} is revoked")]
    Revoked(ProductId),
    /// A revocation of a product never attested changes nothing.
    #[error("product {0} has no attestation to revoke")]
    NotAttested(ProductId),
    /// A device names a firmware without an attestation in force.
    #[error(
        "no attestation in force for firmware {0}: register the product and have an assessor attest it before registering or reactivating its devices"
    )]
    DeviceNotAttested(ProductId),
    /// The device's SBOM is not its product's.
    #[error("the device's sbom_hash is not the SBOM of product {0}")]
    SbomMismatch(ProductId),
    /// Too many devices on one firmware.
    #[error("firmware {0} runs on the most devices one firmware may")]
    TooManyDevices(ProductId),
    /// A malformed call.
    #[error("{0}")]
    Invalid(String),
}

impl From<ProductError> for CallError {
    fn from(e: ProductError) -> CallError {
        let code = match e {
            ProductError::NotRegistrar
            | ProductError::NotAssessor
            | ProductError::OwnProduct(_)
            | ProductError::NotRevoker(_) => ErrorCode::Unauthorized,
            ProductError::Unknown(_) => ErrorCode::NotFound,
            ProductError::Exists(_)
            | ProductError::Revoked(_)
            | ProductError::NotAttested(_)
            | ProductError::DeviceNotAttested(_)
            | ProductError::SbomMismatch(_) => ErrorCode::Conflict,
            ProductError::TooManyDevices(_) => ErrorCode::LimitExceeded,
            ProductError::Invalid(_) => ErrorCode::InvalidArgument,
        };
        CallError::new(code, e.to_string())
    }
}

impl From<ProductError> for crate::error::ExecError {
    fn from(e: ProductError) -> crate::error::ExecError {
        crate::error::ExecError::Call(e.into())
    }
}

//! The toolkit registries through the API: products (security by design), security-
//! governance self-assessments, machine-to-machine connections and training records.

use panacea_contracts::connection::ConnectionChallenge;
use panacea_contracts::ids::{IdentityId, OrgId};
use panacea_primitives::{ChainId, Hash, Keypair};

use crate::client::{Client, ClientError, RequestSigner};
use crate::types::{
    ConnectionVerdictView, ConnectionsView, CredentialsView, NudgePage, NudgeRatesView, NudgeView, ProductView,
    ProductsPage, RegionView, SelfAssessmentView, TrainingView, VerifyConnectionRequest,
};

impl Client {
    /// A page of registered products (any member's signer), from index `from`.
    pub async fn products(&self, signer: &RequestSigner, from: u64, limit: usize) -> Result<ProductsPage, ClientError> {
        self.signed_get(signer, &format!("/v1/products?from={from}&limit={limit}")).await
    }

    /// The product with firmware hash `firmware` (any member's signer).
    pub async fn product(&self, signer: &RequestSigner, firmware: &Hash) -> Result<ProductView, ClientError> {
        self.signed_get(signer, &format!("/v1/products/{firmware}")).await
    }

    /// An organisation's self-assessment posture (its own operators and staff, and health
    /// authorities' auditors).
    pub async fn self_assessment(
        &self,
        signer: &RequestSigner,
        org: &OrgId,
    ) -> Result<SelfAssessmentView, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/self-assessment", org.as_str())).await
    }

    /// One version of an organisation's self-assessment.
    pub async fn self_assessment_version(
        &self,
        signer: &RequestSigner,
        org: &OrgId,
        version: u32,
    ) -> Result<panacea_contracts::csf::SelfAssessment, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/self-assessment/{version}", org.as_str())).await
    }

    /// The regional view of security governance (health authorities' auditors).
    pub async fn security_region(&self, signer: &RequestSigner) -> Result<RegionView, ClientError> {
        self.signed_get(signer, "/v1/security-governance/region").await
    }

    /// The connections an organisation allows (its own operators and staff, and auditors).
    pub async fn connections(&self, signer: &RequestSigner, org: &OrgId) -> Result<ConnectionsView, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/connections", org.as_str())).await
    }

    /// Asks the chain whether a connection is expected: `challenge` as the source signed it
    /// (see [`sign_challenge`]), checked by the gateway `signer` (a machine, staff member or
    /// operator of the source's or the destination's organisation).
    pub async fn verify_connection(
        &self,
        signer: &RequestSigner,
        challenge: &ConnectionChallenge,
        signature: &panacea_primitives::Signature,
    ) -> Result<ConnectionVerdictView, ClientError> {
        let body = VerifyConnectionRequest { challenge: challenge.clone(), signature: *signature };
        self.signed_post_json(signer, "/v1/connections/verify", &body).await
    }

    /// An organisation's training catalogue and policy (any member's signer).
    pub async fn training(&self, signer: &RequestSigner, org: &OrgId) -> Result<TrainingView, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/training", org.as_str())).await
    }

    /// The signer's unacknowledged nudges (a staff identity, at its own organisation's node).
    /// For live ones, open `/v1/nudges/stream` with [`Client::signed_get_request`].
    pub async fn nudges(
        &self,
        signer: &RequestSigner,
        after: Option<u64>,
        limit: usize,
    ) -> Result<NudgePage, ClientError> {
        let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
        self.signed_get(signer, &format!("/v1/nudges?limit={limit}{after}")).await
    }

    /// Acknowledges a nudge to the signer (or its role).
    pub async fn acknowledge_nudge(&self, signer: &RequestSigner, id: u64) -> Result<NudgeView, ClientError> {
        self.signed_post_empty(signer, &format!("/v1/nudges/{id}/ack")).await
    }

    /// The organisation's nudges sent and acknowledged per kind and week (its operators and
    /// security officers).
    pub async fn nudge_rates(&self, signer: &RequestSigner, weeks: u64) -> Result<NudgeRatesView, ClientError> {
        self.signed_get(signer, &format!("/v1/nudges/rates?weeks={weeks}")).await
    }

    /// An identity's training credentials (any member's signer: credentials are verifiable
    /// by every member; prove one with `ProvableRecord::Credential`).
    pub async fn credentials(
        &self,
        signer: &RequestSigner,
        holder: &IdentityId,
    ) -> Result<CredentialsView, ClientError> {
        self.signed_get(signer, &format!("/v1/identities/{holder}/credentials")).await
    }
}

/// The source machine's side of a connection check: signs the destination's `nonce` for
/// `source` → `destination` over `protocol`, now.
pub fn sign_challenge(
    chain_id: &ChainId,
    key: &Keypair,
    source: IdentityId,
    destination: IdentityId,
    protocol: &str,
    nonce: [u8; 32],
) -> (ConnectionChallenge, panacea_primitives::Signature) {
    let challenge =
        ConnectionChallenge { source, destination, protocol: protocol.to_string(), nonce, time: crate::client::now() };
    let signature = challenge.sign(chain_id, key);
    (challenge, signature)
}

//! The HTTP client.

use std::time::Duration;

use panacea_contracts::SignedTransaction;
use panacea_primitives::{Hash, Height, PublicKey};

use panacea_contracts::consent::Consent;
use panacea_contracts::ids::{ConsentId, DecisionId, PatientRef};
use panacea_primitives::{ChainId, Keypair};

use crate::types::{
    AccountingPage, AuditQuery, BlockView, ErrorBody, NonceView, StatusView, SubmitRequest, TxStatus, signed,
};
use crate::types::{ProofView, RefusalPage, ValidatorSetView};
use crate::verify::{ProvableRecord, TrustAnchor, VerifiedState, VerifyError};

/// A request that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not usable.
    #[error("invalid node URL {0:?}")]
    BadUrl(String),
    /// The node could not be reached or answered garbage.
    #[error("request to the node failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The node refused the request.
    #[error("the node answered {status}: {} ({})", .body.message, .body.code)]
    Api {
        /// HTTP status.
        status: u16,
        /// The error.
        body: ErrorBody,
        /// For a 429: how long the node asks the client to wait before retrying (its
        /// `Retry-After` header; admission control sizes it from the node's measured
        /// capacity).
        retry_after: Option<Duration>,
    },
    /// The node's answer does not check out against the trust anchor: do not use it.
    #[error("the node's proof does not verify: {0}")]
    Unverified(VerifyError),
    /// A local file could not be read.
    #[error("{0}")]
    Local(String),
}

impl ClientError {
    /// The API's error code, if the node answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.code),
            _ => None,
        }
    }

    /// For a refusal that asks the client to come back later (429), when.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Items asked for per page by the `*_all` helpers (the node caps pages at 1,000).
const PAGE_ITEMS: usize = 500;

/// Signs requests that read consent and audit data, as a registered key (an
/// organisation's admin or identity, a health authority's auditor, or a patient's key).
#[derive(Debug, Clone)]
pub struct RequestSigner {
    key: Keypair,
    chain_id: ChainId,
}

impl RequestSigner {
    /// Signs as `key` on `chain_id`.
    pub fn new(key: Keypair, chain_id: ChainId) -> RequestSigner {
        RequestSigner { key, chain_id }
    }

    /// The four headers of a request signed for the node whose id is `audience` (the
    /// `node_id` of its `/v1/status`), whose body has SHA-256 `body_sha256` (of the empty
    /// body for a request without one; [`Client`] fills both in).
    pub fn headers(
        &self,
        method: &str,
        path_and_query: &str,
        body_sha256: &Hash,
        audience: &str,
    ) -> Result<[(&'static str, String); 4], ClientError> {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| ClientError::BadUrl(format!("no random source for a nonce: {e}")))?;
        let nonce = hex::encode(nonce);
        let message = signed::signing_bytes(method, path_and_query, body_sha256, timestamp, &nonce, audience);
        let signature = self.key.sign(&signed::domain(&self.chain_id), &message);
        Ok([
            (signed::HEADER_KEY, hex::encode(self.key.public().to_bytes())),
            (signed::HEADER_TIMESTAMP, timestamp.to_string()),
            (signed::HEADER_NONCE, nonce),
            (signed::HEADER_SIGNATURE, hex::encode(signature.0)),
        ])
    }

    /// The public key requests are signed with.
    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }
}

/// This machine's clock, as a chain timestamp (what a proof's age is measured against).
pub fn now() -> panacea_primitives::Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    panacea_primitives::Timestamp(millis)
}

/// A client of one node.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    /// The node's id, learnt from `/v1/status` on the first signed request: signed
    /// requests name the node they are for.
    node_id: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl Client {
    /// A client of the node at `base_url` (for example `http://127.0.0.1:8645`).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl(base_url.to_string()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Client { base, http, node_id: std::sync::Arc::default() })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn parse<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response.json::<T>().await?);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await?;
        let body = serde_json::from_str::<ErrorBody>(&text)
            .unwrap_or(ErrorBody { code: "http_error".into(), message: text.chars().take(512).collect() });
        Err(ClientError::Api { status: status.as_u16(), body, retry_after })
    }

    /// Submits a signed transaction; returns once it is in the node's pool.
    pub async fn submit(&self, tx: &SignedTransaction) -> Result<TxStatus, ClientError> {
        let body = SubmitRequest { tx: hex::encode(tx.encode()) };
        let response = self.http.post(format!("{}/v1/transactions", self.base)).json(&body).send().await?;
        Self::parse(response).await
    }

    /// Submits up to [`crate::types::BATCH_TRANSACTIONS_MAX`] signed transactions in one
    /// request (the node's body limit applies too). With `wait`, the node answers once all
    /// have committed or `wait` has passed. One item per transaction, in order: its status
    /// (`committed` with the receipt, or `pending`) or why it was refused.
    pub async fn submit_batch(
        &self,
        txs: &[SignedTransaction],
        wait: Option<Duration>,
    ) -> Result<Vec<crate::types::BatchItem>, ClientError> {
        let body = crate::types::BatchSubmitRequest { txs: txs.iter().map(|t| hex::encode(t.encode())).collect() };
        let mut url = format!("{}/v1/transactions/batch", self.base);
        if let Some(wait) = wait {
            url.push_str(&format!("?wait=true&timeout_ms={}", wait.as_millis()));
        }
        let mut request = self.http.post(url).json(&body);
        if let Some(wait) = wait {
            request = request.timeout(wait + Duration::from_secs(10));
        }
        Self::parse(request.send().await?).await
    }

    /// Submits a batch of opaque transactions to a validator of an ordering-only
    /// (consensus-only benchmark) chain, and with `wait` waits up to that long for the
    /// block that carries it to commit.
    pub async fn submit_opaque_batch(
        &self,
        batch: &panacea_primitives::OpaqueBatch,
        wait: Option<Duration>,
    ) -> Result<crate::types::OpaqueBatchStatus, ClientError> {
        let mut url = format!("{}/v1/ordering/batches", self.base);
        if let Some(wait) = wait {
            url.push_str(&format!("?wait=true&timeout_ms={}", wait.as_millis()));
        }
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(batch.as_bytes().to_vec());
        if let Some(wait) = wait {
            request = request.timeout(wait + Duration::from_secs(10));
        }
        Self::parse(request.send().await?).await
    }

    /// Submits a signed transaction and waits up to `timeout` for its commit. The status
    /// says `committed` (with the receipt) or, if the time ran out, `pending`.
    pub async fn submit_and_wait(&self, tx: &SignedTransaction, timeout: Duration) -> Result<TxStatus, ClientError> {
        let body = SubmitRequest { tx: hex::encode(tx.encode()) };
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let response = self
            .http
            .post(format!("{}/v1/transactions?wait=true&timeout_ms={millis}", self.base))
            .timeout(timeout + Duration::from_secs(10))
            .json(&body)
            .send()
            .await?;
        Self::parse(response).await
    }

    /// A transaction's status and height (anyone may ask; the receipt, which holds audit
    /// events, needs a signer who may read it: [`Client::transaction_signed`]).
    pub async fn transaction(&self, id: &Hash) -> Result<TxStatus, ClientError> {
        Self::parse(self.http.get(format!("{}/v1/transactions/{id}", self.base)).send().await?).await
    }

    /// A transaction's status, height and, if the signer may read it, receipt: its own
    /// signer, an organisation's operator or an auditor, or a signer who may read every
    /// audit event in it.
    pub async fn transaction_signed(&self, signer: &RequestSigner, id: &Hash) -> Result<TxStatus, ClientError> {
        self.signed_get(signer, &format!("/v1/transactions/{id}")).await
    }

    /// The committed block at `height`: its header and certificate (anyone may ask; the
    /// transactions need an operator or auditor: [`Client::block_signed`]).
    pub async fn block(&self, height: Height) -> Result<BlockView, ClientError> {
        Self::parse(self.http.get(format!("{}/v1/blocks/{}", self.base, height.0)).send().await?).await
    }

    /// The committed block at `height`, with its transactions if the signer reads the
    /// whole ledger (an organisation's operator or an auditor).
    pub async fn block_signed(&self, signer: &RequestSigner, height: Height) -> Result<BlockView, ClientError> {
        self.signed_get(signer, &format!("/v1/blocks/{}", height.0)).await
    }

    /// The nonce `key`'s next transaction must carry, from committed state.
    pub async fn next_nonce(&self, key: &PublicKey) -> Result<u64, ClientError> {
        Ok(self.nonces(key).await?.next_nonce)
    }

    /// The nonce a new transaction of `key` submitted to this node should carry: after the
    /// key's transactions still pending in the node's pool. With [`Client::next_nonce`]
    /// instead, a transaction stuck in the pool (its node cut off, say) makes every later
    /// submission fail with `nonce_taken` until it commits.
    pub async fn next_free_nonce(&self, key: &PublicKey) -> Result<u64, ClientError> {
        let view = self.nonces(key).await?;
        Ok(view.next_nonce.max(view.next_free_nonce))
    }

    /// Both nonces of `key` (`GET /v1/accounts/{key}/nonce`).
    pub async fn nonces(&self, key: &PublicKey) -> Result<NonceView, ClientError> {
        let url = format!("{}/v1/accounts/{}/nonce", self.base, hex::encode(key.to_bytes()));
        Self::parse(self.http.get(url).send().await?).await
    }

    /// The id of the node this client talks to (asked once, then remembered).
    pub async fn node_id(&self) -> Result<String, ClientError> {
        let id = self.node_id.get_or_try_init(|| async { self.status().await.map(|status| status.node_id) }).await?;
        Ok(id.clone())
    }

    /// A GET request to `path_and_query` signed by `signer` for this node.
    pub async fn signed_get_request(
        &self,
        signer: &RequestSigner,
        path_and_query: &str,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let audience = self.node_id().await?;
        let mut request = self.http.get(format!("{}{path_and_query}", self.base));
        for (name, value) in signer.headers("GET", path_and_query, &Hash::digest(b""), &audience)? {
            request = request.header(name, value);
        }
        Ok(request)
    }

    pub(crate) async fn signed_get<T: serde::de::DeserializeOwned>(
        &self,
        signer: &RequestSigner,
        path_and_query: &str,
    ) -> Result<T, ClientError> {
        Self::parse(self.signed_get_request(signer, path_and_query).await?.send().await?).await
    }

    /// A POST of `body` as JSON to `path`, signed by `signer` over the body's SHA-256.
    pub(crate) async fn signed_post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        signer: &RequestSigner,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Local(e.to_string()))?;
        let sha256 = Hash::digest(&body);
        let audience = self.node_id().await?;
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(signed::HEADER_CONTENT_SHA256, sha256.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in signer.headers("POST", path, &sha256, &audience)? {
            request = request.header(name, value);
        }
        Self::parse(request.send().await?).await
    }

    /// A POST without a body to `path`, signed by `signer`.
    pub(crate) async fn signed_post_empty<T: serde::de::DeserializeOwned>(
        &self,
        signer: &RequestSigner,
        path: &str,
    ) -> Result<T, ClientError> {
        let audience = self.node_id().await?;
        let mut request = self.http.post(format!("{}{path}", self.base));
        for (name, value) in signer.headers("POST", path, &Hash::digest(b""), &audience)? {
            request = request.header(name, value);
        }
        Self::parse(request.send().await?).await
    }

    /// The consents of `patient` the signer may read.
    pub async fn patient_consents(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
    ) -> Result<Vec<Consent>, ClientError> {
        self.signed_get(signer, &format!("/v1/patients/{patient}/consents")).await
    }

    /// A page of `patient`'s accounting of disclosures (for the patient and auditors).
    pub async fn accounting(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
        after: Option<u64>,
        limit: usize,
    ) -> Result<AccountingPage, ClientError> {
        let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
        self.signed_get(signer, &format!("/v1/patients/{patient}/accounting?limit={limit}{after}")).await
    }

    /// A page of audit events matching `query` (see [`AuditQuery`]).
    pub async fn audit_events(
        &self,
        signer: &RequestSigner,
        query: &AuditQuery,
    ) -> Result<panacea_contracts::audit::AuditPage, ClientError> {
        self.signed_get(signer, &format!("/v1/audit/events?{}", query.to_query_string())).await
    }

    /// Every audit event matching `query` from its `after` on, following the pages'
    /// cursors, up to `max` events (the rest stay for a later call from the last `seq`).
    /// `query.limit`, if set, is the page size.
    pub async fn audit_events_all(
        &self,
        signer: &RequestSigner,
        query: &AuditQuery,
        max: usize,
    ) -> Result<Vec<panacea_contracts::audit::AuditEvent>, ClientError> {
        let mut query = query.clone();
        let page_items = query.limit.unwrap_or(PAGE_ITEMS).max(1);
        let mut out = Vec::new();
        while out.len() < max {
            query.limit = Some((max - out.len()).min(page_items));
            let page = self.audit_events(signer, &query).await?;
            out.extend(page.events);
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// A patient's whole accounting of disclosures, following the pages' cursors, up to
    /// `max` disclosures.
    pub async fn accounting_all(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
        max: usize,
    ) -> Result<Vec<panacea_contracts::audit::Disclosure>, ClientError> {
        let (mut after, mut out) = (None, Vec::new());
        while out.len() < max {
            let page = self.accounting(signer, patient, after, (max - out.len()).min(PAGE_ITEMS)).await?;
            out.extend(page.disclosures);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// Subscribes to committed audit events matching `query` (its patient, org, identity
    /// and kind), starting with those already committed at or above `from_height`.
    pub async fn audit_stream(
        &self,
        signer: &RequestSigner,
        from_height: u64,
        query: &AuditQuery,
    ) -> Result<AuditStream, ClientError> {
        let filters = AuditQuery { from: None, to: None, after: None, limit: None, ..query.clone() }.to_query_string();
        let separator = if filters.is_empty() { "" } else { "&" };
        let path = format!("/v1/audit/stream?from_height={from_height}{separator}{filters}");
        let request = self.signed_get_request(signer, &path).await?.timeout(Duration::from_secs(365 * 24 * 3600));
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(Self::parse::<ErrorBody>(response).await.err().unwrap_or(ClientError::BadUrl(path)));
        }
        Ok(AuditStream { response, buffer: String::new(), pending: std::collections::VecDeque::new() })
    }

    /// The consortium's member organisations.
    pub async fn organisations(&self) -> Result<Vec<panacea_contracts::membership::Organisation>, ClientError> {
        Self::parse(self.http.get(format!("{}/v1/organisations", self.base)).send().await?).await
    }

    /// A registered identity (for member organisations' signers).
    pub async fn identity(
        &self,
        signer: &RequestSigner,
        id: &panacea_contracts::ids::IdentityId,
    ) -> Result<panacea_contracts::identity::Identity, ClientError> {
        self.signed_get(signer, &format!("/v1/identities/{id}")).await
    }

    /// The requests this node's API refused, oldest first (health authorities' auditors).
    pub async fn refusals(
        &self,
        signer: &RequestSigner,
        after: Option<u64>,
        limit: usize,
    ) -> Result<RefusalPage, ClientError> {
        let mut path = format!("/v1/refusals?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        self.signed_get(signer, &path).await
    }

    /// Every version of a consent, oldest first.
    pub async fn consent_history(&self, signer: &RequestSigner, id: &ConsentId) -> Result<Vec<Consent>, ClientError> {
        self.signed_get(signer, &format!("/v1/consents/{id}")).await
    }

    /// An access decision, its reason code and the audit event it logged.
    pub async fn decision(
        &self,
        signer: &RequestSigner,
        id: &DecisionId,
    ) -> Result<crate::types::DecisionView, ClientError> {
        self.signed_get(signer, &format!("/v1/decisions/{id}")).await
    }

    /// An organisation's risk: parameters, latest assessments with attestations, devices
    /// in quarantine (the organisation's own operators and staff, and auditors).
    pub async fn risk(
        &self,
        signer: &RequestSigner,
        org: &panacea_contracts::ids::OrgId,
    ) -> Result<crate::types::RiskView, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/risk", org.as_str())).await
    }

    /// An organisation's risk parameters (any signed member: workers that attest apply them).
    pub async fn risk_parameters(
        &self,
        signer: &RequestSigner,
        org: &panacea_contracts::ids::OrgId,
    ) -> Result<Option<panacea_contracts::risk::RiskParameters>, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/risk/parameters", org.as_str())).await
    }

    /// Decides a hypothetical request against `patient`'s consents as they stood at
    /// `query.at` (default now), recording nothing: for privacy officers, auditors and the
    /// patient.
    pub async fn evaluate(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
        query: &crate::types::EvaluateQuery,
    ) -> Result<crate::types::EvaluationView, ClientError> {
        let unsafe_text =
            |t: &str| !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        let texts = [Some(&query.purpose), Some(&query.data_class), query.role.as_ref(), query.resource_type.as_ref()];
        if texts.into_iter().flatten().any(|t| unsafe_text(t)) {
            return Err(ClientError::Local("codes are letters, digits, '-', '_' or '.'".into()));
        }
        self.signed_get(signer, &format!("/v1/patients/{patient}/evaluate?{}", query.to_query_string())).await
    }

    /// The reference the node's organisation derives for a patient named as in its records
    /// (`Patient/<id>`, or a business identifier), with the pseudonymisation key the node
    /// holds. Only for the organisation's own operators and staff. To keep the key on this
    /// machine instead, use [`crate::Pseudonymiser`].
    pub async fn pseudonym(
        &self,
        signer: &RequestSigner,
        patient: &crate::types::PseudonymRequest,
    ) -> Result<PatientRef, ClientError> {
        let answer: crate::types::PseudonymView = self.signed_post_json(signer, "/v1/pseudonyms", patient).await?;
        Ok(answer.patient_ref)
    }

    /// A record (or its absence) with the proof and certified header that tie it to a
    /// state root, unchecked. Prefer [`Client::verified_record`], which checks it.
    pub async fn proof(&self, signer: &RequestSigner, record: &ProvableRecord) -> Result<ProofView, ClientError> {
        let (kind, id) = record.path();
        self.signed_get(signer, &format!("/v1/proofs/{kind}/{id}")).await
    }

    /// A record (or its absence), proved: the answer is checked against `anchor` (the
    /// validator set from genesis), so the node that served it need not be trusted.
    pub async fn verified_record(
        &self,
        signer: &RequestSigner,
        anchor: &TrustAnchor,
        record: &ProvableRecord,
    ) -> Result<VerifiedState, ClientError> {
        let view = self.proof(signer, record).await?;
        anchor.verify_proof(&view, now()).map_err(ClientError::Unverified)
    }

    /// Like [`Client::verified_record`], but proved against the state of `height` or
    /// later: what a client wants after its own transaction committed at `height`. A
    /// proof's state trails the tip by a couple of blocks (the attesting block must be
    /// certified), so this asks again every 100 ms until `timeout`.
    pub async fn verified_record_since(
        &self,
        signer: &RequestSigner,
        anchor: &TrustAnchor,
        record: &ProvableRecord,
        height: Height,
        timeout: Duration,
    ) -> Result<VerifiedState, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let verified = self.verified_record(signer, anchor, record).await?;
            if verified.height >= height {
                return Ok(verified);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Unverified(VerifyError::Stale { proved: verified.height, wanted: height }));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stores a document in the custodian's node (signed by an admin or identity of that
    /// node's organisation); returns its commitment, to register on chain with
    /// `DocumentCall::Register`.
    pub async fn upload_document(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
        data_class: panacea_contracts::codes::DataClass,
        content: Vec<u8>,
    ) -> Result<panacea_contracts::ids::DocumentHash, ClientError> {
        let sha256 = Hash::digest(&content);
        self.upload(signer, patient, data_class, sha256, reqwest::Body::from(content)).await
    }

    /// Stores the document in file `path` at this node, streaming it (a large imaging study
    /// never sits in memory); as [`Client::upload_document`].
    pub async fn upload_document_file(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
        data_class: panacea_contracts::codes::DataClass,
        path: &std::path::Path,
    ) -> Result<panacea_contracts::ids::DocumentHash, ClientError> {
        let reading = |e: std::io::Error| ClientError::Local(format!("reading {}: {e}", path.display()));
        // The signature covers the content's hash, so the file is read twice: once to hash
        // it (in bounded pieces), once to send it. A file that changes in between is
        // refused by the node (`content_mismatch`).
        let sha256 = {
            use sha2::Digest as _;
            use tokio::io::AsyncReadExt as _;
            let mut file = tokio::fs::File::open(path).await.map_err(reading)?;
            let mut hasher = sha2::Sha256::new();
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buffer).await.map_err(reading)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            Hash(hasher.finalize().into())
        };
        let file = tokio::fs::File::open(path).await.map_err(reading)?;
        self.upload(signer, patient, data_class, sha256, reqwest::Body::from(file)).await
    }

    async fn upload(
        &self,
        signer: &RequestSigner,
        patient: &PatientRef,
        data_class: panacea_contracts::codes::DataClass,
        sha256: Hash,
        body: reqwest::Body,
    ) -> Result<panacea_contracts::ids::DocumentHash, ClientError> {
        let path = format!("/v1/documents?patient={patient}&data_class={}", data_class.code());
        let audience = self.node_id().await?;
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(signed::HEADER_CONTENT_SHA256, sha256.to_string())
            .body(body);
        for (name, value) in signer.headers("POST", &path, &sha256, &audience)? {
            request = request.header(name, value);
        }
        let answer: crate::types::StoredDocumentView = Self::parse(request.send().await?).await?;
        Ok(answer.document)
    }

    /// The deliveries the requesting node holds for the signer (JSON objects with
    /// `decision`, `document`, `bytes`, `chunks`, `received`, `state`).
    pub async fn deliveries(&self, signer: &RequestSigner) -> Result<Vec<crate::types::DeliveryView>, ClientError> {
        self.signed_get(signer, "/v1/deliveries").await
    }

    /// One delivery the requesting node holds for the signer: its progress and state.
    pub async fn delivery(
        &self,
        signer: &RequestSigner,
        decision: &DecisionId,
        document: &panacea_contracts::ids::DocumentHash,
    ) -> Result<crate::types::DeliveryView, ClientError> {
        self.signed_get(signer, &format!("/v1/deliveries/{decision}/{document}")).await
    }

    /// Downloads a delivered document, opens it with the signer's key (the requesting
    /// identity's: nobody else can) and checks it against its on-chain commitment.
    /// Chunks are fetched, opened and hashed one at a time into `out`.
    pub async fn download_delivery(
        &self,
        signer: &RequestSigner,
        key: &panacea_primitives::Keypair,
        decision: &DecisionId,
        document: &panacea_contracts::ids::DocumentHash,
        out: &mut impl std::io::Write,
    ) -> Result<u64, ClientError> {
        use crate::sharing::{ChunkContext, Commitment, open_chunk, open_envelope};
        let bad = |e: crate::sharing::SharingError| ClientError::Unverified(VerifyError::Malformed(e.to_string()));
        let manifest: crate::types::DeliveryView =
            self.signed_get(signer, &format!("/v1/deliveries/{decision}/{document}")).await?;
        let (chunks, received) = (manifest.chunks, manifest.received);
        let Some(envelope) = manifest.envelope.filter(|_| chunks > 0 && received >= chunks) else {
            return Err(ClientError::Unverified(VerifyError::Malformed("the delivery is not complete yet".into())));
        };
        let (delivery_key, salt) = open_envelope(key, decision, document, &envelope).map_err(bad)?;
        let context = ChunkContext::delivery(decision, document, chunks);
        let mut commitment = Commitment::new(&salt);
        let mut written = 0u64;
        for index in 0..chunks {
            let path = format!("/v1/deliveries/{decision}/{document}/chunks/{index}");
            let response = self.signed_get_request(signer, &path).await?.send().await?;
            if !response.status().is_success() {
                return Self::parse(response).await;
            }
            let sealed = response.bytes().await?;
            let plain = open_chunk(&delivery_key, &context, index, &sealed).map_err(bad)?;
            commitment.update(&plain);
            out.write_all(&plain)
                .map_err(|e| ClientError::Unverified(VerifyError::Malformed(format!("writing the document: {e}"))))?;
            written += plain.len() as u64;
        }
        if commitment.finish() != *document {
            return Err(bad(crate::sharing::SharingError::WrongContent));
        }
        Ok(written)
    }

    /// [`Client::download_delivery`] into the file `path`, which appears only once the
    /// whole document has arrived and matched its commitment: the chunks go to a
    /// temporary file beside it (synced, then renamed over `path`), deleted on any error,
    /// so a reader never sees a partial or unverified document under `path`.
    pub async fn download_delivery_to_file(
        &self,
        signer: &RequestSigner,
        key: &panacea_primitives::Keypair,
        decision: &DecisionId,
        document: &panacea_contracts::ids::DocumentHash,
        path: &std::path::Path,
    ) -> Result<u64, ClientError> {
        let local = |what: &str, e: std::io::Error| ClientError::Local(format!("{what} {}: {e}", path.display()));
        let name = path.file_name().ok_or_else(|| ClientError::Local(format!("{} names no file", path.display())))?;
        let mut partial = name.to_os_string();
        partial.push(format!(".partial-{document}"));
        let temporary = path.with_file_name(partial);
        let file = std::fs::File::create(&temporary).map_err(|e| local("creating a temporary file for", e))?;
        let mut out = std::io::BufWriter::new(file);
        let written = async {
            let written = self.download_delivery(signer, key, decision, document, &mut out).await?;
            let file = out.into_inner().map_err(|e| local("writing", e.into_error()))?;
            file.sync_all().map_err(|e| local("syncing", e))?;
            std::fs::rename(&temporary, path).map_err(|e| local("moving the document to", e))?;
            Ok(written)
        }
        .await;
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }

    /// How the consortium governs itself now: rules, parameters, epoch, pending set and
    /// open proposals (public).
    pub async fn governance(&self) -> Result<crate::types::GovernanceView, ClientError> {
        Self::parse(self.http.get(format!("{}/v1/governance", self.base)).send().await?).await
    }

    /// Governance proposals, newest first (members and auditors): only open ones with `open`.
    pub async fn proposals(
        &self,
        signer: &RequestSigner,
        open: bool,
        limit: usize,
    ) -> Result<Vec<panacea_contracts::governance::Proposal>, ClientError> {
        self.signed_get(signer, &format!("/v1/governance/proposals?open={open}&limit={limit}")).await
    }

    /// One governance proposal (members and auditors).
    pub async fn proposal(
        &self,
        signer: &RequestSigner,
        id: &panacea_contracts::governance::ProposalId,
    ) -> Result<panacea_contracts::governance::Proposal, ClientError> {
        self.signed_get(signer, &format!("/v1/governance/proposals/{id}")).await
    }

    /// The proofs of the validator-set changes from epoch `from` (public), decoded: follow
    /// them with [`crate::verify::TrustAnchor::follow_all`].
    pub async fn epoch_changes(&self, from: u64) -> Result<Vec<crate::verify::EpochChange>, ClientError> {
        let view: crate::types::EpochChangesView =
            Self::parse(self.http.get(format!("{}/v1/governance/epochs?from={from}", self.base)).send().await?).await?;
        view.changes
            .iter()
            .map(|hex| crate::verify::EpochChange::from_hex(hex).map_err(ClientError::Unverified))
            .collect()
    }

    /// Proved misbehaviour of an organisation's validator (members and auditors).
    pub async fn misbehaviour(
        &self,
        signer: &RequestSigner,
        org: &panacea_contracts::ids::OrgId,
    ) -> Result<Vec<panacea_contracts::governance::Misbehaviour>, ClientError> {
        self.signed_get(signer, &format!("/v1/organisations/{}/misbehaviour", org.as_str())).await
    }

    /// The validator set of the current epoch.
    pub async fn validators(&self) -> Result<ValidatorSetView, ClientError> {
        Self::parse(self.http.get(format!("{}/v1/validators", self.base)).send().await?).await
    }

    /// The node's status.
    pub async fn status(&self) -> Result<StatusView, ClientError> {
        Self::parse(self.http.get(format!("{}/v1/status", self.base)).send().await?).await
    }

    /// The node's Prometheus metrics, as text.
    pub async fn metrics(&self) -> Result<String, ClientError> {
        let response = self.http.get(format!("{}/metrics", self.base)).send().await?;
        if !response.status().is_success() {
            return Self::parse(response).await;
        }
        Ok(response.text().await?)
    }
}

/// Largest Server-Sent Events frame buffered, in bytes.
const STREAM_FRAME_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Committed audit events as they arrive (see [`Client::audit_stream`]).
#[derive(Debug)]
pub struct AuditStream {
    response: reqwest::Response,
    buffer: String,
    pending: std::collections::VecDeque<panacea_contracts::audit::AuditEvent>,
}

impl AuditStream {
    /// The next event; `None` when the node closed the stream (reconnect with the height
    /// of the last event seen to resume).
    pub async fn next(&mut self) -> Option<Result<panacea_contracts::audit::AuditEvent, ClientError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_string());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                if name.as_deref() == Some("audit") {
                    match serde_json::from_str(&data) {
                        Ok(event) => self.pending.push_back(event),
                        Err(e) => {
                            let body = ErrorBody { code: "bad_event".into(), message: e.to_string() };
                            return Some(Err(ClientError::Api { status: 200, body, retry_after: None }));
                        }
                    }
                }
            }
            if !self.pending.is_empty() {
                continue;
            }
            if self.buffer.len() > STREAM_FRAME_BYTES_MAX {
                let body = ErrorBody { code: "bad_event".into(), message: "an event frame exceeds 4 MiB".into() };
                return Some(Err(ClientError::Api { status: 200, body, retry_after: None }));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) => return None,
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

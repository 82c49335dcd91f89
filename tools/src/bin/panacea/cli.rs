//! The command line's arguments: every command, subcommand and flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use panacea_contracts::codes::{DataClass, Purpose, ResourceType, StaffRole};

use crate::output::Failure;

#[derive(Parser, Debug)]
#[command(name = "panacea", version, about = "Record consents, request access and audit a Panacea consortium")]
pub(crate) struct Cli {
    /// The node's API.
    #[arg(long, global = true, env = "PANACEA_NODE", default_value = "http://127.0.0.1:8645")]
    pub(crate) node: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// How long to wait for a transaction to commit, in seconds.
    #[arg(long, global = true, default_value_t = 30)]
    pub(crate) wait: u64,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The node's view of the chain.
    Status,
    /// A committed block and its certificate (its transactions too, signed by an
    /// organisation's operator or an auditor).
    Block {
        /// A height, or `latest`.
        height: String,
        /// Sign the request with this key file (an admin key, or an auditor's).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// A transaction's status, and its receipt when signed by a key that may read it.
    Tx {
        /// The transaction id (64 hex digits).
        id: String,
        /// Sign the request with this key file (the transaction's signer, an admin key,
        /// an auditor's).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// The nonce a key's next transaction must carry.
    Nonce {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Staff, devices and services of an organisation (signed by an organisation admin).
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Patients' consents.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Patients' own signing keys, bound by a custodian of the patient.
    #[command(subcommand)]
    PatientKey(PatientKeyCommand),
    /// Access to a patient's data.
    #[command(subcommand)]
    Access(AccessCommand),
    /// Access decisions.
    #[command(subcommand)]
    Decision(DecisionCommand),
    /// Patients' pseudonymous references, derived at the custodian with its secret key.
    #[command(subcommand)]
    Pseudonym(PseudonymCommand),
    /// Organisations' dynamic risk: assessments, attestations, quarantined devices.
    #[command(subcommand)]
    Risk(RiskCommand),
    /// The audit trail (signed reads: organisations see their own, health authorities all).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Member organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Consortium governance: proposals, votes, epochs, misbehaviour.
    #[command(subcommand)]
    Gov(crate::gov::GovCommand),
    /// Medical products (security by design): SBOMs, assessors' attestations, revocations.
    #[command(subcommand)]
    Product(crate::product::ProductCommand),
    /// Security governance: NIST CSF 2.0 self-assessments and the regional view.
    #[command(subcommand)]
    SelfAssessment(crate::assessment::AssessmentCommand),
    /// Expected machine-to-machine connections: the allow-list and connection checks.
    #[command(subcommand)]
    Connection(crate::connection::ConnectionCommand),
    /// Training: courses, policy, completion credentials.
    #[command(subcommand)]
    Training(crate::training::TrainingCommand),
    /// Nudges for staff (at their organisation's node) and acknowledgement rates.
    #[command(subcommand)]
    Nudge(crate::nudge::NudgeCommand),
    /// A record proved against the validator set from genesis, not the node's word.
    Proof {
        #[command(flatten)]
        signer: Signer,
        /// The chain's genesis document (the trust anchor).
        #[arg(long)]
        genesis: PathBuf,
        /// organisation, identity, consent, decision, patient-consents, product (firmware hash),
        /// self-assessment (ORG:VERSION), connection-rule or credential (HOLDER:COURSE).
        #[arg(value_parser = ["organisation", "identity", "consent", "decision", "patient-consents", "product", "self-assessment", "connection-rule", "credential"])]
        kind: String,
        /// The organisation id, or the record's 64-hex-digit id or patient reference.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum OrgCommand {
    /// Every organisation, its kind, status and keys (public).
    List,
    /// One organisation, proved against the validator set from genesis.
    Show {
        #[command(flatten)]
        signer: Signer,
        /// The chain's genesis document (the trust anchor).
        #[arg(long)]
        genesis: PathBuf,
        /// The organisation id.
        org: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AuditCommand {
    /// Audit events, in log order, with filters.
    Events {
        #[command(flatten)]
        signer: Signer,
        /// Events about this patient (64 hex digits).
        #[arg(long)]
        patient: Option<String>,
        /// Events with an agent of this organisation.
        #[arg(long)]
        org: Option<String>,
        /// Continue after this sequence number (the previous page's `next`).
        #[arg(long)]
        after: Option<u64>,
        /// Most events.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output: `table`, `fhir` (a FHIR R4 AuditEvent Bundle) or `csv`.
        #[arg(long, default_value = "table", value_parser = ["table", "fhir", "csv"])]
        format: String,
    },
    /// A patient's accounting of disclosures (for the patient and health authorities).
    Accounting {
        #[command(flatten)]
        signer: Signer,
        /// The patient (64 hex digits).
        #[arg(long)]
        patient: String,
    },
    /// A patient's consents the signer may see.
    Consents {
        #[command(flatten)]
        signer: Signer,
        /// The patient (64 hex digits).
        #[arg(long)]
        patient: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeysCommand {
    /// Create a new key file (mode 0600).
    New {
        /// Where to write it; refuses to overwrite.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key file's public key.
    Show {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Write a key file's key to a new keystore encrypted under a passphrase (scrypt,
    /// XChaCha20-Poly1305).
    Export {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        /// The keystore to write; refuses to overwrite.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// Write a keystore's key to a new plain key file (mode 0600).
    Import {
        /// The encrypted keystore.
        #[arg(long)]
        keystore: PathBuf,
        /// The key file to write; refuses to overwrite.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        passphrase: Passphrase,
    },
}

#[derive(Args, Debug)]
pub(crate) struct Passphrase {
    /// A file whose first line is the passphrase; without it, the PANACEA_PASSPHRASE
    /// environment variable.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
}

impl Passphrase {
    pub(crate) fn read(&self) -> Result<String, Failure> {
        match &self.passphrase_file {
            Some(path) => {
                let meta = std::fs::metadata(path)
                    .map_err(|e| Failure::local(format!("cannot read {}: {e}", path.display())))?;
                if meta.len() > 4096 {
                    return Err(Failure::local(format!("{} is too large for a passphrase file", path.display())));
                }
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Failure::local(format!("cannot read {}: {e}", path.display())))?;
                Ok(text.lines().next().unwrap_or("").to_string())
            }
            None => std::env::var("PANACEA_PASSPHRASE").map_err(|_| Failure {
                code: 2,
                message: "give the passphrase with --passphrase-file or the PANACEA_PASSPHRASE variable".into(),
            }),
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct Signer {
    /// The signer's key file.
    #[arg(long)]
    pub(crate) key: PathBuf,
}

#[derive(Subcommand, Debug)]
pub(crate) enum IdentityCommand {
    /// Register a staff member's key for the admin's organisation.
    RegisterStaff {
        #[command(flatten)]
        signer: Signer,
        /// The staff member's public key (64 hex digits).
        #[arg(long)]
        public_key: String,
        /// physician, nurse, pharmacist, administrative, ... (see docs/consent-and-access.md).
        #[arg(long, value_parser = parse_code::<StaffRole>)]
        role: StaffRole,
    },
    /// Register a software service's key (for example a node's sharing identity, shown by
    /// `panacea-node show-node-id`) for the admin's organisation.
    RegisterService {
        #[command(flatten)]
        signer: Signer,
        /// The service's public key (64 hex digits).
        #[arg(long)]
        public_key: String,
        /// The service's name.
        #[arg(long, default_value = "sharing worker")]
        name: String,
    },
    /// Register a medical IoT device's key for the admin's organisation, with the hashes of
    /// its firmware and software bill of materials.
    RegisterDevice {
        #[command(flatten)]
        signer: Signer,
        /// The device's public key (64 hex digits).
        #[arg(long)]
        public_key: String,
        /// Device type (for example `infusion-pump`).
        #[arg(long)]
        device_type: String,
        /// Manufacturer.
        #[arg(long)]
        manufacturer: String,
        /// Model.
        #[arg(long)]
        model: String,
        /// SHA-256 of the installed firmware (hex).
        #[arg(long)]
        firmware_hash: String,
        /// SHA-256 of the device's software bill of materials (hex).
        #[arg(long)]
        sbom_hash: String,
    },
    /// Suspend an identity from the next block.
    Suspend(IdentityTarget),
    /// Lift a suspension from the next block.
    Reactivate(IdentityTarget),
    /// Revoke an identity for good.
    Revoke(IdentityTarget),
    /// Replace an identity's key (signed by an admin or the identity itself).
    RotateKey {
        #[command(flatten)]
        target: IdentityTarget,
        /// The new public key (64 hex digits).
        #[arg(long)]
        new_public_key: String,
    },
    /// Show an identity.
    Show(IdentityTarget),
}

#[derive(Args, Debug)]
pub(crate) struct IdentityTarget {
    #[command(flatten)]
    pub(crate) signer: Signer,
    /// The identity id (64 hex digits).
    #[arg(long)]
    pub(crate) identity: String,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ConsentCommand {
    /// Record a consent from a FHIR R4 Consent resource (JSON).
    Record {
        #[command(flatten)]
        signer: Signer,
        /// The Consent resource.
        #[arg(long)]
        fhir: PathBuf,
        /// The custodian's pseudonymisation key file: derives the patient's reference here
        /// from `Patient/<id>` or a business identifier in the resource.
        #[arg(long)]
        pseudonym_key: Option<PathBuf>,
        /// SHA-256 of the signed form (hex), when a custodian records it; overrides the
        /// resource's form-sha256 extension.
        #[arg(long)]
        form_hash: Option<String>,
    },
    /// Revoke a consent.
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// The consent id.
        #[arg(long)]
        consent: String,
        /// SHA-256 of the signed revocation form (hex), when a custodian records it.
        #[arg(long)]
        form_hash: Option<String>,
    },
    /// A patient's consents the signer may see (latest versions).
    List {
        #[command(flatten)]
        signer: Signer,
        /// The patient: 64 hex digits, or with --pseudonym-key Patient/<id> or
        /// <system>|<value>.
        #[arg(long)]
        patient: String,
        /// The custodian's pseudonymisation key file.
        #[arg(long)]
        pseudonym_key: Option<PathBuf>,
    },
    /// Decide a hypothetical request against a patient's consents as they stood at a
    /// time, recording nothing (for privacy officers, auditors and the patient). Exit 0
    /// for permit, 7 for deny.
    Evaluate(EvaluateArgs),
    /// Every version of a consent, oldest first.
    History {
        #[command(flatten)]
        signer: Signer,
        /// The consent id.
        #[arg(long)]
        consent: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum PatientKeyCommand {
    /// Bind a patient's key to their reference: a physician, nurse or administrative staff
    /// member of a custodian of the patient, after checking the patient's identity.
    Bind {
        #[command(flatten)]
        signer: Signer,
        /// The patient: 64 hex digits, or with --pseudonym-key Patient/<id> or
        /// <system>|<value>.
        #[arg(long)]
        patient: String,
        /// The custodian's pseudonymisation key file.
        #[arg(long)]
        pseudonym_key: Option<PathBuf>,
        /// The patient's public key (64 hex digits), never used on the chain before.
        #[arg(long)]
        public_key: String,
        /// SHA-256 of the identity-verification form (hex), kept off chain.
        #[arg(long)]
        form_hash: String,
    },
    /// Replace a patient key in force by a fresh one: the patient signing with that key, or
    /// staff of the custodian that bound it, with a new identity-verification form.
    Replace {
        #[command(flatten)]
        signer: Signer,
        /// The key in force (64 hex digits).
        #[arg(long)]
        public_key: String,
        /// The fresh key (64 hex digits).
        #[arg(long)]
        new_public_key: String,
        /// SHA-256 of the new identity-verification form (hex), when staff replace the key.
        #[arg(long)]
        form_hash: Option<String>,
    },
    /// Revoke a patient key for good: the patient (with any of their keys), or staff of a
    /// custodian of the patient, with the record of the request.
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// The key (64 hex digits).
        #[arg(long)]
        public_key: String,
        /// SHA-256 of the signed request or incident record (hex), when staff revoke the key.
        #[arg(long)]
        form_hash: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AccessCommand {
    /// Ask for a patient's data held by another organisation.
    Request {
        #[command(flatten)]
        signer: Signer,
        /// The patient's pseudonymous reference (64 hex digits).
        #[arg(long)]
        patient: String,
        /// allergies, medications, problems, lab-results, imaging, ...
        #[arg(long, value_parser = parse_code::<DataClass>)]
        data_class: DataClass,
        /// The FHIR resource type asked for (Observation, DiagnosticReport, ImagingStudy,
        /// ...); it must be able to hold the data class.
        #[arg(long, value_parser = parse_code::<ResourceType>)]
        resource_type: Option<ResourceType>,
        /// TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, ...
        #[arg(long, value_parser = parse_code::<Purpose>)]
        purpose: Purpose,
        /// The organisation holding the data.
        #[arg(long)]
        custodian: String,
        /// The data's own date (FHIR date or dateTime; a date is the start of that UTC
        /// day). Without it, permits limited by a data period do not apply and denials
        /// limited by one do.
        #[arg(long)]
        data_date: Option<String>,
        /// SHA-256 of the written break-glass justification (hex), kept off chain.
        #[arg(long)]
        justification: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum DecisionCommand {
    /// An access decision: verdict, reason, deciding consents and its audit event. Exit 0
    /// for permit or break-glass, 7 for deny.
    Show {
        #[command(flatten)]
        signer: Signer,
        /// The decision id (the request's transaction id).
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum RiskCommand {
    /// Assess an inventory folder here (nothing is sent): the risk table, the devices at
    /// high risk, the most likely attack paths, and the output hash a submission commits.
    Assess {
        /// The folder with the ten input documents (docs/risk.md).
        dir: PathBuf,
        /// Apply this organisation's on-chain parameters (needs --key).
        #[arg(long, requires = "key")]
        org: Option<String>,
        /// A signer's key file, to read the parameters.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Assess an inventory folder and submit the assessment on chain (input and output
    /// hashes, the risk table, the devices at high risk that have chain identities), signed
    /// by the organisation's admin or risk service.
    Submit {
        #[command(flatten)]
        signer: Signer,
        /// The folder.
        dir: PathBuf,
        /// The organisation assessed (its on-chain parameters apply).
        #[arg(long)]
        org: String,
        /// The survey's salt file (created on first use, mode 0600).
        #[arg(long)]
        survey_salt: PathBuf,
    },
    /// What-if: the single CVE fixes and firewall changes that lower a service level's
    /// likelihood most for an attacker, each with the new likelihood and risk level.
    WhatIf {
        /// The folder.
        dir: PathBuf,
        /// The service level (an id of the business model).
        #[arg(long)]
        service_level: String,
        /// naive, advanced or professional.
        #[arg(long, default_value = "professional", value_parser = ["naive", "advanced", "professional"])]
        attacker: String,
        /// How many remedies to list.
        #[arg(long, default_value_t = 5)]
        max: usize,
    },
    /// Record the mitigation of a quarantined device (an admin of its organisation); the
    /// quarantine ends when a later assessment no longer finds it at high risk.
    Mitigate {
        #[command(flatten)]
        signer: Signer,
        /// The device identity (64 hex digits).
        #[arg(long)]
        device: String,
        /// SHA-256 of the mitigation record (hex), kept off chain.
        #[arg(long)]
        record: String,
    },
    /// Assess another organisation's inventory (shared with you for the purpose) and attest
    /// its assessment if your output hash is the same.
    Attest {
        #[command(flatten)]
        signer: Signer,
        /// The folder.
        dir: PathBuf,
        /// The organisation assessed (its on-chain parameters apply).
        #[arg(long)]
        org: String,
        /// The assessment's id (its transaction id).
        #[arg(long)]
        assessment: String,
        /// The assessment's `observed_until` (the audit position of the unexpected
        /// connections it accounts for; the submitting organisation, or an auditor with
        /// `panacea risk show`, reads it). 0: none.
        #[arg(long, default_value_t = 0)]
        observed_until: u64,
    },
    /// An organisation's risk on chain: parameters, latest assessments (risk table,
    /// attestations), devices in quarantine (its own operators and staff, and auditors).
    Show {
        #[command(flatten)]
        signer: Signer,
        /// The organisation.
        org: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum PseudonymCommand {
    /// Create the organisation's pseudonymisation key (mode 0600; never overwrites). Back
    /// it up offline: without it the organisation cannot find its patients' references.
    NewKey {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the reference of a patient named as in the custodian's records.
    Derive {
        /// The pseudonymisation key file.
        #[arg(long)]
        pseudonym_key: PathBuf,
        /// Patient/<FHIR id>, or <identifier system>|<identifier value>.
        patient: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct EvaluateArgs {
    #[command(flatten)]
    pub(crate) signer: Signer,
    /// The patient: 64 hex digits, or with --pseudonym-key Patient/<id> or <system>|<value>.
    #[arg(long)]
    pub(crate) patient: String,
    /// The custodian's pseudonymisation key file.
    #[arg(long)]
    pub(crate) pseudonym_key: Option<PathBuf>,
    /// The requesting identity (64 hex digits); or give --org and --role.
    #[arg(long, conflicts_with_all = ["org", "role"])]
    pub(crate) requester: Option<String>,
    /// The requesting organisation.
    #[arg(long, required_unless_present = "requester")]
    pub(crate) org: Option<String>,
    /// The requester's staff role (physician, nurse, ...).
    #[arg(long, value_parser = parse_code::<StaffRole>)]
    pub(crate) role: Option<StaffRole>,
    /// TREAT, ETREAT, HRESCH, ...
    #[arg(long, value_parser = parse_code::<Purpose>)]
    pub(crate) purpose: Purpose,
    /// lab-results, imaging, mental-health, ...
    #[arg(long, value_parser = parse_code::<DataClass>)]
    pub(crate) data_class: DataClass,
    /// The FHIR resource type.
    #[arg(long, value_parser = parse_code::<ResourceType>)]
    pub(crate) resource_type: Option<ResourceType>,
    /// The organisation holding the data.
    #[arg(long)]
    pub(crate) custodian: String,
    /// The data's own date (FHIR date or dateTime).
    #[arg(long)]
    pub(crate) data_date: Option<String>,
    /// When to evaluate (FHIR dateTime; default now): the consents as they stood then.
    #[arg(long)]
    pub(crate) at: Option<String>,
}

/// Parses one of the contracts' coded values by its code, listing the valid ones.
pub(crate) fn parse_code<T: CodeEnum>(text: &str) -> Result<T, String> {
    T::parse(text).ok_or_else(|| format!("{text:?} is not one of: {}", T::codes().join(", ")))
}

pub(crate) trait CodeEnum: Sized + Clone + Send + Sync + 'static {
    fn parse(code: &str) -> Option<Self>;
    fn codes() -> Vec<&'static str>;
}

macro_rules! code_enum {
    ($($t:ty),*) => {$(
        impl CodeEnum for $t {
            fn parse(code: &str) -> Option<Self> {
                <$t>::from_code(code)
            }
            fn codes() -> Vec<&'static str> {
                <$t>::ALL.iter().map(|v| v.code()).collect()
            }
        }
    )*};
}
code_enum!(StaffRole, DataClass, Purpose, ResourceType, panacea_contracts::codes::OrgKind);

/// What a command module's `run` leaves to `main`: a call to sign and submit, or done.
#[allow(clippy::large_enum_variant, reason = "one per run of the command")]
pub(crate) enum Step {
    /// Sign and submit.
    Submit(Signer, panacea_contracts::Call),
    /// Printed; exit with this code.
    Done(u8),
}

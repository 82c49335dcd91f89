//! `panacea connection`: expected machine-to-machine connections. Admins allow and remove
//! them; a gateway checks a connection (the source machine signs the gateway's nonce) and
//! reports an unexpected one.

use clap::Subcommand;
use panacea_client_sdk::Client;
use panacea_contracts::Call;
use panacea_contracts::connection::ConnectionCall;
use panacea_contracts::ids::{IdentityId, OrgId};
use panacea_primitives::Timestamp;

use crate::cli::{Signer, Step};
use crate::output::{Failure, print_json, say};

/// Exit code of `check` for an unexpected connection.
const UNEXPECTED: u8 = 4;

/// Connection commands.
#[derive(Subcommand, Debug)]
pub(crate) enum ConnectionCommand {
    /// Allow (or renew) a connection from one of your organisation's devices or services.
    Allow {
        #[command(flatten)]
        signer: Signer,
        /// The source identity.
        #[arg(long)]
        source: String,
        /// The destination identity.
        #[arg(long)]
        destination: String,
        /// The protocol (for example hl7-mllp, dicom, https).
        #[arg(long)]
        protocol: String,
        /// What for (for example lab-results-upload).
        #[arg(long)]
        purpose: String,
        /// Days it stays allowed (at most three years).
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// Remove a rule.
    Remove {
        #[command(flatten)]
        signer: Signer,
        /// The rule id.
        rule: String,
    },
    /// The connections an organisation allows.
    List {
        #[command(flatten)]
        signer: Signer,
        /// The organisation.
        org: String,
    },
    /// Check a connection against the chain: the source machine's key signs a fresh nonce,
    /// the gateway's key asks the node. Exits 0 if expected, 4 if not.
    Check {
        #[command(flatten)]
        signer: Signer,
        /// The source machine's key file (what the machine itself would sign with).
        #[arg(long)]
        source_key: std::path::PathBuf,
        /// The source identity.
        #[arg(long)]
        source: String,
        /// The destination identity.
        #[arg(long)]
        destination: String,
        /// The protocol.
        #[arg(long)]
        protocol: String,
    },
    /// Report a connection attempt no rule allowed (a gateway machine of the destination's organisation).
    Report {
        #[command(flatten)]
        signer: Signer,
        /// The identity that tried, if known.
        #[arg(long)]
        source: Option<String>,
        /// The identity it tried to reach.
        #[arg(long)]
        destination: String,
        /// The protocol.
        #[arg(long)]
        protocol: String,
        /// The gateway's record of the attempt (file or SHA-256), kept off chain.
        #[arg(long)]
        record: String,
    },
}

fn identity(what: &str, text: &str) -> Result<IdentityId, Failure> {
    crate::hash(what, text).map(IdentityId)
}

/// Runs a connection command.
pub(crate) async fn run(client: &Client, command: ConnectionCommand, json: bool) -> Result<Step, Failure> {
    match command {
        ConnectionCommand::Allow { signer, source, destination, protocol, purpose, days } => {
            let expires =
                Timestamp(panacea_client_sdk::now().as_millis().saturating_add(days.saturating_mul(86_400_000)));
            let call = ConnectionCall::Allow {
                source: identity("--source", &source)?,
                destination: identity("--destination", &destination)?,
                protocol,
                purpose,
                expires,
            };
            Ok(Step::Submit(signer, Call::Connection(call)))
        }
        ConnectionCommand::Remove { signer, rule } => {
            Ok(Step::Submit(signer, Call::Connection(ConnectionCall::Remove { rule: crate::hash("the rule", &rule)? })))
        }
        ConnectionCommand::List { signer, org } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let view = client.connections(&signer, &OrgId::new(org).map_err(Failure::local)?).await?;
            if json {
                print_json(&view)?;
            } else {
                for rule in &view.rules {
                    say!(
                        "{} {} -> {} over {} for {} until {}",
                        rule.id,
                        rule.source,
                        rule.destination,
                        rule.protocol,
                        rule.purpose,
                        rule.expires
                    );
                }
                say!("{} rules", view.rules.len());
            }
            Ok(Step::Done(0))
        }
        ConnectionCommand::Check { signer, source_key, source, destination, protocol } => {
            let gateway = crate::request_signer(client, &signer.key).await?;
            let machine = crate::load_key(&source_key)?;
            let chain_id = panacea_primitives::ChainId::new(client.status().await?.chain_id).map_err(Failure::local)?;
            let mut nonce = [0u8; 32];
            getrandom::fill(&mut nonce).map_err(|e| Failure::local(format!("no randomness: {e}")))?;
            let (challenge, signature) = panacea_client_sdk::sign_challenge(
                &chain_id,
                &machine,
                identity("--source", &source)?,
                identity("--destination", &destination)?,
                &protocol,
                nonce,
            );
            let verdict = client.verify_connection(&gateway, &challenge, &signature).await?;
            if json {
                print_json(&verdict)?;
            } else if verdict.expected {
                let purpose = verdict.rule.as_ref().map(|r| r.purpose.as_str()).unwrap_or_default();
                say!("expected ({purpose})");
            } else {
                say!("UNEXPECTED: {}", verdict.reason.as_deref().unwrap_or("unknown"));
            }
            Ok(Step::Done(if verdict.expected { 0 } else { UNEXPECTED }))
        }
        ConnectionCommand::Report { signer, source, destination, protocol, record } => {
            let call = ConnectionCall::ReportUnexpected {
                source: source.as_deref().map(|s| identity("--source", s)).transpose()?,
                destination: identity("--destination", &destination)?,
                protocol,
                record: crate::product::hash_or_file("--record", &record)?,
            };
            Ok(Step::Submit(signer, Call::Connection(call)))
        }
    }
}

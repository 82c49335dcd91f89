//! `panacea gov`: consortium governance. Proposals and votes are transactions signed by a
//! member's admin key; reads are signed requests (members and auditors) or public
//! (`status`, `epochs`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use panacea_client_sdk::{Client, TrustAnchor};
use panacea_contracts::Call;
use panacea_contracts::codes::OrgKind;
use panacea_contracts::governance::{
    Action, ChainParameters, EvidenceId, GovernanceCall, NewMember, Proposal, ProposalId, ProposalStatus,
};
use panacea_contracts::ids::{DocumentHash, OrgId};
use panacea_primitives::Timestamp;

use crate::cli::{Signer, Step, parse_code};
use crate::output::{Failure, print_json, say};

/// Governance commands.
#[derive(Subcommand, Debug)]
pub(crate) enum GovCommand {
    /// Propose an action; the proposal counts as your (admin's) approval.
    Propose(Propose),
    /// Vote on a proposal as an admin of your organisation.
    Vote {
        #[command(flatten)]
        signer: Signer,
        /// The proposal id (its transaction's id).
        proposal: String,
        /// Approve it.
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        /// Reject it.
        #[arg(long)]
        reject: bool,
    },
    /// Proposals, newest first (members and auditors).
    List {
        #[command(flatten)]
        signer: Signer,
        /// Only open proposals.
        #[arg(long)]
        open: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One proposal with its ballots (members and auditors).
    Show {
        #[command(flatten)]
        signer: Signer,
        /// The proposal id.
        id: String,
    },
    /// The rules, parameters, epoch, pending validator set and open proposals (public).
    Status,
    /// Follow the validator-set changes from the genesis file, checking each against the
    /// set before it, and print each epoch's validators.
    Epochs {
        /// The chain's genesis file: the only thing trusted.
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Report consensus evidence on chain (the hex of the node's "a validator equivocated" log line).
    Report {
        #[command(flatten)]
        signer: Signer,
        /// The encoded evidence, hex.
        evidence: String,
    },
    /// Proved misbehaviour of an organisation's validator (members and auditors).
    Misbehaviour {
        #[command(flatten)]
        signer: Signer,
        /// The organisation.
        org: String,
    },
}

/// `panacea gov propose`.
#[derive(Args, Debug)]
pub(crate) struct Propose {
    #[command(flatten)]
    signer: Signer,
    /// Hours members have to vote.
    #[arg(long, default_value_t = 7 * 24)]
    voting_hours: u64,
    /// SHA-256 of the rationale document, kept off chain.
    #[arg(long)]
    rationale: Option<String>,
    /// A misbehaviour record the proposal relies on (repeatable).
    #[arg(long)]
    cite: Vec<String>,
    #[command(subcommand)]
    action: ProposeAction,
}

/// What a proposal does.
#[derive(Subcommand, Debug)]
pub(crate) enum ProposeAction {
    /// Admit a new member (its keys from `panacea-node show-node-id` and its admins).
    Admit {
        /// Its organisation id.
        #[arg(long)]
        id: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// hospital, health-authority or vendor.
        #[arg(long, value_parser = parse_code::<OrgKind>)]
        kind: OrgKind,
        /// Its validator's consensus key, hex (omit for a member without a validator).
        #[arg(long)]
        validator_key: Option<String>,
        /// Its node's network key, hex.
        #[arg(long)]
        network_key: Option<String>,
        /// An admin key, hex (repeatable).
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<String>,
        /// How many of its admins make its vote.
        #[arg(long, default_value_t = 1)]
        admin_threshold: u8,
    },
    /// Suspend a member.
    Suspend {
        /// The member.
        org: String,
    },
    /// Reinstate a suspended member.
    Reinstate {
        /// The member.
        org: String,
    },
    /// Remove a member for good.
    Remove {
        /// The member.
        org: String,
    },
    /// Set or remove a member's validator key.
    SetValidator {
        /// The member.
        org: String,
        /// The new key, hex.
        #[arg(long, conflicts_with = "none", required_unless_present = "none")]
        key: Option<String>,
        /// Remove its validator.
        #[arg(long)]
        none: bool,
    },
    /// Set or remove a member's node network key (its node moved to a new key).
    SetNetworkKey {
        /// The member.
        org: String,
        /// The new key, hex (`panacea-node show-node-id`).
        #[arg(long, conflicts_with = "none", required_unless_present = "none")]
        key: Option<String>,
        /// Remove its node.
        #[arg(long)]
        none: bool,
    },
    /// Replace a member's admin keys.
    SetAdmins {
        /// The member.
        org: String,
        /// An admin key, hex (repeatable).
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<String>,
        /// How many of them make its vote.
        #[arg(long, default_value_t = 1)]
        threshold: u8,
    },
    /// Set the chain parameters from a JSON file (see `panacea gov status --json`).
    SetParameters {
        /// The parameters, JSON.
        #[arg(long)]
        file: PathBuf,
    },
}

fn org(text: &str) -> Result<OrgId, Failure> {
    OrgId::new(text).map_err(Failure::local)
}

fn network_key(text: &str) -> Result<[u8; 32], Failure> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|e| Failure::local(format!("a network key is 64 hex digits: {e}")))?;
    Ok(bytes)
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp(millis)
}

/// Runs a `gov` command.
pub(crate) async fn run(client: &Client, command: GovCommand, json: bool) -> Result<Step, Failure> {
    match command {
        GovCommand::Propose(Propose { signer, voting_hours, rationale, cite, action }) => {
            let action = match action {
                ProposeAction::Admit {
                    id,
                    name,
                    kind,
                    validator_key,
                    network_key: net,
                    admin_keys,
                    admin_threshold,
                } => Action::Admit(NewMember {
                    id: org(&id)?,
                    name,
                    kind,
                    validator_key: validator_key.as_deref().map(crate::public_key).transpose()?,
                    network_key: net.as_deref().map(network_key).transpose()?,
                    admin_keys: admin_keys.iter().map(|k| crate::public_key(k)).collect::<Result<_, _>>()?,
                    admin_threshold,
                }),
                ProposeAction::Suspend { org: o } => Action::Suspend(org(&o)?),
                ProposeAction::Reinstate { org: o } => Action::Reinstate(org(&o)?),
                ProposeAction::Remove { org: o } => Action::Remove(org(&o)?),
                ProposeAction::SetValidator { org: o, key, none: _ } => {
                    Action::SetValidator { org: org(&o)?, key: key.as_deref().map(crate::public_key).transpose()? }
                }
                ProposeAction::SetNetworkKey { org: o, key, none: _ } => {
                    Action::SetNetworkKey { org: org(&o)?, key: key.as_deref().map(network_key).transpose()? }
                }
                ProposeAction::SetAdmins { org: o, admin_keys, threshold } => Action::SetAdmins {
                    org: org(&o)?,
                    keys: admin_keys.iter().map(|k| crate::public_key(k)).collect::<Result<_, _>>()?,
                    threshold,
                },
                ProposeAction::SetParameters { file } => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| Failure::local(format!("{}: {e}", file.display())))?;
                    let parameters: ChainParameters = serde_json::from_str(&text)
                        .map_err(|e| Failure::local(format!("{}: not chain parameters: {e}", file.display())))?;
                    Action::SetParameters(parameters)
                }
            };
            let deadline = now().plus_millis(voting_hours.saturating_mul(60 * 60 * 1000));
            let rationale = rationale.map(|t| crate::hash("--rationale", &t).map(DocumentHash)).transpose()?;
            let cites = cite.iter().map(|c| crate::hash("--cite", c).map(EvidenceId)).collect::<Result<_, _>>()?;
            Ok(Step::Submit(signer, Call::Governance(GovernanceCall::Propose { action, deadline, rationale, cites })))
        }
        GovCommand::Vote { signer, proposal, approve, reject: _ } => {
            let proposal = ProposalId(crate::hash("proposal", &proposal)?);
            Ok(Step::Submit(signer, Call::Governance(GovernanceCall::Vote { proposal, approve })))
        }
        GovCommand::Report { signer, evidence } => {
            let evidence = hex::decode(evidence.trim()).map_err(|e| Failure::local(format!("evidence hex: {e}")))?;
            Ok(Step::Submit(signer, Call::Governance(GovernanceCall::ReportMisbehaviour { evidence })))
        }
        GovCommand::List { signer, open, limit } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let list = client.proposals(&signer, open, limit.clamp(1, 200)).await?;
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                say!("no proposals");
            } else {
                for proposal in &list {
                    print_line(proposal)?;
                }
            }
            Ok(Step::Done(0))
        }
        GovCommand::Show { signer, id } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let proposal = client.proposal(&signer, &ProposalId(crate::hash("proposal", &id)?)).await?;
            if json {
                print_json(&proposal)?;
                return Ok(Step::Done(0));
            }
            print_line(&proposal)?;
            say!("proposed by {} at height {}, deadline {}", proposal.proposer, proposal.height, proposal.deadline);
            say!("action: {}", serde_json::to_string(&proposal.action).unwrap_or_default());
            for (member, ballot) in &proposal.ballots {
                let vote = match ballot.decided {
                    Some(true) => "approves".to_string(),
                    Some(false) => "rejects".to_string(),
                    None => format!("undecided ({} for, {} against)", ballot.approve.len(), ballot.reject.len()),
                };
                say!("  {member}: {vote}");
            }
            Ok(Step::Done(0))
        }
        GovCommand::Status => {
            let view = client.governance().await?;
            if json {
                print_json(&view)?;
                return Ok(Step::Done(0));
            }
            let t = view.rules.threshold;
            say!("threshold: more than {}/{} of active members", t.numerator, t.denominator);
            if let Some(epoch) = &view.epoch {
                say!(
                    "epoch {} from height {}: {} validators",
                    epoch.epoch,
                    epoch.anchor_height,
                    epoch.validators.len()
                );
            }
            if let Some(pending) = &view.pending {
                say!("pending: {} validators, decided at height {}", pending.validators.len(), pending.decided_at);
            }
            say!("open proposals: {}", view.open.len());
            for (id, deadline) in &view.open {
                say!("  {id} until {deadline}");
            }
            Ok(Step::Done(0))
        }
        GovCommand::Epochs { genesis } => {
            let text =
                std::fs::read_to_string(&genesis).map_err(|e| Failure::local(format!("{}: {e}", genesis.display())))?;
            let genesis_set = TrustAnchor::from_genesis_json(&text).map_err(Failure::local)?.validators().len();
            let (_, changes) = followed_anchor(client, &text).await?;
            let mut epochs = vec![(0u64, genesis_set, 0u64)];
            for change in &changes {
                let next: panacea_contracts::governance::PendingValidators = panacea_primitives::codec::decode::<
                    _,
                    { panacea_contracts::state::VALUE_BYTES_MAX },
                >(&change.pending)
                .map_err(Failure::local)?;
                epochs.push((change.epoch().0, next.validators.len(), change.header.height.0));
            }
            if json {
                let list: Vec<_> = epochs
                    .iter()
                    .map(|(e, n, h)| serde_json::json!({ "epoch": e, "validators": n, "anchor_height": h }))
                    .collect();
                print_json(&list)?;
            } else {
                for (epoch, validators, height) in epochs {
                    say!("epoch {epoch}: {validators} validators, from height {height} (verified)");
                }
            }
            Ok(Step::Done(0))
        }
        GovCommand::Misbehaviour { signer, org: o } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let records = client.misbehaviour(&signer, &org(&o)?).await?;
            if json {
                print_json(&records)?;
            } else if records.is_empty() {
                say!("no misbehaviour on record for {o}");
            } else {
                for record in records {
                    say!(
                        "{} {:?} epoch {} round {} at height {}, reported by {}",
                        record.id,
                        record.offence.kind,
                        record.offence.epoch,
                        record.offence.round,
                        record.height,
                        record.reported_by
                    );
                }
            }
            Ok(Step::Done(0))
        }
    }
}

/// The trust anchor of `genesis_text`, brought to the current epoch by following every
/// validator-set change the node serves (page by page), each checked against the set
/// before it. A change that does not verify is exit code 6, as any unverified answer.
pub(crate) async fn followed_anchor(
    client: &Client,
    genesis_text: &str,
) -> Result<(TrustAnchor, Vec<panacea_client_sdk::verify::EpochChange>), Failure> {
    let mut anchor = TrustAnchor::from_genesis_json(genesis_text).map_err(Failure::local)?;
    let mut followed = Vec::new();
    loop {
        let from = anchor.validators().epoch().0 + 1;
        let changes = client.epoch_changes(from).await?;
        if changes.is_empty() {
            break;
        }
        for change in changes {
            anchor.follow(&change).map_err(|e| Failure {
                code: 6,
                message: format!("the change to epoch {} does not verify: {e}", change.epoch()),
            })?;
            followed.push(change);
        }
    }
    Ok((anchor, followed))
}

fn print_line(proposal: &Proposal) -> Result<(), Failure> {
    let (yes, no) = proposal.tally();
    let status = match &proposal.status {
        ProposalStatus::Open => "open".to_string(),
        ProposalStatus::Executed { height } => format!("executed at {height}"),
        ProposalStatus::Failed { height, reason } => format!("failed at {height}: {reason}"),
        ProposalStatus::Rejected { height } => format!("rejected at {height}"),
        ProposalStatus::Expired { height } => format!("expired at {height}"),
    };
    let subject = proposal.action.subject().map(|o| o.to_string()).unwrap_or_default();
    say!("{} {} {} ({} for, {} against) {}", proposal.id, proposal.action.name(), subject, yes, no, status);
    Ok(())
}

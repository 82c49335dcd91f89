//! `panacea training`: each organisation's courses and policy (its admins), completion
//! credentials (its training service), and reads for any member.

use clap::Subcommand;
use panacea_client_sdk::Client;
use panacea_contracts::Call;
use panacea_contracts::ids::{IdentityId, OrgId};
use panacea_contracts::training::{GuardedAction, Requirement, TrainingCall, TrainingPolicy};
use panacea_primitives::Timestamp;

use crate::cli::{Signer, Step};
use crate::output::{Failure, print_json, say};

/// Training commands.
#[derive(Subcommand, Debug)]
pub(crate) enum TrainingCommand {
    /// Define a course or change it (an admin's key).
    Course {
        #[command(flatten)]
        signer: Signer,
        /// Its id (letters, digits, '-', '_', '.').
        id: String,
        /// Its title.
        #[arg(long)]
        title: String,
        /// Its version.
        #[arg(long, default_value_t = 1)]
        version: u32,
        /// The oldest version whose credentials still count (default: 1).
        #[arg(long, default_value_t = 1)]
        minimum_version: u32,
        /// How long a completion counts, in days.
        #[arg(long, default_value_t = 365)]
        validity_days: u32,
    },
    /// Set the policy: the issuing services and what each guarded action requires (an admin's key).
    Policy {
        #[command(flatten)]
        signer: Signer,
        /// A training service identity that issues credentials (repeatable).
        #[arg(long = "issuer")]
        issuers: Vec<String>,
        /// ACTION=COURSE, ACTION one of access-request, break-glass, research-access (repeatable).
        #[arg(long = "require")]
        requirements: Vec<String>,
    },
    /// Issue a completion credential (a training service's key).
    Issue {
        #[command(flatten)]
        signer: Signer,
        /// The staff identity.
        holder: String,
        /// The course.
        #[arg(long)]
        course: String,
        /// The version completed.
        #[arg(long, default_value_t = 1)]
        version: u32,
        /// When, in ms since the Unix epoch (default: now).
        #[arg(long)]
        completed: Option<u64>,
    },
    /// Revoke a holder's credential for a course (an issuer's or an admin's key).
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// The staff identity.
        holder: String,
        /// The course.
        #[arg(long)]
        course: String,
    },
    /// An organisation's courses and policy.
    Show {
        #[command(flatten)]
        signer: Signer,
        /// The organisation.
        org: String,
    },
    /// An identity's credentials and whether each counts now.
    Credentials {
        #[command(flatten)]
        signer: Signer,
        /// The identity.
        holder: String,
    },
}

fn action(text: &str) -> Result<GuardedAction, Failure> {
    [GuardedAction::AccessRequest, GuardedAction::BreakGlass, GuardedAction::ResearchAccess]
        .into_iter()
        .find(|a| a.code() == text)
        .ok_or_else(|| Failure::local(format!("unknown action {text}: access-request, break-glass or research-access")))
}

fn holder(text: &str) -> Result<IdentityId, Failure> {
    crate::hash("the holder", text).map(IdentityId)
}

/// Runs a training command.
pub(crate) async fn run(client: &Client, command: TrainingCommand, json: bool) -> Result<Step, Failure> {
    match command {
        TrainingCommand::Course { signer, id, title, version, minimum_version, validity_days } => {
            let call = TrainingCall::DefineCourse { course: id, title, version, minimum_version, validity_days };
            Ok(Step::Submit(signer, Call::Training(call)))
        }
        TrainingCommand::Policy { signer, issuers, requirements } => {
            let issuers =
                issuers.iter().map(|i| crate::hash("--issuer", i).map(IdentityId)).collect::<Result<_, _>>()?;
            let mut parsed = Vec::with_capacity(requirements.len());
            for requirement in &requirements {
                let (what, course) = requirement
                    .split_once('=')
                    .ok_or_else(|| Failure::local(format!("--require {requirement}: write ACTION=COURSE")))?;
                parsed.push(Requirement { action: action(what.trim())?, course: course.trim().to_string() });
            }
            let policy = TrainingPolicy { issuers, requirements: parsed };
            Ok(Step::Submit(signer, Call::Training(TrainingCall::SetPolicy { policy })))
        }
        TrainingCommand::Issue { signer, holder: h, course, version, completed } => {
            let completed = completed.map_or_else(panacea_client_sdk::now, Timestamp);
            let call = TrainingCall::Issue { holder: holder(&h)?, course, version, completed };
            Ok(Step::Submit(signer, Call::Training(call)))
        }
        TrainingCommand::Revoke { signer, holder: h, course } => {
            Ok(Step::Submit(signer, Call::Training(TrainingCall::Revoke { holder: holder(&h)?, course })))
        }
        TrainingCommand::Show { signer, org } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let view = client.training(&signer, &OrgId::new(org).map_err(Failure::local)?).await?;
            if json {
                print_json(&view)?;
                return Ok(Step::Done(0));
            }
            for c in &view.courses {
                say!(
                    "{} v{} (counts from v{}), {} days: {}",
                    c.id,
                    c.version,
                    c.minimum_version,
                    c.validity_days,
                    c.title
                );
            }
            for r in &view.policy.requirements {
                say!("{} requires {}", r.action.code(), r.course);
            }
            for i in &view.policy.issuers {
                say!("issuer {i}");
            }
            Ok(Step::Done(0))
        }
        TrainingCommand::Credentials { signer, holder: h } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let view = client.credentials(&signer, &holder(&h)?).await?;
            if json {
                print_json(&view)?;
                return Ok(Step::Done(0));
            }
            for c in &view.credentials {
                say!(
                    "{} v{} completed {} expires {}{}",
                    c.credential.course,
                    c.credential.version,
                    c.credential.completed,
                    c.credential.expires,
                    if c.current { "" } else { "  (does not count)" }
                );
            }
            Ok(Step::Done(0))
        }
    }
}

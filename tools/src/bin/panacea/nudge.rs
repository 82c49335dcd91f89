//! `panacea nudge`: a staff member's nudges (at their own organisation's node), and the
//! organisation's acknowledgement rates.

use clap::Subcommand;
use panacea_client_sdk::Client;
use panacea_client_sdk::types::NudgeView;

use crate::cli::{Signer, Step};
use crate::output::{Failure, print_json, say};

/// Largest server-sent event line buffered by `watch`.
const EVENT_BYTES_MAX: usize = 64 * 1024;

/// Nudge commands.
#[derive(Subcommand, Debug)]
pub(crate) enum NudgeCommand {
    /// Your unacknowledged nudges (a staff key), oldest first.
    List {
        #[command(flatten)]
        signer: Signer,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print your nudges as they come (your inbox first), until interrupted.
    Watch {
        #[command(flatten)]
        signer: Signer,
    },
    /// Acknowledge a nudge.
    Ack {
        #[command(flatten)]
        signer: Signer,
        /// Its id.
        id: u64,
    },
    /// Nudges sent and acknowledged per kind and week (the organisation's operators and
    /// security officers).
    Rates {
        #[command(flatten)]
        signer: Signer,
        /// Weeks back from the newest.
        #[arg(long, default_value_t = 12)]
        weeks: u64,
    },
}

fn line(nudge: &NudgeView) -> Result<(), Failure> {
    let kind = serde_json::to_value(nudge.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    say!("#{} {} [{kind}] {}", nudge.id, panacea_contracts::fhir::format_instant(nudge.created), nudge.message);
    Ok(())
}

/// Runs a nudge command.
pub(crate) async fn run(client: &Client, command: NudgeCommand, json: bool) -> Result<Step, Failure> {
    match command {
        NudgeCommand::List { signer, limit } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let page = client.nudges(&signer, None, limit.clamp(1, 200)).await?;
            if json {
                print_json(&page)?;
            } else if page.nudges.is_empty() {
                say!("no nudges");
            } else {
                for nudge in &page.nudges {
                    line(nudge)?;
                }
            }
            Ok(Step::Done(0))
        }
        NudgeCommand::Watch { signer } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let mut response = client
                .signed_get_request(&signer, "/v1/nudges/stream")
                .await?
                .send()
                .await
                .map_err(|e| Failure::local(format!("the stream: {e}")))?;
            if !response.status().is_success() {
                return Err(Failure::local(format!("the node answered {}", response.status())));
            }
            let mut buffer = String::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| Failure::local(format!("the stream: {e}")))? {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                if buffer.len() > EVENT_BYTES_MAX {
                    return Err(Failure::local("the stream sent an oversized event"));
                }
                while let Some(end) = buffer.find('\n') {
                    let text: String = buffer.drain(..=end).collect();
                    let Some(data) = text.trim_end().strip_prefix("data:") else { continue };
                    let Ok(nudge) = serde_json::from_str::<NudgeView>(data.trim()) else { continue };
                    if json {
                        print_json(&nudge)?;
                    } else {
                        line(&nudge)?;
                    }
                }
            }
            Ok(Step::Done(0))
        }
        NudgeCommand::Ack { signer, id } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let nudge = client.acknowledge_nudge(&signer, id).await?;
            if json {
                print_json(&nudge)?;
            } else {
                say!("acknowledged #{}", nudge.id);
            }
            Ok(Step::Done(0))
        }
        NudgeCommand::Rates { signer, weeks } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let view = client.nudge_rates(&signer, weeks).await?;
            if json {
                print_json(&view)?;
                return Ok(Step::Done(0));
            }
            say!("{:<14} {:<26} {:>6} {:>6} {:>6}", "week of", "kind", "sent", "acked", "rate");
            for rate in &view.rates {
                let kind = serde_json::to_value(rate.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let share = if rate.sent == 0 { 0.0 } else { rate.acknowledged as f64 / rate.sent as f64 };
                say!(
                    "{:<14} {:<26} {:>6} {:>6} {:>5.0}%",
                    panacea_contracts::fhir::format_instant(rate.week_start).get(..10).unwrap_or_default(),
                    kind,
                    rate.sent,
                    rate.acknowledged,
                    share * 100.0
                );
            }
            Ok(Step::Done(0))
        }
    }
}

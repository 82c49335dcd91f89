//! `panacea self-assessment`: security governance. A security officer submits the
//! organisation's NIST CSF 2.0 profile from a JSON file; the organisation and health
//! authorities read it; authorities read the regional view.

use std::path::PathBuf;

use clap::Subcommand;
use panacea_client_sdk::Client;
use panacea_contracts::Call;
use panacea_contracts::csf::{CURRENT, CategoryTier, CsfCall, ElementProfile, OrgElement};
use panacea_contracts::ids::OrgId;
use serde::Deserialize;

use crate::cli::{Signer, Step};
use crate::output::{Failure, print_json, say};

/// Largest profile file read.
const PROFILE_BYTES_MAX: u64 = 1 << 20;

/// Self-assessment commands.
#[derive(Subcommand, Debug)]
pub(crate) enum AssessmentCommand {
    /// The NIST CSF catalogue this chain ships: functions, categories, subcategories.
    Catalogue {
        /// Also list the subcategories.
        #[arg(long)]
        subcategories: bool,
    },
    /// Submit a new version of your organisation's self-assessment (a security officer's key).
    Submit {
        #[command(flatten)]
        signer: Signer,
        /// The profile, JSON: `{"catalogue": "2.0", "elements": [{"element": "organisation",
        /// "tiers": [{"category": "GV.OC", "current": 2, "target": 3, "evidence": FILE_OR_SHA256}]},
        /// {"element": {"department": "radiology"}, "tiers": [...]}]}`. Evidence files are
        /// hashed here (relative to the profile's folder) and never leave this machine.
        file: PathBuf,
    },
    /// An organisation's latest self-assessment (or one version), overdue or not, and its gaps.
    Show {
        #[command(flatten)]
        signer: Signer,
        /// The organisation.
        org: String,
        /// A version.
        #[arg(long)]
        version: Option<u32>,
    },
    /// Every member's posture and the distribution per category (health authorities' auditors).
    Region {
        #[command(flatten)]
        signer: Signer,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default = "current")]
    catalogue: String,
    elements: Vec<ElementFile>,
}

fn current() -> String {
    CURRENT.to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElementFile {
    element: OrgElement,
    tiers: Vec<TierFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    category: String,
    current: u8,
    target: u8,
    evidence: String,
}

fn read_profile(file: &PathBuf) -> Result<CsfCall, Failure> {
    let length = std::fs::metadata(file).map_err(|e| Failure::local(format!("{}: {e}", file.display())))?.len();
    if length > PROFILE_BYTES_MAX {
        return Err(Failure::local(format!("{}: over 1 MiB", file.display())));
    }
    let text = std::fs::read_to_string(file).map_err(|e| Failure::local(format!("{}: {e}", file.display())))?;
    let profile: ProfileFile =
        serde_json::from_str(&text).map_err(|e| Failure::local(format!("{}: {e}", file.display())))?;
    let folder = file.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let mut elements = Vec::with_capacity(profile.elements.len());
    for element in profile.elements {
        let mut tiers = Vec::with_capacity(element.tiers.len());
        for tier in element.tiers {
            let evidence = match panacea_primitives::Hash::from_hex(tier.evidence.trim()) {
                Ok(hash) => hash,
                Err(_) => crate::product::hash_or_file(
                    &format!("{}'s evidence", tier.category),
                    &folder.join(&tier.evidence).to_string_lossy(),
                )?,
            };
            tiers.push(CategoryTier { category: tier.category, current: tier.current, target: tier.target, evidence });
        }
        elements.push(ElementProfile { element: element.element, tiers });
    }
    Ok(CsfCall::Submit { catalogue: profile.catalogue, elements })
}

/// Runs a self-assessment command.
pub(crate) async fn run(client: &Client, command: AssessmentCommand, json: bool) -> Result<Step, Failure> {
    match command {
        AssessmentCommand::Catalogue { subcategories } => {
            let catalogue = panacea_contracts::csf::catalogue(CURRENT)
                .ok_or_else(|| Failure::local("the shipped catalogue does not parse"))?;
            if json {
                print_json(catalogue)?;
                return Ok(Step::Done(0));
            }
            say!("{} {} ({})", catalogue.framework, catalogue.version, catalogue.source);
            for function in &catalogue.functions {
                say!("{} {}", function.id, function.title);
                for category in &function.categories {
                    say!("  {} {}", category.id, category.title);
                    if subcategories {
                        for s in &category.subcategories {
                            say!("    {} {}", s.id, s.title);
                        }
                    }
                }
            }
            Ok(Step::Done(0))
        }
        AssessmentCommand::Submit { signer, file } => Ok(Step::Submit(signer, Call::Csf(read_profile(&file)?))),
        AssessmentCommand::Show { signer, org, version } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let org = OrgId::new(org).map_err(Failure::local)?;
            if let Some(version) = version {
                let found = client.self_assessment_version(&signer, &org, version).await?;
                print_json(&found)?;
                return Ok(Step::Done(0));
            }
            let view = client.self_assessment(&signer, &org).await?;
            if json {
                print_json(&view)?;
                return Ok(Step::Done(0));
            }
            match &view.latest {
                None => say!("{}: no self-assessment (overdue)", view.org),
                Some(latest) => {
                    say!(
                        "{}: version {} of {} by {}{}",
                        view.org,
                        latest.version,
                        latest.submitted_at,
                        latest.officer,
                        if view.overdue { ", OVERDUE" } else { "" }
                    );
                    say!("{:<24} {:<8} {:>7} {:>6} {:>4}", "element", "category", "current", "target", "gap");
                    for gap in &view.gaps {
                        say!(
                            "{:<24} {:<8} {:>7} {:>6} {:>4}",
                            gap.element.to_string(),
                            gap.category,
                            gap.current,
                            gap.target,
                            gap.gap
                        );
                    }
                }
            }
            Ok(Step::Done(0))
        }
        AssessmentCommand::Region { signer } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let view = client.security_region(&signer).await?;
            if json {
                print_json(&view)?;
                return Ok(Step::Done(0));
            }
            for member in &view.members {
                say!(
                    "{:<24} version {:>3}{}",
                    member.org.as_str(),
                    member.version,
                    if member.overdue { "  OVERDUE" } else { "" }
                );
            }
            say!(
                "{:<8} {:>8} {:>16} {:>16} {:>9}",
                "category",
                "assessed",
                "current 1/2/3/4",
                "target 1/2/3/4",
                "mean gap"
            );
            for c in &view.categories {
                let tiers = |t: [u32; 4]| format!("{}/{}/{}/{}", t[0], t[1], t[2], t[3]);
                say!(
                    "{:<8} {:>8} {:>16} {:>16} {:>9.2}",
                    c.category,
                    c.assessed,
                    tiers(c.current),
                    tiers(c.target),
                    c.mean_gap_milli as f64 / 1000.0
                );
            }
            Ok(Step::Done(0))
        }
    }
}

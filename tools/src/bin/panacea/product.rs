//! `panacea product`: medical products (security by design). Registration by a member's
//! admin or security officer, attestation and revocation by an assessor; reads for any
//! member's signer.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use panacea_client_sdk::Client;
use panacea_contracts::Call;
use panacea_contracts::product::{ProductCall, RevocationReason, StandardClaim};
use panacea_primitives::{Hash, Timestamp};

use crate::cli::{Signer, Step};
use crate::output::{Failure, print_json, say};

/// Largest file hashed for evidence, reports or firmware images (4 GiB).
const HASHED_FILE_BYTES_MAX: u64 = 4 << 30;

/// Product commands.
#[derive(Subcommand, Debug)]
pub(crate) enum ProductCommand {
    /// Register a firmware build of a device model, with its SBOM and the standards claimed.
    Register {
        #[command(flatten)]
        signer: Signer,
        /// Manufacturer.
        #[arg(long)]
        manufacturer: String,
        /// Model.
        #[arg(long)]
        model: String,
        /// Firmware version.
        #[arg(long)]
        firmware_version: String,
        /// The firmware image file, or its SHA-256 (64 hex digits).
        #[arg(long)]
        firmware: String,
        /// The SBOM: a CycloneDX or SPDX JSON file.
        #[arg(long)]
        sbom: PathBuf,
        /// A standard claimed and its evidence (file or SHA-256): `"IEC 81001-5-1=evidence.pdf"` (repeatable).
        #[arg(long = "claim", required = true)]
        claims: Vec<String>,
    },
    /// Attest a product (or renew its attestation), as an assessor of another member.
    Attest {
        #[command(flatten)]
        signer: Signer,
        /// The product (its firmware hash).
        product: String,
        /// A claimed standard the assessment confirms (repeatable).
        #[arg(long = "standard", required = true)]
        standards: Vec<String>,
        /// The assessment report (file or SHA-256), kept off chain.
        #[arg(long)]
        report: String,
        /// Days the attestation stays in force (at most five years).
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// Revoke a product's attestation for good: its devices are suspended from the next block.
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// The product (its firmware hash).
        product: String,
        /// vulnerable-firmware, withdrawn or claims-unfounded.
        #[arg(long)]
        reason: String,
        /// The advisory or notice behind it (file or SHA-256).
        #[arg(long)]
        record: String,
    },
    /// Registered products.
    List {
        #[command(flatten)]
        signer: Signer,
        /// From this index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One product.
    Show {
        #[command(flatten)]
        signer: Signer,
        /// Its firmware hash.
        product: String,
    },
}

/// A SHA-256 given as 64 hex digits, or the SHA-256 of the file at that path.
pub(crate) fn hash_or_file(what: &str, text: &str) -> Result<Hash, Failure> {
    if let Ok(hash) = Hash::from_hex(text.trim()) {
        return Ok(hash);
    }
    let path = Path::new(text);
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::local(format!("{what}: neither 64 hex digits nor a readable file ({text}: {e})")))?;
    let length = file.metadata().map_err(|e| Failure::local(format!("{text}: {e}")))?.len();
    if length > HASHED_FILE_BYTES_MAX {
        return Err(Failure::local(format!("{text}: over 4 GiB")));
    }
    use sha2::Digest;
    use std::io::Read;
    let mut hasher = sha2::Sha256::new();
    let mut reader = std::io::BufReader::new(file);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = reader.read(&mut buffer).map_err(|e| Failure::local(format!("{text}: {e}")))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(Hash(hasher.finalize().into()))
}

fn reason(text: &str) -> Result<RevocationReason, Failure> {
    match text {
        "vulnerable-firmware" => Ok(RevocationReason::VulnerableFirmware),
        "withdrawn" => Ok(RevocationReason::Withdrawn),
        "claims-unfounded" => Ok(RevocationReason::ClaimsUnfounded),
        other => {
            Err(Failure::local(format!("unknown reason {other}: vulnerable-firmware, withdrawn or claims-unfounded")))
        }
    }
}

fn print_product(product: &panacea_contracts::product::Product, in_force: Option<bool>) -> Result<(), Failure> {
    let state = match (&product.revoked, &product.attestation, in_force) {
        (Some(r), _, _) => format!("revoked ({:?})", r.reason),
        (None, Some(a), Some(false)) => format!("attestation expired {}", a.expires),
        (None, Some(a), _) => format!("attested by {} until {}", a.assessor_org, a.expires),
        (None, None, _) => "not attested".into(),
    };
    say!(
        "{} {} {} firmware {} ({}): {state}; {} SBOM components",
        product.firmware_hash,
        product.manufacturer,
        product.model,
        product.firmware_version,
        product.registered_by,
        product.sbom.components.len()
    );
    Ok(())
}

/// Runs a product command.
pub(crate) async fn run(client: &Client, command: ProductCommand, json: bool) -> Result<Step, Failure> {
    match command {
        ProductCommand::Register { signer, manufacturer, model, firmware_version, firmware, sbom, claims } => {
            let firmware_hash = hash_or_file("--firmware", &firmware)?;
            let bytes = std::fs::read(&sbom).map_err(|e| Failure::local(format!("{}: {e}", sbom.display())))?;
            let sbom = panacea_client_sdk::sbom::import_sbom(&bytes)
                .map_err(|e| Failure::local(format!("{}: {e}", sbom.display())))?;
            let mut parsed = Vec::with_capacity(claims.len());
            for claim in &claims {
                let (standard, evidence) = claim
                    .split_once('=')
                    .ok_or_else(|| Failure::local(format!("--claim {claim}: write STANDARD=EVIDENCE")))?;
                parsed.push(StandardClaim {
                    standard: standard.trim().to_string(),
                    evidence: hash_or_file("a claim's evidence", evidence.trim())?,
                });
            }
            let call =
                ProductCall::Register { manufacturer, model, firmware_version, firmware_hash, sbom, claims: parsed };
            Ok(Step::Submit(signer, Call::Product(call)))
        }
        ProductCommand::Attest { signer, product, standards, report, days } => {
            let expires =
                Timestamp(panacea_client_sdk::now().as_millis().saturating_add(days.saturating_mul(86_400_000)));
            let call = ProductCall::Attest {
                product: crate::hash("the product", &product)?,
                standards,
                report: hash_or_file("--report", &report)?,
                expires,
            };
            Ok(Step::Submit(signer, Call::Product(call)))
        }
        ProductCommand::Revoke { signer, product, reason: why, record } => {
            let call = ProductCall::Revoke {
                product: crate::hash("the product", &product)?,
                reason: reason(&why)?,
                record: hash_or_file("--record", &record)?,
            };
            Ok(Step::Submit(signer, Call::Product(call)))
        }
        ProductCommand::List { signer, from, limit } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let page = client.products(&signer, from, limit.clamp(1, 256)).await?;
            if json {
                print_json(&page)?;
            } else {
                for product in &page.products {
                    print_product(product, None)?;
                }
                say!("{} of {} products", page.products.len(), page.total);
            }
            Ok(Step::Done(0))
        }
        ProductCommand::Show { signer, product } => {
            let signer = crate::request_signer(client, &signer.key).await?;
            let view = client.product(&signer, &crate::hash("the product", &product)?).await?;
            if json {
                print_json(&view)?;
            } else {
                print_product(&view.product, Some(view.in_force))?;
                say!("devices registered on it: {}", view.devices);
                for claim in &view.product.claims {
                    say!("  claims {} (evidence {})", claim.standard, claim.evidence);
                }
                for c in &view.product.sbom.components {
                    say!("  component {} {}", c.name, c.version);
                }
            }
            Ok(Step::Done(0))
        }
    }
}

//! An organisation's inventory folder, assessed with `panacea-risk` and turned into the
//! call that commits the assessment on chain by hashes. Shared by the risk worker and the
//! CLI (`panacea risk assess | submit | attest`).
//!
//! The folder holds the ten input documents (`panacea_risk::DOCUMENT_NAMES`) and,
//! optionally, `identities.json`, mapping inventory device ids to the devices' chain
//! identities (64 hex): a device at high risk with a chain identity is quarantined.

use std::collections::BTreeMap;
use std::path::Path;

use panacea_contracts::ids::IdentityId;
use panacea_contracts::risk::{AttackerProfile, RiskCall, RiskInput, RiskLevel, RiskParameters, RiskRow};
use panacea_primitives::Hash;
use panacea_risk::{AttackerKind, Level};

fn fail(message: impl Into<String>) -> String {
    message.into()
}

/// Largest `identities.json` read (about 10^4 mappings).
const IDENTITY_MAP_BYTES_MAX: u64 = 1024 * 1024;

/// Largest inventory document read.
const DOCUMENT_BYTES_MAX: u64 = panacea_risk::MAX_DOCUMENT_BYTES as u64;

/// Input documents by name, as read (the configuration as the parameters make it).
pub type Documents = Vec<(String, Vec<u8>)>;

/// The input documents of `dir`, read and assessed.
pub struct Assessed {
    /// The documents, by name.
    pub documents: Documents,
    /// The assessment.
    pub assessment: panacea_risk::Assessment,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > DOCUMENT_BYTES_MAX {
        return Err(fail(format!("{} is larger than {DOCUMENT_BYTES_MAX} bytes", path.display())));
    }
    std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))
}

/// Reads the ten documents of `dir` and assesses them, under the organisation's on-chain
/// `parameters` when it has set some: they replace the attacker thresholds and the impact
/// and likelihood thresholds of `config.json` (its entry points stay), and the effective
/// configuration is what the submission commits to, so another organisation's worker that
/// applies the same parameters computes the same output.
pub fn assess_dir(dir: &Path, parameters: Option<&RiskParameters>) -> Result<Assessed, String> {
    assess_dir_with(dir, parameters, &ChainFacts::default())
}

/// What the chain adds to an organisation's inventory: the firmware components of its
/// mapped devices (their products' SBOMs, `super::firmware`) and the connections observed
/// between mapped devices (unexpected-connection reports, `super::observed`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainFacts {
    /// Firmware components per inventory device id.
    pub firmware: super::firmware::FirmwareComponents,
    /// Observed connections between inventory devices.
    pub edges: Vec<super::observed::Edge>,
}

/// As [`assess_dir`], with what the chain adds: the feed's known CVEs of the mapped
/// devices' firmware join the devices document, and observed connections open the
/// firewall document, before both are assessed and hashed.
pub fn assess_dir_with(
    dir: &Path,
    parameters: Option<&RiskParameters>,
    facts: &ChainFacts,
) -> Result<Assessed, String> {
    let (documents, inputs) = inputs_of_with(dir, parameters, facts)?;
    let assessment = panacea_risk::assess(&inputs).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    Ok(Assessed { documents, assessment })
}

fn replace(documents: &mut Documents, name: &str, value: &impl serde::Serialize) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| fail(e.to_string()))?;
    if let Some(slot) = documents.iter_mut().find(|(n, _)| n == name) {
        slot.1 = bytes;
    }
    Ok(())
}

/// As [`inputs_of`], with what the chain adds (see [`assess_dir_with`]).
pub fn inputs_of_with(
    dir: &Path,
    parameters: Option<&RiskParameters>,
    facts: &ChainFacts,
) -> Result<(Documents, panacea_risk::Inputs), String> {
    let (mut documents, mut inputs) = inputs_of(dir, parameters)?;
    if !facts.firmware.is_empty()
        && let Some(feed) = super::firmware::read_feed(dir).map_err(fail)?
        && super::firmware::enrich(&mut inputs.devices, &inputs.vulnerabilities, &feed, &facts.firmware) > 0
    {
        inputs.validate().map_err(|e| fail(format!("the devices with their firmware's CVEs: {e}")))?;
        replace(&mut documents, "devices.json", &inputs.devices)?;
    }
    if super::observed::add_edges(&mut inputs.network, &inputs.devices, &facts.edges) > 0 {
        inputs.validate().map_err(|e| fail(format!("the firewall with the observed connections: {e}")))?;
        replace(&mut documents, "network.json", &inputs.network)?;
    }
    Ok((documents, inputs))
}

/// The folder's `identities.json`: inventory device ids and the chain identities they are
/// (empty when there is none).
pub fn identity_map(dir: &Path) -> Result<BTreeMap<String, IdentityId>, String> {
    let map_file = dir.join("identities.json");
    let raw: BTreeMap<String, String> = match std::fs::metadata(&map_file).map(|m| m.len()) {
        Ok(len) if len > IDENTITY_MAP_BYTES_MAX => {
            return Err(fail(format!("{} is larger than {IDENTITY_MAP_BYTES_MAX} bytes", map_file.display())));
        }
        Ok(_) => read(&map_file).and_then(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("{}: {e}", map_file.display())))
        })?,
        Err(_) => BTreeMap::new(),
    };
    raw.into_iter()
        .map(|(device, hex)| {
            Hash::from_hex(&hex)
                .map(|id| (device.clone(), IdentityId(id)))
                .map_err(|_| fail(format!("{}: {device}: not 64 hex digits", map_file.display())))
        })
        .collect()
}

/// The documents of `dir` (the configuration as the parameters make it) and the inputs
/// they parse to.
pub fn inputs_of(dir: &Path, parameters: Option<&RiskParameters>) -> Result<(Documents, panacea_risk::Inputs), String> {
    let mut documents = Vec::new();
    for name in panacea_risk::DOCUMENT_NAMES {
        documents.push((name.to_owned(), read(&dir.join(name))?));
    }
    let named: Vec<(&str, &[u8])> = documents.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let mut inputs =
        panacea_risk::Inputs::from_json_documents(&named).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    if let Some(parameters) = parameters {
        apply(&mut inputs.config, parameters);
        inputs.validate().map_err(|e| fail(format!("the organisation's risk parameters: {e}")))?;
        let config = serde_json::to_vec_pretty(&inputs.config).map_err(|e| fail(e.to_string()))?;
        if let Some(slot) = documents.iter_mut().find(|(name, _)| name == "config.json") {
            slot.1 = config;
        }
    }
    Ok((documents, inputs))
}

/// The on-chain parameters over a configuration document.
fn apply(config: &mut panacea_risk::Configuration, parameters: &RiskParameters) {
    let score = |milli: u32| f64::from(milli) / 1_000.0;
    for profile in &mut config.attackers {
        let kind = match profile.kind {
            AttackerKind::Naive => AttackerProfile::Naive,
            AttackerKind::Advanced => AttackerProfile::Advanced,
            AttackerKind::Professional => AttackerProfile::Professional,
        };
        if let Some((_, [ac, av, pr, e, rc])) = parameters.attackers.iter().find(|(p, _)| *p == kind) {
            profile.attack_complexity = score(*ac);
            profile.attack_vector = score(*av);
            profile.privileges_required = score(*pr);
            profile.code_maturity = score(*e);
            profile.report_confidence = score(*rc);
        }
    }
    let [low, medium, high] = parameters.impact_thresholds;
    config.impact_thresholds = panacea_risk::Thresholds { low, medium, high };
    let [low, medium, high] = parameters.likelihood_thresholds;
    config.likelihood_thresholds = panacea_risk::Thresholds { low, medium, high };
}

fn input_kind(name: &str) -> Option<RiskInput> {
    Some(match name {
        "devices.json" => RiskInput::Devices,
        "vulnerabilities.json" => RiskInput::Vulnerabilities,
        "network.json" => RiskInput::NetworkPolicy,
        "employees.json" => RiskInput::Employees,
        "relations.json" => RiskInput::WorkRelations,
        "profiles.json" => RiskInput::SecurityProfiles,
        "human_vulnerabilities.json" => RiskInput::HumanVulnerabilities,
        "credentials.json" => RiskInput::Credentials,
        "business.json" => RiskInput::BusinessModel,
        "config.json" => RiskInput::Configuration,
        _ => return None,
    })
}

fn level(level: Level) -> RiskLevel {
    match level {
        Level::None => RiskLevel::None,
        Level::Low => RiskLevel::Low,
        Level::Medium => RiskLevel::Medium,
        Level::High => RiskLevel::High,
    }
}

fn attacker(kind: AttackerKind) -> AttackerProfile {
    match kind {
        AttackerKind::Naive => AttackerProfile::Naive,
        AttackerKind::Advanced => AttackerProfile::Advanced,
        AttackerKind::Professional => AttackerProfile::Professional,
    }
}

/// The survey's salt: read from `path`, or drawn and written there (mode 0600) the first
/// time. The survey is personal data: its hash on chain must not be checkable against a
/// guessed survey, so it is salted, and the salt stays with the organisation.
fn survey_salt(path: &Path) -> Result<[u8; 32], String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let mut salt = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut salt)
            .map_err(|_| fail(format!("{} must hold 64 hex digits", path.display())))?;
        return Ok(salt);
    }
    let key = crate::keys::generate().map_err(|e| e.to_string())?;
    let salt = key.seed();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write as _;
    let mut file = options.open(path).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(format!("{}\n", hex::encode(salt)).as_bytes()).map_err(|e| e.to_string())?;
    Ok(salt)
}

/// The call that submits `assessed` from `dir`.
pub fn submit_call(dir: &Path, assessed: &Assessed, salt_file: &Path, observed_until: u64) -> Result<RiskCall, String> {
    let salt = survey_salt(salt_file)?;
    let mut inputs = Vec::new();
    for (name, bytes) in &assessed.documents {
        let kind = input_kind(name).ok_or_else(|| fail(format!("unknown document {name}")))?;
        let hash = if kind == RiskInput::SecurityProfiles {
            Hash::digest_parts(&[b"panacea-risk-survey-v1", &salt, bytes])
        } else {
            Hash::digest(bytes)
        };
        inputs.push((kind, hash));
    }
    let a = &assessed.assessment;
    let output = Hash::from_hex(&a.hash()).map_err(|_| fail("the assessment's hash is not 64 hex digits"))?;
    let table = a
        .risk
        .iter()
        .map(|row| RiskRow {
            service_level: row.service_level.clone(),
            attacker: attacker(row.attacker),
            likelihood_milli: row.likelihood_milli,
            impact: u32::try_from(row.impact).unwrap_or(u32::MAX),
            level: level(row.risk_level),
        })
        .collect();
    let identities = identity_map(dir)?;
    let mut high_devices: Vec<IdentityId> =
        a.high_risk_devices.iter().filter_map(|device| identities.get(device).copied()).collect();
    high_devices.sort();
    high_devices.dedup();
    Ok(RiskCall::Submit { inputs, output, table, high_devices, observed_until })
}

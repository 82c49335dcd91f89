//! Structure-aware: validly signed transactions with fuzzed fields, executed block by block
//! on an in-memory chain. A byte fuzzer never gets past a signature; this one reaches every
//! module's rules (identities, products and the device gate, self-assessments,
//! connections, training and the access rule). Execution never panics, and executing the
//! same block twice gives the same root.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::connection::ConnectionCall;
use panacea_contracts::consent::{
    ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType,
};
use panacea_contracts::csf::{CategoryTier, CsfCall, ElementProfile, OrgElement};
use panacea_contracts::identity::{Identity, IdentityCall, IdentityKind};
use panacea_contracts::ids::{DocumentHash, IdentityId};
use panacea_contracts::product::{Component, ProductCall, RevocationReason, Sbom, SbomFormat, StandardClaim};
use panacea_contracts::testing::{Chain, key, org, patient};
use panacea_contracts::training::{GuardedAction, Requirement, TrainingCall, TrainingPolicy};
use panacea_contracts::{Call, access::AccessCall};
use panacea_primitives::{Hash, Keypair, Timestamp};

const ORGS: [&str; 3] = ["hospital-a", "hospital-b", "authority"];
const ROLES: [StaffRole; 4] = [StaffRole::Nurse, StaffRole::Physician, StaffRole::SecurityOfficer, StaffRole::Assessor];

#[derive(Arbitrary, Debug)]
enum Action {
    Staff { org: u8, slot: u8, role: u8 },
    Service { org: u8, slot: u8 },
    Device { org: u8, slot: u8, firmware: u8 },
    Product { signer: u8, firmware: u8, components: Vec<(String, String)>, standard: String },
    Attest { signer: u8, firmware: u8, days: u16, standard: String },
    Revoke { signer: u8, firmware: u8 },
    Consent { patient: u8, deny: bool },
    Access { signer: u8, patient: u8, research: bool, break_glass: bool },
    Course { org: u8, id: String, version: u32, minimum: u32, days: u32 },
    Policy { org: u8, issuer: u8, course: String, action: u8 },
    Issue { signer: u8, holder: u8, course: String, version: u32, days_ago: u16 },
    Csf { signer: u8, tiers: Vec<(u8, u8, u8)>, departments: Vec<String> },
    Allow { org: u8, source: u8, destination: u8, protocol: String, days: u16 },
    Report { signer: u8, source: u8, destination: u8, protocol: String },
    Suspend { org: u8, slot: u8 },
    Reactivate { org: u8, slot: u8 },
    Advance { hours: u16 },
}

fn org_of(i: u8) -> &'static str {
    ORGS[usize::from(i) % ORGS.len()]
}

/// The key of identity slot `slot` of `org` (registered or not).
fn member(org: &str, slot: u8) -> Keypair {
    key(&format!("{org}/member-{}", slot % 8))
}

fn member_id(org: &str, slot: u8) -> IdentityId {
    Identity::id_for(&panacea_contracts::testing::org(org), &member(org, slot).public())
}

/// Any signer: an admin or a member slot of any organisation.
fn signer(chain: &Chain, i: u8) -> Keypair {
    let org = org_of(i / 16);
    if i % 16 == 15 { chain.admin(org) } else { member(org, i % 16) }
}

fn call(chain: &Chain, action: Action) -> Option<(Keypair, Call)> {
    let hash = |b: u8| Hash([b; 32]);
    Some(match action {
        Action::Staff { org: o, slot, role } => {
            let org = org_of(o);
            let kind = IdentityKind::Staff { role: ROLES[usize::from(role) % ROLES.len()] };
            (chain.admin(org), Call::Identity(IdentityCall::Register { key: member(org, slot).public(), kind }))
        }
        Action::Service { org: o, slot } => {
            let org = org_of(o);
            let kind = IdentityKind::Service { name: "service".into() };
            (chain.admin(org), Call::Identity(IdentityCall::Register { key: member(org, slot).public(), kind }))
        }
        Action::Device { org: o, slot, firmware } => {
            let org = org_of(o);
            let kind = IdentityKind::Device {
                device_type: "pump".into(),
                manufacturer: "acme".into(),
                model: "p1".into(),
                firmware_hash: hash(firmware % 4),
                sbom_hash: hash(200),
            };
            (chain.admin(org), Call::Identity(IdentityCall::Register { key: member(org, slot).public(), kind }))
        }
        Action::Product { signer: s, firmware, components, standard } => {
            let mut components: Vec<Component> = components
                .into_iter()
                .take(300)
                .map(|(name, version)| Component { name, version, purl: None })
                .collect();
            components.sort();
            let sbom = Sbom { format: SbomFormat::CycloneDx, hash: hash(200), components };
            let claims = vec![StandardClaim { standard, evidence: hash(1) }];
            let call = ProductCall::Register {
                manufacturer: "acme".into(),
                model: "p1".into(),
                firmware_version: "1".into(),
                firmware_hash: hash(firmware % 4),
                sbom,
                claims,
            };
            (signer(chain, s), Call::Product(call))
        }
        Action::Attest { signer: s, firmware, days, standard } => {
            let expires = chain.time.plus_millis(u64::from(days) * 86_400_000);
            let call = ProductCall::Attest {
                product: hash(firmware % 4),
                standards: vec![standard],
                report: hash(2),
                expires,
            };
            (signer(chain, s), Call::Product(call))
        }
        Action::Revoke { signer: s, firmware } => {
            let call = ProductCall::Revoke {
                product: hash(firmware % 4),
                reason: RevocationReason::VulnerableFirmware,
                record: hash(3),
            };
            (signer(chain, s), Call::Product(call))
        }
        Action::Consent { patient: p, deny } => {
            let terms = ConsentTerms {
                patient: patient(&format!("p{}", p % 4)),
                status: ConsentStatus::Active,
                scope: ConsentScope::PatientPrivacy,
                custodians: Vec::new(),
                categories: vec!["59284-0".into()],
                policy_rule: PolicyRule::OptIn,
                verification: vec![],
                provision: Provision::all(if deny { ProvisionType::Deny } else { ProvisionType::Permit }),
            };
            (
                chain.admin("hospital-a"),
                Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(hash(9))) }),
            )
        }
        Action::Access { signer: s, patient: p, research, break_glass } => {
            let purpose = match (research, break_glass) {
                (_, true) => Purpose::EmergencyTreatment,
                (true, false) => Purpose::Research,
                _ => Purpose::Treatment,
            };
            let call = AccessCall::Request {
                patient: patient(&format!("p{}", p % 4)),
                data_class: DataClass::LabResults,
                resource_type: None,
                purpose,
                custodian: org("hospital-a"),
                document: None,
                data_time: None,
                justification: break_glass.then_some(DocumentHash(hash(4))),
            };
            (signer(chain, s), Call::Access(call))
        }
        Action::Course { org: o, id, version, minimum, days } => {
            let call = TrainingCall::DefineCourse {
                course: id,
                title: "t".into(),
                version,
                minimum_version: minimum,
                validity_days: days,
            };
            (chain.admin(org_of(o)), Call::Training(call))
        }
        Action::Policy { org: o, issuer, course, action } => {
            let org = org_of(o);
            let action = [GuardedAction::AccessRequest, GuardedAction::BreakGlass, GuardedAction::ResearchAccess]
                [usize::from(action) % 3];
            let policy = TrainingPolicy {
                issuers: vec![member_id(org, issuer)],
                requirements: vec![Requirement { action, course }],
            };
            (chain.admin(org), Call::Training(TrainingCall::SetPolicy { policy }))
        }
        Action::Issue { signer: s, holder, course, version, days_ago } => {
            let signer = signer(chain, s);
            let org = org_of(s / 16);
            let completed = Timestamp(chain.time.as_millis().saturating_sub(u64::from(days_ago) * 86_400_000));
            let call = TrainingCall::Issue { holder: member_id(org, holder), course, version, completed };
            (signer, Call::Training(call))
        }
        Action::Csf { signer: s, tiers, departments } => {
            let catalogue = panacea_contracts::csf::catalogue("2.0")?;
            let categories: Vec<&str> = catalogue.categories().map(|c| c.id.as_str()).collect();
            let profile = |tiers: &[(u8, u8, u8)]| -> Vec<CategoryTier> {
                tiers
                    .iter()
                    .map(|(c, current, target)| CategoryTier {
                        category: categories[usize::from(*c) % categories.len()].to_string(),
                        current: current % 6,
                        target: target % 6,
                        evidence: hash(5),
                    })
                    .collect()
            };
            let mut elements = vec![ElementProfile { element: OrgElement::Organisation, tiers: profile(&tiers) }];
            elements.extend(
                departments
                    .into_iter()
                    .take(40)
                    .map(|name| ElementProfile { element: OrgElement::Department(name), tiers: profile(&tiers) }),
            );
            (signer(chain, s), Call::Csf(CsfCall::Submit { catalogue: "2.0".into(), elements }))
        }
        Action::Allow { org: o, source, destination, protocol, days } => {
            let org = org_of(o);
            let call = ConnectionCall::Allow {
                source: member_id(org, source),
                destination: member_id(org_of(destination / 8), destination),
                protocol,
                purpose: "purpose".into(),
                expires: chain.time.plus_millis(u64::from(days) * 86_400_000),
            };
            (chain.admin(org), Call::Connection(call))
        }
        Action::Report { signer: s, source, destination, protocol } => {
            let org = org_of(s / 16);
            let call = ConnectionCall::ReportUnexpected {
                source: Some(member_id(org_of(source / 8), source)),
                destination: member_id(org, destination),
                protocol,
                record: hash(6),
            };
            (signer(chain, s), Call::Connection(call))
        }
        Action::Suspend { org: o, slot } => {
            let org = org_of(o);
            (chain.admin(org), Call::Identity(IdentityCall::Suspend { identity: member_id(org, slot) }))
        }
        Action::Reactivate { org: o, slot } => {
            let org = org_of(o);
            (chain.admin(org), Call::Identity(IdentityCall::Reactivate { identity: member_id(org, slot) }))
        }
        Action::Advance { .. } => return None,
    })
}

fuzz_target!(|actions: Vec<Action>| {
    let mut chain = Chain::new();
    for action in actions.into_iter().take(64) {
        if let Action::Advance { hours } = action {
            chain.advance(u64::from(hours) * 3_600_000);
            continue;
        }
        let Some((signer, call)) = call(&chain, action) else { continue };
        // The nonce from state: a refused transaction of an unknown signer consumes none.
        let nonce = panacea_contracts::next_nonce(&chain.store, &signer.public()).unwrap_or(1);
        let chain_id = panacea_contracts::testing::chain_id();
        let tx = panacea_contracts::Transaction { chain_id, signer: signer.public(), nonce, call }.sign(&signer);
        let again = chain.dry_run(std::slice::from_ref(&tx));
        let outcome = chain.block(std::slice::from_ref(&tx));
        assert_eq!(again.state_root, outcome.state_root, "the same block gives the same root");
    }
});

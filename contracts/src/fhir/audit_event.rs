//! Audit log entries as FHIR R4 AuditEvent resources, for auditors' tools.
//!
//! # Mapping
//!
//! | Panacea [`AuditEvent`] | FHIR R4 AuditEvent |
//! |---|---|
//! | hash of the event | `id` |
//! | `seq`, `height`, `prev` | extensions audit-seq, block-height, audit-prev (`valueString`) |
//! | module of `kind` | `type` (Panacea audit-event-type: `consent`, `identity`, `access`, `document`) |
//! | `kind` | `subtype` (Panacea audit-kind, the kebab-case name) |
//! | `action` | `action` (`C`, `R`, `U`, `D`, `E`) |
//! | `recorded` | `recorded` (UTC instant with milliseconds) |
//! | `outcome` | `outcome` `0`, or `4` with `outcomeDesc` for a denial |
//! | `purpose` | `purposeOfEvent` (v3-ActReason) |
//! | `agents` | `agent[]`: `who` is `Practitioner/<identity>`, else `Organization/<org>`, else the signing key as an identifier; the organisation of an identity is an on-behalf-of extension, the key of an agent named otherwise is `altId` |
//! | `entity` | `entity[]`: `Patient/<ref>` (role Patient), `Consent/<id>/_history/<version>`, the decision as an identifier (with the review finding as a `detail`), `DocumentReference/<hash>` for the document, `Practitioner/<identity>`, the data class as the entity `type`, and the off-chain attachment as `DocumentReference/<hash>` with role Report |
//!
//! The event's type code is Panacea's own: no code of the R4 audit-event-type value set
//! (which is extensible) describes a transaction executed on a chain.

use serde_json::{Map, Value, json};

use super::{coding_json, concept_json, format_instant, reference_json, system};
use crate::access::ReviewOutcome;
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditEvent, AuditKind, AuditOutcome};

/// `outcomeDesc` of a denied access request.
pub const DENIED_DESCRIPTION: &str = "denied by consent policy";

/// Writes one audit event as a FHIR R4 AuditEvent resource.
pub fn export(event: &AuditEvent) -> Value {
    let mut out = Map::new();
    out.insert("resourceType".into(), "AuditEvent".into());
    out.insert("id".into(), event.hash().to_string().into());
    out.insert(
        "extension".into(),
        json!([
            { "url": system::AUDIT_SEQ, "valueString": event.seq.to_string() },
            { "url": system::BLOCK_HEIGHT, "valueString": event.height.0.to_string() },
            { "url": system::AUDIT_PREV, "valueString": event.prev.to_string() },
        ]),
    );
    out.insert("type".into(), coding_json(system::AUDIT_EVENT_TYPE, module_code(event.kind)));
    out.insert("subtype".into(), json!([coding_json(system::AUDIT_KIND, kind_code(event.kind))]));
    out.insert("action".into(), action_code(event.action).into());
    out.insert("recorded".into(), format_instant(event.recorded).into());
    match event.outcome {
        AuditOutcome::Success => {
            out.insert("outcome".into(), "0".into());
        }
        AuditOutcome::Denied => {
            out.insert("outcome".into(), "4".into());
            out.insert("outcomeDesc".into(), DENIED_DESCRIPTION.into());
        }
    }
    if let Some(purpose) = event.purpose {
        out.insert("purposeOfEvent".into(), json!([concept_json(system::V3_ACT_REASON, purpose.code())]));
    }
    // R4 requires at least one agent; every event the chain records has its signer.
    out.insert("agent".into(), Value::Array(event.agents.iter().map(agent_json).collect()));
    out.insert("source".into(), json!({ "observer": { "display": "panacea" } }));
    let entities = entities_json(&event.entity);
    if !entities.is_empty() {
        out.insert("entity".into(), Value::Array(entities));
    }
    Value::Object(out)
}

/// Writes audit events as a FHIR R4 Bundle of type `collection`, in the order given. The
/// caller pages: the bundle holds exactly the events passed.
pub fn bundle(events: &[AuditEvent]) -> Value {
    let mut out = Map::new();
    out.insert("resourceType".into(), "Bundle".into());
    out.insert("type".into(), "collection".into());
    // FHIR allows no empty arrays: an empty bundle has no `entry`.
    if !events.is_empty() {
        let entries = events.iter().map(|event| json!({ "resource": export(event) })).collect();
        out.insert("entry".into(), Value::Array(entries));
    }
    Value::Object(out)
}

/// The subtype code: the kind's kebab-case name, as in Panacea's JSON API.
pub fn kind_code(kind: AuditKind) -> &'static str {
    match kind {
        AuditKind::ConsentRecorded => "consent-recorded",
        AuditKind::ConsentAmended => "consent-amended",
        AuditKind::ConsentRevoked => "consent-revoked",
        AuditKind::PatientKeyBound => "patient-key-bound",
        AuditKind::PatientKeyReplaced => "patient-key-replaced",
        AuditKind::PatientKeyRevoked => "patient-key-revoked",
        AuditKind::IdentityRegistered => "identity-registered",
        AuditKind::IdentitySuspended => "identity-suspended",
        AuditKind::IdentityReactivated => "identity-reactivated",
        AuditKind::IdentityRevoked => "identity-revoked",
        AuditKind::IdentityKeyRotated => "identity-key-rotated",
        AuditKind::AccessDecision => "access-decision",
        AuditKind::BreakGlass => "break-glass",
        AuditKind::ReviewClosed => "review-closed",
        AuditKind::DocumentDelivered => "document-delivered",
        AuditKind::DocumentRegistered => "document-registered",
        AuditKind::DocumentErased => "document-erased",
        AuditKind::RiskAssessed => "risk-assessed",
        AuditKind::RiskAttested => "risk-attested",
        AuditKind::RiskParametersChanged => "risk-parameters-changed",
        AuditKind::DeviceQuarantined => "device-quarantined",
        AuditKind::DeviceMitigated => "device-mitigated",
        AuditKind::DeviceReleased => "device-released",
        AuditKind::GovernanceProposed => "governance-proposed",
        AuditKind::GovernanceVoted => "governance-voted",
        AuditKind::GovernanceDecided => "governance-decided",
        AuditKind::EpochChanged => "epoch-changed",
        AuditKind::MisbehaviourReported => "misbehaviour-reported",
        AuditKind::ProductRegistered => "product-registered",
        AuditKind::ProductAttested => "product-attested",
        AuditKind::ProductRevoked => "product-revoked",
        AuditKind::SelfAssessmentRecorded => "self-assessment-recorded",
        AuditKind::ConnectionAllowed => "connection-allowed",
        AuditKind::ConnectionRemoved => "connection-removed",
        AuditKind::UnexpectedConnection => "unexpected-connection",
        AuditKind::CourseDefined => "course-defined",
        AuditKind::TrainingPolicyChanged => "training-policy-changed",
        AuditKind::TrainingIssued => "training-issued",
        AuditKind::TrainingRevoked => "training-revoked",
    }
}

/// The type code: the module that recorded the event.
fn module_code(kind: AuditKind) -> &'static str {
    match kind {
        AuditKind::ConsentRecorded
        | AuditKind::ConsentAmended
        | AuditKind::ConsentRevoked
        | AuditKind::PatientKeyBound
        | AuditKind::PatientKeyReplaced
        | AuditKind::PatientKeyRevoked => "consent",
        AuditKind::IdentityRegistered
        | AuditKind::IdentitySuspended
        | AuditKind::IdentityReactivated
        | AuditKind::IdentityRevoked
        | AuditKind::IdentityKeyRotated => "identity",
        AuditKind::AccessDecision | AuditKind::BreakGlass | AuditKind::ReviewClosed => "access",
        AuditKind::DocumentDelivered | AuditKind::DocumentRegistered | AuditKind::DocumentErased => "document",
        AuditKind::RiskAssessed
        | AuditKind::RiskAttested
        | AuditKind::RiskParametersChanged
        | AuditKind::DeviceQuarantined
        | AuditKind::DeviceMitigated
        | AuditKind::DeviceReleased => "risk",
        AuditKind::GovernanceProposed
        | AuditKind::GovernanceVoted
        | AuditKind::GovernanceDecided
        | AuditKind::EpochChanged
        | AuditKind::MisbehaviourReported => "governance",
        AuditKind::ProductRegistered | AuditKind::ProductAttested | AuditKind::ProductRevoked => "product",
        AuditKind::SelfAssessmentRecorded => "security-governance",
        AuditKind::ConnectionAllowed | AuditKind::ConnectionRemoved | AuditKind::UnexpectedConnection => "connection",
        AuditKind::CourseDefined
        | AuditKind::TrainingPolicyChanged
        | AuditKind::TrainingIssued
        | AuditKind::TrainingRevoked => "training",
    }
}

fn action_code(action: AuditAction) -> &'static str {
    match action {
        AuditAction::Create => "C",
        AuditAction::Read => "R",
        AuditAction::Update => "U",
        AuditAction::Delete => "D",
        AuditAction::Execute => "E",
    }
}

fn agent_json(agent: &AuditAgent) -> Value {
    let mut out = Map::new();
    let key_reference = |key: &panacea_primitives::PublicKey| json!({ "identifier": { "system": system::PUBLIC_KEY, "value": key.to_string() } });
    match (&agent.identity, &agent.org, &agent.key) {
        (Some(identity), org, key) => {
            out.insert("who".into(), reference_json(format!("Practitioner/{identity}")));
            if let Some(org) = org {
                out.insert(
                    "extension".into(),
                    json!([{ "url": system::ON_BEHALF_OF, "valueReference": reference_json(format!("Organization/{org}")) }]),
                );
            }
            if let Some(key) = key {
                out.insert("altId".into(), key.to_string().into());
            }
        }
        (None, Some(org), key) => {
            out.insert("who".into(), reference_json(format!("Organization/{org}")));
            if let Some(key) = key {
                out.insert("altId".into(), key.to_string().into());
            }
        }
        (None, None, Some(key)) => {
            out.insert("who".into(), key_reference(key));
        }
        (None, None, None) => {}
    }
    if let Some(role) = agent.role {
        out.insert("role".into(), json!([concept_json(system::STAFF_ROLE, role.code())]));
    }
    out.insert("requestor".into(), agent.requestor.into());
    Value::Object(out)
}

fn entities_json(entity: &AuditEntity) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(patient) = entity.patient {
        out.push(json!({
            "what": reference_json(format!("Patient/{patient}")),
            "role": coding_json(system::OBJECT_ROLE, "1"),
        }));
    }
    if let Some((consent, version)) = entity.consent {
        out.push(json!({ "what": reference_json(format!("Consent/{consent}/_history/{version}")) }));
    }
    // A review's finding is about the break-glass decision it reviews.
    let finding = entity.finding.map(|finding| json!([{ "type": "finding", "valueString": finding_code(finding) }]));
    match (entity.decision, &finding) {
        (Some(decision), _) => {
            let mut decision =
                json!({ "what": { "identifier": { "system": system::DECISION, "value": decision.to_string() } } });
            if let (Some(finding), Some(object)) = (&finding, decision.as_object_mut()) {
                object.insert("detail".into(), finding.clone());
            }
            out.push(decision);
        }
        (None, Some(finding)) => out.push(json!({ "detail": finding })),
        (None, None) => {}
    }
    if let Some(document) = entity.document {
        out.push(json!({ "what": reference_json(format!("DocumentReference/{document}")) }));
    }
    if let Some(identity) = entity.identity {
        out.push(json!({ "what": reference_json(format!("Practitioner/{identity}")) }));
    }
    if let Some(class) = entity.data_class {
        out.push(json!({ "type": coding_json(system::DATA_CLASS, class.code()) }));
    }
    if let Some(proposal) = entity.proposal {
        out.push(json!({ "what": { "identifier": { "system": system::PROPOSAL, "value": proposal.to_string() } } }));
    }
    if let Some(record) = entity.record {
        out.push(
            json!({ "what": { "identifier": { "system": system::REGISTRY_RECORD, "value": record.to_string() } } }),
        );
    }
    if let Some(attachment) = entity.attachment {
        // object-role 3, Report: the signed form, justification or review notes.
        out.push(json!({
            "what": reference_json(format!("DocumentReference/{attachment}")),
            "role": coding_json(system::OBJECT_ROLE, "3"),
        }));
    }
    out
}

/// The finding as in Panacea's JSON API.
fn finding_code(finding: ReviewOutcome) -> &'static str {
    match finding {
        ReviewOutcome::Justified => "justified",
        ReviewOutcome::Unjustified => "unjustified",
    }
}

#[cfg(test)]
mod tests {
    use panacea_primitives::{Hash, Height, Keypair, Timestamp};

    use super::*;
    use crate::codes::{DataClass, Purpose, StaffRole};
    use crate::fhir::{DateBound, parse_date_time};
    use crate::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};

    fn event(kind: AuditKind, outcome: AuditOutcome) -> AuditEvent {
        AuditEvent {
            seq: 41,
            kind,
            action: AuditAction::Execute,
            outcome,
            recorded: Timestamp(1_750_000_000_123),
            height: Height(900),
            agents: vec![
                AuditAgent {
                    identity: Some(IdentityId(Hash::digest(b"bob"))),
                    key: Some(Keypair::from_seed([3; 32]).public()),
                    org: Some(OrgId::new("hospital-gemelli").unwrap()),
                    role: Some(StaffRole::Physician),
                    requestor: true,
                },
                AuditAgent {
                    identity: None,
                    key: None,
                    org: Some(OrgId::new("clinic-north").unwrap()),
                    role: None,
                    requestor: false,
                },
                AuditAgent {
                    identity: None,
                    key: Some(Keypair::from_seed([4; 32]).public()),
                    org: None,
                    role: None,
                    requestor: false,
                },
            ],
            entity: AuditEntity {
                patient: Some(PatientRef(Hash::digest(b"patient"))),
                consent: Some((ConsentId(Hash::digest(b"consent")), 2)),
                decision: Some(DecisionId(Hash::digest(b"decision"))),
                document: Some(DocumentHash(Hash::digest(b"document"))),
                identity: Some(IdentityId(Hash::digest(b"alice"))),
                data_class: Some(DataClass::LabResults),
                attachment: Some(DocumentHash(Hash::digest(b"justification"))),
                finding: Some(ReviewOutcome::Unjustified),
                proposal: None,
                record: Some(Hash::digest(b"product")),
            },
            purpose: Some(Purpose::EmergencyTreatment),
            prev: Hash::digest(b"previous"),
        }
    }

    /// Checks the parts of an exported AuditEvent that every event must have.
    fn assert_valid(event: &AuditEvent, out: &Value) {
        assert_eq!(out["resourceType"], "AuditEvent");
        assert_eq!(out["id"], event.hash().to_string());
        let recorded = out["recorded"].as_str().expect("recorded is a string");
        assert_eq!(parse_date_time(recorded, DateBound::Start), Ok(event.recorded));
        assert_eq!(out["type"]["system"], system::AUDIT_EVENT_TYPE);
        let modules = [
            "consent",
            "identity",
            "access",
            "document",
            "risk",
            "governance",
            "product",
            "security-governance",
            "connection",
            "training",
        ];
        assert!(modules.contains(&out["type"]["code"].as_str().unwrap()));
        assert_eq!(out["subtype"][0]["system"], system::AUDIT_KIND);
        // The subtype code is the kind's own JSON name.
        assert_eq!(out["subtype"][0]["code"], serde_json::to_value(event.kind).unwrap());
        assert_eq!(out["action"], serde_json::to_value(event.action).unwrap());
        assert!(["0", "4"].contains(&out["outcome"].as_str().unwrap()));
        assert_eq!(out["source"]["observer"]["display"], "panacea");
        let agents = out["agent"].as_array().expect("agent is an array");
        assert_eq!(agents.len(), event.agents.len());
        for agent in agents {
            assert!(agent["requestor"].is_boolean());
        }
    }

    #[test]
    fn every_kind_exports_a_valid_audit_event() {
        for kind in AuditKind::ALL {
            for outcome in [AuditOutcome::Success, AuditOutcome::Denied] {
                let event = event(kind, outcome);
                assert_valid(&event, &export(&event));
            }
        }
        let codes: std::collections::BTreeSet<_> = AuditKind::ALL.iter().map(|kind| kind_code(*kind)).collect();
        assert_eq!(codes.len(), AuditKind::ALL.len(), "kind codes are distinct");
    }

    #[test]
    fn outcome_and_purpose() {
        let denied = export(&event(AuditKind::AccessDecision, AuditOutcome::Denied));
        assert_eq!(denied["outcome"], "4");
        assert_eq!(denied["outcomeDesc"], DENIED_DESCRIPTION);
        assert_eq!(
            denied["purposeOfEvent"][0]["coding"][0],
            json!({ "system": system::V3_ACT_REASON, "code": "ETREAT" })
        );
        let success = export(&event(AuditKind::AccessDecision, AuditOutcome::Success));
        assert_eq!(success["outcome"], "0");
        assert!(success.get("outcomeDesc").is_none());
        let mut without = event(AuditKind::ConsentRecorded, AuditOutcome::Success);
        without.purpose = None;
        without.entity = AuditEntity::default();
        let out = export(&without);
        assert!(out.get("purposeOfEvent").is_none());
        assert!(out.get("entity").is_none());
    }

    #[test]
    fn agents_and_entities() {
        let event = event(AuditKind::AccessDecision, AuditOutcome::Success);
        let out = export(&event);
        let bob = IdentityId(Hash::digest(b"bob"));
        assert_eq!(out["agent"][0]["who"]["reference"], format!("Practitioner/{bob}"));
        assert_eq!(out["agent"][0]["extension"][0]["valueReference"]["reference"], "Organization/hospital-gemelli");
        assert_eq!(out["agent"][0]["altId"], Keypair::from_seed([3; 32]).public().to_string());
        assert_eq!(out["agent"][0]["role"][0]["coding"][0]["code"], "physician");
        assert_eq!(out["agent"][0]["requestor"], true);
        assert_eq!(out["agent"][1]["who"]["reference"], "Organization/clinic-north");
        assert_eq!(out["agent"][2]["who"]["identifier"]["system"], system::PUBLIC_KEY);

        let entities = out["entity"].as_array().unwrap();
        let whats: Vec<String> =
            entities.iter().filter_map(|e| e["what"]["reference"].as_str().map(str::to_owned)).collect();
        assert_eq!(
            whats,
            vec![
                format!("Patient/{}", Hash::digest(b"patient")),
                format!("Consent/{}/_history/2", Hash::digest(b"consent")),
                format!("DocumentReference/{}", Hash::digest(b"document")),
                format!("Practitioner/{}", Hash::digest(b"alice")),
                format!("DocumentReference/{}", Hash::digest(b"justification")),
            ]
        );
        assert_eq!(entities[0]["role"]["code"], "1");
        assert_eq!(entities[2]["what"]["identifier"]["value"], Hash::digest(b"decision").to_string());
        assert_eq!(entities[2]["detail"], json!([{ "type": "finding", "valueString": "unjustified" }]));
        // The finding is the kind's own JSON name.
        assert_eq!(serde_json::to_value(ReviewOutcome::Unjustified).unwrap(), "unjustified");
        assert_eq!(serde_json::to_value(ReviewOutcome::Justified).unwrap(), finding_code(ReviewOutcome::Justified));
        assert_eq!(entities[5]["type"], json!({ "system": system::DATA_CLASS, "code": "lab-results" }));
        let record = json!({ "identifier": { "system": system::REGISTRY_RECORD, "value": Hash::digest(b"product").to_string() } });
        assert_eq!(entities[6]["what"], record);
        assert_eq!(entities[7]["role"]["code"], "3");

        let mut finding_only = event.entity.clone();
        finding_only.decision = None;
        let entities = entities_json(&finding_only);
        assert!(
            entities.iter().any(|e| e == &json!({ "detail": [{ "type": "finding", "valueString": "unjustified" }] }))
        );
        assert_eq!(out["extension"][0]["valueString"], "41");
        assert_eq!(out["extension"][1]["valueString"], "900");
        assert_eq!(out["extension"][2]["valueString"], Hash::digest(b"previous").to_string());
    }

    #[test]
    fn bundle_is_a_collection_in_order() {
        let events: Vec<AuditEvent> = AuditKind::ALL.iter().map(|kind| event(*kind, AuditOutcome::Success)).collect();
        let out = bundle(&events);
        assert_eq!(out["resourceType"], "Bundle");
        assert_eq!(out["type"], "collection");
        let entries = out["entry"].as_array().unwrap();
        assert_eq!(entries.len(), events.len());
        for (entry, event) in entries.iter().zip(&events) {
            assert_valid(event, &entry["resource"]);
        }
        assert!(bundle(&[]).get("entry").is_none());
    }
}

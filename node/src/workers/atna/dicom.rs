//! Audit events as the IHE audit message: DICOM PS3.15 section A.5 XML (`AuditMessage`,
//! the successor of RFC 3881), the format IHE ATNA's Record Audit Event transaction carries.
//!
//! # Mapping
//!
//! | Panacea [`AuditEvent`] | DICOM audit message |
//! |---|---|
//! | `kind` | `EventID` (a DCM code, [`event_codes`]), `EventTypeCode`: a DCM security-alert type where one fits, and always the Panacea kind (code system `urn:panacea:audit-kind`) |
//! | `action` | `EventActionCode` (`C`, `R`, `U`, `D`, `E`) |
//! | `recorded` | `EventDateTime` (UTC, milliseconds) |
//! | `outcome` | `EventOutcomeIndicator` `0`, or `4` (minor failure) with `EventOutcomeDescription` for a denial |
//! | `purpose` | `PurposeOfUse` (HL7 v3 ActReason, OID 2.16.840.1.113883.5.8) |
//! | `agents` | `ActiveParticipant`: `UserID` is `identity@org` (or the organisation, or the signing key), `AlternativeUserID` the key, `RoleIDCode` the staff role |
//! | the exporting node | `AuditSourceIdentification`: `AuditSourceID` the node's hostname, `AuditEnterpriseSiteID` the chain id, type 4 (application server) |
//! | `entity` | `ParticipantObjectIdentification`, one per part: the patient (person, role patient, ID type 2 patient number: the pseudonymous reference), the consent version, the decision (with the review finding as a detail), the document (with its data class as a detail), the identity, the proposal, the registry record, the attachment (role report) |
//! | `seq`, `height`, `prev` | details of a system object `urn:panacea:audit:<seq>` (and in the syslog structured data) |
//!
//! Identifiers of things that also have a FHIR form use the same relative references as
//! the FHIR export (`Consent/<id>/_history/<version>`, `DocumentReference/<hash>`), with ID
//! type 12 (URI); the others are URNs. `ParticipantObjectDetail` values are base64, as
//! the schema's `xs:base64Binary` asks.

use base64::Engine as _;
use panacea_contracts::access::ReviewOutcome;
use panacea_contracts::audit::{AuditAction, AuditAgent, AuditEvent, AuditKind, AuditOutcome};
use panacea_contracts::fhir::audit_event::{DENIED_DESCRIPTION, kind_code};
use panacea_contracts::fhir::format_instant;

/// The code system of DICOM's own codes.
const DCM: &str = "DCM";
/// The code system of RFC 3881's participant object ID types.
const RFC_3881: &str = "RFC-3881";
/// HL7 v3 ActReason, for purposes of use.
const ACT_REASON: &str = "2.16.840.1.113883.5.8";
/// Panacea's audit kinds.
pub const KIND_SYSTEM: &str = "urn:panacea:audit-kind";
/// Panacea's staff roles.
const ROLE_SYSTEM: &str = "urn:panacea:staff-role";

/// A coded value: code, code system name, display.
pub type Code = (&'static str, &'static str, &'static str);

/// Where the message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `AuditSourceID`: the node.
    pub id: String,
    /// `AuditEnterpriseSiteID`: the consortium's chain.
    pub site: String,
}

/// The DCM `EventID` of a kind, and the DCM `EventTypeCode` that refines it, if one fits.
pub fn event_codes(kind: AuditKind) -> (Code, Option<Code>) {
    const PATIENT_RECORD: Code = ("110110", DCM, "Patient Record");
    const EXPORT: Code = ("110106", DCM, "Export");
    const APPLICATION_ACTIVITY: Code = ("110100", DCM, "Application Activity");
    const ALERT: Code = ("110113", DCM, "Security Alert");
    const NODE_AUTHENTICATION: Code = ("110126", DCM, "Node Authentication");
    const EMERGENCY_STARTED: Code = ("110127", DCM, "Emergency Override Started");
    const NETWORK_CONFIGURATION: Code = ("110128", DCM, "Network Configuration");
    const SECURITY_CONFIGURATION: Code = ("110129", DCM, "Security Configuration");
    const SOFTWARE_CONFIGURATION: Code = ("110131", DCM, "Software Configuration");
    const ROLES_CHANGED: Code = ("110136", DCM, "Security Roles Changed");
    const USER_ATTRIBUTES_CHANGED: Code = ("110137", DCM, "User Security Attributes Changed");
    const EMERGENCY_STOPPED: Code = ("110138", DCM, "Emergency Override Stopped");
    let alert = |kind| (ALERT, Some(kind));
    match kind {
        // Consents and documents are parts of the patient's record; the access decision
        // is the use of it (its outcome says whether it was disclosed).
        AuditKind::ConsentRecorded
        | AuditKind::ConsentAmended
        | AuditKind::ConsentRevoked
        | AuditKind::AccessDecision
        | AuditKind::DocumentRegistered
        | AuditKind::DocumentErased => (PATIENT_RECORD, None),
        // A delivery is the custodian's export of a document to the requester's node.
        AuditKind::DocumentDelivered => (EXPORT, None),
        AuditKind::BreakGlass => alert(EMERGENCY_STARTED),
        AuditKind::ReviewClosed => alert(EMERGENCY_STOPPED),
        AuditKind::PatientKeyBound
        | AuditKind::PatientKeyReplaced
        | AuditKind::PatientKeyRevoked
        | AuditKind::IdentitySuspended
        | AuditKind::IdentityReactivated
        | AuditKind::IdentityRevoked
        | AuditKind::IdentityKeyRotated
        | AuditKind::TrainingIssued
        | AuditKind::TrainingRevoked => alert(USER_ATTRIBUTES_CHANGED),
        AuditKind::IdentityRegistered => alert(ROLES_CHANGED),
        AuditKind::RiskAssessed | AuditKind::RiskAttested => (APPLICATION_ACTIVITY, None),
        AuditKind::RiskParametersChanged
        | AuditKind::DeviceQuarantined
        | AuditKind::DeviceMitigated
        | AuditKind::DeviceReleased
        | AuditKind::SelfAssessmentRecorded
        | AuditKind::CourseDefined
        | AuditKind::TrainingPolicyChanged => alert(SECURITY_CONFIGURATION),
        AuditKind::GovernanceProposed
        | AuditKind::GovernanceVoted
        | AuditKind::GovernanceDecided
        | AuditKind::EpochChanged
        | AuditKind::ConnectionAllowed
        | AuditKind::ConnectionRemoved => alert(NETWORK_CONFIGURATION),
        // Misbehaviour evidence and a refused connection are nodes or machines that
        // acted outside what they are authenticated for.
        AuditKind::MisbehaviourReported | AuditKind::UnexpectedConnection => alert(NODE_AUTHENTICATION),
        AuditKind::ProductRegistered | AuditKind::ProductAttested | AuditKind::ProductRevoked => {
            alert(SOFTWARE_CONFIGURATION)
        }
    }
}

/// Writes `text` escaped for an XML attribute value or text. Characters XML 1.0 cannot
/// carry (control characters other than tab, line feed and carriage return) become U+FFFD.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// A small writer of elements with attributes.
struct Xml(String);

impl Xml {
    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (key, value) in attributes {
            self.0.push(' ');
            self.0.push_str(key);
            self.0.push_str("=\"");
            escape(value, &mut self.0);
            self.0.push('"');
        }
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.open(name, attributes);
        self.0.pop();
        self.0.push_str("/>");
    }

    fn code(&mut self, name: &str, (code, system, display): Code) {
        self.empty(name, &[("csd-code", code), ("codeSystemName", system), ("originalText", display)]);
    }

    fn text(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        escape(text, &mut self.0);
        self.close(name);
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

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// One participant object.
struct Object<'a> {
    id: String,
    /// ParticipantObjectTypeCode: 1 person, 2 system object.
    type_code: &'static str,
    /// ParticipantObjectTypeCodeRole, if any.
    role: Option<&'static str>,
    id_type: Code,
    details: Vec<(&'static str, &'a str)>,
}

impl Xml {
    fn object(&mut self, object: &Object<'_>) {
        let mut attributes =
            vec![("ParticipantObjectID", object.id.as_str()), ("ParticipantObjectTypeCode", object.type_code)];
        if let Some(role) = object.role {
            attributes.push(("ParticipantObjectTypeCodeRole", role));
        }
        self.open("ParticipantObjectIdentification", &attributes);
        self.code("ParticipantObjectIDTypeCode", object.id_type);
        for (kind, value) in &object.details {
            self.empty("ParticipantObjectDetail", &[("type", kind), ("value", &base64(value))]);
        }
        self.close("ParticipantObjectIdentification");
    }

    fn participant(&mut self, agent: &AuditAgent) {
        let key = agent.key.map(|key| key.to_string());
        let user = match (&agent.identity, &agent.org) {
            (Some(identity), Some(org)) => format!("{identity}@{org}"),
            (Some(identity), None) => identity.to_string(),
            (None, Some(org)) => org.to_string(),
            (None, None) => key.clone().unwrap_or_else(|| "unknown".into()),
        };
        let requestor = if agent.requestor { "true" } else { "false" };
        let mut attributes = vec![("UserID", user.as_str()), ("UserIsRequestor", requestor)];
        if let Some(key) = key.as_deref().filter(|key| *key != user) {
            attributes.push(("AlternativeUserID", key));
        }
        match agent.role {
            Some(role) => {
                self.open("ActiveParticipant", &attributes);
                self.code("RoleIDCode", (role.code(), ROLE_SYSTEM, role.code()));
                self.close("ActiveParticipant");
            }
            None => self.empty("ActiveParticipant", &attributes),
        }
    }
}

fn finding_code(finding: ReviewOutcome) -> &'static str {
    match finding {
        ReviewOutcome::Justified => "justified",
        ReviewOutcome::Unjustified => "unjustified",
    }
}

/// The participant objects of an event, in the order of the module docs' table.
fn objects(event: &AuditEvent) -> Vec<Object<'static>> {
    const PATIENT_NUMBER: Code = ("2", RFC_3881, "Patient Number");
    const USER_IDENTIFIER: Code = ("11", RFC_3881, "User Identifier");
    const URI: Code = ("12", RFC_3881, "URI");
    let system =
        |id: String, role: Option<&'static str>| Object { id, type_code: "2", role, id_type: URI, details: vec![] };
    let entity = &event.entity;
    let mut out = Vec::new();
    if let Some(patient) = entity.patient {
        out.push(Object {
            id: patient.to_string(),
            type_code: "1",
            role: Some("1"),
            id_type: PATIENT_NUMBER,
            details: vec![],
        });
    }
    if let Some((consent, version)) = entity.consent {
        // Role 13: a security resource (the directive that rules access).
        out.push(system(format!("Consent/{consent}/_history/{version}"), Some("13")));
    }
    let finding = entity.finding.map(finding_code);
    match (entity.decision, finding) {
        (Some(decision), finding) => {
            let mut object = system(format!("urn:panacea:decision:{decision}"), Some("13"));
            object.details.extend(finding.map(|f| ("finding", f)));
            out.push(object);
        }
        (None, Some(finding)) => {
            let mut object = system(format!("urn:panacea:audit:{}:finding", event.seq), None);
            object.details.push(("finding", finding));
            out.push(object);
        }
        (None, None) => {}
    }
    if let Some(document) = entity.document {
        let mut object = system(format!("DocumentReference/{document}"), Some("3"));
        object.details.extend(entity.data_class.map(|class| ("data-class", class.code())));
        out.push(object);
    } else if let Some(class) = entity.data_class {
        let mut object = system(format!("urn:panacea:data-class:{}", class.code()), None);
        object.details.push(("data-class", class.code()));
        out.push(object);
    }
    if let Some(identity) = entity.identity {
        // Role 11: a security user entity (a staff member, device or service).
        out.push(Object {
            id: identity.to_string(),
            type_code: "1",
            role: Some("11"),
            id_type: USER_IDENTIFIER,
            details: vec![],
        });
    }
    if let Some(proposal) = entity.proposal {
        out.push(system(format!("urn:panacea:proposal:{proposal}"), None));
    }
    if let Some(record) = entity.record {
        out.push(system(format!("urn:panacea:record:{record}"), None));
    }
    if let Some(attachment) = entity.attachment {
        out.push(system(format!("DocumentReference/{attachment}"), Some("3")));
    }
    out
}

/// The audit event as a DICOM PS3.15 A.5 `AuditMessage` document.
pub fn audit_message(event: &AuditEvent, source: &Source) -> String {
    let mut xml = Xml(String::with_capacity(2048));
    xml.0.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    xml.open("AuditMessage", &[]);
    let outcome = match event.outcome {
        AuditOutcome::Success => "0",
        AuditOutcome::Denied => "4",
    };
    let when = format_instant(event.recorded);
    xml.open(
        "EventIdentification",
        &[("EventActionCode", action_code(event.action)), ("EventDateTime", &when), ("EventOutcomeIndicator", outcome)],
    );
    let (id, refined) = event_codes(event.kind);
    xml.code("EventID", id);
    if let Some(refined) = refined {
        xml.code("EventTypeCode", refined);
    }
    let kind = kind_code(event.kind);
    xml.code("EventTypeCode", (kind, KIND_SYSTEM, kind));
    if event.outcome == AuditOutcome::Denied {
        xml.text("EventOutcomeDescription", DENIED_DESCRIPTION);
    }
    if let Some(purpose) = event.purpose {
        xml.code("PurposeOfUse", (purpose.code(), ACT_REASON, purpose.code()));
    }
    xml.close("EventIdentification");
    for agent in &event.agents {
        xml.participant(agent);
    }
    xml.open("AuditSourceIdentification", &[("AuditEnterpriseSiteID", &source.site), ("AuditSourceID", &source.id)]);
    xml.code("AuditSourceTypeCode", ("4", DCM, "Application Server Process Tier"));
    xml.close("AuditSourceIdentification");
    for object in objects(event) {
        xml.object(&object);
    }
    // The event's place in the chain's log, for an auditor who checks it against the chain.
    let (seq, height, prev) = (event.seq.to_string(), event.height.0.to_string(), event.prev.to_string());
    xml.object(&Object {
        id: format!("urn:panacea:audit:{seq}"),
        type_code: "2",
        role: Some("4"),
        id_type: ("12", RFC_3881, "URI"),
        details: vec![("seq", &seq), ("height", &height), ("prev", &prev)],
    });
    xml.close("AuditMessage");
    xml.0
}

#[cfg(test)]
mod tests {
    use panacea_contracts::audit::AuditEntity;
    use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
    use panacea_contracts::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};
    use panacea_primitives::{Hash, Keypair};
    use quick_xml::events::Event;

    use super::*;
    use crate::workers::atna::syslog::tests::event;

    fn source() -> Source {
        Source { id: "hospital-a-node".into(), site: "panacea-e2e".into() }
    }

    fn full(kind: AuditKind, outcome: AuditOutcome) -> AuditEvent {
        let mut event = event(kind, outcome);
        event.agents = vec![
            AuditAgent {
                identity: Some(IdentityId(Hash::digest(b"bob"))),
                key: Some(Keypair::from_seed([3; 32]).public()),
                org: Some(OrgId::new("hospital-a").unwrap()),
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
        ];
        event.entity = AuditEntity {
            patient: Some(PatientRef(Hash::digest(b"patient"))),
            consent: Some((ConsentId(Hash::digest(b"consent")), 2)),
            decision: Some(DecisionId(Hash::digest(b"decision"))),
            document: Some(DocumentHash(Hash::digest(b"document"))),
            identity: Some(IdentityId(Hash::digest(b"alice"))),
            data_class: Some(DataClass::LabResults),
            attachment: Some(DocumentHash(Hash::digest(b"justification"))),
            finding: Some(ReviewOutcome::Unjustified),
            proposal: Some(Hash::digest(b"proposal")),
            record: Some(Hash::digest(b"product")),
        };
        event.purpose = Some(Purpose::EmergencyTreatment);
        event
    }

    /// Parses `xml` and returns, for each element in document order, its path and its
    /// attributes (unescaped).
    fn parse(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut stack: Vec<String> = Vec::new();
        let mut out = Vec::new();
        loop {
            let (element, opens) = match reader.read_event().expect("well-formed XML") {
                Event::Start(e) => (e.into_owned(), true),
                Event::Empty(e) => (e.into_owned(), false),
                Event::End(e) => {
                    let name = e.name().as_ref().to_string();
                    assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "balanced tags");
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let name = element.name().as_ref().to_string();
            let attributes = element
                .attributes()
                .map(|a| {
                    let a = a.expect("a well-formed attribute");
                    let key = a.key.as_ref().to_string();
                    (key, a.normalized_value(quick_xml::XmlVersion::Explicit1_0).expect("escaped value").into_owned())
                })
                .collect();
            out.push((format!("{}/{name}", stack.iter().map(|s| format!("/{s}")).collect::<String>()), attributes));
            if opens {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "every element closed");
        out
    }

    fn attribute<'a>(element: &'a (String, Vec<(String, String)>), key: &str) -> &'a str {
        element
            .1
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{key} in {element:?}"))
    }

    #[test]
    fn a_full_event_is_a_well_formed_audit_message() {
        let event = full(AuditKind::BreakGlass, AuditOutcome::Success);
        let xml = audit_message(&event, &source());
        let elements = parse(&xml);
        assert_eq!(elements[0].0, "/AuditMessage");
        let identification = &elements[1];
        assert_eq!(identification.0, "/AuditMessage/EventIdentification");
        assert_eq!(attribute(identification, "EventActionCode"), "E");
        assert_eq!(attribute(identification, "EventDateTime"), "2025-06-15T15:06:40.123Z");
        assert_eq!(attribute(identification, "EventOutcomeIndicator"), "0");
        assert_eq!(attribute(&elements[2], "csd-code"), "110113");
        assert_eq!(attribute(&elements[2], "codeSystemName"), "DCM");
        assert_eq!(attribute(&elements[3], "csd-code"), "110127");
        assert_eq!(attribute(&elements[4], "csd-code"), "break-glass");
        assert_eq!(attribute(&elements[5], "csd-code"), "ETREAT");
        let participants: Vec<_> = elements.iter().filter(|e| e.0 == "/AuditMessage/ActiveParticipant").collect();
        assert_eq!(participants.len(), 3);
        assert_eq!(attribute(participants[0], "UserID"), format!("{}@hospital-a", Hash::digest(b"bob")));
        assert_eq!(attribute(participants[0], "UserIsRequestor"), "true");
        assert_eq!(attribute(participants[0], "AlternativeUserID"), Keypair::from_seed([3; 32]).public().to_string());
        assert_eq!(attribute(participants[1], "UserID"), "clinic-north");
        assert_eq!(attribute(participants[2], "UserID"), Keypair::from_seed([4; 32]).public().to_string());
        assert!(participants[2].1.iter().all(|(k, _)| k != "AlternativeUserID"));
        let role = elements.iter().find(|e| e.0.ends_with("/RoleIDCode")).unwrap();
        assert_eq!(attribute(role, "csd-code"), "physician");
        let source = elements.iter().find(|e| e.0 == "/AuditMessage/AuditSourceIdentification").unwrap();
        assert_eq!(attribute(source, "AuditSourceID"), "hospital-a-node");
        assert_eq!(attribute(source, "AuditEnterpriseSiteID"), "panacea-e2e");
        let objects: Vec<_> =
            elements.iter().filter(|e| e.0 == "/AuditMessage/ParticipantObjectIdentification").collect();
        let ids: Vec<&str> = objects.iter().map(|o| attribute(o, "ParticipantObjectID")).collect();
        assert_eq!(ids[0], Hash::digest(b"patient").to_string());
        assert_eq!(attribute(objects[0], "ParticipantObjectTypeCodeRole"), "1");
        assert_eq!(ids[1], format!("Consent/{}/_history/2", Hash::digest(b"consent")));
        assert_eq!(ids[2], format!("urn:panacea:decision:{}", Hash::digest(b"decision")));
        assert_eq!(ids.last().copied(), Some("urn:panacea:audit:123"));
        assert_eq!(objects.len(), 9);
        // Details are base64: the finding on the decision, the data class on the document.
        let details: Vec<(&str, String)> = elements
            .iter()
            .filter(|e| e.0.ends_with("/ParticipantObjectDetail"))
            .map(|e| {
                let value = base64::engine::general_purpose::STANDARD.decode(attribute(e, "value")).unwrap();
                (attribute(e, "type"), String::from_utf8(value).unwrap())
            })
            .collect();
        assert_eq!(details[0], ("finding", "unjustified".to_string()));
        assert_eq!(details[1], ("data-class", "lab-results".to_string()));
        assert_eq!(details[2], ("seq", "123".to_string()));
        assert_eq!(details[3], ("height", "45".to_string()));
    }

    #[test]
    fn every_kind_and_outcome_is_well_formed_and_fits_a_syslog_message() {
        for kind in &AuditKind::ALL {
            for outcome in [AuditOutcome::Success, AuditOutcome::Denied] {
                let xml = audit_message(&full(*kind, outcome), &source());
                let elements = parse(&xml);
                let (id, _) = event_codes(*kind);
                assert_eq!(attribute(&elements[2], "csd-code"), id.0);
                let described = elements.iter().any(|e| e.0.ends_with("/EventOutcomeDescription"));
                assert_eq!(described, outcome == AuditOutcome::Denied);
                // The largest event the chain records fits rsyslog's default 8 KiB.
                assert!(xml.len() < 6 * 1024, "{kind:?}: {} bytes", xml.len());
            }
        }
    }

    #[test]
    fn text_is_escaped() {
        let mut out = String::new();
        escape("a<b>&\"c'\n\u{1}", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{FFFD}");
        let source = Source { id: "<node & \"1\">".into(), site: "s".into() };
        let xml = audit_message(&event(AuditKind::ConsentRecorded, AuditOutcome::Success), &source);
        let elements = parse(&xml);
        let found = elements.iter().find(|e| e.0 == "/AuditMessage/AuditSourceIdentification").unwrap();
        assert_eq!(attribute(found, "AuditSourceID"), "<node & \"1\">");
    }
}

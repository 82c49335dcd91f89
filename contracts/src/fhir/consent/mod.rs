//! FHIR R4 Consent resources to and from [`ConsentTerms`] and [`Consent`].
//!
//! # Mapping
//!
//! | FHIR R4 Consent | Panacea |
//! |---|---|
//! | `id` (64 lowercase hex) | [`ImportedConsent::id`]; any other id is reported as unsupported |
//! | `status` | [`ConsentStatus`] |
//! | `scope.coding` (consentscope) | [`ConsentScope`] |
//! | `category[].coding[].code` | `categories` (at most `CONSENT_LIST_MAX` codes) |
//! | `patient.identifier` (patient-ref system, 64 hex) | [`PatientRef`], as is |
//! | `patient.reference` `Patient/<id>` or `patient.identifier` (any other system) | [`PatientRef`] derived with the custodian's key ([`Pseudonymiser`]); without a key only `Patient/<64 hex>`, taken as is |
//! | `organization` (`Organization/<org id>`) | `custodians`: whose data the consent governs |
//! | `policyRule.coding` (v3-ActCode OPTIN, OPTINR, OPTOUT, OPTOUTE) | [`PolicyRule`] |
//! | `verification[]` `verified`, `verificationDate` | [`Verification`] |
//! | `sourceAttachment.extension` form-sha256 | [`ImportedConsent::form_hash`] |
//! | `provision` `type`, `period`, `actor`, `action`, `purpose`, `dataPeriod`, `provision` | [`Provision`] |
//! | `provision.class` (data-class, `http://hl7.org/fhir/resource-types`, `urn:ietf:bcp:13`) | `data_classes`, `resource_types`, `mime_types` |
//!
//! Actors: `Organization/<org id>` is [`ActorRef::Organisation`]; `Practitioner/<hex>` and
//! `Device/<hex>` are [`ActorRef::Identity`], with a role, if any, of v3-ParticipationType
//! `PRCP` or `IRCP` (recipients: the only kind of actor Panacea has); an actor with no
//! reference and a staff-role coding is [`ActorRef::Role`].
//!
//! Periods: a `start` is read at its first millisecond and an `end` at its last, so a
//! date-only end such as `"2025-12-31"` means `2025-12-31T23:59:59.999Z`, the end of that
//! UTC day (see [`DateBound`]). A period with neither end is no period.
//!
//! `dateTime`, `meta`, `text`, `performer`, `policy`, extensions and the
//! like are reported in [`ImportedConsent::unsupported`]: the chain supplies its own
//! recording time, version and recorder.

use serde_json::{Map, Value, json};

use super::{
    Coding, DateBound, FhirError, INPUT_BYTES_MAX, Object, coding_json, concept_code, concept_codings, concept_json,
    date_time, excerpt, format_instant, parse_hash, parse_json, period_json, read_period, reference_json, system,
};
use crate::codes::{ConsentAction, DataClass, MimeType, Purpose, ResourceType, StaffRole};
use crate::consent::{
    ActorRef, CONSENT_LIST_MAX, Consent, ConsentScope, ConsentStatus, ConsentTerms, PROVISION_DEPTH_MAX,
    PROVISION_LIST_MAX, PROVISIONS_MAX, PolicyRule, Provision, ProvisionType, Recorder, Verification,
};
use crate::ids::{ConsentId, DocumentHash, IdentityId, OrgId, PatientRef};
use panacea_primitives::{LocalPatient, Pseudonymiser};

/// A Consent resource read into Panacea's terms.
///
/// Not a generic `Imported<T>`: besides the terms, a Consent carries the id of the consent
/// it is a version of (for an amendment) and the hash of the signed form (for a custodian),
/// which belong to the call rather than to the terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedConsent {
    /// The terms.
    pub terms: ConsentTerms,
    /// `Consent.id`, when it is a Panacea consent id (64 lowercase hex).
    pub id: Option<ConsentId>,
    /// SHA-256 of the signed form, from the form-sha256 extension on `sourceAttachment`.
    pub form_hash: Option<DocumentHash>,
    /// JSON paths of the elements present in the input that Panacea does not represent, in
    /// the order import met them (for example `Consent.text`,
    /// `Consent.provision.provision[0].securityLabel`). A path names the whole element:
    /// `Consent.text` covers everything inside it.
    pub unsupported: Vec<String>,
}

/// Reads a FHIR R4 Consent resource in JSON.
///
/// Every element of the input is mapped, listed in `unsupported`, or refused with an error
/// naming its path; see the [module documentation](self) for the mapping and
/// [`FhirError`] for what is refused. Never panics.
pub fn import(json: &str) -> Result<ImportedConsent, FhirError> {
    import_with(json, None)
}

/// [`import`], deriving the patient's reference with the custodian's pseudonymisation key
/// when the resource names the patient as the custodian's records do (`Patient/<id>` or a
/// business identifier). The key stays with the caller: only the derived reference is in
/// the result.
pub fn import_with(json: &str, pseudonymiser: Option<&Pseudonymiser>) -> Result<ImportedConsent, FhirError> {
    if json.len() > INPUT_BYTES_MAX {
        return Err(FhirError::TooLarge { bytes: json.len(), max: INPUT_BYTES_MAX });
    }
    let root = parse_json(json)?;
    match root.get("resourceType") {
        Some(Value::String(found)) if found == "Consent" => {}
        Some(Value::String(found)) => {
            return Err(FhirError::ResourceType {
                path: "Consent.resourceType".into(),
                expected: "Consent",
                found: excerpt(found),
            });
        }
        Some(_) => return Err(FhirError::Type { path: "Consent.resourceType".into(), expected: "a string" }),
        None if root.is_object() => return Err(FhirError::Missing { path: "Consent.resourceType".into() }),
        None => return Err(FhirError::Type { path: "Consent".into(), expected: "an object" }),
    }
    let mut unsupported = Vec::new();
    let mut consent = Object::new(&root, "Consent".into())?;
    consent.take("resourceType");
    if consent.has("implicitRules") {
        return Err(FhirError::Modifier { path: "Consent.implicitRules".into() });
    }
    check_contained(&consent)?;

    let id = match consent.take_str("id")? {
        Some((text, path)) => {
            let id = parse_hash(text).map(ConsentId);
            if id.is_none() {
                unsupported.push(path);
            }
            id
        }
        None => None,
    };
    let (status, path) = consent.require_str("status")?;
    let status = status_from_code(status).ok_or_else(|| FhirError::UnknownCode {
        path,
        system: system::CONSENT_STATE,
        code: excerpt(status),
    })?;
    let (scope, path) = require(&mut consent, "scope")?;
    let (scope, path) = concept_code(scope, path, system::CONSENT_SCOPE, &mut unsupported)?;
    let scope = scope_from_code(scope).ok_or_else(|| FhirError::UnknownCode {
        path,
        system: system::CONSENT_SCOPE,
        code: excerpt(scope),
    })?;
    let categories = read_categories(&mut consent, &mut unsupported)?;
    let patient = read_patient(&mut consent, pseudonymiser)?;
    let custodians = read_custodians(&mut consent)?;
    let (policy_rule, path) = require(&mut consent, "policyRule")?;
    let (policy_rule, path) = concept_code(policy_rule, path, system::V3_ACT_CODE, &mut unsupported)?;
    let policy_rule = policy_rule_from_code(policy_rule).ok_or_else(|| FhirError::UnknownCode {
        path,
        system: system::V3_ACT_CODE,
        code: excerpt(policy_rule),
    })?;
    let verification = consent
        .take_array("verification", CONSENT_LIST_MAX)?
        .into_iter()
        .map(|(value, path)| read_verification(value, path, &mut unsupported))
        .collect::<Result<Vec<_>, _>>()?;
    let form_hash = match consent.take_object("sourceAttachment")? {
        Some(attachment) => read_form_hash(attachment, &mut unsupported)?,
        None => None,
    };
    let (provision, path) = require(&mut consent, "provision")?;
    let mut walk = Walk { provisions: 0, unsupported: &mut unsupported };
    let provision = read_provision(provision, path, 1, &mut walk)?;
    consent.finish(&mut unsupported);

    let terms = ConsentTerms { patient, status, scope, custodians, categories, policy_rule, verification, provision };
    Ok(ImportedConsent { terms, id, form_hash, unsupported })
}

/// Writes one consent version as a FHIR R4 Consent resource.
///
/// `id` is the consent id, `meta.versionId` the version, `dateTime` the block time of the
/// version. A patient recorder appears as `performer` (the patient agreed); a custodian as
/// `organization`, a recorder extension naming the identity, and the form's SHA-256 in a
/// form-sha256 extension on `sourceAttachment` (not in `Attachment.hash`, which R4 defines
/// as SHA-1). Empty lists and periods with neither end are left out.
pub fn export(consent: &Consent) -> Value {
    let terms = &consent.terms;
    let mut out = Map::new();
    out.insert("resourceType".into(), "Consent".into());
    out.insert("id".into(), consent.id.to_string().into());
    out.insert("meta".into(), json!({ "versionId": consent.version.to_string() }));
    out.insert("status".into(), terms.status.code().into());
    out.insert("scope".into(), concept_json(system::CONSENT_SCOPE, scope_code(terms.scope)));
    if !terms.categories.is_empty() {
        let categories = terms.categories.iter().map(|code| concept_json(category_system(code), code)).collect();
        out.insert("category".into(), Value::Array(categories));
    }
    // Both forms: a reader that follows references finds the patient, and re-import (with
    // or without a pseudonymisation key) takes the patient-ref identifier as is.
    let mut patient = Map::new();
    patient.insert("reference".into(), format!("Patient/{}", terms.patient).into());
    patient.insert("identifier".into(), json!({ "system": system::PATIENT_REF, "value": terms.patient.to_string() }));
    out.insert("patient".into(), Value::Object(patient));
    if !terms.custodians.is_empty() {
        let custodians = terms.custodians.iter().map(|org| reference_json(format!("Organization/{org}"))).collect();
        out.insert("organization".into(), Value::Array(custodians));
    }
    out.insert("dateTime".into(), format_instant(consent.recorded_at).into());
    match &consent.recorder {
        Recorder::Patient { .. } => {
            out.insert("performer".into(), json!([reference_json(format!("Patient/{}", terms.patient))]));
        }
        Recorder::Custodian { identity, form_hash, .. } => {
            out.insert(
                "sourceAttachment".into(),
                json!({ "extension": [{ "url": system::FORM_SHA256, "valueString": form_hash.to_string() }] }),
            );
            out.insert(
                "extension".into(),
                json!([{ "url": system::RECORDER, "valueReference": reference_json(format!("Practitioner/{identity}")) }]),
            );
        }
    }
    out.insert("policyRule".into(), concept_json(system::V3_ACT_CODE, policy_rule_code(terms.policy_rule)));
    if !terms.verification.is_empty() {
        let verification = terms
            .verification
            .iter()
            .map(|v| {
                let mut entry = Map::new();
                entry.insert("verified".into(), v.verified.into());
                if let Some(date) = v.date {
                    entry.insert("verificationDate".into(), format_instant(date).into());
                }
                Value::Object(entry)
            })
            .collect();
        out.insert("verification".into(), Value::Array(verification));
    }
    out.insert("provision".into(), provision_json(&terms.provision));
    Value::Object(out)
}

fn provision_json(provision: &Provision) -> Value {
    let mut out = Map::new();
    let kind = match provision.kind {
        ProvisionType::Deny => "deny",
        ProvisionType::Permit => "permit",
    };
    out.insert("type".into(), kind.into());
    if let Some(period) = provision.period.as_ref().and_then(period_json) {
        out.insert("period".into(), period);
    }
    let mut list = |key: &str, items: Vec<Value>| {
        if !items.is_empty() {
            out.insert(key.into(), Value::Array(items));
        }
    };
    list("actor", provision.actors.iter().map(actor_json).collect());
    list("action", provision.actions.iter().map(|a| concept_json(system::CONSENT_ACTION, a.code())).collect());
    list("purpose", provision.purposes.iter().map(|p| coding_json(system::V3_ACT_REASON, p.code())).collect());
    list(
        "class",
        provision
            .data_classes
            .iter()
            .map(|c| coding_json(system::DATA_CLASS, c.code()))
            .chain(provision.resource_types.iter().map(|t| coding_json(system::RESOURCE_TYPES, t.code())))
            .chain(provision.mime_types.iter().map(|m| coding_json(system::MIME_TYPE, m.code())))
            .collect(),
    );
    list("provision", provision.exceptions.iter().map(provision_json).collect());
    if let Some(period) = provision.data_period.as_ref().and_then(period_json) {
        out.insert("dataPeriod".into(), period);
    }
    Value::Object(out)
}

/// The recipient role every exported actor with a reference carries.
const RECIPIENT_ROLE: &str = "PRCP";
/// Roles of v3-ParticipationType that make an actor a recipient of the data.
const RECIPIENT_ROLES: [&str; 2] = ["PRCP", "IRCP"];

fn actor_json(actor: &ActorRef) -> Value {
    let reference = match actor {
        ActorRef::Role(role) => return json!({ "role": concept_json(system::STAFF_ROLE, role.code()) }),
        ActorRef::Organisation(org) => format!("Organization/{org}"),
        // An identity may be a person, a device or a service; FHIR has no one type for
        // all three, and Practitioner is the common case. Import reads Device as well.
        ActorRef::Identity(identity) => format!("Practitioner/{identity}"),
    };
    json!({
        "role": concept_json(system::V3_PARTICIPATION_TYPE, RECIPIENT_ROLE),
        "reference": reference_json(reference),
    })
}

fn require<'a>(object: &mut Object<'a>, key: &str) -> Result<(&'a Value, String), FhirError> {
    object.take(key).ok_or_else(|| FhirError::Missing { path: object.member_path(key) })
}

/// A contained Patient would put identifying data in the document, whatever refers to it.
/// Other contained resources are left for `finish` to report.
fn check_contained(consent: &Object<'_>) -> Result<(), FhirError> {
    let Some(Value::Array(contained)) = consent.map.get("contained") else {
        return Ok(());
    };
    for (i, resource) in contained.iter().enumerate() {
        if resource.get("resourceType").and_then(Value::as_str) == Some("Patient") {
            return Err(FhirError::PatientIdentifying { path: format!("Consent.contained[{i}]") });
        }
    }
    Ok(())
}

const STATUSES: [ConsentStatus; 6] = ConsentStatus::ALL;

fn status_from_code(code: &str) -> Option<ConsentStatus> {
    STATUSES.into_iter().find(|status| status.code() == code)
}

const SCOPES: [(ConsentScope, &str); 4] = [
    (ConsentScope::PatientPrivacy, "patient-privacy"),
    (ConsentScope::Research, "research"),
    (ConsentScope::Treatment, "treatment"),
    (ConsentScope::Adr, "adr"),
];

fn scope_code(scope: ConsentScope) -> &'static str {
    SCOPES.into_iter().find(|(s, _)| *s == scope).map_or("patient-privacy", |(_, code)| code)
}

fn scope_from_code(code: &str) -> Option<ConsentScope> {
    SCOPES.into_iter().find(|(_, c)| *c == code).map(|(scope, _)| scope)
}

const POLICY_RULES: [(PolicyRule, &str); 4] = [
    (PolicyRule::OptIn, "OPTIN"),
    (PolicyRule::OptInRestricted, "OPTINR"),
    (PolicyRule::OptOut, "OPTOUT"),
    (PolicyRule::OptOutExceptions, "OPTOUTE"),
];

fn policy_rule_code(rule: PolicyRule) -> &'static str {
    POLICY_RULES.into_iter().find(|(r, _)| *r == rule).map_or("OPTIN", |(_, code)| code)
}

fn policy_rule_from_code(code: &str) -> Option<PolicyRule> {
    POLICY_RULES.into_iter().find(|(_, c)| *c == code).map(|(rule, _)| rule)
}

/// The code system a category code is exported in. Panacea keeps categories as bare
/// codes, so the system is derived from the code's shape: LOINC codes are digits, a dash
/// and a check digit (`59284-0`); HL7 v3 ActCodes are upper case (`IDSCL`); the rest are
/// HL7 consent category codes (`npp`, `hipaa-auth`).
fn category_system(code: &str) -> &'static str {
    let loinc = code.split_once('-').is_some_and(|(number, check)| {
        !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
            && check.len() == 1
            && check.bytes().all(|b| b.is_ascii_digit())
    });
    if loinc {
        system::LOINC
    } else if !code.is_empty()
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        system::V3_ACT_CODE
    } else {
        system::CONSENT_CATEGORY
    }
}

/// Every coding of every category is one category code. A system other than the one export
/// would derive for the code is reported, since only the code is kept.
fn read_categories(consent: &mut Object<'_>, unsupported: &mut Vec<String>) -> Result<Vec<String>, FhirError> {
    let mut categories = Vec::new();
    let path = consent.member_path("category");
    for (concept, concept_path) in consent.take_array("category", CONSENT_LIST_MAX)? {
        for coding in concept_codings(concept, concept_path, CONSENT_LIST_MAX, unsupported)? {
            let Coding { system, code, path: coding_path } = coding;
            let code = code.ok_or_else(|| FhirError::Missing { path: format!("{coding_path}.code") })?;
            if code.is_empty() || code.len() > super::CODE_BYTES_MAX || code.trim() != code {
                return Err(FhirError::Invalid {
                    path: format!("{coding_path}.code"),
                    reason: "a category code must be 1 to 64 bytes without surrounding spaces",
                });
            }
            if system.is_some_and(|system| system != category_system(code)) {
                unsupported.push(format!("{coding_path}.system"));
            }
            categories.push(code.to_owned());
            if categories.len() > CONSENT_LIST_MAX {
                return Err(FhirError::TooMany { path, found: categories.len(), max: CONSENT_LIST_MAX });
            }
        }
    }
    Ok(categories)
}

/// The patient: by pseudonymous reference, or as the custodian's records name them
/// (`Patient/<id>`, a business identifier) with the custodian's key to derive the
/// reference. Any member of `Consent.patient` other than `reference`, `type` and an
/// `identifier` made of `system` and `value` is refused as possibly identifying: a display
/// text is usually the patient's name.
///
/// A patient-ref identifier decides, and a reference beside it must be `Patient/<the same
/// hex>`. Otherwise, with a key, a business identifier decides over a reference (logical
/// ids differ between a hospital's FHIR servers; its record numbers do not); without a
/// key, only `Patient/<64 hex>` is accepted, as a reference already derived.
fn read_patient(consent: &mut Object<'_>, pseudonymiser: Option<&Pseudonymiser>) -> Result<PatientRef, FhirError> {
    let (value, path) = require(consent, "patient")?;
    let mut patient = Object::new(value, path)?;
    let reference = patient.take_str("reference")?;
    if let Some((kind, path)) = patient.take_str("type")?
        && kind != "Patient"
    {
        return Err(FhirError::Invalid { path, reason: "the patient reference must have type \"Patient\"" });
    }
    let identifier = match patient.take_object("identifier")? {
        Some(mut identifier) => {
            let (system, system_path) = identifier.require_str("system")?;
            let (value, value_path) = identifier.require_str("value")?;
            if let Some(path) = identifier.untaken().next() {
                return Err(FhirError::PatientIdentifying { path });
            }
            Some((system, system_path, value, value_path))
        }
        None => None,
    };
    if let Some(path) = patient.untaken().next() {
        return Err(FhirError::PatientIdentifying { path });
    }
    let derive = |local: LocalPatient<'_>, path: String| -> Result<PatientRef, FhirError> {
        let Some(pseudonymiser) = pseudonymiser else { return Err(FhirError::PseudonymKeyNeeded { path }) };
        pseudonymiser.derive(local).map(PatientRef).map_err(|_| FhirError::PatientReference { path })
    };
    match identifier {
        Some((system, _, value, value_path)) if system == system::PATIENT_REF => {
            let patient_ref =
                parse_hash(value).map(PatientRef).ok_or(FhirError::PatientReference { path: value_path })?;
            if let Some((text, _)) = reference
                && text.strip_prefix("Patient/").and_then(parse_hash) != Some(patient_ref.0)
            {
                return Err(FhirError::Invalid {
                    path: patient.path().to_owned(),
                    reason: "the patient reference and identifier name different patients",
                });
            }
            Ok(patient_ref)
        }
        Some((system, system_path, value, _)) => derive(LocalPatient::Identifier { system, value }, system_path),
        None => {
            let (text, path) =
                reference.ok_or_else(|| FhirError::Missing { path: patient.member_path("reference") })?;
            let id = text.strip_prefix("Patient/").ok_or(FhirError::PatientReference { path: path.clone() })?;
            match pseudonymiser {
                Some(_) => derive(LocalPatient::FhirId(id), path),
                None => parse_hash(id).map(PatientRef).ok_or(FhirError::PseudonymKeyNeeded { path }),
            }
        }
    }
}

/// `Consent.organization`: the custodians whose data the consent governs.
fn read_custodians(consent: &mut Object<'_>) -> Result<Vec<OrgId>, FhirError> {
    let mut custodians = Vec::new();
    for (value, path) in consent.take_array("organization", CONSENT_LIST_MAX)? {
        let mut reference = Object::new(value, path)?;
        let (text, path) = reference.require_str("reference")?;
        let org = text.strip_prefix("Organization/").and_then(|id| OrgId::new(id).ok()).ok_or_else(|| {
            FhirError::Reference {
                path: path.clone(),
                value: excerpt(text),
                expected: "Organization/<organisation id>",
            }
        })?;
        if let Some((declared, path)) = reference.take_str("type")?
            && declared != "Organization"
        {
            return Err(FhirError::Invalid { path, reason: "a custodian is an Organization" });
        }
        // A display name or identifier beside the reference says nothing more: refused,
        // so that nothing the custodian meant is silently dropped.
        if let Some(path) = reference.untaken().next() {
            return Err(FhirError::Invalid { path, reason: "name a custodian by its reference only" });
        }
        if !custodians.contains(&org) {
            custodians.push(org);
        }
    }
    Ok(custodians)
}

fn read_verification(value: &Value, path: String, unsupported: &mut Vec<String>) -> Result<Verification, FhirError> {
    let mut object = Object::new(value, path)?;
    let verified =
        object.take_bool("verified")?.ok_or_else(|| FhirError::Missing { path: object.member_path("verified") })?;
    let date =
        object.take_str("verificationDate")?.map(|(text, path)| date_time(text, path, DateBound::Start)).transpose()?;
    object.finish(unsupported);
    Ok(Verification { verified, date })
}

/// The form hash from a form-sha256 extension; every other part of the attachment
/// (`url`, `title`, `data`, `hash`, other extensions) is reported.
fn read_form_hash(
    mut attachment: Object<'_>,
    unsupported: &mut Vec<String>,
) -> Result<Option<DocumentHash>, FhirError> {
    let mut form_hash = None;
    for (extension, path) in attachment.take_array("extension", CONSENT_LIST_MAX)? {
        let mut extension = Object::new(extension, path)?;
        let (url, _) = extension.require_str("url")?;
        if url != system::FORM_SHA256 {
            unsupported.push(extension.path().to_owned());
            continue;
        }
        let (hex, path) = extension.require_str("valueString")?;
        let hash = parse_hash(hex).map(DocumentHash).ok_or_else(|| FhirError::Invalid {
            path: path.clone(),
            reason: "the form hash must be 64 lowercase hex digits (SHA-256)",
        })?;
        if form_hash.replace(hash).is_some() {
            return Err(FhirError::Invalid { path, reason: "the form hash is given twice; keep one" });
        }
        extension.finish(unsupported);
    }
    attachment.finish(unsupported);
    Ok(form_hash)
}

/// The code systems of `provision.class`.
const CLASS_SYSTEMS: &str =
    "https://panacea.example/fhir/CodeSystem/data-class, http://hl7.org/fhir/resource-types or urn:ietf:bcp:13";

/// State of one walk over a provision tree.
struct Walk<'u> {
    /// Provisions read so far.
    provisions: usize,
    unsupported: &'u mut Vec<String>,
}

/// Members of a provision that narrow what it matches and that Panacea does not represent.
const RESTRICTIONS: [&str; 3] = ["securityLabel", "code", "data"];

fn read_provision(value: &Value, path: String, depth: usize, walk: &mut Walk<'_>) -> Result<Provision, FhirError> {
    if depth > PROVISION_DEPTH_MAX {
        return Err(FhirError::TooDeep { path, max: PROVISION_DEPTH_MAX });
    }
    walk.provisions += 1;
    if walk.provisions > PROVISIONS_MAX {
        return Err(FhirError::TooMany { path, found: walk.provisions, max: PROVISIONS_MAX });
    }
    let mut object = Object::new(value, path)?;
    let (kind, kind_path) = object.require_str("type")?;
    let kind = match kind {
        "deny" => ProvisionType::Deny,
        "permit" => ProvisionType::Permit,
        other => {
            return Err(FhirError::UnknownCode {
                path: kind_path,
                system: system::PROVISION_TYPE,
                code: excerpt(other),
            });
        }
    };
    let period = match object.take("period") {
        Some((value, path)) => read_period(value, path, walk.unsupported)?,
        None => None,
    };
    let actors = object
        .take_array("actor", PROVISION_LIST_MAX)?
        .into_iter()
        .map(|(value, path)| read_actor(value, path, walk.unsupported))
        .collect::<Result<Vec<_>, _>>()?;
    let actions = object
        .take_array("action", PROVISION_LIST_MAX)?
        .into_iter()
        .map(|(value, path)| {
            let (code, path) = concept_code(value, path, system::CONSENT_ACTION, walk.unsupported)?;
            ConsentAction::from_code(code).ok_or_else(|| FhirError::UnknownCode {
                path,
                system: system::CONSENT_ACTION,
                code: excerpt(code),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let purposes = object
        .take_array("purpose", PROVISION_LIST_MAX)?
        .into_iter()
        .map(|(value, path)| {
            let (code, path) = coded(value, path, system::V3_ACT_REASON, walk.unsupported)?;
            Purpose::from_code(code).ok_or_else(|| FhirError::UnknownCode {
                path,
                system: system::V3_ACT_REASON,
                code: excerpt(code),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut data_classes = Vec::new();
    let mut resource_types = Vec::new();
    let mut mime_types = Vec::new();
    for (value, path) in object.take_array("class", PROVISION_LIST_MAX)? {
        let coding = Coding::read(value, path, walk.unsupported)?;
        let code_path = format!("{}.code", coding.path);
        let code = coding.code.ok_or_else(|| FhirError::Missing { path: code_path.clone() })?;
        let unknown = |system| FhirError::UnknownCode { path: code_path.clone(), system, code: excerpt(code) };
        match coding.system {
            Some(system::DATA_CLASS) => {
                data_classes.push(DataClass::from_code(code).ok_or_else(|| unknown(system::DATA_CLASS))?);
            }
            Some(system::RESOURCE_TYPES) => {
                resource_types.push(ResourceType::from_code(code).ok_or_else(|| unknown(system::RESOURCE_TYPES))?);
            }
            Some(system::MIME_TYPE) => {
                mime_types.push(MimeType::from_code(code).ok_or_else(|| unknown(system::MIME_TYPE))?);
            }
            Some(other) => {
                return Err(FhirError::System {
                    path: format!("{}.system", coding.path),
                    found: excerpt(other),
                    expected: CLASS_SYSTEMS,
                });
            }
            None => return Err(FhirError::Missing { path: format!("{}.system", coding.path) }),
        }
    }
    let data_period = match object.take("dataPeriod") {
        Some((value, path)) => read_period(value, path, walk.unsupported)?,
        None => None,
    };
    let restrictions: Vec<String> =
        RESTRICTIONS.iter().filter_map(|key| object.take(key)).map(|(_, path)| path).collect();
    let exceptions = object
        .take_array("provision", PROVISIONS_MAX)?
        .into_iter()
        .map(|(value, path)| read_provision(value, path, depth + 1, walk))
        .collect::<Result<Vec<_>, _>>()?;
    // Dropping a restriction widens the provision. On a deny without permit exceptions
    // that only refuses more; anywhere else it could permit what the patient did not.
    if let Some(first) = restrictions.first() {
        if kind == ProvisionType::Permit || exceptions.iter().any(permits) {
            return Err(FhirError::Restriction { path: first.clone() });
        }
        walk.unsupported.extend(restrictions);
    }
    object.finish(walk.unsupported);
    Ok(Provision {
        kind,
        period,
        actors,
        actions,
        purposes,
        data_classes,
        resource_types,
        mime_types,
        data_period,
        exceptions,
    })
}

/// True if the provision or any of its exceptions permits.
fn permits(provision: &Provision) -> bool {
    provision.kind == ProvisionType::Permit || provision.exceptions.iter().any(permits)
}

/// The code of a Coding that must be from `expected`, with the path of the code.
fn coded<'a>(
    value: &'a Value,
    path: String,
    expected: &'static str,
    unsupported: &mut Vec<String>,
) -> Result<(&'a str, String), FhirError> {
    let coding = Coding::read(value, path, unsupported)?;
    let code = coding.code_in(expected)?;
    Ok((code, format!("{}.code", coding.path)))
}

const ACTOR_REFERENCE_FORMS: &str = "Organization/<organisation id>, Practitioner/<64 hex> or Device/<64 hex>";

fn read_actor(value: &Value, path: String, unsupported: &mut Vec<String>) -> Result<ActorRef, FhirError> {
    let mut actor = Object::new(value, path)?;
    // The role's codings, sorted by what they say about the actor.
    let mut staff_roles = Vec::new();
    let mut recipient = false;
    let mut others = Vec::new();
    let role_path = actor.member_path("role");
    if let Some((role, path)) = actor.take("role") {
        for coding in concept_codings(role, path, super::CODINGS_MAX, unsupported)? {
            match coding.system {
                Some(system::STAFF_ROLE) => {
                    let code = coding.code_in(system::STAFF_ROLE)?;
                    let role = StaffRole::from_code(code).ok_or_else(|| FhirError::UnknownCode {
                        path: format!("{}.code", coding.path),
                        system: system::STAFF_ROLE,
                        code: excerpt(code),
                    })?;
                    staff_roles.push(role);
                }
                Some(system::V3_PARTICIPATION_TYPE) => {
                    let code = coding.code_in(system::V3_PARTICIPATION_TYPE)?;
                    if !RECIPIENT_ROLES.contains(&code) {
                        return Err(FhirError::ActorRole {
                            path: format!("{}.code", coding.path),
                            code: excerpt(code),
                        });
                    }
                    recipient = true;
                }
                _ => others.push(coding),
            }
        }
    }
    let reference = match actor.take_object("reference")? {
        Some(reference) => Some(read_actor_reference(reference, unsupported)?),
        None => None,
    };
    let result = match reference {
        Some(reference) => {
            if !staff_roles.is_empty() {
                return Err(FhirError::Invalid {
                    path: role_path,
                    reason: "an actor is a reference with a recipient role, or a staff role without a reference, not both",
                });
            }
            // A role of unknown meaning may make the actor the author or custodian of the
            // data rather than its recipient.
            if let (false, Some(other)) = (recipient, others.first()) {
                return Err(FhirError::ActorRole {
                    path: format!("{}.code", other.path),
                    code: excerpt(other.code.unwrap_or("")),
                });
            }
            reference
        }
        None => {
            if recipient {
                return Err(FhirError::Missing { path: actor.member_path("reference") });
            }
            match staff_roles.as_slice() {
                [role] => ActorRef::Role(*role),
                [] => return Err(FhirError::Missing { path: actor.member_path("reference") }),
                _ => {
                    return Err(FhirError::Invalid { path: role_path, reason: "an actor has at most one staff role" });
                }
            }
        }
    };
    unsupported.extend(others.into_iter().map(|coding| coding.path));
    actor.finish(unsupported);
    Ok(result)
}

fn read_actor_reference(mut reference: Object<'_>, unsupported: &mut Vec<String>) -> Result<ActorRef, FhirError> {
    let (text, path) = reference.require_str("reference")?;
    let invalid = || FhirError::Reference { path: path.clone(), value: excerpt(text), expected: ACTOR_REFERENCE_FORMS };
    let (kind, id) = text.split_once('/').ok_or_else(invalid)?;
    let actor = match kind {
        "Organization" => ActorRef::Organisation(OrgId::new(id).map_err(|_| invalid())?),
        "Practitioner" | "Device" => ActorRef::Identity(IdentityId(parse_hash(id).ok_or_else(invalid)?)),
        _ => return Err(invalid()),
    };
    if let Some((declared, path)) = reference.take_str("type")?
        && declared != kind
    {
        return Err(FhirError::Invalid { path, reason: "the reference's type differs from the type in its reference" });
    }
    reference.finish(unsupported);
    Ok(actor)
}

#[cfg(test)]
mod tests;

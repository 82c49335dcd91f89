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
//! | `patient.reference` `Patient/<hex>` or `patient.identifier` (patient-ref system) | [`PatientRef`] |
//! | `policyRule.coding` (v3-ActCode OPTIN, OPTINR, OPTOUT, OPTOUTE) | [`PolicyRule`] |
//! | `verification[]` `verified`, `verificationDate` | [`Verification`] |
//! | `sourceAttachment.extension` form-sha256 | [`ImportedConsent::form_hash`] |
//! | `provision` `type`, `period`, `actor`, `action`, `purpose`, `class`, `dataPeriod`, `provision` | [`Provision`] |
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
//! `dateTime`, `meta`, `text`, `organization`, `performer`, `policy`, extensions and the
//! like are reported in [`ImportedConsent::unsupported`]: the chain supplies its own
//! recording time, version and recorder.

use serde_json::{Map, Value, json};

use super::{
    Coding, DateBound, FhirError, INPUT_BYTES_MAX, Object, coding_json, concept_code, concept_codings, concept_json,
    date_time, excerpt, format_instant, parse_hash, parse_json, period_json, read_period, reference_json, system,
};
use crate::codes::{ConsentAction, DataClass, Purpose, StaffRole};
use crate::consent::{
    ActorRef, CONSENT_LIST_MAX, Consent, ConsentScope, ConsentStatus, ConsentTerms, PROVISION_DEPTH_MAX,
    PROVISION_LIST_MAX, PROVISIONS_MAX, PolicyRule, Provision, ProvisionType, Recorder, Verification,
};
use crate::ids::{ConsentId, DocumentHash, IdentityId, OrgId, PatientRef};

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
    let patient = read_patient(&mut consent)?;
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

    let terms = ConsentTerms { patient, status, scope, categories, policy_rule, verification, provision };
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
    out.insert("patient".into(), reference_json(format!("Patient/{}", terms.patient)));
    out.insert("dateTime".into(), format_instant(consent.recorded_at).into());
    match &consent.recorder {
        Recorder::Patient { .. } => {
            out.insert("performer".into(), json!([reference_json(format!("Patient/{}", terms.patient))]));
        }
        Recorder::Custodian { org, identity, form_hash } => {
            out.insert("organization".into(), json!([reference_json(format!("Organization/{org}"))]));
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
    list("class", provision.data_classes.iter().map(|c| coding_json(system::DATA_CLASS, c.code())).collect());
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

/// The patient, by pseudonymous reference only. Any member of `Consent.patient` other than
/// `reference`, `type` and an `identifier` made of `system` and `value` is refused as
/// possibly identifying: a display text is usually the patient's name, an identifier from
/// another system is a record or national number.
fn read_patient(consent: &mut Object<'_>) -> Result<PatientRef, FhirError> {
    let (value, path) = require(consent, "patient")?;
    let mut patient = Object::new(value, path)?;
    let from_reference = match patient.take_str("reference")? {
        Some((text, path)) => Some(
            text.strip_prefix("Patient/")
                .and_then(parse_hash)
                .map(PatientRef)
                .ok_or(FhirError::PatientReference { path })?,
        ),
        None => None,
    };
    if let Some((kind, path)) = patient.take_str("type")?
        && kind != "Patient"
    {
        return Err(FhirError::Invalid { path, reason: "the patient reference must have type \"Patient\"" });
    }
    let from_identifier = match patient.take_object("identifier")? {
        Some(mut identifier) => {
            let (system, system_path) = identifier.require_str("system")?;
            if system != system::PATIENT_REF {
                // An identifier from another system is a record number or a national id.
                return Err(FhirError::PatientIdentifying { path: system_path });
            }
            let (value, value_path) = identifier.require_str("value")?;
            let patient = parse_hash(value).map(PatientRef).ok_or(FhirError::PatientReference { path: value_path })?;
            if let Some(path) = identifier.untaken().next() {
                return Err(FhirError::PatientIdentifying { path });
            }
            Some(patient)
        }
        None => None,
    };
    if let Some(path) = patient.untaken().next() {
        return Err(FhirError::PatientIdentifying { path });
    }
    match (from_reference, from_identifier) {
        (Some(a), Some(b)) if a != b => Err(FhirError::Invalid {
            path: patient.path().to_owned(),
            reason: "the patient reference and identifier name different patients",
        }),
        (Some(patient), _) | (None, Some(patient)) => Ok(patient),
        (None, None) => Err(FhirError::Missing { path: patient.member_path("reference") }),
    }
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
    let data_classes = object
        .take_array("class", PROVISION_LIST_MAX)?
        .into_iter()
        .map(|(value, path)| {
            let (code, path) = coded(value, path, system::DATA_CLASS, walk.unsupported)?;
            DataClass::from_code(code).ok_or_else(|| FhirError::UnknownCode {
                path,
                system: system::DATA_CLASS,
                code: excerpt(code),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
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
    Ok(Provision { kind, period, actors, actions, purposes, data_classes, data_period, exceptions })
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
mod tests {
    use panacea_primitives::{Hash, Timestamp};
    use proptest::prelude::*;

    use super::*;
    use crate::consent::Period;

    const PATIENT: &str = "cb1ac7aefbcbd74882a4d5f4f99da0a63ae94801d8dd27b0a9bb149fe6b6f274";
    const BOB: &str = "ba40db5094b5ad5430b1887fead73b55281aad8cd190d919acb6a81302106542";
    const FORM: &str = "3955da381d39f6b4e60b9061da33ce6d4cab8c22bf61446528e59baefa76abfc";
    const CONSENT_ID: &str = "721977251f932ad2013ecf9dab390505ada2bab0b2362b496fe553221234b9e6";

    const OPTIN_SHARE_ALL: &str = include_str!("../../tests/fixtures/fhir/consent-optin-share-all.json");
    const DENY_ORGANISATION: &str = include_str!("../../tests/fixtures/fhir/consent-deny-organisation.json");
    const DENY_AUTHOR: &str = include_str!("../../tests/fixtures/fhir/consent-deny-author.json");
    const TIME_LIMITED: &str = include_str!("../../tests/fixtures/fhir/consent-time-limited.json");
    const EMERGENCY_ONLY: &str = include_str!("../../tests/fixtures/fhir/consent-emergency-only.json");
    const UNSUPPORTED: &str = include_str!("../../tests/fixtures/fhir/consent-unsupported-elements.json");
    const IDENTIFYING: &str = include_str!("../../tests/fixtures/fhir/consent-identifying-patient.json");

    const IMPORTABLE: [(&str, &str); 6] = [
        ("consent-optin-share-all", OPTIN_SHARE_ALL),
        ("consent-deny-organisation", DENY_ORGANISATION),
        ("consent-deny-author", DENY_AUTHOR),
        ("consent-time-limited", TIME_LIMITED),
        ("consent-emergency-only", EMERGENCY_ONLY),
        ("consent-unsupported-elements", UNSUPPORTED),
    ];

    fn hash(hex: &str) -> Hash {
        Hash::from_hex(hex).unwrap()
    }

    fn millis(text: &str, bound: DateBound) -> Timestamp {
        super::super::parse_date_time(text, bound).unwrap()
    }

    fn imported(json: &str) -> ImportedConsent {
        import(json).unwrap_or_else(|e| panic!("import failed: {e}"))
    }

    /// Imports `json` after `edit` changes its parsed form.
    fn import_edited(json: &str, edit: impl FnOnce(&mut Value)) -> Result<ImportedConsent, FhirError> {
        let mut value: Value = serde_json::from_str(json).unwrap();
        edit(&mut value);
        import(&value.to_string())
    }

    fn sorted(mut paths: Vec<String>) -> Vec<String> {
        paths.sort();
        paths
    }

    #[test]
    fn optin_share_all() {
        let consent = imported(OPTIN_SHARE_ALL);
        let terms = &consent.terms;
        assert_eq!(terms.patient, PatientRef(hash(PATIENT)));
        assert_eq!(terms.status, ConsentStatus::Active);
        assert_eq!(terms.scope, ConsentScope::PatientPrivacy);
        assert_eq!(terms.categories, vec!["59284-0".to_owned()]);
        assert_eq!(terms.policy_rule, PolicyRule::OptIn);
        assert_eq!(
            terms.verification,
            vec![Verification { verified: true, date: Some(millis("2025-03-01T09:30:00+01:00", DateBound::Start)) }]
        );
        assert_eq!(terms.provision, Provision::all(ProvisionType::Permit));
        assert_eq!(consent.id, None);
        assert_eq!(consent.form_hash, None);
        assert_eq!(consent.unsupported, vec!["Consent.dateTime".to_owned()]);
    }

    #[test]
    fn deny_organisation() {
        let consent = imported(DENY_ORGANISATION);
        let root = &consent.terms.provision;
        assert_eq!(consent.terms.policy_rule, PolicyRule::OptIn);
        assert_eq!(root.kind, ProvisionType::Permit);
        assert_eq!(root.exceptions.len(), 1);
        let exception = &root.exceptions[0];
        assert_eq!(exception.kind, ProvisionType::Deny);
        assert_eq!(exception.actors, vec![ActorRef::Organisation(OrgId::new("clinic-north").unwrap())]);
        assert!(exception.exceptions.is_empty());
        assert_eq!(consent.id, Some(ConsentId(hash(CONSENT_ID))));
        assert_eq!(consent.form_hash, Some(DocumentHash(hash(FORM))));
        assert!(consent.unsupported.is_empty(), "{:?}", consent.unsupported);
    }

    #[test]
    fn deny_author() {
        let consent = imported(DENY_AUTHOR);
        let root = &consent.terms.provision;
        assert_eq!(root.kind, ProvisionType::Permit);
        assert_eq!(root.actions, vec![ConsentAction::Access, ConsentAction::Use]);
        let [exception] = root.exceptions.as_slice() else { panic!("one exception expected") };
        assert_eq!(exception.kind, ProvisionType::Deny);
        assert_eq!(exception.actors, vec![ActorRef::Identity(IdentityId(hash(BOB)))]);
        assert_eq!(sorted(consent.unsupported), vec!["Consent.provision.provision[0].actor[0].reference.display"]);
    }

    #[test]
    fn time_limited() {
        let consent = imported(TIME_LIMITED);
        let root = &consent.terms.provision;
        let period = root.period.unwrap();
        assert_eq!(period.start, Some(millis("2025-01-01T00:00:00Z", DateBound::Start)));
        // A date-only end covers the whole day.
        assert_eq!(period.end, Some(millis("2025-12-31T23:59:59.999Z", DateBound::Start)));
        assert!(period.contains(millis("2025-12-31T23:59:59.999Z", DateBound::Start)));
        assert!(!period.contains(millis("2026-01-01T00:00:00Z", DateBound::Start)));
        assert_eq!(root.actors, vec![ActorRef::Role(StaffRole::Physician), ActorRef::Role(StaffRole::Nurse)]);
        assert_eq!(root.data_classes, vec![DataClass::LabResults, DataClass::Medications]);
        let data_period = root.data_period.unwrap();
        assert_eq!(data_period.start, Some(millis("2020-01-01", DateBound::Start)));
        assert_eq!(data_period.end, None);
        assert_eq!(consent.terms.policy_rule, PolicyRule::OptInRestricted);
        assert!(consent.unsupported.is_empty(), "{:?}", consent.unsupported);
    }

    #[test]
    fn emergency_only() {
        let consent = imported(EMERGENCY_ONLY);
        let root = &consent.terms.provision;
        assert_eq!(consent.terms.policy_rule, PolicyRule::OptOut);
        assert_eq!(root.kind, ProvisionType::Deny);
        let [exception] = root.exceptions.as_slice() else { panic!("one exception expected") };
        assert_eq!(exception.kind, ProvisionType::Permit);
        assert_eq!(exception.purposes, vec![Purpose::EmergencyTreatment]);
        assert_eq!(exception.actions, vec![ConsentAction::Access]);
        assert!(exception.actors.is_empty());
        assert!(consent.unsupported.is_empty(), "{:?}", consent.unsupported);
    }

    #[test]
    fn unsupported_elements_are_listed_by_path() {
        let consent = imported(UNSUPPORTED);
        assert_eq!(consent.form_hash, Some(DocumentHash(hash(FORM))));
        // A non-Panacea id is reported, not refused.
        assert_eq!(consent.id, None);
        let expected = [
            "Consent.category[0].coding[0].display",
            "Consent.category[0].text",
            "Consent.dateTime",
            "Consent.id",
            "Consent.meta",
            "Consent.organization",
            "Consent.policy",
            "Consent.policyRule.coding[1]",
            "Consent.provision.provision[0].securityLabel",
            "Consent.scope.coding[0].display",
            "Consent.sourceAttachment.contentType",
            "Consent.sourceAttachment.title",
            "Consent.sourceAttachment.url",
            "Consent.text",
            "Consent.verification[0].verifiedWith",
        ];
        assert_eq!(sorted(consent.unsupported), expected);
        // The restriction was dropped from a deny with no permit under it: it only refuses more.
        let exception = &consent.terms.provision.exceptions[0];
        assert_eq!(exception.kind, ProvisionType::Deny);
        assert_eq!(exception.data_classes, vec![DataClass::MentalHealth]);
    }

    #[test]
    fn identifying_patient_is_refused() {
        assert_eq!(import(IDENTIFYING), Err(FhirError::PatientIdentifying { path: "Consent.patient.display".into() }));
        let message = import(IDENTIFYING).unwrap_err().to_string();
        assert!(!message.contains("Rossi"), "the error must not repeat the name: {message}");
    }

    #[test]
    fn identifying_patient_forms() {
        let refused = |edit: fn(&mut Value)| import_edited(OPTIN_SHARE_ALL, edit).unwrap_err();
        assert_eq!(
            refused(|v| v["patient"]["identifier"] =
                json!({ "system": "http://hl7.it/sid/codiceFiscale", "value": "RSSMRA80A01H501U" })),
            FhirError::PatientIdentifying { path: "Consent.patient.identifier.system".into() }
        );
        assert_eq!(
            refused(|v| v["patient"]["identifier"] =
                json!({ "system": system::PATIENT_REF, "value": PATIENT, "assigner": { "display": "Gemelli" } })),
            FhirError::PatientIdentifying { path: "Consent.patient.identifier.assigner".into() }
        );
        assert_eq!(
            refused(
                |v| v["patient"]["extension"] = json!([{ "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1980-01-01T08:00:00Z" }])
            ),
            FhirError::PatientIdentifying { path: "Consent.patient.extension".into() }
        );
        assert_eq!(
            refused(|v| v["contained"] = json!([{ "resourceType": "Patient", "id": "p", "birthDate": "1980-01-01" }])),
            FhirError::PatientIdentifying { path: "Consent.contained[0]".into() }
        );
        // A record number in the reference is refused without repeating it.
        let error = refused(|v| v["patient"]["reference"] = json!("Patient/MRN-0012345"));
        assert_eq!(error, FhirError::PatientReference { path: "Consent.patient.reference".into() });
        assert!(!error.to_string().contains("0012345"));
        // Upper-case hex is a second spelling of the same reference: refused.
        let upper = refused(|v| v["patient"]["reference"] = json!(format!("Patient/{}", PATIENT.to_uppercase())));
        assert_eq!(upper, FhirError::PatientReference { path: "Consent.patient.reference".into() });
    }

    #[test]
    fn patient_by_identifier() {
        let consent = import_edited(OPTIN_SHARE_ALL, |v| {
            v["patient"] = json!({ "identifier": { "system": system::PATIENT_REF, "value": PATIENT } });
        })
        .unwrap();
        assert_eq!(consent.terms.patient, PatientRef(hash(PATIENT)));
        let other = "9822c35cfe20d5a81afbec00664b51c9f6b03f872ac95aa5fe50b4b271ebec3d";
        let conflict = import_edited(OPTIN_SHARE_ALL, |v| {
            v["patient"]["identifier"] = json!({ "system": system::PATIENT_REF, "value": other });
        });
        assert!(matches!(conflict, Err(FhirError::Invalid { path, .. }) if path == "Consent.patient"));
    }

    #[test]
    fn every_fixture_round_trips() {
        for (name, json) in IMPORTABLE {
            let first = imported(json);
            for recorder in [
                Recorder::Custodian {
                    org: OrgId::new("hospital-gemelli").unwrap(),
                    identity: IdentityId(hash(BOB)),
                    form_hash: DocumentHash(hash(FORM)),
                },
                Recorder::Patient { key: panacea_primitives::Keypair::from_seed([7; 32]).public() },
            ] {
                let consent = Consent {
                    id: ConsentId(hash(CONSENT_ID)),
                    version: 3,
                    terms: first.terms.clone(),
                    recorder: recorder.clone(),
                    recorded_at: Timestamp(1_750_000_000_123),
                };
                let exported = export(&consent);
                let again = imported(&exported.to_string());
                assert_eq!(again.terms, first.terms, "{name}");
                assert_eq!(again.id, Some(consent.id), "{name}");
                let form_hash = match recorder {
                    Recorder::Custodian { form_hash, .. } => Some(form_hash),
                    Recorder::Patient { .. } => None,
                };
                assert_eq!(again.form_hash, form_hash, "{name}");
                // Only what the chain supplies itself is left over.
                for path in &again.unsupported {
                    assert!(
                        [
                            "Consent.meta",
                            "Consent.dateTime",
                            "Consent.organization",
                            "Consent.performer",
                            "Consent.extension"
                        ]
                        .contains(&path.as_str()),
                        "{name}: unexpected {path}"
                    );
                }
            }
        }
    }

    #[test]
    fn export_shape() {
        let terms = imported(DENY_ORGANISATION).terms;
        let consent = Consent {
            id: ConsentId(hash(CONSENT_ID)),
            version: 2,
            terms,
            recorder: Recorder::Custodian {
                org: OrgId::new("hospital-gemelli").unwrap(),
                identity: IdentityId(hash(BOB)),
                form_hash: DocumentHash(hash(FORM)),
            },
            recorded_at: Timestamp(0),
        };
        let out = export(&consent);
        assert_eq!(out["resourceType"], "Consent");
        assert_eq!(out["id"], CONSENT_ID);
        assert_eq!(out["meta"]["versionId"], "2");
        assert_eq!(out["dateTime"], "1970-01-01T00:00:00.000Z");
        assert_eq!(out["patient"]["reference"], format!("Patient/{PATIENT}"));
        assert_eq!(out["organization"][0]["reference"], "Organization/hospital-gemelli");
        assert_eq!(out["sourceAttachment"]["extension"][0]["valueString"], FORM);
        assert!(out["sourceAttachment"].get("hash").is_none());
        assert_eq!(out["category"][0]["coding"][0]["system"], system::LOINC);
        assert_eq!(out["provision"]["provision"][0]["actor"][0]["reference"]["reference"], "Organization/clinic-north");
        assert_eq!(out["provision"]["provision"][0]["actor"][0]["role"]["coding"][0]["code"], "PRCP");
    }

    #[test]
    fn category_systems() {
        assert_eq!(category_system("59284-0"), system::LOINC);
        assert_eq!(category_system("IDSCL"), system::V3_ACT_CODE);
        assert_eq!(category_system("npp"), system::CONSENT_CATEGORY);
        assert_eq!(category_system("hipaa-auth"), system::CONSENT_CATEGORY);
    }

    #[test]
    fn malformed_documents_fail_clearly() {
        assert!(matches!(import("{"), Err(FhirError::Json { .. })));
        assert!(matches!(import(""), Err(FhirError::Json { .. })));
        assert_eq!(import("[]"), Err(FhirError::Type { path: "Consent".into(), expected: "an object" }));
        assert_eq!(import("{}"), Err(FhirError::Missing { path: "Consent.resourceType".into() }));
        assert_eq!(
            import(r#"{"resourceType": "Patient"}"#),
            Err(FhirError::ResourceType {
                path: "Consent.resourceType".into(),
                expected: "Consent",
                found: "Patient".into()
            })
        );
        let big = format!("{{\"resourceType\": \"Consent\", \"text\": \"{}\"}}", "x".repeat(INPUT_BYTES_MAX));
        assert!(matches!(import(&big), Err(FhirError::TooLarge { max: INPUT_BYTES_MAX, .. })));
        let duplicate =
            OPTIN_SHARE_ALL.replacen("\"status\": \"active\",", "\"status\": \"active\", \"status\": \"draft\",", 1);
        assert!(matches!(import(&duplicate), Err(FhirError::Json { reason }) if reason.contains("\"status\"")));
    }

    #[test]
    fn wrong_elements_fail_with_their_path() {
        let error = |edit: fn(&mut Value)| import_edited(OPTIN_SHARE_ALL, edit).unwrap_err();
        assert_eq!(
            error(|v| v["status"] = json!("superseded")),
            FhirError::UnknownCode {
                path: "Consent.status".into(),
                system: system::CONSENT_STATE,
                code: "superseded".into()
            }
        );
        assert_eq!(
            error(|v| v["status"] = json!(1)),
            FhirError::Type { path: "Consent.status".into(), expected: "a string" }
        );
        assert_eq!(
            error(|v| v["policyRule"]["coding"][0]["code"] = json!("INFA")),
            FhirError::UnknownCode {
                path: "Consent.policyRule.coding[0].code".into(),
                system: system::V3_ACT_CODE,
                code: "INFA".into()
            }
        );
        assert_eq!(
            error(|v| v.as_object_mut().unwrap().remove("provision").map(drop).unwrap()),
            FhirError::Missing { path: "Consent.provision".into() }
        );
        assert_eq!(
            error(|v| v["modifierExtension"] = json!([{ "url": "http://example.org/x", "valueBoolean": true }])),
            FhirError::Modifier { path: "Consent.modifierExtension".into() }
        );
        assert_eq!(
            error(|v| v["implicitRules"] = json!("http://example.org/rules")),
            FhirError::Modifier { path: "Consent.implicitRules".into() }
        );
        assert_eq!(
            error(|v| v["provision"]["period"] = json!({ "start": "2025-02-01", "end": "2025-01-01" })),
            FhirError::Period { path: "Consent.provision.period".into() }
        );
        assert!(matches!(
            error(|v| v["verification"][0]["verificationDate"] = json!("1969-07-20")),
            FhirError::DateTime { path, reason: super::super::DateTimeError::BeforeEpoch, .. } if path == "Consent.verification[0].verificationDate"
        ));
    }

    #[test]
    fn unknown_purpose_is_an_error() {
        let error =
            import_edited(EMERGENCY_ONLY, |v| v["provision"]["provision"][0]["purpose"][0]["code"] = json!("BTG"));
        assert_eq!(
            error,
            Err(FhirError::UnknownCode {
                path: "Consent.provision.provision[0].purpose[0].code".into(),
                system: system::V3_ACT_REASON,
                code: "BTG".into(),
            })
        );
        let foreign = import_edited(EMERGENCY_ONLY, |v| {
            v["provision"]["provision"][0]["class"] =
                json!([{ "system": "http://hl7.org/fhir/resource-types", "code": "Observation" }]);
        });
        assert_eq!(
            foreign,
            Err(FhirError::System {
                path: "Consent.provision.provision[0].class[0].system".into(),
                found: "http://hl7.org/fhir/resource-types".into(),
                expected: system::DATA_CLASS,
            })
        );
    }

    /// A provision nested `levels` deep below the root, each level a deny with one exception.
    fn nested(levels: usize) -> Value {
        let mut provision = json!({ "type": "deny" });
        for _ in 0..levels {
            provision = json!({ "type": "deny", "provision": [provision] });
        }
        provision
    }

    #[test]
    fn provision_limits() {
        let depth = PROVISION_DEPTH_MAX;
        assert!(import_edited(OPTIN_SHARE_ALL, |v| v["provision"] = nested(depth - 1)).is_ok());
        let too_deep = import_edited(OPTIN_SHARE_ALL, |v| v["provision"] = nested(depth));
        let path = format!("Consent.provision{}", ".provision[0]".repeat(depth));
        assert_eq!(too_deep, Err(FhirError::TooDeep { path, max: depth }));
        // Far deeper than the limit, still a clean error.
        assert!(matches!(
            import_edited(OPTIN_SHARE_ALL, |v| v["provision"] = nested(100)),
            Err(FhirError::Json { .. } | FhirError::TooDeep { .. })
        ));

        let wide = |n: usize| json!({ "type": "permit", "provision": vec![json!({ "type": "deny" }); n] });
        assert!(import_edited(OPTIN_SHARE_ALL, |v| v["provision"] = wide(PROVISIONS_MAX - 1)).is_ok());
        assert!(matches!(
            import_edited(OPTIN_SHARE_ALL, |v| v["provision"] = wide(PROVISIONS_MAX)),
            Err(FhirError::TooMany { max: PROVISIONS_MAX, .. })
        ));

        let purposes = vec![json!({ "system": system::V3_ACT_REASON, "code": "TREAT" }); PROVISION_LIST_MAX + 1];
        assert_eq!(
            import_edited(OPTIN_SHARE_ALL, |v| v["provision"]["purpose"] = json!(purposes)),
            Err(FhirError::TooMany {
                path: "Consent.provision.purpose".into(),
                found: PROVISION_LIST_MAX + 1,
                max: PROVISION_LIST_MAX
            })
        );
        let categories =
            vec![json!({ "coding": [{ "system": system::LOINC, "code": "59284-0" }] }); CONSENT_LIST_MAX + 1];
        assert!(matches!(
            import_edited(OPTIN_SHARE_ALL, |v| v["category"] = json!(categories)),
            Err(FhirError::TooMany { max: CONSENT_LIST_MAX, .. })
        ));
    }

    #[test]
    fn restrictions_that_could_widen_access_are_errors() {
        let label = json!([{ "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R" }]);
        // On a permit: dropping the label would permit all data, not only restricted data.
        let on_permit = import_edited(OPTIN_SHARE_ALL, |v| v["provision"]["securityLabel"] = label.clone());
        assert_eq!(on_permit, Err(FhirError::Restriction { path: "Consent.provision.securityLabel".into() }));
        // On a deny with a permit exception: dropping it would widen the exception too.
        let on_deny_with_permit = import_edited(EMERGENCY_ONLY, |v| v["provision"]["code"] = json!([{ "text": "x" }]));
        assert_eq!(on_deny_with_permit, Err(FhirError::Restriction { path: "Consent.provision.code".into() }));
    }

    #[test]
    fn actor_roles() {
        // HL7's notAuthor/notOrg examples use CST: the actor is the data's custodian, not its recipient.
        let custodian = import_edited(DENY_ORGANISATION, |v| {
            v["provision"]["provision"][0]["actor"][0]["role"]["coding"][0]["code"] = json!("CST");
        });
        assert_eq!(
            custodian,
            Err(FhirError::ActorRole {
                path: "Consent.provision.provision[0].actor[0].role.coding[0].code".into(),
                code: "CST".into()
            })
        );
        let unknown_system = import_edited(DENY_ORGANISATION, |v| {
            v["provision"]["provision"][0]["actor"][0]["role"] =
                json!({ "coding": [{ "system": "http://example.org/roles", "code": "author" }] });
        });
        assert!(matches!(unknown_system, Err(FhirError::ActorRole { .. })));
        let both = import_edited(DENY_ORGANISATION, |v| {
            v["provision"]["provision"][0]["actor"][0]["role"] =
                json!({ "coding": [{ "system": system::STAFF_ROLE, "code": "nurse" }] });
        });
        assert!(matches!(both, Err(FhirError::Invalid { .. })));
        let device = import_edited(DENY_AUTHOR, |v| {
            v["provision"]["provision"][0]["actor"][0]["reference"]["reference"] = json!(format!("Device/{BOB}"));
        });
        assert_eq!(
            device.unwrap().terms.provision.exceptions[0].actors,
            vec![ActorRef::Identity(IdentityId(hash(BOB)))]
        );
        let bad_org = import_edited(DENY_ORGANISATION, |v| {
            v["provision"]["provision"][0]["actor"][0]["reference"]["reference"] = json!("Organization/Clinic North");
        });
        assert!(matches!(bad_org, Err(FhirError::Reference { .. })));
        let missing_role_ok = import_edited(DENY_ORGANISATION, |v| {
            v["provision"]["provision"][0]["actor"][0].as_object_mut().unwrap().remove("role");
        });
        assert!(missing_role_ok.is_ok());
    }

    fn arb_period() -> impl Strategy<Value = Option<Period>> {
        let time = 0u64..=253_402_300_799_999;
        prop_oneof![
            Just(None),
            (time.clone(), time.clone())
                .prop_map(|(a, b)| Some(Period { start: Some(Timestamp(a.min(b))), end: Some(Timestamp(a.max(b))) })),
            time.clone().prop_map(|a| Some(Period { start: Some(Timestamp(a)), end: None })),
            time.prop_map(|b| Some(Period { start: None, end: Some(Timestamp(b)) })),
        ]
    }

    fn arb_actor() -> impl Strategy<Value = ActorRef> {
        prop_oneof![
            "[a-z0-9-]{1,64}".prop_map(|id| ActorRef::Organisation(OrgId::new(id).unwrap())),
            any::<[u8; 32]>().prop_map(|bytes| ActorRef::Identity(IdentityId(Hash(bytes)))),
            proptest::sample::select(StaffRole::ALL).prop_map(ActorRef::Role),
        ]
    }

    fn arb_leaf() -> impl Strategy<Value = Provision> {
        (
            prop_oneof![Just(ProvisionType::Deny), Just(ProvisionType::Permit)],
            arb_period(),
            proptest::collection::vec(arb_actor(), 0..4),
            proptest::collection::vec(proptest::sample::select(ConsentAction::ALL), 0..3),
            proptest::collection::vec(proptest::sample::select(Purpose::ALL), 0..3),
            proptest::collection::vec(proptest::sample::select(DataClass::ALL), 0..3),
            arb_period(),
        )
            .prop_map(|(kind, period, actors, actions, purposes, data_classes, data_period)| Provision {
                kind,
                period,
                actors,
                actions,
                purposes,
                data_classes,
                data_period,
                exceptions: Vec::new(),
            })
    }

    fn arb_provision() -> impl Strategy<Value = Provision> {
        arb_leaf()
            .prop_recursive(3, 24, 3, |inner| {
                (arb_leaf(), proptest::collection::vec(inner, 0..3)).prop_map(|(mut provision, exceptions)| {
                    provision.exceptions = exceptions;
                    provision
                })
            })
            .prop_filter("within the limits", |p| {
                let (size, depth) = p.size_and_depth();
                size <= PROVISIONS_MAX && depth <= PROVISION_DEPTH_MAX
            })
    }

    fn arb_terms() -> impl Strategy<Value = ConsentTerms> {
        (
            any::<[u8; 32]>(),
            proptest::sample::select(STATUSES.to_vec()),
            proptest::sample::select(SCOPES.iter().map(|(s, _)| *s).collect::<Vec<_>>()),
            proptest::collection::vec(proptest::sample::select(vec!["59284-0", "IDSCL", "npp", "hipaa-auth"]), 0..4),
            proptest::sample::select(POLICY_RULES.iter().map(|(r, _)| *r).collect::<Vec<_>>()),
            proptest::collection::vec(
                (any::<bool>(), proptest::option::of(0u64..=253_402_300_799_999))
                    .prop_map(|(verified, date)| Verification { verified, date: date.map(Timestamp) }),
                0..3,
            ),
            arb_provision(),
        )
            .prop_map(|(patient, status, scope, categories, policy_rule, verification, provision)| {
                ConsentTerms {
                    patient: PatientRef(Hash(patient)),
                    status,
                    scope,
                    categories: categories.into_iter().map(str::to_owned).collect(),
                    policy_rule,
                    verification,
                    provision,
                }
            })
    }

    /// Replaces the node reached by following `steps` (each picks a child by index modulo
    /// the number of children) with `replacement`.
    fn mutate(value: &mut Value, steps: &[usize], replacement: Value) {
        let child = match (value, steps.split_first()) {
            (Value::Object(map), Some((step, rest))) if !map.is_empty() => {
                let index = step % map.len();
                map.values_mut().nth(index).map(|child| (child, rest))
            }
            (Value::Array(items), Some((step, rest))) if !items.is_empty() => {
                let index = step % items.len();
                items.get_mut(index).map(|child| (child, rest))
            }
            (value, _) => {
                *value = replacement;
                return;
            }
        };
        if let Some((child, rest)) = child {
            mutate(child, rest, replacement);
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::String),
            proptest::sample::select(vec![
                "deny",
                "permit",
                "Consent",
                "Patient",
                "active",
                "2025-01-01",
                "1969-12-31T23:59:59Z",
                "TREAT",
                "ETREAT",
                "PRCP",
                "CST",
                "Organization/clinic-north",
                system::V3_ACT_REASON,
                system::STAFF_ROLE,
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    proptest::sample::select(vec![
                        "type",
                        "provision",
                        "coding",
                        "system",
                        "code",
                        "reference",
                        "display",
                        "extension",
                        "modifierExtension"
                    ]),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn terms_round_trip(terms in arb_terms(), version in 1u32..1_000, at in 0u64..=253_402_300_799_999) {
            let consent = Consent {
                id: ConsentId(hash(CONSENT_ID)),
                version,
                terms,
                recorder: Recorder::Custodian {
                    org: OrgId::new("hospital-gemelli").unwrap(),
                    identity: IdentityId(hash(BOB)),
                    form_hash: DocumentHash(hash(FORM)),
                },
                recorded_at: Timestamp(at),
            };
            let again = import(&export(&consent).to_string());
            prop_assert!(again.is_ok(), "{:?}", again);
            prop_assert_eq!(again.unwrap().terms, consent.terms);
        }

        #[test]
        fn import_never_panics_on_strings(text in "\\PC{0,200}") {
            let _ = import(&text);
        }

        #[test]
        fn import_never_panics_on_byte_edits(
            fixture in proptest::sample::select(IMPORTABLE.iter().map(|(_, json)| *json).collect::<Vec<_>>()),
            position in any::<usize>(),
            replacement in "[ -~]{0,3}",
        ) {
            let mut position = position % fixture.len();
            while !fixture.is_char_boundary(position) {
                position -= 1;
            }
            let end = (position + replacement.len()).min(fixture.len());
            let end = (end..=fixture.len()).find(|i| fixture.is_char_boundary(*i)).unwrap_or(fixture.len());
            let edited = format!("{}{}{}", &fixture[..position], replacement, &fixture[end..]);
            let _ = import(&edited);
        }

        #[test]
        fn import_never_panics_on_structural_edits(
            fixture in proptest::sample::select(IMPORTABLE.iter().map(|(_, json)| *json).collect::<Vec<_>>()),
            edits in proptest::collection::vec((proptest::collection::vec(any::<usize>(), 0..8), arb_json()), 1..4),
        ) {
            let mut value: Value = serde_json::from_str(fixture).unwrap();
            for (steps, replacement) in edits {
                mutate(&mut value, &steps, replacement);
            }
            let _ = import(&value.to_string());
        }
    }
}

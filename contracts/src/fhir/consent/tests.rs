use panacea_primitives::{Hash, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::consent::Period;

const PATIENT: &str = "cb1ac7aefbcbd74882a4d5f4f99da0a63ae94801d8dd27b0a9bb149fe6b6f274";
const BOB: &str = "ba40db5094b5ad5430b1887fead73b55281aad8cd190d919acb6a81302106542";
const FORM: &str = "3955da381d39f6b4e60b9061da33ce6d4cab8c22bf61446528e59baefa76abfc";
const CONSENT_ID: &str = "721977251f932ad2013ecf9dab390505ada2bab0b2362b496fe553221234b9e6";

const OPTIN_SHARE_ALL: &str = include_str!("../../../tests/fixtures/fhir/consent-optin-share-all.json");
const DENY_ORGANISATION: &str = include_str!("../../../tests/fixtures/fhir/consent-deny-organisation.json");
const DENY_AUTHOR: &str = include_str!("../../../tests/fixtures/fhir/consent-deny-author.json");
const TIME_LIMITED: &str = include_str!("../../../tests/fixtures/fhir/consent-time-limited.json");
const EMERGENCY_ONLY: &str = include_str!("../../../tests/fixtures/fhir/consent-emergency-only.json");
const UNSUPPORTED: &str = include_str!("../../../tests/fixtures/fhir/consent-unsupported-elements.json");
const IDENTIFYING: &str = include_str!("../../../tests/fixtures/fhir/consent-identifying-patient.json");

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
    // Consent.organization is the custodian the consent governs.
    assert_eq!(consent.terms.custodians, vec![OrgId::new("hospital-gemelli").unwrap()]);
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
        FhirError::PseudonymKeyNeeded { path: "Consent.patient.identifier.system".into() }
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
    // Without the custodian's key, a record number in the reference is refused without
    // repeating it.
    let error = refused(|v| v["patient"]["reference"] = json!("Patient/MRN-0012345"));
    assert_eq!(error, FhirError::PseudonymKeyNeeded { path: "Consent.patient.reference".into() });
    assert!(!error.to_string().contains("0012345"));
    // Upper-case hex is a second spelling of the same reference: not taken as one.
    let upper = refused(|v| v["patient"]["reference"] = json!(format!("Patient/{}", PATIENT.to_uppercase())));
    assert_eq!(upper, FhirError::PseudonymKeyNeeded { path: "Consent.patient.reference".into() });
    // Not a patient reference at all.
    let other = refused(|v| v["patient"]["reference"] = json!("Group/ward-3"));
    assert_eq!(other, FhirError::PatientReference { path: "Consent.patient.reference".into() });
}

fn key(byte: u8) -> Pseudonymiser {
    Pseudonymiser::from_bytes([byte; 32])
}

fn import_keyed(json: &str, key: &Pseudonymiser, edit: impl FnOnce(&mut Value)) -> Result<ImportedConsent, FhirError> {
    let mut value: Value = serde_json::from_str(json).unwrap();
    edit(&mut value);
    import_with(&value.to_string(), Some(key))
}

#[test]
fn local_patient_references_are_derived_with_the_custodians_key() {
    let hospital = key(1);
    let by_id = |id: &str| {
        let id = id.to_owned();
        import_keyed(OPTIN_SHARE_ALL, &hospital, move |v| {
            v["patient"] = json!({ "reference": format!("Patient/{id}") })
        })
        .unwrap()
        .terms
        .patient
    };
    // The same patient always maps to the same reference; another patient, another.
    let expected = PatientRef(hospital.derive(LocalPatient::FhirId("pat-001")).unwrap());
    assert_eq!(by_id("pat-001"), expected);
    assert_eq!(by_id("pat-001"), expected);
    assert_ne!(by_id("pat-002"), expected);
    // Another custodian's key gives an unlinkable reference for the same record id.
    let other = import_keyed(OPTIN_SHARE_ALL, &key(2), |v| v["patient"] = json!({ "reference": "Patient/pat-001" }));
    assert_ne!(other.unwrap().terms.patient, expected);
    // With a key, even a 64-hex id is a local id: derived, never copied on chain.
    let hex_id = by_id(PATIENT);
    assert_ne!(hex_id, PatientRef(hash(PATIENT)));
    // A business identifier decides over a logical id given beside it.
    let mrn = import_keyed(OPTIN_SHARE_ALL, &hospital, |v| {
        v["patient"] = json!({ "reference": "Patient/pat-001", "identifier": { "system": "urn:oid:1.2.3.4.5.6", "value": "MRN-0042" } });
    })
    .unwrap();
    let expected_mrn =
        hospital.derive(LocalPatient::Identifier { system: "urn:oid:1.2.3.4.5.6", value: "MRN-0042" }).unwrap();
    assert_eq!(mrn.terms.patient, PatientRef(expected_mrn));
    // A patient-ref identifier is a reference already: taken as is, key or not; a
    // reference beside it must name the same.
    let exported = import_keyed(OPTIN_SHARE_ALL, &hospital, |v| {
        v["patient"] = json!({ "reference": format!("Patient/{PATIENT}"), "identifier": { "system": system::PATIENT_REF, "value": PATIENT } });
    })
    .unwrap();
    assert_eq!(exported.terms.patient, PatientRef(hash(PATIENT)));
    // Identifying members stay refused, and no error repeats the local id.
    let named = import_keyed(OPTIN_SHARE_ALL, &hospital, |v| {
        v["patient"] = json!({ "reference": "Patient/pat-001", "display": "Maria Rossi" });
    });
    assert_eq!(named, Err(FhirError::PatientIdentifying { path: "Consent.patient.display".into() }));
    let bad =
        import_keyed(OPTIN_SHARE_ALL, &hospital, |v| v["patient"] = json!({ "reference": "Patient/MRN 0012345" }))
            .unwrap_err();
    assert_eq!(bad, FhirError::PatientReference { path: "Consent.patient.reference".into() });
    assert!(!bad.to_string().contains("0012345"));
    // The key itself appears nowhere in what import returns.
    let all = format!("{:?}", by_id("pat-001"));
    assert!(!all.contains("0101010101"));
}

#[test]
fn classes_and_custodians_import_and_export() {
    let consent = import_edited(OPTIN_SHARE_ALL, |v| {
        v["organization"] =
            json!([{ "reference": "Organization/hospital-a" }, { "reference": "Organization/hospital-a" }]);
        v["provision"]["class"] = json!([
            { "system": system::DATA_CLASS, "code": "lab-results" },
            { "system": "http://hl7.org/fhir/resource-types", "code": "Observation" },
            { "system": "urn:ietf:bcp:13", "code": "application/dicom" },
        ]);
    })
    .unwrap();
    assert_eq!(consent.terms.custodians, vec![OrgId::new("hospital-a").unwrap()], "duplicates collapse");
    let root = &consent.terms.provision;
    assert_eq!(root.data_classes, vec![DataClass::LabResults]);
    assert_eq!(root.resource_types, vec![ResourceType::Observation]);
    assert_eq!(root.mime_types, vec![MimeType::Dicom]);
    let exported = export(&Consent {
        id: ConsentId(hash(CONSENT_ID)),
        version: 1,
        terms: consent.terms.clone(),
        recorder: Recorder::Patient { key: panacea_primitives::Keypair::from_seed([3; 32]).public() },
        recorded_at: Timestamp(0),
    });
    assert_eq!(exported["organization"][0]["reference"], "Organization/hospital-a");
    assert_eq!(exported["provision"]["class"][1]["system"], "http://hl7.org/fhir/resource-types");
    assert_eq!(import(&exported.to_string()).unwrap().terms, consent.terms);
    // Unknown codes and custodians that are not organisations fail with their path.
    let unknown = import_edited(OPTIN_SHARE_ALL, |v| {
        v["provision"]["class"] = json!([{ "system": "http://hl7.org/fhir/resource-types", "code": "Patient" }]);
    });
    assert!(matches!(unknown, Err(FhirError::UnknownCode { path, .. }) if path == "Consent.provision.class[0].code"));
    let practitioner =
        import_edited(OPTIN_SHARE_ALL, |v| v["organization"] = json!([{ "reference": "Practitioner/x" }]));
    assert!(
        matches!(practitioner, Err(FhirError::Reference { path, .. }) if path == "Consent.organization[0].reference")
    );
    let named = import_edited(OPTIN_SHARE_ALL, |v| {
        v["organization"] = json!([{ "reference": "Organization/hospital-a", "display": "Hospital A" }]);
    });
    assert!(matches!(named, Err(FhirError::Invalid { path, .. }) if path == "Consent.organization[0].display"));
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
    // The recorder is in the recorder extension; `organization` is the custodians the
    // consent governs (none here), and the patient is written in both forms.
    assert!(out.get("organization").is_none());
    assert_eq!(out["patient"]["identifier"]["system"], system::PATIENT_REF);
    assert_eq!(out["patient"]["identifier"]["value"], PATIENT);
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
    let error = import_edited(EMERGENCY_ONLY, |v| v["provision"]["provision"][0]["purpose"][0]["code"] = json!("BTG"));
    assert_eq!(
        error,
        Err(FhirError::UnknownCode {
            path: "Consent.provision.provision[0].purpose[0].code".into(),
            system: system::V3_ACT_REASON,
            code: "BTG".into(),
        })
    );
    let foreign = import_edited(EMERGENCY_ONLY, |v| {
        v["provision"]["provision"][0]["class"] = json!([{ "system": "http://loinc.org", "code": "11506-3" }]);
    });
    assert_eq!(
        foreign,
        Err(FhirError::System {
            path: "Consent.provision.provision[0].class[0].system".into(),
            found: "http://loinc.org".into(),
            expected: super::CLASS_SYSTEMS,
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
    let categories = vec![json!({ "coding": [{ "system": system::LOINC, "code": "59284-0" }] }); CONSENT_LIST_MAX + 1];
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
    assert_eq!(device.unwrap().terms.provision.exceptions[0].actors, vec![ActorRef::Identity(IdentityId(hash(BOB)))]);
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
        (
            proptest::collection::vec(proptest::sample::select(ResourceType::ALL), 0..3),
            proptest::collection::vec(proptest::sample::select(MimeType::ALL), 0..2),
        ),
        arb_period(),
    )
        .prop_map(
            |(kind, period, actors, actions, purposes, data_classes, (resource_types, mime_types), data_period)| {
                Provision {
                    kind,
                    period,
                    actors,
                    actions,
                    purposes,
                    data_classes,
                    resource_types,
                    mime_types,
                    data_period,
                    exceptions: Vec::new(),
                }
            },
        )
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
        proptest::collection::btree_set(
            proptest::sample::select(vec!["hospital-a", "hospital-b", "clinic-north"]),
            0..3,
        ),
    )
        .prop_map(|(patient, status, scope, categories, policy_rule, verification, provision, custodians)| {
            ConsentTerms {
                patient: PatientRef(Hash(patient)),
                status,
                scope,
                custodians: custodians.into_iter().map(|o| OrgId::new(o).unwrap()).collect(),
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

//! The coded vocabularies contracts reason about, each mapped to its HL7 / FHIR code.
//!
//! Closed enums rather than free strings: a decision rule must know every value it may
//! meet, and an unknown code from a FHIR document is reported at import, not guessed at.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The interchange code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The value for an interchange code.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum!(
    /// Purpose of use, from HL7 v3 ActReason (system
    /// `http://terminology.hl7.org/CodeSystem/v3-ActReason`).
    Purpose {
        /// Treatment.
        Treatment => "TREAT",
        /// Emergency treatment: the purpose of break-glass access.
        EmergencyTreatment => "ETREAT",
        /// Healthcare payment.
        Payment => "HPAYMT",
        /// Healthcare operations.
        Operations => "HOPERAT",
        /// Healthcare research.
        Research => "HRESCH",
        /// Public health.
        PublicHealth => "PUBHLTH",
        /// Requested by the patient.
        PatientRequested => "PATRQT",
        /// Care coordination.
        CareCoordination => "COC",
    }
);

code_enum!(
    /// Classes of clinical data a consent can cover (Panacea code system
    /// `https://panacea.example/fhir/CodeSystem/data-class`, aligned with the sections of
    /// the International Patient Summary).
    DataClass {
        /// Allergies and intolerances.
        Allergies => "allergies",
        /// Medications.
        Medications => "medications",
        /// Problems and diagnoses.
        Problems => "problems",
        /// Laboratory results.
        LabResults => "lab-results",
        /// Imaging studies and reports.
        Imaging => "imaging",
        /// Clinical notes and discharge letters.
        ClinicalNotes => "clinical-notes",
        /// Immunizations.
        Immunizations => "immunizations",
        /// Genomic data.
        Genomics => "genomics",
        /// Mental health records (specially protected).
        MentalHealth => "mental-health",
        /// Substance use treatment records (specially protected).
        SubstanceUse => "substance-use",
        /// Sexual and reproductive health records (specially protected).
        SexualHealth => "sexual-health",
    }
);

code_enum!(
    /// What may be done with the data, from the FHIR consent-action value set.
    ConsentAction {
        /// Collect.
        Collect => "collect",
        /// Access.
        Access => "access",
        /// Use.
        Use => "use",
        /// Disclose to another party.
        Disclose => "disclose",
        /// Correct.
        Correct => "correct",
    }
);

code_enum!(
    /// A staff member's role, from HL7 v3 RoleCode where one exists.
    StaffRole {
        /// Physician.
        Physician => "physician",
        /// Nurse.
        Nurse => "nurse",
        /// Pharmacist.
        Pharmacist => "pharmacist",
        /// Administrative staff.
        Administrative => "administrative",
        /// IT staff.
        It => "it",
        /// Auditor (privacy office, health authority).
        Auditor => "auditor",
        /// Researcher.
        Researcher => "researcher",
        /// Security officer: records the organisation's security-governance
        /// self-assessments (`crate::csf`).
        SecurityOfficer => "security-officer",
        /// Security-by-design assessor: attests medical products (`crate::product`).
        Assessor => "assessor",
    }
);

code_enum!(
    /// Kind of consortium member.
    OrgKind {
        /// A hospital.
        Hospital => "hospital",
        /// A regional health authority.
        HealthAuthority => "health-authority",
        /// A vendor (for example of medical devices).
        Vendor => "vendor",
    }
);

code_enum!(
    /// A FHIR R4 resource type that holds clinical data (system
    /// `http://hl7.org/fhir/resource-types`). A consent's `provision.class` may name one; an
    /// access request may name the type of the data it asks for. See
    /// [`ResourceType::data_classes`] for the mapping to [`DataClass`].
    ResourceType {
        /// Allergies and intolerances.
        AllergyIntolerance => "AllergyIntolerance",
        /// A prescription.
        MedicationRequest => "MedicationRequest",
        /// A record of medication taken.
        MedicationStatement => "MedicationStatement",
        /// A medication given.
        MedicationAdministration => "MedicationAdministration",
        /// A medication dispensed.
        MedicationDispense => "MedicationDispense",
        /// A problem or diagnosis.
        Condition => "Condition",
        /// A procedure.
        Procedure => "Procedure",
        /// A measurement or finding.
        Observation => "Observation",
        /// A report of results.
        DiagnosticReport => "DiagnosticReport",
        /// A DICOM imaging study.
        ImagingStudy => "ImagingStudy",
        /// A photo, video or audio recording.
        Media => "Media",
        /// A document of any kind.
        DocumentReference => "DocumentReference",
        /// A clinical document (the header of a FHIR document).
        Composition => "Composition",
        /// An immunization.
        Immunization => "Immunization",
        /// A genetic sequence.
        MolecularSequence => "MolecularSequence",
        /// A care plan.
        CarePlan => "CarePlan",
        /// An encounter.
        Encounter => "Encounter",
        /// A relative's history.
        FamilyMemberHistory => "FamilyMemberHistory",
        /// Answers to a questionnaire.
        QuestionnaireResponse => "QuestionnaireResponse",
    }
);

/// The specially protected classes, which any resource that records findings may hold.
const PROTECTED: [DataClass; 3] = [DataClass::MentalHealth, DataClass::SubstanceUse, DataClass::SexualHealth];

impl ResourceType {
    /// The data classes a resource of this type may hold: the documented mapping between
    /// FHIR resource types and Panacea's data classes. An access request naming a resource
    /// type must name one of its classes; a consent excluding a resource type excludes a
    /// request of one of its classes that does not say its resource type.
    pub fn data_classes(self) -> &'static [DataClass] {
        use DataClass as C;
        const FINDINGS: [DataClass; 4] = [C::Problems, PROTECTED[0], PROTECTED[1], PROTECTED[2]];
        match self {
            ResourceType::AllergyIntolerance => &[C::Allergies],
            ResourceType::MedicationRequest
            | ResourceType::MedicationStatement
            | ResourceType::MedicationAdministration
            | ResourceType::MedicationDispense => &[C::Medications],
            ResourceType::Condition => &FINDINGS,
            ResourceType::Procedure => &[C::Problems, C::Imaging, C::MentalHealth, C::SubstanceUse, C::SexualHealth],
            ResourceType::Observation => {
                &[C::LabResults, C::Problems, C::Genomics, C::MentalHealth, C::SubstanceUse, C::SexualHealth]
            }
            ResourceType::DiagnosticReport => {
                &[C::LabResults, C::Imaging, C::Genomics, C::MentalHealth, C::SubstanceUse, C::SexualHealth]
            }
            ResourceType::ImagingStudy => &[C::Imaging],
            ResourceType::Media => &[C::Imaging, C::ClinicalNotes],
            ResourceType::DocumentReference | ResourceType::Composition => DataClass::ALL,
            ResourceType::Immunization => &[C::Immunizations],
            ResourceType::MolecularSequence => &[C::Genomics],
            ResourceType::CarePlan | ResourceType::Encounter | ResourceType::QuestionnaireResponse => {
                &[C::ClinicalNotes, C::Problems, C::MentalHealth, C::SubstanceUse, C::SexualHealth]
            }
            ResourceType::FamilyMemberHistory => &[C::Problems, C::Genomics],
        }
    }

    /// True if a resource of this type may hold data of `class`.
    pub fn may_hold(self, class: DataClass) -> bool {
        self.data_classes().contains(&class)
    }
}

code_enum!(
    /// A MIME type of shared data (system `urn:ietf:bcp:13`). A consent's `provision.class`
    /// may name one; see [`MimeType::resource_types`] for the mapping to resource types.
    MimeType {
        /// PDF.
        Pdf => "application/pdf",
        /// Plain text.
        Text => "text/plain",
        /// HTML.
        Html => "text/html",
        /// An HL7 CDA document.
        Cda => "application/hl7-cda+xml",
        /// DICOM.
        Dicom => "application/dicom",
        /// JPEG image.
        Jpeg => "image/jpeg",
        /// PNG image.
        Png => "image/png",
        /// FHIR resources in JSON.
        FhirJson => "application/fhir+json",
        /// FHIR resources in XML.
        FhirXml => "application/fhir+xml",
    }
);

impl MimeType {
    /// The resource types data of this MIME type is shared as: the documented mapping
    /// between MIME types and FHIR resource types.
    pub fn resource_types(self) -> &'static [ResourceType] {
        use ResourceType as R;
        match self {
            MimeType::Dicom => &[R::ImagingStudy, R::Media],
            MimeType::Jpeg | MimeType::Png => &[R::Media, R::DocumentReference],
            MimeType::Pdf | MimeType::Text | MimeType::Html => &[R::DocumentReference],
            MimeType::Cda => &[R::DocumentReference, R::Composition],
            MimeType::FhirJson | MimeType::FhirXml => ResourceType::ALL,
        }
    }
}

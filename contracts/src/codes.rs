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

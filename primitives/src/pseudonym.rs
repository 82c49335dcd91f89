//! Pseudonymisation at the edge: a custodian derives a patient's 64-hex reference from its
//! own record of the patient (a FHIR `Patient/<id>` or a business identifier such as a
//! medical record number) with a keyed hash, HMAC-SHA-256 under a secret key only the
//! custodian holds. The same patient, key and form give the same reference; without the
//! key nobody can link a reference to a record, nor tell whether two custodians' references
//! name one person. The key never goes on chain and never leaves the custodian.
//!
//! The input is domain-separated and unambiguous (NUL separators, which neither a FHIR id
//! nor an identifier may contain):
//! `panacea-patient-ref-v1 \0 fhir-id \0 <id>` or
//! `panacea-patient-ref-v1 \0 identifier \0 <system> \0 <value>`.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::Hash;

/// Length of a pseudonymisation key.
pub const PSEUDONYM_KEY_BYTES: usize = 32;
/// First line of a key file.
pub const PSEUDONYM_KEY_HEADER: &str = "panacea-pseudonym-key-v1";
/// Longest identifier system or value accepted, in bytes.
pub const IDENTIFIER_BYTES_MAX: usize = 256;
/// Longest FHIR logical id (FHIR R4: `[A-Za-z0-9\-\.]{1,64}`).
pub const FHIR_ID_BYTES_MAX: usize = 64;

const DOMAIN: &[u8] = b"panacea-patient-ref-v1";

/// Why a key or a patient's local reference was refused. Never repeats the input: it may
/// be a record number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PseudonymError {
    /// The key file is not in the expected form.
    #[error(
        "a pseudonymisation key file has two lines: {PSEUDONYM_KEY_HEADER} and 64 lowercase hex digits (make one with `panacea pseudonym new-key`)"
    )]
    KeyFile,
    /// Not a FHIR logical id.
    #[error("a FHIR patient id is 1 to 64 letters, digits, '-' or '.'")]
    FhirId,
    /// An identifier's system or value is empty, too long or has control characters.
    #[error("an identifier's system and value are 1 to 256 bytes without control characters")]
    Identifier,
    /// A text that is neither form.
    #[error("name the patient as Patient/<FHIR id> or <identifier system>|<identifier value>")]
    Form,
}

/// A custodian's secret pseudonymisation key, and the derivation of references from it.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: [u8; PSEUDONYM_KEY_BYTES],
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser(<secret>)")
    }
}

/// How the custodian's records name the patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalPatient<'a> {
    /// A FHIR logical id, as in `Patient/<id>`.
    FhirId(&'a str),
    /// A business identifier: its system (a URI) and value.
    Identifier {
        /// The identifier's system, for example `urn:oid:1.2.36.146.595.217.0.1`.
        system: &'a str,
        /// The value, for example a medical record number.
        value: &'a str,
    },
}

impl<'a> LocalPatient<'a> {
    /// Reads `Patient/<id>` or `<system>|<value>` (the form of FHIR search tokens).
    pub fn parse(text: &'a str) -> Result<LocalPatient<'a>, PseudonymError> {
        if let Some(id) = text.strip_prefix("Patient/") {
            return Ok(LocalPatient::FhirId(id));
        }
        match text.split_once('|') {
            Some((system, value)) => Ok(LocalPatient::Identifier { system, value }),
            None => Err(PseudonymError::Form),
        }
    }

    fn check(&self) -> Result<(), PseudonymError> {
        match self {
            LocalPatient::FhirId(id) => {
                let valid = !id.is_empty()
                    && id.len() <= FHIR_ID_BYTES_MAX
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                if valid { Ok(()) } else { Err(PseudonymError::FhirId) }
            }
            LocalPatient::Identifier { system, value } => {
                let valid = |text: &str| {
                    !text.is_empty() && text.len() <= IDENTIFIER_BYTES_MAX && !text.chars().any(char::is_control)
                };
                if valid(system) && valid(value) { Ok(()) } else { Err(PseudonymError::Identifier) }
            }
        }
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with this key.
    pub fn from_bytes(key: [u8; PSEUDONYM_KEY_BYTES]) -> Pseudonymiser {
        Pseudonymiser { key }
    }

    /// Reads a key file's text: the header line, then 64 lowercase hex digits.
    pub fn from_file_text(text: &str) -> Result<Pseudonymiser, PseudonymError> {
        let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
        if lines.next() != Some(PSEUDONYM_KEY_HEADER) {
            return Err(PseudonymError::KeyFile);
        }
        let hex_key = lines.next().ok_or(PseudonymError::KeyFile)?;
        if lines.next().is_some()
            || hex_key.len() != 2 * PSEUDONYM_KEY_BYTES
            || hex_key.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(PseudonymError::KeyFile);
        }
        let mut key = [0u8; PSEUDONYM_KEY_BYTES];
        hex::decode_to_slice(hex_key, &mut key).map_err(|_| PseudonymError::KeyFile)?;
        Ok(Pseudonymiser { key })
    }

    /// The text of a key file for this key.
    pub fn to_file_text(&self) -> String {
        format!("{PSEUDONYM_KEY_HEADER}\n{}\n", hex::encode(self.key))
    }

    /// The pseudonymous reference of a patient named as in the custodian's records.
    pub fn derive(&self, patient: LocalPatient<'_>) -> Result<Hash, PseudonymError> {
        patient.check()?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).map_err(|_| PseudonymError::KeyFile)?;
        mac.update(DOMAIN);
        match patient {
            LocalPatient::FhirId(id) => {
                mac.update(b"\0fhir-id\0");
                mac.update(id.as_bytes());
            }
            LocalPatient::Identifier { system, value } => {
                mac.update(b"\0identifier\0");
                mac.update(system.as_bytes());
                mac.update(b"\0");
                mac.update(value.as_bytes());
            }
        }
        let out: [u8; 32] = mac.finalize().into_bytes().into();
        Ok(Hash(out))
    }

    /// [`derive`](Self::derive) from the text forms `Patient/<id>` or `<system>|<value>`.
    pub fn derive_text(&self, text: &str) -> Result<Hash, PseudonymError> {
        self.derive(LocalPatient::parse(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Pseudonymiser {
        Pseudonymiser::from_bytes([byte; PSEUDONYM_KEY_BYTES])
    }

    #[test]
    fn matches_hmac_sha256_of_the_documented_input() {
        // RFC 4231-style check against an independent computation of the same HMAC: the
        // documented input, keyed with 32 bytes of 0x0b.
        let derived = key(0x0b).derive(LocalPatient::FhirId("pat-001")).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0x0b; 32]).unwrap();
        mac.update(b"panacea-patient-ref-v1\0fhir-id\0pat-001");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(derived, Hash(expected));
    }

    #[test]
    fn same_patient_same_reference_and_keys_and_forms_separate() {
        let a = key(1);
        let id = a.derive_text("Patient/pat-001").unwrap();
        assert_eq!(id, a.derive_text("Patient/pat-001").unwrap());
        assert_ne!(id, a.derive_text("Patient/pat-002").unwrap());
        assert_ne!(id, key(2).derive_text("Patient/pat-001").unwrap());
        let mrn = a.derive_text("urn:oid:1.2.3|MRN-1").unwrap();
        assert_eq!(mrn, a.derive(LocalPatient::Identifier { system: "urn:oid:1.2.3", value: "MRN-1" }).unwrap());
        // The separators cannot be forged by moving text between system and value.
        assert_ne!(mrn, a.derive(LocalPatient::Identifier { system: "urn:oid:1.2.3|MRN", value: "-1" }).unwrap());
        assert_ne!(a.derive(LocalPatient::FhirId("x")).unwrap(), a.derive_text("fhir-id|x").unwrap());
    }

    #[test]
    fn bad_input_is_refused_without_repeating_it() {
        let a = key(1);
        for bad in ["Patient/", "Patient/has space", "Patient/ünï", "MRN-1", "|x", "sys|", "sys|a\nb"] {
            let error = a.derive_text(bad).unwrap_err();
            assert!(!error.to_string().contains("MRN-1"), "{error}");
        }
        assert_eq!(a.derive_text(&format!("Patient/{}", "a".repeat(65))), Err(PseudonymError::FhirId));
    }

    #[test]
    fn key_files_round_trip_and_bad_ones_fail() {
        let a = key(7);
        let text = a.to_file_text();
        let back = Pseudonymiser::from_file_text(&text).unwrap();
        assert_eq!(back.derive_text("Patient/p").unwrap(), a.derive_text("Patient/p").unwrap());
        assert!(!format!("{a:?}").contains("0707"));
        for bad in ["", PSEUDONYM_KEY_HEADER, &text.to_uppercase(), &format!("{text}extra\n"), "x\n00"] {
            assert_eq!(Pseudonymiser::from_file_text(bad).unwrap_err(), PseudonymError::KeyFile);
        }
    }
}

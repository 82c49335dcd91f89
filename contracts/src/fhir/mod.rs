//! FHIR R4 JSON interchange: Consent resources in and out, AuditEvent resources out.
//!
//! # Design
//!
//! Import walks a `serde_json::Value` rather than deserialising into structs, so that every
//! member of the input is seen exactly once and ends up in one of three places: mapped onto
//! a Panacea type, listed by its JSON path in `unsupported`, or refused with a [`FhirError`]
//! that names the path. Nothing is dropped silently.
//!
//! Export builds the same shapes, so `import(export(consent))` gives back the terms. The
//! code systems both directions use are the constants in [`system`].
//!
//! Dates: FHIR `date`, `dateTime` and `instant` values become [`Timestamp`]s (milliseconds
//! since the Unix epoch, UTC) through [`parse_date_time`]; see [`DateBound`] for how a value
//! of day or second precision is read at the start or at the end of a period. Export always
//! writes UTC instants with milliseconds ([`format_instant`]).
//!
//! # Invariants
//!
//! - Import refuses identifying patient data: the patient is a pseudonymous
//!   [`PatientRef`](crate::ids::PatientRef) and nothing else; a name, a display text, a
//!   birth date, a foreign identifier or a contained `Patient` is an error, never a warning.
//! - An element that narrows what a provision matches and that Panacea cannot represent
//!   (`securityLabel`, `code`, `data`) is reported and dropped only where dropping it cannot
//!   widen access; elsewhere it is an error (see [`FhirError::Restriction`]).
//! - A `modifierExtension` or `implicitRules` changes the meaning of what contains it; since
//!   Panacea understands none, either is an error (FHIR R4, "Extensibility": a reader must
//!   reject what it cannot safely interpret).
//! - Import reads at most [`INPUT_BYTES_MAX`] bytes, rejects duplicate JSON members (two
//!   readers must not see two different consents in one document), bounds every list, and
//!   never panics.

pub mod audit_event;
pub mod consent;

use std::collections::BTreeSet;
use std::fmt;

use panacea_primitives::{Hash, Timestamp};
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::consent::Period;

/// Largest document import reads, in bytes.
pub const INPUT_BYTES_MAX: usize = 256 * 1024;

/// Longest code import accepts where the code is kept as text (consent categories), in bytes.
pub const CODE_BYTES_MAX: usize = 64;

/// The code systems, identifier systems and extensions of the interchange.
pub mod system {
    /// Consent.scope.
    pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
    /// Consent.provision.type (a FHIR code; named here for error messages).
    pub const PROVISION_TYPE: &str = "http://hl7.org/fhir/consent-provision-type";
    /// Consent.status (a FHIR code; named here for error messages).
    pub const CONSENT_STATE: &str = "http://hl7.org/fhir/consent-state-codes";
    /// Consent.policyRule (OPTIN, OPTINR, OPTOUT, OPTOUTE) and ActCode categories.
    pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    /// Purposes of use.
    pub const V3_ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
    /// Consent.provision.actor.role for actors given by reference.
    pub const V3_PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
    /// Consent.provision.action.
    pub const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
    /// LOINC (consent categories such as `59284-0`).
    pub const LOINC: &str = "http://loinc.org";
    /// HL7 consent category codes (`npp`, `hipaa-auth`, ...).
    pub const CONSENT_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/consentcategorycodes";
    /// Panacea data classes.
    pub const DATA_CLASS: &str = "https://panacea.example/fhir/CodeSystem/data-class";
    /// Panacea staff roles.
    pub const STAFF_ROLE: &str = "https://panacea.example/fhir/CodeSystem/staff-role";
    /// FHIR resource types, for `provision.class`.
    pub const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";
    /// MIME types (BCP 13), for `provision.class`.
    pub const MIME_TYPE: &str = "urn:ietf:bcp:13";
    /// Identifier system of pseudonymous patient references (value: 64 lowercase hex).
    pub const PATIENT_REF: &str = "https://panacea.example/fhir/patient-ref";
    /// Extension on `Consent.sourceAttachment`: SHA-256 of the signed form, as 64 lowercase
    /// hex in `valueString`. Not `Attachment.hash`, which FHIR R4 defines as SHA-1.
    pub const FORM_SHA256: &str = "https://panacea.example/fhir/StructureDefinition/form-sha256";
    /// Extension on an exported Consent: the identity that recorded the version.
    pub const RECORDER: &str = "https://panacea.example/fhir/StructureDefinition/recorder";
    /// AuditEvent.type: the Panacea module an event comes from.
    pub const AUDIT_EVENT_TYPE: &str = "https://panacea.example/fhir/CodeSystem/audit-event-type";
    /// AuditEvent.subtype: the Panacea audit kind.
    pub const AUDIT_KIND: &str = "https://panacea.example/fhir/CodeSystem/audit-kind";
    /// AuditEvent.entity.role.
    pub const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
    /// Identifier system of access decisions (value: 64 lowercase hex).
    pub const DECISION: &str = "https://panacea.example/fhir/decision";
    /// Identifier system of governance proposals (their ids).
    pub const PROPOSAL: &str = "https://panacea.example/fhir/governance-proposal";
    /// Identifier system of registry records (products by firmware hash, self-assessments,
    /// connection rules, training credentials).
    pub const REGISTRY_RECORD: &str = "https://panacea.example/fhir/registry-record";
    /// Identifier system of signing keys (value: 64 lowercase hex).
    pub const PUBLIC_KEY: &str = "https://panacea.example/fhir/public-key";
    /// Extension on an AuditEvent agent: the organisation an identity acts for (what R5
    /// calls `agent.onBehalfOf`).
    pub const ON_BEHALF_OF: &str = "https://panacea.example/fhir/StructureDefinition/on-behalf-of";
    /// Extension on an AuditEvent: position in the audit log (`valueString`, decimal).
    pub const AUDIT_SEQ: &str = "https://panacea.example/fhir/StructureDefinition/audit-seq";
    /// Extension on an AuditEvent: block height (`valueString`, decimal).
    pub const BLOCK_HEIGHT: &str = "https://panacea.example/fhir/StructureDefinition/block-height";
    /// Extension on an AuditEvent: hash of the previous event (`valueString`, hex).
    pub const AUDIT_PREV: &str = "https://panacea.example/fhir/StructureDefinition/audit-prev";
}

/// Why a FHIR document was refused. Every variant names the JSON path of the offending
/// element (for example `Consent.provision.provision[1].purpose[0].code`).
///
/// No variant carries a value taken from the patient element: errors end up in logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// The document is larger than [`INPUT_BYTES_MAX`].
    #[error("the document is {bytes} bytes; at most {max} bytes are accepted")]
    TooLarge {
        /// Size of the input.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON, nested too deeply, or a member appears twice in one object.
    #[error("not a valid JSON document: {reason}")]
    Json {
        /// What the parser found, with line and column.
        reason: String,
    },
    /// `resourceType` is not the one expected.
    #[error("{path}: expected resourceType {expected:?}, found {found:?}")]
    ResourceType {
        /// Where.
        path: String,
        /// The resource type import reads.
        expected: &'static str,
        /// What the document says.
        found: String,
    },
    /// A required element is absent.
    #[error("{path}: required element is missing")]
    Missing {
        /// Where.
        path: String,
    },
    /// An element has the wrong JSON type.
    #[error("{path}: expected {expected}")]
    Type {
        /// Where.
        path: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A code that the code system does not have, or that Panacea does not know.
    #[error("{path}: unknown code {code:?} in {system}")]
    UnknownCode {
        /// Where.
        path: String,
        /// The code system.
        system: &'static str,
        /// The code (at most 64 characters of it).
        code: String,
    },
    /// A coding from a code system that cannot be used here.
    #[error("{path}: code system {found:?} cannot be used here; use {expected}")]
    System {
        /// Where.
        path: String,
        /// The system the document uses (at most 64 characters of it).
        found: String,
        /// The system to use.
        expected: &'static str,
    },
    /// A date, dateTime or instant that does not parse or is out of range.
    #[error("{path}: invalid date-time {value:?}: {reason}")]
    DateTime {
        /// Where.
        path: String,
        /// The value (at most 64 characters of it).
        value: String,
        /// What is wrong with it.
        reason: DateTimeError,
    },
    /// A reference that is not one of the forms Panacea maps.
    #[error("{path}: invalid reference {value:?}; expected {expected}")]
    Reference {
        /// Where.
        path: String,
        /// The reference (at most 64 characters of it).
        value: String,
        /// The accepted forms.
        expected: &'static str,
    },
    /// The patient reference is not a pseudonymous reference. The value is not repeated,
    /// since it may be a record number.
    #[error(
        "{path}: not a usable patient reference: use Patient/<FHIR id> or a business identifier (with the custodian's pseudonymisation key), or an identifier with system {} and a 64 lowercase hex value",
        system::PATIENT_REF
    )]
    PatientReference {
        /// Where.
        path: String,
    },
    /// The patient is named as the custodian's records name them, and no pseudonymisation
    /// key was given to derive the reference. The value is not repeated.
    #[error(
        "{path}: names the patient as the custodian's records do; give the custodian's pseudonymisation key (--pseudonym-key) to derive the pseudonymous reference, or use an identifier with system {} and the 64-hex reference",
        system::PATIENT_REF
    )]
    PseudonymKeyNeeded {
        /// Where.
        path: String,
    },
    /// The document carries data that may identify the patient.
    #[error(
        "{path}: identifying patient data is refused; keep only the pseudonymous reference (Patient/<64 hex> or a {} identifier) and remove names, display texts, birth dates and other identifiers",
        system::PATIENT_REF
    )]
    PatientIdentifying {
        /// Where.
        path: String,
    },
    /// A list is longer than Panacea allows.
    #[error("{path}: {found} entries; at most {max} are allowed")]
    TooMany {
        /// Where.
        path: String,
        /// How many the document has; for provisions and categories, which are counted
        /// across several lists, the count at which reading stopped.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// Provisions nest more deeply than `PROVISION_DEPTH_MAX`.
    #[error("{path}: provisions nest more than {max} levels deep")]
    TooDeep {
        /// Where the first provision too deep is.
        path: String,
        /// The limit.
        max: usize,
    },
    /// A period that ends before it starts.
    #[error("{path}: the period ends before it starts")]
    Period {
        /// Where.
        path: String,
    },
    /// A modifier (`modifierExtension`, `implicitRules`): it may change the meaning of the
    /// resource, and Panacea does not understand it.
    #[error(
        "{path}: this modifier may change the meaning of the consent and Panacea does not understand it; remove it or record the consent without it"
    )]
    Modifier {
        /// Where.
        path: String,
    },
    /// An element that narrows a provision, which Panacea cannot represent and cannot drop
    /// because dropping it could widen what is permitted: it sits on a permit, or on a deny
    /// that has permit exceptions.
    #[error(
        "{path}: Panacea cannot represent this restriction, and dropping it could widen what is permitted; express it with actors, actions, purposes, classes and periods instead"
    )]
    Restriction {
        /// Where.
        path: String,
    },
    /// An actor role that does not make the actor a recipient of the data (for example
    /// `CST`, the custodian or author of the data). Panacea's actors are always recipients;
    /// reading such an actor as a recipient would reverse the consent's meaning.
    #[error(
        "{path}: actor role {code:?} is not supported; Panacea actors are recipients of the data (v3-ParticipationType PRCP or IRCP), or a staff role without a reference"
    )]
    ActorRole {
        /// Where.
        path: String,
        /// The role code (at most 64 characters of it).
        code: String,
    },
    /// Any other malformed element.
    #[error("{path}: {reason}")]
    Invalid {
        /// Where.
        path: String,
        /// What is wrong, and what to do.
        reason: &'static str,
    },
}

/// Why a date-time string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    /// Not `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)`.
    #[error("use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss] followed by Z or an offset such as +01:00")]
    Format,
    /// A year (`YYYY`) or a month (`YYYY-MM`) alone.
    #[error("year or month precision is not supported; give a full date (YYYY-MM-DD)")]
    Partial,
    /// A time of day without a time zone.
    #[error("a time of day needs a time zone: Z or an offset such as +01:00")]
    MissingZone,
    /// A month, day, hour, minute, second or offset out of range (including leap seconds).
    #[error("a field is out of range (month, day, hour, minute, second or offset)")]
    Range,
    /// Digits below the millisecond that are not zero.
    #[error("precision below one millisecond is not supported")]
    SubMillisecond,
    /// An instant before 1970-01-01T00:00:00Z.
    #[error("dates before 1970-01-01T00:00:00Z are not supported")]
    BeforeEpoch,
}

/// How to read a date or dateTime that is less precise than a millisecond.
///
/// FHIR reads an imprecise value as the whole span it names: the end of a period
/// `"2025-12-31"` includes every instant of that day (FHIR R4, Period: "the end value
/// includes any matching date/time"). So [`DateBound::End`] maps a date-only value to
/// `23:59:59.999` UTC of that day and a value in whole seconds to `.999` of that second,
/// while [`DateBound::Start`] maps both to their first millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateBound {
    /// The first millisecond the value names: period starts and points in time.
    Start,
    /// The last millisecond the value names: period ends.
    End,
}

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// Parses a FHIR `date` (`YYYY-MM-DD`, UTC), `dateTime` or `instant`
/// (`YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)`) into a UTC timestamp. Fractions may have
/// up to nine digits, but those after the third must be zero. A date-only value is a UTC
/// day; `bound` says which end of an imprecise value to take.
pub fn parse_date_time(text: &str, bound: DateBound) -> Result<Timestamp, DateTimeError> {
    let bytes = text.as_bytes();
    if matches!(bytes.len(), 4 | 7) && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
        return Err(DateTimeError::Partial);
    }
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(DateTimeError::Format);
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(DateTimeError::Range);
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        let start = days * MS_PER_DAY;
        let millis = match bound {
            DateBound::Start => start,
            DateBound::End => start + MS_PER_DAY - 1,
        };
        return to_timestamp(millis);
    }
    let rest = &bytes[10..];
    if rest[0] != b'T' {
        return Err(DateTimeError::Format);
    }
    if rest.len() < 9 || rest[3] != b':' || rest[6] != b':' {
        return Err(DateTimeError::Format);
    }
    let hour = digits(&rest[1..3])?;
    let minute = digits(&rest[4..6])?;
    let second = digits(&rest[7..9])?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(DateTimeError::Range);
    }
    let mut rest = &rest[9..];
    // Milliseconds, and how many of the last ones the value leaves open (for `End`).
    let (mut millis_of_second, mut open_millis) = (0, MS_PER_SECOND - 1);
    if let Some((b'.', fraction)) = rest.split_first() {
        let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 || count > 9 {
            return Err(DateTimeError::Format);
        }
        let (kept, below) = fraction[..count].split_at(count.min(3));
        if below.iter().any(|b| *b != b'0') {
            return Err(DateTimeError::SubMillisecond);
        }
        let mut value = digits(kept)?;
        let mut unit = 1;
        for _ in kept.len()..3 {
            value *= 10;
            unit *= 10;
        }
        millis_of_second = value;
        open_millis = unit - 1;
        rest = &fraction[count..];
    }
    let offset_minutes = match rest {
        [] => return Err(DateTimeError::MissingZone),
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 14 || minutes > 59 {
                return Err(DateTimeError::Range);
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' { -total } else { total }
        }
        _ => return Err(DateTimeError::Format),
    };
    let local = days * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * MS_PER_SECOND;
    let start = local + millis_of_second - offset_minutes * MS_PER_MINUTE;
    match bound {
        DateBound::Start => to_timestamp(start),
        DateBound::End => to_timestamp(start + open_millis),
    }
}

/// Writes a timestamp as a FHIR `instant` in UTC with milliseconds,
/// `YYYY-MM-DDThh:mm:ss.sssZ`. Timestamps after year 9999 (never produced by a block) are
/// written with a longer year, which [`parse_date_time`] refuses.
pub fn format_instant(time: Timestamp) -> String {
    // Unsigned throughout: a timestamp is never before the epoch.
    const DAY: u64 = 86_400_000;
    let millis = time.as_millis();
    let (days, in_day) = (millis / DAY, millis % DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1_000 % 60, in_day % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

fn to_timestamp(millis: i64) -> Result<Timestamp, DateTimeError> {
    u64::try_from(millis).map(Timestamp).map_err(|_| DateTimeError::BeforeEpoch)
}

fn digits(bytes: &[u8]) -> Result<i64, DateTimeError> {
    if bytes.is_empty() {
        return Err(DateTimeError::Format);
    }
    bytes.iter().try_fold(0i64, |acc, b| {
        if b.is_ascii_digit() { Ok(acc * 10 + i64::from(b - b'0')) } else { Err(DateTimeError::Format) }
    })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (negative before 1970).
/// Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms", `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`] for days on or after 1970-01-01 (Hinnant,
/// `civil_from_days`, in unsigned arithmetic since the input is never negative).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// At most 64 characters of `text`, for error messages.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

/// 64 lowercase hex digits, the only spelling Panacea writes, so one hash has one text form.
fn parse_hash(text: &str) -> Option<Hash> {
    let canonical = text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if canonical { Hash::from_hex(text).ok() } else { None }
}

/// Parses JSON into a `Value`, refusing duplicate members and trailing content. The size
/// limit is checked by the caller; serde_json bounds nesting at 128 levels.
fn parse_json(json: &str) -> Result<Value, FhirError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = StrictValue.deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(json_error)?;
    Ok(value)
}

fn json_error(error: serde_json::Error) -> FhirError {
    FhirError::Json { reason: error.to_string() }
}

/// A `Value` seed that fails on a member name seen twice in one object, where
/// `serde_json::Value` would keep the last one and hide the first.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictValue)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so `from_f64` always succeeds on parsed input.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(A::Error::custom(format!("member {:?} appears twice in one object", excerpt(&key))));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// A JSON object being read: members are taken one by one, and whatever was not taken is
/// reported as unsupported by [`Object::finish`].
struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
    taken: BTreeSet<&'a str>,
}

impl<'a> Object<'a> {
    /// Expects an object; refuses a `modifierExtension` anywhere.
    fn new(value: &'a Value, path: String) -> Result<Object<'a>, FhirError> {
        let map = value.as_object().ok_or_else(|| FhirError::Type { path: path.clone(), expected: "an object" })?;
        if map.contains_key("modifierExtension") {
            return Err(FhirError::Modifier { path: format!("{path}.modifierExtension") });
        }
        Ok(Object { map, path, taken: BTreeSet::new() })
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn member_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The member and its path, marking it as read.
    fn take(&mut self, key: &str) -> Option<(&'a Value, String)> {
        let (name, value) = self.map.get_key_value(key)?;
        self.taken.insert(name.as_str());
        Some((value, self.member_path(key)))
    }

    fn take_str(&mut self, key: &str) -> Result<Option<(&'a str, String)>, FhirError> {
        match self.take(key) {
            None => Ok(None),
            Some((Value::String(text), path)) => Ok(Some((text.as_str(), path))),
            Some((_, path)) => Err(FhirError::Type { path, expected: "a string" }),
        }
    }

    fn require_str(&mut self, key: &str) -> Result<(&'a str, String), FhirError> {
        self.take_str(key)?.ok_or_else(|| FhirError::Missing { path: self.member_path(key) })
    }

    fn take_bool(&mut self, key: &str) -> Result<Option<bool>, FhirError> {
        match self.take(key) {
            None => Ok(None),
            Some((Value::Bool(flag), _)) => Ok(Some(*flag)),
            Some((_, path)) => Err(FhirError::Type { path, expected: "true or false" }),
        }
    }

    fn take_object(&mut self, key: &str) -> Result<Option<Object<'a>>, FhirError> {
        match self.take(key) {
            None => Ok(None),
            Some((value, path)) => Object::new(value, path).map(Some),
        }
    }

    /// The elements of an array member with their paths; absent means empty. Refuses more
    /// than `max` before looking at any element.
    fn take_array(&mut self, key: &str, max: usize) -> Result<Vec<(&'a Value, String)>, FhirError> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some((Value::Array(items), path)) => {
                if items.len() > max {
                    return Err(FhirError::TooMany { path, found: items.len(), max });
                }
                Ok(items.iter().enumerate().map(|(i, item)| (item, format!("{path}[{i}]"))).collect())
            }
            Some((_, path)) => Err(FhirError::Type { path, expected: "an array" }),
        }
    }

    /// Members not read so far, by path, in the object's order.
    fn untaken(&self) -> impl Iterator<Item = String> + '_ {
        self.map.keys().filter(|key| !self.taken.contains(key.as_str())).map(|key| self.member_path(key))
    }

    /// Reports every member not read.
    fn finish(self, unsupported: &mut Vec<String>) {
        unsupported.extend(self.untaken());
    }
}

/// The system and code of a FHIR Coding; every other member (display, version, ...) is
/// reported as unsupported.
struct Coding<'a> {
    system: Option<&'a str>,
    code: Option<&'a str>,
    path: String,
}

impl<'a> Coding<'a> {
    fn read(value: &'a Value, path: String, unsupported: &mut Vec<String>) -> Result<Coding<'a>, FhirError> {
        let mut object = Object::new(value, path)?;
        let system = object.take_str("system")?.map(|(text, _)| text);
        let code = object.take_str("code")?.map(|(text, _)| text);
        let path = object.path().to_owned();
        object.finish(unsupported);
        Ok(Coding { system, code, path })
    }

    /// The code, which must be in `expected`; a coding from another system is an error.
    fn code_in(&self, expected: &'static str) -> Result<&'a str, FhirError> {
        match self.system {
            Some(system) if system == expected => {}
            Some(system) => {
                return Err(FhirError::System {
                    path: format!("{}.system", self.path),
                    found: excerpt(system),
                    expected,
                });
            }
            None => return Err(FhirError::Missing { path: format!("{}.system", self.path) }),
        }
        self.code.ok_or_else(|| FhirError::Missing { path: format!("{}.code", self.path) })
    }
}

/// The codings of a CodeableConcept (at most `max`); its `text` and any other member are
/// reported as unsupported.
fn concept_codings<'a>(
    value: &'a Value,
    path: String,
    max: usize,
    unsupported: &mut Vec<String>,
) -> Result<Vec<Coding<'a>>, FhirError> {
    let mut object = Object::new(value, path)?;
    let codings = object
        .take_array("coding", max)?
        .into_iter()
        .map(|(item, path)| Coding::read(item, path, unsupported))
        .collect::<Result<Vec<_>, _>>()?;
    object.finish(unsupported);
    Ok(codings)
}

/// Most codings read from one CodeableConcept (translations of one concept).
const CODINGS_MAX: usize = 8;

/// The one code a CodeableConcept has in `system`. Codings from other systems are
/// translations of the same concept: reported as unsupported, not errors.
fn concept_code<'a>(
    value: &'a Value,
    path: String,
    system: &'static str,
    unsupported: &mut Vec<String>,
) -> Result<(&'a str, String), FhirError> {
    let codings = concept_codings(value, path.clone(), CODINGS_MAX, unsupported)?;
    let mut found: Option<(&'a str, String)> = None;
    let mut others = Vec::new();
    for coding in &codings {
        if coding.system != Some(system) {
            others.push(coding);
            continue;
        }
        let code = coding.code_in(system)?;
        match &found {
            Some((first, _)) if *first != code => {
                return Err(FhirError::Invalid {
                    path: coding.path.clone(),
                    reason: "two different codes from the same code system in one concept; keep one",
                });
            }
            Some(_) => unsupported.push(coding.path.clone()),
            None => found = Some((code, format!("{}.code", coding.path))),
        }
    }
    match found {
        Some(found) => {
            unsupported.extend(others.iter().map(|coding| coding.path.clone()));
            Ok(found)
        }
        None => match others.first() {
            Some(Coding { system: Some(found), path, .. }) => {
                Err(FhirError::System { path: format!("{path}.system"), found: excerpt(found), expected: system })
            }
            Some(Coding { system: None, path, .. }) => Err(FhirError::Missing { path: format!("{path}.system") }),
            None => Err(FhirError::Missing { path: format!("{path}.coding") }),
        },
    }
}

/// A Period: `start` and `end` (FHIR dateTime); other members are reported. A period with
/// neither end is no restriction and reads as `None`, the form export writes.
fn read_period(value: &Value, path: String, unsupported: &mut Vec<String>) -> Result<Option<Period>, FhirError> {
    let mut object = Object::new(value, path)?;
    let start = object.take_str("start")?.map(|(text, path)| date_time(text, path, DateBound::Start)).transpose()?;
    let end = object.take_str("end")?.map(|(text, path)| date_time(text, path, DateBound::End)).transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(FhirError::Period { path: object.path().to_owned() });
    }
    object.finish(unsupported);
    if start.is_none() && end.is_none() {
        return Ok(None);
    }
    Ok(Some(Period { start, end }))
}

fn date_time(text: &str, path: String, bound: DateBound) -> Result<Timestamp, FhirError> {
    parse_date_time(text, bound).map_err(|reason| FhirError::DateTime { path, value: excerpt(text), reason })
}

/// The JSON for a Period, or `None` when neither end is set.
fn period_json(period: &Period) -> Option<Value> {
    let mut object = Map::new();
    if let Some(start) = period.start {
        object.insert("start".into(), format_instant(start).into());
    }
    if let Some(end) = period.end {
        object.insert("end".into(), format_instant(end).into());
    }
    (!object.is_empty()).then_some(Value::Object(object))
}

/// `{"coding": [{"system": ..., "code": ...}]}`.
fn concept_json(system: &str, code: &str) -> Value {
    serde_json::json!({ "coding": [coding_json(system, code)] })
}

/// `{"system": ..., "code": ...}`.
fn coding_json(system: &str, code: &str) -> Value {
    serde_json::json!({ "system": system, "code": code })
}

/// `{"reference": "<text>"}`.
fn reference_json(text: String) -> Value {
    serde_json::json!({ "reference": text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn start(text: &str) -> Result<u64, DateTimeError> {
        parse_date_time(text, DateBound::Start).map(Timestamp::as_millis)
    }

    fn end(text: &str) -> Result<u64, DateTimeError> {
        parse_date_time(text, DateBound::End).map(Timestamp::as_millis)
    }

    #[test]
    fn known_dates() {
        assert_eq!(start("1970-01-01"), Ok(0));
        assert_eq!(end("1970-01-01"), Ok(86_399_999));
        assert_eq!(start("2000-03-01"), Ok(951_868_800_000));
        assert_eq!(start("2000-02-29"), Ok(951_782_400_000));
        assert_eq!(start("2024-02-29T12:30:15Z"), Ok(1_709_209_815_000));
        assert_eq!(start("2024-02-29T12:30:15.5Z"), Ok(1_709_209_815_500));
        assert_eq!(start("2024-02-29T12:30:15.123000Z"), Ok(1_709_209_815_123));
        assert_eq!(start("2024-02-29T13:30:15+01:00"), Ok(1_709_209_815_000));
        assert_eq!(start("2024-02-29T07:00:15-05:30"), Ok(1_709_209_815_000));
        assert_eq!(start("9999-12-31T23:59:59.999Z"), Ok(253_402_300_799_999));
    }

    #[test]
    fn end_bound_covers_the_precision_given() {
        assert_eq!(end("2025-12-31"), start("2025-12-31T23:59:59.999Z"));
        assert_eq!(end("2025-12-31T10:00:00Z"), start("2025-12-31T10:00:00.999Z"));
        assert_eq!(end("2025-12-31T10:00:00.5Z"), start("2025-12-31T10:00:00.599Z"));
        assert_eq!(end("2025-12-31T10:00:00.50Z"), start("2025-12-31T10:00:00.509Z"));
        assert_eq!(end("2025-12-31T10:00:00.500Z"), start("2025-12-31T10:00:00.500Z"));
    }

    #[test]
    fn refused_dates() {
        use DateTimeError::*;
        let cases: &[(&str, DateTimeError)] = &[
            ("", Format),
            ("2025", Partial),
            ("2025-06", Partial),
            ("2025-6-01", Format),
            ("2025/06/01", Format),
            ("25-06-01xx", Format),
            ("2025-13-01", Range),
            ("2025-00-01", Range),
            ("2025-02-29", Range),
            ("1900-02-29", Range),
            ("2025-04-31", Range),
            ("0000-01-01", Range),
            ("1969-12-31", BeforeEpoch),
            ("1970-01-01T00:30:00+01:00", BeforeEpoch),
            ("2025-06-01T10:00:00", MissingZone),
            ("2025-06-01T10:00Z", Format),
            ("2025-06-01T24:00:00Z", Range),
            ("2025-06-01T23:60:00Z", Range),
            ("2025-06-01T23:59:60Z", Range),
            ("2025-06-01T10:00:00+15:00", Range),
            ("2025-06-01T10:00:00+01:60", Range),
            ("2025-06-01T10:00:00+0100", Format),
            ("2025-06-01T10:00:00.Z", Format),
            ("2025-06-01T10:00:00.1234Z", SubMillisecond),
            ("2025-06-01T10:00:00.1234567890Z", Format),
            ("2025-06-01T10:00:00Zjunk", Format),
            ("2025-06-01 10:00:00Z", Format),
            ("２025-06-01", Format),
        ];
        for (text, expected) in cases {
            assert_eq!(start(text), Err(*expected), "{text}");
        }
    }

    #[test]
    fn formats_instants() {
        assert_eq!(format_instant(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_instant(Timestamp(1_709_209_815_123)), "2024-02-29T12:30:15.123Z");
        assert_eq!(format_instant(Timestamp(253_402_300_799_999)), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn refuses_duplicate_members() {
        let error = parse_json(r#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(matches!(&error, FhirError::Json { reason } if reason.contains("\"b\" appears twice")), "{error}");
        assert!(parse_json(r#"{"a": 1} x"#).is_err());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_json(&deep).is_err());
    }

    #[test]
    fn hashes_are_lowercase_hex_only() {
        let lower = "ab".repeat(32);
        assert!(parse_hash(&lower).is_some());
        assert!(parse_hash(&lower.to_uppercase()).is_none());
        assert!(parse_hash(&lower[..62]).is_none());
        assert!(parse_hash(&format!("{lower}00")).is_none());
    }

    proptest! {
        #[test]
        fn instants_round_trip(millis in 0u64..=253_402_300_799_999) {
            let text = format_instant(Timestamp(millis));
            prop_assert_eq!(parse_date_time(&text, DateBound::Start), Ok(Timestamp(millis)));
            prop_assert_eq!(parse_date_time(&text, DateBound::End), Ok(Timestamp(millis)));
        }

        #[test]
        fn civil_days_round_trip(days in 0u64..2_932_897) {
            let (year, month, day) = civil_from_days(days);
            let back = days_from_civil(i64::try_from(year).unwrap(), i64::try_from(month).unwrap(), i64::try_from(day).unwrap());
            prop_assert_eq!(back, i64::try_from(days).unwrap());
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = parse_date_time(&text, DateBound::Start);
            let _ = parse_date_time(&text, DateBound::End);
        }

        #[test]
        fn parse_never_panics_on_near_misses(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?(Z|[+-][0-9]{2}:[0-9]{2})?)?") {
            let _ = parse_date_time(&text, DateBound::Start);
        }
    }
}

//! FHIR search parameters: parsing the query string into Panacea's filters, with an
//! OperationOutcome-ready error for anything malformed or unsupported. Pure functions.

use panacea_contracts::audit::AuditKind;
use panacea_contracts::fhir::{DateBound, parse_date_time, system};
use panacea_contracts::ids::{IdentityId, OrgId, PatientRef};
use panacea_primitives::{Hash, Timestamp};

/// Default page size of a searchset.
pub(crate) const COUNT_DEFAULT: usize = 50;
/// Largest page size of a searchset.
pub(crate) const COUNT_MAX: usize = 1_000;
/// Most parameters one search may carry.
pub(crate) const PARAMETERS_MAX: usize = 32;

/// Why a search is refused: a parameter and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchError {
    /// The parameter's name.
    pub parameter: String,
    /// What is wrong, for the OperationOutcome's diagnostics.
    pub message: String,
}

impl SearchError {
    fn new(parameter: &str, message: impl Into<String>) -> SearchError {
        SearchError { parameter: parameter.to_owned(), message: message.into() }
    }
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "search parameter {}: {}", self.parameter, self.message)
    }
}

/// The decoded `name=value` pairs of a query string, in order; at most
/// [`PARAMETERS_MAX`].
pub(crate) fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, SearchError> {
    let Some(query) = query else { return Ok(Vec::new()) };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| SearchError::new("(query)", format!("not a URL-encoded query: {e}")))?;
    if pairs.len() > PARAMETERS_MAX {
        return Err(SearchError::new("(query)", format!("at most {PARAMETERS_MAX} parameters")));
    }
    Ok(pairs)
}

/// Refuses the parameters a search does not know when the client asked for strict
/// handling (`Prefer: handling=strict`); otherwise they are ignored, as FHIR's lenient
/// default says, and left out of the Bundle's self link.
pub(crate) fn check_known(pairs: &[(String, String)], known: &[&str], strict: bool) -> Result<(), SearchError> {
    match pairs.iter().find(|(name, _)| !known.contains(&name.as_str())) {
        Some((name, _)) if strict => {
            Err(SearchError::new(name, format!("not supported here; supported: {}", known.join(", "))))
        }
        _ => Ok(()),
    }
}

/// The one value of a parameter given at most once.
pub(crate) fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, SearchError> {
    let mut values = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(SearchError::new(name, "given more than once"));
    }
    if first.is_some_and(|v| v.contains(',')) {
        return Err(SearchError::new(name, "lists of values (a,b) are not supported for this parameter"));
    }
    Ok(first)
}

/// `_count`: the page size, [`COUNT_DEFAULT`] when absent, at most [`COUNT_MAX`].
pub(crate) fn count(pairs: &[(String, String)]) -> Result<usize, SearchError> {
    match single(pairs, "_count")? {
        None => Ok(COUNT_DEFAULT),
        Some(text) => match text.parse::<usize>() {
            Ok(0) | Err(_) => Err(SearchError::new("_count", format!("a positive integer up to {COUNT_MAX}"))),
            Ok(n) => Ok(n.min(COUNT_MAX)),
        },
    }
}

/// A non-negative integer parameter (a paging offset or cursor).
pub(crate) fn number(pairs: &[(String, String)], name: &str) -> Result<Option<u64>, SearchError> {
    single(pairs, name)?
        .map(|text| text.parse::<u64>().map_err(|_| SearchError::new(name, "a non-negative integer")))
        .transpose()
}

fn hex_hash(text: &str) -> Option<Hash> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Hash::from_hex(text).ok()).flatten()
}

/// `patient`: `Patient/<64 hex>`, `<64 hex>`, or the patient-ref identifier token
/// `https://panacea.example/fhir/patient-ref|<64 hex>`.
pub(crate) fn patient(text: &str) -> Result<PatientRef, SearchError> {
    let id = text
        .strip_prefix("Patient/")
        .or_else(|| text.strip_prefix(system::PATIENT_REF).and_then(|rest| rest.strip_prefix('|')))
        .unwrap_or(text);
    hex_hash(id)
        .map(PatientRef)
        .ok_or_else(|| SearchError::new("patient", "Patient/<the patient's pseudonymous reference, 64 hex digits>"))
}

/// What an `agent` names: an identity (`Practitioner/<hex>`, `Device/<hex>`, `<hex>`) or
/// an organisation (`Organization/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Agent {
    /// A staff member, device or service.
    Identity(IdentityId),
    /// An organisation.
    Organisation(OrgId),
}

/// Parses `agent`.
pub(crate) fn agent(text: &str) -> Result<Agent, SearchError> {
    if let Some(org) = text.strip_prefix("Organization/") {
        return OrgId::new(org)
            .map(Agent::Organisation)
            .map_err(|e| SearchError::new("agent", format!("not an organisation id: {e}")));
    }
    let id = text.strip_prefix("Practitioner/").or_else(|| text.strip_prefix("Device/")).unwrap_or(text);
    hex_hash(id).map(|h| Agent::Identity(IdentityId(h))).ok_or_else(|| {
        SearchError::new("agent", "Practitioner/<identity id>, Device/<identity id> or Organization/<organisation id>")
    })
}

/// `subtype`: an audit kind's code, bare or as `<audit-kind system>|<code>`.
pub(crate) fn audit_kind(text: &str) -> Result<AuditKind, SearchError> {
    let code = match text.split_once('|') {
        Some((system, code)) if system.is_empty() || system == system::AUDIT_KIND => code,
        Some(_) => return Err(SearchError::new("subtype", format!("the system must be {}", system::AUDIT_KIND))),
        None => text,
    };
    serde_json::from_value(serde_json::Value::String(code.to_owned())).map_err(|_| {
        SearchError::new("subtype", format!("unknown audit kind {code:?} (e.g. access-decision, break-glass)"))
    })
}

/// The time window of `date` parameters, both ends inclusive, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Window {
    /// From (inclusive).
    pub from: Option<Timestamp>,
    /// To (inclusive).
    pub to: Option<Timestamp>,
}

/// Reads every `date` parameter (`[ge|gt|le|lt|eq]` followed by a year, a year-month, a
/// date or a dateTime) into one window: their intersection.
pub(crate) fn date_window(pairs: &[(String, String)]) -> Result<Window, SearchError> {
    let mut window = Window::default();
    for (_, value) in pairs.iter().filter(|(name, _)| name == "date") {
        let (prefix, text) = match value.get(..2) {
            Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
            Some("ne" | "sa" | "eb" | "ap") => {
                return Err(SearchError::new("date", "only the prefixes ge, gt, le, lt and eq are supported"));
            }
            _ => ("eq", value.as_str()),
        };
        let (start, end) = bounds(text)?;
        let (from, to) = match prefix {
            "ge" => (Some(start), None),
            "gt" => (Some(end.saturating_add(1)), None),
            "le" => (None, Some(end)),
            "lt" => (None, Some(start.saturating_sub(1))),
            _ => (Some(start), Some(end)),
        };
        if let Some(from) = from {
            window.from = Some(Timestamp(window.from.map_or(from, |f| f.0.max(from))));
        }
        if let Some(to) = to {
            window.to = Some(Timestamp(window.to.map_or(to, |t| t.0.min(to))));
        }
    }
    Ok(window)
}

/// The first and last millisecond a date of any FHIR precision covers.
fn bounds(text: &str) -> Result<(u64, u64), SearchError> {
    let bad =
        || SearchError::new("date", format!("{text:?} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)"));
    let (start, next) = match text.len() {
        4 if text.bytes().all(|b| b.is_ascii_digit()) => {
            let year: u32 = text.parse().map_err(|_| bad())?;
            (format!("{year:04}-01-01"), format!("{:04}-01-01", year + 1))
        }
        7 if text.as_bytes()[4] == b'-' => {
            let year: u32 = text[..4].parse().map_err(|_| bad())?;
            let month: u32 = text[5..].parse().map_err(|_| bad())?;
            if !(1..=12).contains(&month) {
                return Err(bad());
            }
            let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
            (format!("{year:04}-{month:02}-01"), format!("{next_year:04}-{next_month:02}-01"))
        }
        _ => {
            let start = parse_date_time(text, DateBound::Start).map_err(|_| bad())?;
            let end = parse_date_time(text, DateBound::End).map_err(|_| bad())?;
            return Ok((start.0, end.0));
        }
    };
    let start = parse_date_time(&start, DateBound::Start).map_err(|_| bad())?;
    // A year 9999's successor is past what FHIR dates hold: the window stays open.
    let end = parse_date_time(&next, DateBound::Start).map_or(u64::MAX, |t| t.0.saturating_sub(1));
    Ok((start.0, end))
}

/// Consent `status` codes asked for (`a,b` is a list), or none for all.
pub(crate) fn statuses(pairs: &[(String, String)]) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    for (_, value) in pairs.iter().filter(|(name, _)| name == "status") {
        for code in value.split(',') {
            let code = code.strip_prefix(&format!("{}|", system::CONSENT_STATE)).unwrap_or(code);
            if !["draft", "proposed", "active", "rejected", "inactive", "entered-in-error"].contains(&code) {
                return Err(SearchError::new("status", format!("{code:?} is not a consent-state-codes code")));
            }
            out.push(code.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Vec<(String, String)> {
        pairs(Some(text)).unwrap()
    }

    #[test]
    fn dates_of_every_precision_and_prefix_make_one_window() {
        let day = 86_400_000u64;
        let w = date_window(&query("date=ge2026-01-01&date=lt2026-02")).unwrap();
        assert_eq!(w.from, Some(Timestamp(1_767_225_600_000)));
        assert_eq!(w.to, Some(Timestamp(1_767_225_600_000 + 31 * day - 1)));
        let w = date_window(&query("date=2026")).unwrap();
        assert_eq!(w.to.unwrap().0 - w.from.unwrap().0, 365 * day - 1);
        let w = date_window(&query("date=gt2026-01-01T10:00:00Z")).unwrap();
        assert_eq!(w.from, Some(Timestamp(1_767_225_600_000 + 10 * 3_600_000 + 1_000)));
        let w = date_window(&query("date=le2026-12")).unwrap();
        assert_eq!(w.to, Some(Timestamp(1_798_761_600_000 - 1)));
        assert!(date_window(&query("date=ne2026")).is_err());
        assert!(date_window(&query("date=ge2026-13")).is_err());
        assert!(date_window(&query("date=yesterday")).is_err());
        assert_eq!(date_window(&query("date=9999")).unwrap().to, Some(Timestamp(u64::MAX)));
    }

    #[test]
    fn references_and_tokens_parse_or_name_the_parameter() {
        let hex = "ab".repeat(32);
        assert_eq!(patient(&format!("Patient/{hex}")).unwrap(), patient(&hex).unwrap());
        assert!(patient(&format!("{}|{hex}", system::PATIENT_REF)).is_ok());
        assert_eq!(patient("Patient/123").unwrap_err().parameter, "patient");
        assert!(matches!(agent(&format!("Practitioner/{hex}")).unwrap(), Agent::Identity(_)));
        assert!(matches!(agent("Organization/hospital-1").unwrap(), Agent::Organisation(_)));
        assert!(agent("Organization/Not An Id").is_err());
        assert_eq!(audit_kind("break-glass").unwrap(), AuditKind::BreakGlass);
        assert_eq!(audit_kind(&format!("{}|review-closed", system::AUDIT_KIND)).unwrap(), AuditKind::ReviewClosed);
        assert!(audit_kind("http://other|break-glass").is_err());
        assert!(audit_kind("nothing").is_err());
        assert_eq!(statuses(&query("status=active,inactive")).unwrap(), ["active", "inactive"]);
        assert!(statuses(&query("status=happy")).is_err());
    }

    #[test]
    fn counts_repeats_and_unknown_parameters_are_checked() {
        assert_eq!(count(&[]).unwrap(), COUNT_DEFAULT);
        assert_eq!(count(&query("_count=5000")).unwrap(), COUNT_MAX);
        assert!(count(&query("_count=0")).is_err());
        assert!(count(&query("_count=-1")).is_err());
        assert!(single(&query("patient=a&patient=b"), "patient").is_err());
        let unknown = query("patient=a&color=blue");
        assert!(check_known(&unknown, &["patient"], false).is_ok());
        assert_eq!(check_known(&unknown, &["patient"], true).unwrap_err().parameter, "color");
        let many = (0..40).map(|i| format!("p{i}=1")).collect::<Vec<_>>().join("&");
        assert!(pairs(Some(&many)).is_err());
        assert!(pairs(Some("a=%ZZ")).is_ok() || pairs(Some("a=%ZZ")).is_err(), "never panics");
    }
}

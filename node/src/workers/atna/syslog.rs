//! RFC 5424 syslog messages of audit events, framed for TLS transport as RFC 5425 says
//! (octet counting: `MSG-LEN SP SYSLOG-MSG`).
//!
//! A message is `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG`:
//! - PRI: facility 10 (security/authorisation, private), severity notice for a success and
//!   warning for a denial or a security alert (IHE's examples use `<85>`, notice);
//! - TIMESTAMP: the event's block time (UTC, milliseconds);
//! - MSGID: `IHE+RFC-3881` for the DICOM audit message, `IHE+FHIR` for FHIR AuditEvent JSON;
//! - SD: `[panacea@32473 seq="…" height="…" kind="…"]`, so a SIEM can order, deduplicate
//!   and filter without parsing the body (32473 is the private enterprise number that
//!   RFC 5612 reserves for documentation: Panacea has none of its own);
//! - MSG: UTF-8 with a byte order mark, as RFC 5424 section 6.4 asks for UTF-8 text.

use panacea_contracts::audit::{AuditEvent, AuditKind, AuditOutcome};
use panacea_contracts::fhir::audit_event::kind_code;
use panacea_contracts::fhir::format_instant;

use crate::config::AtnaFormat;

/// Facility 10: security/authorisation messages (private).
pub const FACILITY: u8 = 10;
/// Severity of a successful event.
pub const NOTICE: u8 = 5;
/// Severity of a denial or a security alert.
pub const WARNING: u8 = 4;
/// The SD-ID of Panacea's structured data.
pub const SD_ID: &str = "panacea@32473";
/// The byte order mark that opens a UTF-8 MSG.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Longest HOSTNAME (RFC 5424).
const HOSTNAME_MAX: usize = 255;

/// The fields of the header that are the same for every message of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// HOSTNAME: printable ASCII, no spaces.
    pub hostname: String,
    /// APP-NAME.
    pub app_name: String,
}

impl Origin {
    /// An origin named `hostname` (characters outside printable ASCII become `-`).
    pub fn new(hostname: &str, app_name: &str) -> Origin {
        let mut cleaned: String =
            hostname.chars().map(|c| if c.is_ascii_graphic() { c } else { '-' }).take(HOSTNAME_MAX).collect();
        if cleaned.is_empty() {
            cleaned.push('-');
        }
        Origin { hostname: cleaned, app_name: app_name.to_string() }
    }
}

/// The MSGID of a format.
pub fn msg_id(format: AtnaFormat) -> &'static str {
    match format {
        AtnaFormat::Dicom => "IHE+RFC-3881",
        AtnaFormat::Fhir => "IHE+FHIR",
    }
}

/// The severity of an event: warning for a denial, an emergency access and the alerts a
/// security officer should see; notice for everything else.
pub fn severity(event: &AuditEvent) -> u8 {
    let alert = matches!(
        event.kind,
        AuditKind::BreakGlass
            | AuditKind::UnexpectedConnection
            | AuditKind::DeviceQuarantined
            | AuditKind::MisbehaviourReported
    );
    if alert || event.outcome == AuditOutcome::Denied { WARNING } else { NOTICE }
}

/// Escapes a PARAM-VALUE: `"`, `\` and `]` take a backslash (RFC 5424 section 6.3.3).
fn param_value(value: &str, out: &mut Vec<u8>) {
    for byte in value.bytes() {
        if matches!(byte, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(byte);
    }
}

/// The SYSLOG-MSG of `event` with `body` (the DICOM XML or the FHIR JSON) as MSG.
pub fn message(origin: &Origin, format: AtnaFormat, event: &AuditEvent, body: &str) -> Vec<u8> {
    let pri = u16::from(FACILITY) * 8 + u16::from(severity(event));
    let mut out = Vec::with_capacity(body.len() + 200);
    out.extend_from_slice(
        format!(
            "<{pri}>1 {} {} {} - {} [{SD_ID} seq=\"",
            format_instant(event.recorded),
            origin.hostname,
            origin.app_name,
            msg_id(format)
        )
        .as_bytes(),
    );
    param_value(&event.seq.to_string(), &mut out);
    out.extend_from_slice(b"\" height=\"");
    param_value(&event.height.0.to_string(), &mut out);
    out.extend_from_slice(b"\" kind=\"");
    param_value(kind_code(event.kind), &mut out);
    out.extend_from_slice(b"\"] ");
    out.extend_from_slice(BOM);
    out.extend_from_slice(body.as_bytes());
    out
}

/// Appends `message` to `out` with RFC 5425's octet-counting frame.
pub fn frame(message: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(message.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(message);
}

#[cfg(test)]
pub(crate) mod tests {
    use panacea_contracts::audit::{AuditAction, AuditAgent, AuditEntity};
    use panacea_contracts::ids::OrgId;
    use panacea_primitives::{Hash, Height, Timestamp};

    use super::*;

    pub(crate) fn event(kind: AuditKind, outcome: AuditOutcome) -> AuditEvent {
        AuditEvent {
            seq: 123,
            kind,
            action: AuditAction::Execute,
            outcome,
            recorded: Timestamp(1_750_000_000_123),
            height: Height(45),
            agents: vec![AuditAgent {
                identity: None,
                key: None,
                org: Some(OrgId::new("hospital-a").unwrap()),
                role: None,
                requestor: true,
            }],
            entity: AuditEntity::default(),
            purpose: None,
            prev: Hash::digest(b"previous"),
        }
    }

    #[test]
    fn the_message_is_byte_exact() {
        let origin = Origin::new("node a", "panacea");
        let event = event(AuditKind::AccessDecision, AuditOutcome::Success);
        let message = message(&origin, AtnaFormat::Dicom, &event, "<x/>");
        let expected = b"<85>1 2025-06-15T15:06:40.123Z node-a panacea - IHE+RFC-3881 \
[panacea@32473 seq=\"123\" height=\"45\" kind=\"access-decision\"] \xEF\xBB\xBF<x/>";
        assert_eq!(message, expected.to_vec(), "{}", String::from_utf8_lossy(&message));
        let mut framed = Vec::new();
        frame(&message, &mut framed);
        frame(b"ab", &mut framed);
        let mut expected_frames = format!("{} ", expected.len()).into_bytes();
        expected_frames.extend_from_slice(expected);
        expected_frames.extend_from_slice(b"2 ab");
        assert_eq!(framed, expected_frames);
    }

    #[test]
    fn severity_follows_the_outcome_and_alerts() {
        assert_eq!(severity(&event(AuditKind::AccessDecision, AuditOutcome::Denied)), WARNING);
        assert_eq!(severity(&event(AuditKind::BreakGlass, AuditOutcome::Success)), WARNING);
        assert_eq!(severity(&event(AuditKind::ConsentRecorded, AuditOutcome::Success)), NOTICE);
        let denied = message(
            &Origin::new("n", "a"),
            AtnaFormat::Fhir,
            &event(AuditKind::AccessDecision, AuditOutcome::Denied),
            "{}",
        );
        assert!(denied.starts_with(b"<84>1 "), "{}", String::from_utf8_lossy(&denied));
        assert!(String::from_utf8_lossy(&denied).contains(" IHE+FHIR [panacea@32473 "));
    }

    #[test]
    fn param_values_and_hostnames_are_escaped() {
        let mut out = Vec::new();
        param_value(r#"a"b\c]d"#, &mut out);
        assert_eq!(out, br#"a\"b\\c\]d"#.to_vec());
        assert_eq!(Origin::new("", "x").hostname, "-");
        assert_eq!(Origin::new("h\u{e9}pital", "x").hostname, "h-pital");
        assert_eq!(Origin::new(&"x".repeat(300), "x").hostname.len(), HOSTNAME_MAX);
    }
}

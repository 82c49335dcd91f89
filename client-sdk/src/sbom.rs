//! Importing a software bill of materials (CycloneDX JSON or SPDX JSON) into what a
//! product record holds on chain: the document's SHA-256 and its component list
//! (name, version, package URL), sorted and without duplicates.

use panacea_contracts::product::{Component, PRODUCT_TEXT_BYTES_MAX, SBOM_COMPONENTS_MAX, Sbom, SbomFormat};
use panacea_primitives::Hash;
use serde_json::Value;

/// Largest SBOM document read, in bytes.
pub const SBOM_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Why an SBOM could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbomError {
    /// Too large to read.
    #[error("the SBOM is larger than {SBOM_BYTES_MAX} bytes")]
    TooLarge,
    /// Not JSON.
    #[error("the SBOM is not JSON: {0}")]
    NotJson(String),
    /// Neither format.
    #[error("not a CycloneDX (bomFormat) or SPDX (spdxVersion) JSON document")]
    UnknownFormat,
    /// More components than a product record holds.
    #[error("the SBOM lists {0} distinct components; a product record holds at most {SBOM_COMPONENTS_MAX}")]
    TooManyComponents(usize),
    /// A component field the chain would refuse.
    #[error("component {0}: {1}")]
    BadComponent(String, &'static str),
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn cyclonedx(components: &Value, out: &mut Vec<Component>, depth: usize) {
    let Some(list) = components.as_array() else { return };
    for c in list {
        if let Some(name) = text(c, "name") {
            let name = match text(c, "group") {
                Some(group) => format!("{group}/{name}"),
                None => name,
            };
            let version = text(c, "version").unwrap_or_else(|| "unspecified".into());
            out.push(Component { name, version, purl: text(c, "purl") });
        }
        // Nested components (assemblies), to a bounded depth.
        if depth < 8
            && let Some(nested) = c.get("components")
        {
            cyclonedx(nested, out, depth + 1);
        }
    }
}

fn spdx(packages: &Value, out: &mut Vec<Component>) {
    let Some(list) = packages.as_array() else { return };
    for p in list {
        let Some(name) = text(p, "name") else { continue };
        let version = text(p, "versionInfo").unwrap_or_else(|| "unspecified".into());
        let purl = p.get("externalRefs").and_then(Value::as_array).and_then(|refs| {
            refs.iter()
                .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                .and_then(|r| text(r, "referenceLocator"))
        });
        out.push(Component { name, version, purl });
    }
}

/// Imports an SBOM document: its SHA-256 (of the bytes as given) and its components.
pub fn import_sbom(bytes: &[u8]) -> Result<Sbom, SbomError> {
    if bytes.len() > SBOM_BYTES_MAX {
        return Err(SbomError::TooLarge);
    }
    let document: Value = serde_json::from_slice(bytes).map_err(|e| SbomError::NotJson(e.to_string()))?;
    let mut components = Vec::new();
    let format = if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        if let Some(list) = document.get("components") {
            cyclonedx(list, &mut components, 0);
        }
        SbomFormat::CycloneDx
    } else if document.get("spdxVersion").is_some() {
        if let Some(list) = document.get("packages") {
            spdx(list, &mut components);
        }
        SbomFormat::Spdx
    } else {
        return Err(SbomError::UnknownFormat);
    };
    components.sort();
    components.dedup();
    if components.len() > SBOM_COMPONENTS_MAX {
        return Err(SbomError::TooManyComponents(components.len()));
    }
    for c in &components {
        let fields = [Some(&c.name), Some(&c.version), c.purl.as_ref()];
        for field in fields.into_iter().flatten() {
            if field.len() > PRODUCT_TEXT_BYTES_MAX || field.chars().any(char::is_control) {
                return Err(SbomError::BadComponent(
                    c.name.clone(),
                    "a field is over 128 bytes or has control characters",
                ));
            }
        }
    }
    Ok(Sbom { format, hash: Hash::digest(bytes), components })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyclonedx_and_spdx_documents_give_their_components_sorted_once() {
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
            {"type":"library","name":"openssl","version":"1.1.1k","purl":"pkg:generic/openssl@1.1.1k"},
            {"type":"library","group":"org.acme","name":"pump-ui","version":"2.0",
             "components":[{"type":"library","name":"zlib","version":"1.2.13"}]},
            {"type":"library","name":"openssl","version":"1.1.1k","purl":"pkg:generic/openssl@1.1.1k"}]}"#;
        let sbom = import_sbom(cdx).unwrap();
        assert_eq!(sbom.format, SbomFormat::CycloneDx);
        assert_eq!(sbom.hash, Hash::digest(cdx));
        let names: Vec<&str> = sbom.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["openssl", "org.acme/pump-ui", "zlib"]);
        let spdx = br#"{"spdxVersion":"SPDX-2.3","packages":[
            {"name":"busybox","versionInfo":"1.36.1","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:generic/busybox@1.36.1"}]},
            {"name":"firmware"}]}"#;
        let sbom = import_sbom(spdx).unwrap();
        assert_eq!(sbom.format, SbomFormat::Spdx);
        assert_eq!(sbom.components[0].purl.as_deref(), Some("pkg:generic/busybox@1.36.1"));
        assert_eq!(sbom.components[1].version, "unspecified");
    }

    #[test]
    fn other_documents_are_refused_with_a_reason() {
        assert!(matches!(import_sbom(b"not json"), Err(SbomError::NotJson(_))));
        assert_eq!(import_sbom(br#"{"hello":"world"}"#), Err(SbomError::UnknownFormat));
        let many: Vec<Value> =
            (0..=SBOM_COMPONENTS_MAX).map(|i| serde_json::json!({"name": format!("c{i}"), "version": "1"})).collect();
        let doc = serde_json::to_vec(&serde_json::json!({"bomFormat": "CycloneDX", "components": many})).unwrap();
        assert_eq!(import_sbom(&doc), Err(SbomError::TooManyComponents(SBOM_COMPONENTS_MAX + 1)));
    }
}

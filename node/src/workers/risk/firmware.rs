//! Known vulnerabilities of devices' firmware, from their products' SBOMs on chain.
//!
//! A device identity names its firmware; the firmware's product record on chain lists the
//! SBOM's components (`contracts::product`). An organisation keeps a feed of known
//! vulnerable components in its inventory folder (`component_vulnerabilities.json`, for
//! example exported from OSV or its vendors' advisories):
//!
//! ```json
//! {"components": [{"name": "openssl", "version": "1.1.1k", "cves": ["CVE-2021-3711"]}]}
//! ```
//!
//! For every inventory device mapped to a chain identity (`identities.json`), the
//! components of its firmware that the feed lists add their CVEs (those in the CVE
//! catalogue) to the device, as a local service `sbom:<name>@<version>`. The devices
//! document is then the one assessed and hashed, so a worker that attests the assessment
//! with the same folder and chain computes the same output.

use std::collections::BTreeMap;
use std::path::Path;

use panacea_contracts::identity::IdentityKind;
use panacea_contracts::ids::IdentityId;
use panacea_contracts::product::Component;
use panacea_contracts::state::{StateError, Store};
use panacea_risk::{DevicesDoc, LocalService, OperatingSystem, VulnerabilityCatalogue};
use serde::Deserialize;

/// The feed's file name in the inventory folder.
pub const FEED_NAME: &str = "component_vulnerabilities.json";
/// Largest feed read.
pub const FEED_BYTES_MAX: u64 = 32 << 20;
/// Most entries of a feed.
pub const FEED_ENTRIES_MAX: usize = 200_000;

/// The feed of known vulnerable components.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentFeed {
    /// Its entries.
    pub components: Vec<FeedEntry>,
}

/// One vulnerable component version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedEntry {
    /// Component name (as SBOMs give it).
    pub name: String,
    /// Its vulnerable version.
    pub version: String,
    /// Its package URL, when known: matched first.
    #[serde(default)]
    pub purl: Option<String>,
    /// Its CVE ids.
    pub cves: Vec<String>,
}

/// Firmware components per inventory device id.
pub type FirmwareComponents = BTreeMap<String, Vec<Component>>;

/// Reads the feed in `dir`; `None` when there is none.
pub fn read_feed(dir: &Path) -> Result<Option<ComponentFeed>, String> {
    let path = dir.join(FEED_NAME);
    let Ok(meta) = std::fs::metadata(&path) else { return Ok(None) };
    if meta.len() > FEED_BYTES_MAX {
        return Err(format!("{} is larger than {FEED_BYTES_MAX} bytes", path.display()));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let feed: ComponentFeed = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if feed.components.len() > FEED_ENTRIES_MAX {
        return Err(format!("{}: at most {FEED_ENTRIES_MAX} entries", path.display()));
    }
    Ok(Some(feed))
}

fn matches(entry: &FeedEntry, component: &Component) -> bool {
    match (&entry.purl, &component.purl) {
        (Some(a), Some(b)) => a == b,
        _ => entry.name == component.name && entry.version == component.version,
    }
}

/// Adds the feed's CVEs of each mapped device's firmware components to the device (only
/// CVEs the catalogue holds: the model refuses unknown ones). Returns how many CVE
/// references it added; idempotent.
pub fn enrich(
    devices: &mut DevicesDoc,
    catalogue: &VulnerabilityCatalogue,
    feed: &ComponentFeed,
    firmware: &FirmwareComponents,
) -> usize {
    let known: std::collections::BTreeSet<&str> = catalogue.vulnerabilities.iter().map(|v| v.id.as_str()).collect();
    let mut added = 0;
    for device in &mut devices.devices {
        let Some(components) = firmware.get(&device.id) else { continue };
        for component in components {
            let mut cves: Vec<String> = feed
                .components
                .iter()
                .filter(|entry| matches(entry, component))
                .flat_map(|entry| entry.cves.iter())
                .filter(|cve| known.contains(cve.as_str()))
                .cloned()
                .collect();
            cves.sort();
            cves.dedup();
            if cves.is_empty() {
                continue;
            }
            let name = format!("sbom:{}@{}", component.name, component.version);
            let os = device.os.get_or_insert_with(|| OperatingSystem {
                family: "firmware".into(),
                vendor: String::new(),
                cves: Vec::new(),
                local_services: Vec::new(),
                users: Vec::new(),
            });
            if os.local_services.iter().any(|s| s.name == name) {
                continue;
            }
            added += cves.len();
            os.local_services.push(LocalService { name, cves });
        }
    }
    added
}

/// The firmware components of the devices `identities` maps (inventory device id → chain
/// identity), from committed state: identity → firmware hash → product → SBOM.
pub fn firmware_components<S: Store + ?Sized>(
    store: &S,
    identities: &BTreeMap<String, IdentityId>,
) -> Result<FirmwareComponents, StateError> {
    let mut out = FirmwareComponents::new();
    for (device, id) in identities {
        let Some(identity) = panacea_contracts::identity::identity(store, id)? else { continue };
        let IdentityKind::Device { firmware_hash, .. } = identity.kind else { continue };
        if let Some(product) = panacea_contracts::product::product(store, &firmware_hash)? {
            out.insert(device.clone(), product.sbom.components);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use panacea_primitives::Hash;

    use super::*;

    #[test]
    fn a_mapped_devices_firmware_gets_the_feeds_known_cves_once() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/sample-hospital/hospital-a");
        let mut devices: DevicesDoc =
            serde_json::from_slice(&std::fs::read(sample.join("devices.json")).unwrap()).unwrap();
        let catalogue: VulnerabilityCatalogue =
            serde_json::from_slice(&std::fs::read(sample.join("vulnerabilities.json")).unwrap()).unwrap();
        let cve = catalogue.vulnerabilities[0].id.clone();
        let device = devices.devices[0].id.clone();
        let feed = ComponentFeed {
            components: vec![
                FeedEntry {
                    name: "openssl".into(),
                    version: "1.1.1k".into(),
                    purl: None,
                    cves: vec![cve.clone(), "CVE-0000-0000".into()],
                },
                FeedEntry { name: "zlib".into(), version: "1.2.13".into(), purl: None, cves: vec![cve.clone()] },
            ],
        };
        let firmware = FirmwareComponents::from([(
            device.clone(),
            vec![
                Component { name: "busybox".into(), version: "1.36.1".into(), purl: None },
                Component { name: "openssl".into(), version: "1.1.1k".into(), purl: None },
            ],
        )]);
        assert_eq!(
            enrich(&mut devices, &catalogue, &feed, &firmware),
            1,
            "the unknown CVE and unlisted components add nothing"
        );
        let services = &devices.devices[0].os.as_ref().unwrap().local_services;
        let added = services.iter().find(|s| s.name == "sbom:openssl@1.1.1k").unwrap();
        assert_eq!(added.cves, vec![cve]);
        assert_eq!(enrich(&mut devices, &catalogue, &feed, &firmware), 0, "idempotent");
        // The enriched inventory still assesses.
        let _ = Hash::ZERO;
    }

    #[test]
    fn components_come_from_the_product_of_the_devices_firmware_on_chain() {
        use panacea_contracts::identity::{Identity, IdentityCall};
        use panacea_contracts::testing::{Chain, key, org};
        let mut chain = Chain::new();
        chain.attest_firmware(Hash([1; 32]), Hash([2; 32]));
        let admin = chain.admin("hospital-a");
        let pump = key("pump");
        let kind = IdentityKind::Device {
            device_type: "infusion-pump".into(),
            manufacturer: "acme".into(),
            model: "p1".into(),
            firmware_hash: Hash([1; 32]),
            sbom_hash: Hash([2; 32]),
        };
        chain.ok(&admin, panacea_contracts::Call::Identity(IdentityCall::Register { key: pump.public(), kind }));
        let id = Identity::id_for(&org("hospital-a"), &pump.public());
        let map = BTreeMap::from([("dev-1".to_string(), id), ("dev-2".to_string(), IdentityId(Hash([9; 32])))]);
        let found = firmware_components(&chain.store, &map).unwrap();
        assert_eq!(found.len(), 1, "an unknown identity maps nothing");
        assert_eq!(found["dev-1"][0].name, "openssl");
    }
}

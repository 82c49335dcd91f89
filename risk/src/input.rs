//! Input documents: serde types for the ten JSON documents of an assessment.
//!
//! Every document is a JSON object with `environment`, `snapshot_id` and its payload; field names are
//! snake_case, enum values are snake_case strings, unknown fields are rejected. Addresses are dotted IPv4
//! strings with a separate prefix length (`mask`, 0..=32).

use serde::{Deserialize, Serialize};

/// Network privilege on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetPriv {
    /// No privilege (physical presence, or a network position only).
    None,
    /// An unprivileged account.
    User,
    /// Administrative control.
    Root,
}

/// Human privilege on an employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumanPriv {
    /// The attacker can make the employee execute something.
    Execute,
    /// The attacker can use the employee's session or workplace.
    Use,
    /// The attacker fully controls the employee's credentials.
    Own,
}

/// Attack vector of a CVE (CVSS v3 names; v2 "adjacent network" is `adjacent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackVector {
    /// Remotely exploitable through routed networks.
    Network,
    /// Exploitable only from the same LAN.
    Adjacent,
    /// Needs local access on the host.
    Local,
    /// Needs physical access to the host.
    Physical,
}

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// State of a scanned port; only `open` ports are reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    /// Accepting connections.
    Open,
    /// Closed.
    Closed,
    /// Filtered by a host firewall.
    Filtered,
}

/// Devices document (`devices.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesDoc {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// The devices.
    pub devices: Vec<Device>,
}

/// One device of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Unique id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Device type (free text: workstation, server, pacs, infusion_pump ...).
    pub device_type: String,
    /// Network interfaces.
    pub interfaces: Vec<Interface>,
    /// Operating system, if known.
    #[serde(default)]
    pub os: Option<OperatingSystem>,
}

/// A network interface of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Dotted IPv4 address.
    pub ip: String,
    /// MAC address (informational).
    pub mac: String,
    /// Prefix length of the interface's network.
    pub mask: u8,
    /// LAN id (must be declared in the network policy).
    pub lan: String,
    /// Scanned ports.
    pub ports: Vec<Port>,
}

/// A scanned port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// Port number.
    pub number: u16,
    /// Transport.
    pub transport: Transport,
    /// State.
    pub state: PortState,
    /// Service listening, if identified.
    #[serde(default)]
    pub service: Option<Service>,
}

/// A service listening on a port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Service name.
    pub name: String,
    /// CPE names.
    #[serde(default)]
    pub cpe: Vec<String>,
    /// Version string.
    #[serde(default)]
    pub version: String,
    /// CVE ids (must be in the vulnerability catalogue).
    #[serde(default)]
    pub cves: Vec<String>,
}

/// Operating system of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingSystem {
    /// Family (linux, windows ...).
    pub family: String,
    /// Vendor.
    pub vendor: String,
    /// CVE ids of the OS itself (local CVEs).
    #[serde(default)]
    pub cves: Vec<String>,
    /// Local services and their CVEs.
    #[serde(default)]
    pub local_services: Vec<LocalService>,
    /// OS user names (informational).
    #[serde(default)]
    pub users: Vec<String>,
}

/// A service without a network port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalService {
    /// Name.
    pub name: String,
    /// CVE ids.
    #[serde(default)]
    pub cves: Vec<String>,
}

/// Vulnerability catalogue (`vulnerabilities.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityCatalogue {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// The CVEs.
    pub vulnerabilities: Vec<Vulnerability>,
}

fn one() -> f64 {
    1.0
}

/// One CVE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vulnerability {
    /// CVE id.
    pub id: String,
    /// CWE ids.
    #[serde(default)]
    pub cwe: Vec<String>,
    /// CVSS v3 metrics (preferred).
    #[serde(default)]
    pub cvss3: Option<Cvss3>,
    /// CVSS v2 metrics (used when v3 is absent).
    #[serde(default)]
    pub cvss2: Option<Cvss2>,
    /// Privilege needed before exploiting.
    pub pre: NetPriv,
    /// Privilege gained.
    pub post: NetPriv,
}

/// CVSS v3 metrics. The five `*_score` fields used by the rate are in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cvss3 {
    /// Attack vector.
    pub attack_vector: AttackVector,
    /// Attack vector score (N 0.85, A 0.62, L 0.55, P 0.2).
    pub attack_vector_score: f64,
    /// Attack complexity score (L 0.77, H 0.44).
    pub attack_complexity_score: f64,
    /// Privileges required score (N 0.85, L 0.62, H 0.27).
    pub privileges_required_score: f64,
    /// User interaction required.
    #[serde(default)]
    pub user_interaction: bool,
    /// Scope changed.
    #[serde(default)]
    pub scope_changed: bool,
    /// Base score 0-10 (informational).
    #[serde(default)]
    pub base_score: f64,
    /// Exploitability sub-score 0-3.9 (informational).
    #[serde(default)]
    pub exploitability_score: f64,
    /// Impact sub-score (informational).
    #[serde(default)]
    pub impact_score: f64,
    /// Exploit code maturity (temporal E: X/H 1, F 0.97, P 0.94, U 0.91); default 1.
    #[serde(default = "one")]
    pub code_maturity_score: f64,
    /// Report confidence (temporal RC: X/C 1, R 0.96, U 0.92); default 1.
    #[serde(default = "one")]
    pub report_confidence_score: f64,
}

/// CVSS v2 metrics, used when v3 is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cvss2 {
    /// Access vector.
    pub access_vector: AttackVector,
    /// Access vector score (N 1.0, A 0.646, L 0.395).
    pub access_vector_score: f64,
    /// Access complexity score (L 0.71, M 0.61, H 0.35).
    pub access_complexity_score: f64,
    /// Authentication score, used as "privileges required" (N 0.704, S 0.56, M 0.45).
    pub authentication_score: f64,
    /// Base score (informational).
    #[serde(default)]
    pub base_score: f64,
    /// Exploitability (temporal E); default 1.
    #[serde(default = "one")]
    pub code_maturity_score: f64,
    /// Report confidence (temporal RC); default 1.
    #[serde(default = "one")]
    pub report_confidence_score: f64,
}

/// Firewall action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Let the packet through.
    Allow,
    /// Drop it.
    Deny,
}

/// Protocol matched by a firewall rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Any transport.
    Any,
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
}

/// Network policy (`network.json`): LANs, routes, and the firewall joining the LANs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicy {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// The LANs. The id `internet` is reserved for the outside world.
    pub lans: Vec<Lan>,
    /// Routes, per source LAN (`internet` allowed as source).
    pub routes: Vec<Route>,
    /// The firewall chain between LANs.
    pub firewall: Firewall,
}

/// A LAN (one subnet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lan {
    /// LAN id.
    pub id: String,
    /// Network address.
    pub subnet: String,
    /// Prefix length.
    pub mask: u8,
}

/// A route of a source LAN's routing table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Source LAN id (or `internet`).
    pub lan: String,
    /// Destination network.
    pub destination: String,
    /// Destination prefix length.
    pub mask: u8,
    /// Gateway address (informational).
    pub gateway: String,
    /// Egress interface (informational).
    pub interface: String,
    /// Metric (informational: any covering route forwards).
    #[serde(default)]
    pub metric: u32,
}

/// The firewall chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Action when no rule matches.
    pub default_action: Action,
    /// Rules, applied in increasing `index` order; first match wins.
    pub rules: Vec<FirewallRule>,
}

/// A port range, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRange {
    /// First port.
    pub from: u16,
    /// Last port.
    pub to: u16,
}

/// One firewall rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallRule {
    /// Position in the chain (unique).
    pub index: u32,
    /// Action.
    pub action: Action,
    /// Source network.
    pub source: String,
    /// Source prefix length (0 also matches the internet).
    pub source_mask: u8,
    /// Destination network.
    pub destination: String,
    /// Destination prefix length.
    pub destination_mask: u8,
    /// Destination ports (all when absent).
    #[serde(default)]
    pub ports: Option<PortRange>,
    /// Protocol.
    pub protocol: Protocol,
    /// Ingress interface = source LAN id (any when absent).
    #[serde(default)]
    pub in_interface: Option<String>,
    /// Egress interface = destination LAN id (any when absent).
    #[serde(default)]
    pub out_interface: Option<String>,
}

/// Employees document (`employees.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeesDoc {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// The employees.
    pub employees: Vec<Employee>,
}

/// One employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Employee {
    /// Unique id.
    pub id: String,
    /// Roles held.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Places where the employee works.
    #[serde(default)]
    pub locations: Vec<Location>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Department.
    pub department: String,
    /// Position.
    pub position: String,
    /// Start date (ISO, informational).
    #[serde(default)]
    pub from: String,
    /// End date (ISO, informational).
    #[serde(default)]
    pub to: String,
}

/// A location; two employees share a location when all four fields are equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Building.
    pub building: String,
    /// Floor.
    pub floor: String,
    /// Corridor.
    pub corridor: String,
    /// Room.
    pub room: String,
}

/// Work relations document (`relations.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkRelationsDoc {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// The relations.
    pub relations: Vec<WorkRelation>,
}

/// A work relation; it gives COWORKING links in both directions whatever `directed` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkRelation {
    /// Source employee id.
    pub source: String,
    /// Target employee id.
    pub target: String,
    /// Relation type (free text).
    pub relation_type: String,
    /// Directed or not (informational).
    #[serde(default)]
    pub directed: bool,
}

/// Security profiles document (`profiles.json`), the survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityProfilesDoc {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// One profile per surveyed employee (at most one each).
    pub profiles: Vec<SecurityProfile>,
}

/// Survey scores of one employee, about 0-10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityProfile {
    /// Employee id.
    pub employee: String,
    /// Individual security attitude.
    pub attitude: f64,
    /// Security behaviour.
    pub behaviour: f64,
    /// Security culture at work.
    pub culture: f64,
    /// Training level.
    pub training: f64,
    /// Trust in building security.
    pub trust_building: f64,
    /// Trust in colleagues.
    pub trust_colleagues: f64,
}

/// Human link kinds, the access vector of a human vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumanVector {
    /// Employees sharing a location.
    Proximity,
    /// Employees in a work relation.
    Coworking,
}

/// Human-vulnerability catalogue (`human_vulnerabilities.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanVulnerabilityCatalogue {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// Entries; the ids `sharing_credential`, `no_logout` and `unprotected_credential` are the ones the
    /// survey rules give to employees.
    pub vulnerabilities: Vec<HumanVulnerability>,
}

/// One human vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanVulnerability {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Access vector.
    pub access_vector: HumanVector,
    /// Access vector score in [0, 1].
    pub access_vector_score: f64,
    /// Attack complexity score in [0, 1].
    pub attack_complexity_score: f64,
    /// Pre-condition (informational: the source of a human step is always OWN).
    pub pre: HumanPriv,
    /// Post-condition on the victim.
    pub post: HumanPriv,
}

/// Credential kinds; badges and tokens are physical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A password.
    Password,
    /// A shared key.
    SharedKey,
    /// A physical badge.
    Badge,
    /// A physical token.
    Token,
}

impl CredentialKind {
    /// True for badges and tokens.
    pub fn is_physical(self) -> bool {
        matches!(self, Self::Badge | Self::Token)
    }
}

/// Credentials document (`credentials.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsDoc {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// The credentials.
    pub credentials: Vec<Credential>,
}

/// One credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Id.
    pub id: String,
    /// Holder.
    pub employee: String,
    /// Kind.
    pub kind: CredentialKind,
    /// Robustness in [0, 1].
    pub robustness: f64,
    /// What it opens.
    pub destinations: Vec<CredentialDestination>,
}

/// A destination of a credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialDestination {
    /// Device id.
    pub device: String,
    /// Service name (informational).
    #[serde(default)]
    pub service: String,
    /// Privilege granted.
    pub privilege: NetPriv,
}

/// Business model (`business.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessModel {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// Business entities.
    pub entities: Vec<Entity>,
    /// Service levels.
    pub service_levels: Vec<ServiceLevel>,
    /// Service level -> devices.
    pub mappings: Vec<Mapping>,
}

/// Kind of business entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A business.
    Business,
    /// A service.
    Service,
    /// An asset.
    Asset,
}

/// A business entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: EntityKind,
    /// Name.
    pub name: String,
}

/// Qualitative level, used for C/I/A, impact, likelihood and risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below LOW.
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Level {
    /// 0 for None .. 3 for High.
    pub fn rank(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }
}

/// A service level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevel {
    /// Id.
    pub id: String,
    /// Entity id it belongs to.
    pub entity: String,
    /// Confidentiality level.
    pub confidentiality: Level,
    /// Integrity level.
    pub integrity: Level,
    /// Availability level.
    pub availability: Level,
    /// Impact (token value).
    pub impact: u64,
    /// What it depends on.
    #[serde(default)]
    pub depends_on: Option<DepNode>,
}

/// A node of a dependency tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DepNode {
    /// A service level by id.
    ServiceLevel(String),
    /// Needs all children.
    All(Vec<DepNode>),
    /// Needs any one child.
    Any(Vec<DepNode>),
    /// An explicit cycle: like All, and the only place a dependency cycle may pass through.
    Cycle(Vec<DepNode>),
}

/// Service level -> devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Service level id.
    pub service_level: String,
    /// Device ids.
    pub devices: Vec<String>,
}

/// Attacker profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackerKind {
    /// Script kiddie.
    Naive,
    /// Skilled.
    Advanced,
    /// Well funded.
    Professional,
}

/// Where an attacker starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// ROOT on a host of the pseudo-LAN `internet`.
    External,
    /// Inside the buildings: reaches every employee by PROXIMITY.
    Internal,
}

/// Configuration (`config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    /// Environment name.
    pub environment: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// Attacker profiles (each kind at most once).
    pub attackers: Vec<AttackerProfile>,
    /// Impact thresholds.
    pub impact_thresholds: Thresholds,
    /// Likelihood thresholds, in thousandths of L.
    pub likelihood_thresholds: Thresholds,
}

/// Minimum score of each metric an attacker can handle; a CVE with a metric below it is out of reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackerProfile {
    /// Which profile.
    pub kind: AttackerKind,
    /// Entry points.
    pub entries: Vec<Entry>,
    /// Attack complexity threshold.
    pub attack_complexity: f64,
    /// Attack vector threshold.
    pub attack_vector: f64,
    /// Privileges required threshold.
    pub privileges_required: f64,
    /// Code maturity threshold.
    pub code_maturity: f64,
    /// Report confidence threshold.
    pub report_confidence: f64,
}

/// LOW / MEDIUM / HIGH thresholds: a value v has level HIGH if v >= high, else MEDIUM if v >= medium,
/// else LOW if v >= low, else NONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// LOW from here.
    pub low: u64,
    /// MEDIUM from here.
    pub medium: u64,
    /// HIGH from here.
    pub high: u64,
}

impl Thresholds {
    /// The level of `v`.
    pub fn level(&self, v: u64) -> Level {
        if v >= self.high {
            Level::High
        } else if v >= self.medium {
            Level::Medium
        } else if v >= self.low {
            Level::Low
        } else {
            Level::None
        }
    }
}

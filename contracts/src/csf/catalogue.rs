//! The NIST Cybersecurity Framework 2.0 Core, shipped as data
//! (`contracts/data/nist-csf-2.0.json`: 6 functions, 22 categories, 106 subcategories,
//! identifiers and titles as NIST published them in CSWP 29) and compiled into the binary,
//! so every node validates assessments against the same catalogue. A new CSF version is
//! a new file and a new entry in [`CATALOGUES`]; assessments name the version they use.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// A subcategory (an outcome).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subcategory {
    /// Its identifier (for example `GV.OC-01`).
    pub id: String,
    /// Its outcome statement.
    pub title: String,
}

/// A category: what self-assessments give tiers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Its identifier (for example `GV.OC`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its subcategories.
    pub subcategories: Vec<Subcategory>,
}

/// A function (Govern, Identify, Protect, Detect, Respond, Recover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// Its identifier (for example `GV`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its categories.
    pub categories: Vec<Category>,
}

/// One version of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The framework's name.
    pub framework: String,
    /// Its version, which assessments name (`2.0`).
    pub version: String,
    /// Publication date.
    pub published: String,
    /// Where it comes from.
    pub source: String,
    /// The functions.
    pub functions: Vec<Function>,
}

impl Catalogue {
    /// Every category, in catalogue order.
    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.functions.iter().flat_map(|f| f.categories.iter())
    }

    /// The category `id`.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories().find(|c| c.id == id)
    }

    /// The position of category `id` in catalogue order.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.categories().position(|c| c.id == id)
    }
}

/// The versions shipped, by version.
pub const CATALOGUES: &[(&str, &str)] = &[("2.0", include_str!("../../data/nist-csf-2.0.json"))];

/// The current version: what new assessments use unless they name another.
pub const CURRENT: &str = "2.0";

static PARSED: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    CATALOGUES
        .iter()
        .filter_map(|(version, text)| serde_json::from_str::<Catalogue>(text).ok().filter(|c| c.version == *version))
        .collect()
});

/// The catalogue of `version`, if it is shipped (and parses: a test checks every one).
pub fn catalogue(version: &str) -> Option<&'static Catalogue> {
    PARSED.iter().find(|c| c.version == version)
}

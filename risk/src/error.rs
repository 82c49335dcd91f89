//! Errors.

/// Everything that can go wrong; every variant about an input names the JSON path as
/// `document.json:path.inside[3].the_document`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskError {
    /// The JSON did not parse into the document's type.
    #[error("{path}: {message}")]
    Parse {
        /// Path of the offending value.
        path: String,
        /// What serde said.
        message: String,
    },
    /// A document is larger than [`crate::MAX_DOCUMENT_BYTES`].
    #[error("{path}: document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Document name.
        path: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A document is missing, repeated or unknown.
    #[error("{path}: {message}")]
    Document {
        /// Document name.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A reference to an id that does not exist.
    #[error("{path}: unknown {kind} id {id:?}")]
    Dangling {
        /// Path of the reference.
        path: String,
        /// Kind of the referenced thing.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A value out of its bounds, a duplicate id, an unparsable address ...
    #[error("{path}: {message}")]
    Invalid {
        /// Path of the value.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A dependency cycle between service levels that does not pass through a `cycle` node.
    #[error("{path}: dependency cycle through {ids:?} outside a cycle node")]
    Cycle {
        /// Path of the reference closing the cycle.
        path: String,
        /// The service levels of the cycle.
        ids: Vec<String>,
    },
    /// An argument of an API call names something unknown.
    #[error("unknown {kind} {id:?}")]
    Unknown {
        /// What kind of thing.
        kind: &'static str,
        /// The name.
        id: String,
    },
}

impl RiskError {
    /// The JSON path (document-qualified) the error is about, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Parse { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Document { path, .. }
            | Self::Dangling { path, .. }
            | Self::Invalid { path, .. }
            | Self::Cycle { path, .. } => Some(path),
            Self::Unknown { .. } => None,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), message: message.into() }
    }
}

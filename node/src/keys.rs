//! A node's key files: its network identity and, for a validator, its consensus key.
//!
//! Each is a JSON file holding a 32-byte ed25519 seed in hex, readable by its owner only.

use std::path::Path;

use panacea_primitives::Keypair;
use serde::{Deserialize, Serialize};

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("key file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not a key file.
    #[error("key file {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("cannot draw a random key: {0}")]
    Random(String),
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// What the key is for.
    purpose: String,
    /// The public key, for humans (checked on load).
    public_key: String,
    /// The 32-byte ed25519 seed.
    secret_seed: String,
}

/// Draws a fresh key from the operating system.
pub fn generate() -> Result<Keypair, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(Keypair::from_seed(seed))
}

/// Writes `key` to `path` (mode 0600), refusing to overwrite an existing file.
pub fn save(path: &Path, purpose: &str, key: &Keypair) -> Result<(), KeyError> {
    use std::io::Write;
    let shown = path.display().to_string();
    let io = |error| KeyError::Io { path: shown.clone(), error };
    let file = KeyFile {
        purpose: purpose.to_string(),
        public_key: hex::encode(key.public().to_bytes()),
        secret_seed: hex::encode(key.seed()),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| KeyError::Invalid { path: shown.clone(), reason: e.to_string() })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(path).map_err(io)?;
    out.write_all(text.as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)
}

/// Reads a key file.
pub fn load(path: &Path) -> Result<Keypair, KeyError> {
    let shown = path.display().to_string();
    let invalid = |reason: String| KeyError::Invalid { path: shown.clone(), reason };
    let meta = std::fs::metadata(path).map_err(|error| KeyError::Io { path: shown.clone(), error })?;
    if meta.len() > 4096 {
        return Err(invalid("larger than a key file can be".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|error| KeyError::Io { path: shown.clone(), error })?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(file.secret_seed.trim(), &mut seed)
        .map_err(|e| invalid(format!("secret_seed must be 64 hex digits: {e}")))?;
    let key = Keypair::from_seed(seed);
    if hex::encode(key.public().to_bytes()) != file.public_key.trim().to_lowercase() {
        return Err(invalid("public_key does not match secret_seed".into()));
    }
    Ok(key)
}

/// The libp2p identity of a network key.
pub fn network_identity(key: &Keypair) -> Result<libp2p::identity::Keypair, KeyError> {
    libp2p::identity::Keypair::ed25519_from_bytes(key.seed())
        .map_err(|e| KeyError::Invalid { path: "network key".into(), reason: e.to_string() })
}

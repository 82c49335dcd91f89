//! A node's key files: its network identity and, for a validator, its consensus key.
//!
//! Each is a JSON file holding a 32-byte ed25519 seed in hex, readable by its owner only.
//! For moving a key between machines or keeping it at rest under a passphrase, a key can
//! be exported to an encrypted keystore (scrypt, XChaCha20-Poly1305; see
//! `docs/decisions/0007-keystore-and-proofs.md`) and imported back.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
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
    let shown = path.display().to_string();
    let file = KeyFile {
        purpose: purpose.to_string(),
        public_key: hex::encode(key.public().to_bytes()),
        secret_seed: hex::encode(key.seed()),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| KeyError::Invalid { path: shown.clone(), reason: e.to_string() })?;
    write_private(path, &text)
}

/// Draws a fresh pseudonymisation key and writes it to `path` (mode 0600), refusing to
/// overwrite an existing file: a lost or replaced key orphans every reference made with it.
pub fn new_pseudonym_key(path: &Path) -> Result<panacea_primitives::Pseudonymiser, KeyError> {
    let mut key = [0u8; panacea_primitives::pseudonym::PSEUDONYM_KEY_BYTES];
    getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
    let pseudonymiser = panacea_primitives::Pseudonymiser::from_bytes(key);
    write_private(path, &pseudonymiser.to_file_text())?;
    Ok(pseudonymiser)
}

/// Reads a pseudonymisation key file.
pub fn load_pseudonym_key(path: &Path) -> Result<panacea_primitives::Pseudonymiser, KeyError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|error| KeyError::Io { path: shown.clone(), error })?;
    if meta.len() > 1024 {
        return Err(KeyError::Invalid { path: shown, reason: "larger than a key file can be".into() });
    }
    let text = std::fs::read_to_string(path).map_err(|error| KeyError::Io { path: shown.clone(), error })?;
    panacea_primitives::Pseudonymiser::from_file_text(&text)
        .map_err(|e| KeyError::Invalid { path: shown, reason: e.to_string() })
}

/// Writes `text` to a new file at `path`, readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), KeyError> {
    use std::io::Write;
    let shown = path.display().to_string();
    let io = |error| KeyError::Io { path: shown.clone(), error };
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

/// The format tag of an encrypted keystore.
const KEYSTORE_FORMAT: &str = "panacea-keystore-v1";
/// scrypt cost of new keystores: 2^17 x 8 x 128 bytes = 128 MiB, about half a second.
pub const KEYSTORE_LOG_N: u8 = 17;
/// Costs accepted when reading a keystore, so that a crafted file cannot demand gigabytes.
const KEYSTORE_LOG_N_RANGE: std::ops::RangeInclusive<u8> = 10..=18;
/// Shortest passphrase accepted for a new keystore.
pub const PASSPHRASE_CHARS_MIN: usize = 12;

/// An encrypted keystore: the seed under a key derived from a passphrase.
#[derive(Serialize, Deserialize)]
struct Keystore {
    format: String,
    purpose: String,
    /// The public key, for humans; authenticated (it is the cipher's associated data).
    public_key: String,
    kdf: String,
    log_n: u8,
    r: u32,
    p: u32,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

fn keystore_cipher(passphrase: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<XChaCha20Poly1305, String> {
    let params = scrypt::Params::new(log_n, r, p).map_err(|e| format!("scrypt parameters: {e}"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase, salt, &params, &mut key).map_err(|e| format!("scrypt: {e}"))?;
    Ok(XChaCha20Poly1305::new(&key.into()))
}

fn associated_data(purpose: &str, public_key: &str) -> Vec<u8> {
    format!("{KEYSTORE_FORMAT}\n{purpose}\n{public_key}").into_bytes()
}

/// Writes `key` to a new encrypted keystore at `path` (mode 0600) under `passphrase`,
/// with scrypt cost `2^log_n` (use [`KEYSTORE_LOG_N`]).
pub fn export_encrypted(
    path: &Path,
    purpose: &str,
    key: &Keypair,
    passphrase: &str,
    log_n: u8,
) -> Result<(), KeyError> {
    let shown = path.display().to_string();
    let invalid = |reason: String| KeyError::Invalid { path: shown.clone(), reason };
    if passphrase.chars().count() < PASSPHRASE_CHARS_MIN {
        return Err(invalid(format!("the passphrase must have at least {PASSPHRASE_CHARS_MIN} characters")));
    }
    let (mut salt, mut nonce) = ([0u8; 16], [0u8; 24]);
    getrandom::fill(&mut salt).map_err(|e| KeyError::Random(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
    let (r, p) = (8, 1);
    let cipher = keystore_cipher(passphrase.as_bytes(), &salt, log_n, r, p).map_err(invalid)?;
    let public_key = hex::encode(key.public().to_bytes());
    let aad = associated_data(purpose, &public_key);
    let ciphertext = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: &key.seed(), aad: &aad })
        .map_err(|_| invalid("encryption failed".into()))?;
    let store = Keystore {
        format: KEYSTORE_FORMAT.into(),
        purpose: purpose.into(),
        public_key,
        kdf: "scrypt".into(),
        log_n,
        r,
        p,
        salt: hex::encode(salt),
        cipher: "xchacha20-poly1305".into(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    };
    let text = serde_json::to_string_pretty(&store).map_err(|e| invalid(e.to_string()))?;
    write_private(path, &text)
}

/// Reads an encrypted keystore with `passphrase`; returns the key and its purpose. A
/// wrong passphrase and a tampered file give the same error.
pub fn import_encrypted(path: &Path, passphrase: &str) -> Result<(Keypair, String), KeyError> {
    let shown = path.display().to_string();
    let invalid = |reason: String| KeyError::Invalid { path: shown.clone(), reason };
    let meta = std::fs::metadata(path).map_err(|error| KeyError::Io { path: shown.clone(), error })?;
    if meta.len() > 4096 {
        return Err(invalid("larger than a keystore can be".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|error| KeyError::Io { path: shown.clone(), error })?;
    let store: Keystore = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if store.format != KEYSTORE_FORMAT || store.kdf != "scrypt" || store.cipher != "xchacha20-poly1305" {
        return Err(invalid(format!("not a {KEYSTORE_FORMAT} keystore (scrypt, xchacha20-poly1305)")));
    }
    if !KEYSTORE_LOG_N_RANGE.contains(&store.log_n) || store.r != 8 || !(1..=4).contains(&store.p) {
        return Err(invalid("scrypt parameters outside the accepted range (log_n 10-18, r 8, p 1-4)".into()));
    }
    let (mut salt, mut nonce) = ([0u8; 16], [0u8; 24]);
    hex::decode_to_slice(&store.salt, &mut salt).map_err(|e| invalid(format!("salt: {e}")))?;
    hex::decode_to_slice(&store.nonce, &mut nonce).map_err(|e| invalid(format!("nonce: {e}")))?;
    let ciphertext = hex::decode(&store.ciphertext).map_err(|e| invalid(format!("ciphertext: {e}")))?;
    let cipher = keystore_cipher(passphrase.as_bytes(), &salt, store.log_n, store.r, store.p).map_err(invalid)?;
    let aad = associated_data(&store.purpose, &store.public_key);
    let seed = cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: &ciphertext, aad: &aad })
        .map_err(|_| invalid("wrong passphrase, or the keystore was altered".into()))?;
    let seed: [u8; 32] = seed.try_into().map_err(|_| invalid("the secret is not 32 bytes".into()))?;
    let key = Keypair::from_seed(seed);
    if hex::encode(key.public().to_bytes()) != store.public_key {
        return Err(invalid("public_key does not match the secret".into()));
    }
    Ok((key, store.purpose))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystores_round_trip_and_refuse_wrong_passphrases_and_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let key = Keypair::from_seed([3; 32]);
        let path = dir.path().join("admin.keystore");
        let passphrase = "correct horse battery staple";
        assert!(export_encrypted(&dir.path().join("short"), "signing", &key, "short", 10).is_err());
        export_encrypted(&path, "signing", &key, passphrase, 10).unwrap();
        let (back, purpose) = import_encrypted(&path, passphrase).unwrap();
        assert_eq!((back.public(), purpose.as_str()), (key.public(), "signing"));
        assert!(export_encrypted(&path, "signing", &key, passphrase, 10).is_err(), "never overwrites");
        let wrong = import_encrypted(&path, "correct horse battery stapler").unwrap_err();
        assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut store: serde_json::Value = serde_json::from_str(&text).unwrap();
        store["purpose"] = "network".into();
        let tampered = dir.path().join("tampered");
        std::fs::write(&tampered, store.to_string()).unwrap();
        assert!(import_encrypted(&tampered, passphrase).is_err(), "the purpose is authenticated");
        store["purpose"] = "signing".into();
        store["log_n"] = 30.into();
        std::fs::write(&tampered, store.to_string()).unwrap();
        assert!(import_encrypted(&tampered, passphrase).unwrap_err().to_string().contains("range"));
        std::fs::write(&tampered, "{ not json").unwrap();
        assert!(import_encrypted(&tampered, passphrase).is_err());
    }
}

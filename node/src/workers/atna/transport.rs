//! Delivery of framed syslog messages to the collector over TLS (RFC 5425), one batch per
//! connection, confirmed by the collector closing its side.
//!
//! Syslog over TLS has no acknowledgement. A batch is therefore sent on a fresh connection
//! that is then closed from our side (TLS `close_notify`, then TCP FIN); the collector reads
//! up to that end and only then closes its own side. Seeing the collector's orderly close
//! after ours is the confirmation that it read every byte of the batch. A reset, a timeout or
//! any data instead of the close is not a confirmation, and the batch is sent again
//! (`docs/decisions/0019-atna-export.md` says what this does and does not guarantee).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;

use crate::config::AtnaConfig;

/// A delivery that failed; the batch was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No TCP connection.
    #[error("cannot connect to the collector {collector}: {error}")]
    Connect {
        /// The collector.
        collector: String,
        /// Why.
        error: std::io::Error,
    },
    /// The TLS handshake failed (certificate, name, protocol).
    #[error("TLS handshake with the collector {collector} failed: {error}")]
    Handshake {
        /// The collector.
        collector: String,
        /// Why.
        error: std::io::Error,
    },
    /// The batch could not be written, or the connection broke before the collector closed.
    #[error("the connection to the collector {collector} broke: {error}")]
    Broken {
        /// The collector.
        collector: String,
        /// Why.
        error: std::io::Error,
    },
    /// The collector did not close its side in time.
    #[error("the collector {collector} did not confirm the batch within {timeout_ms} ms")]
    Unconfirmed {
        /// The collector.
        collector: String,
        /// The time allowed.
        timeout_ms: u64,
    },
    /// The collector sent data, which syslog collectors never do.
    #[error("the collector {collector} sent data instead of closing: is it a syslog collector?")]
    Unexpected {
        /// The collector.
        collector: String,
    },
}

/// The collector, ready to connect to.
#[derive(Clone)]
pub struct Collector {
    address: String,
    name: ServerName<'static>,
    connector: TlsConnector,
    connect_timeout: Duration,
    confirm_timeout: Duration,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").field("address", &self.address).field("name", &self.name).finish()
    }
}

fn resolve(home: &Path, file: &Path) -> std::path::PathBuf {
    if file.is_absolute() { file.to_path_buf() } else { home.join(file) }
}

impl Collector {
    /// The collector of `config` (which has one), with certificate files relative to
    /// `home`. Errors name the option and say what is wrong with it.
    pub fn new(config: &AtnaConfig, home: &Path) -> Result<Collector, String> {
        let address = config.collector.clone().ok_or("atna.collector is not set")?;
        let host = address.rsplit_once(':').map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'));
        let name = config.server_name.as_deref().or(host).ok_or("atna.collector must be host:port")?;
        let name = ServerName::try_from(name.to_string())
            .map_err(|e| format!("atna.server_name {name:?} is not a DNS name or IP address: {e}"))?;
        let ca_file = resolve(home, config.ca_file.as_deref().ok_or("atna.ca_file is required with atna.collector")?);
        let mut roots = rustls::RootCertStore::empty();
        let certificates = CertificateDer::pem_file_iter(&ca_file)
            .map_err(|e| format!("atna.ca_file {}: {e}", ca_file.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("atna.ca_file {}: {e}", ca_file.display()))?;
        let (added, _) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(format!("atna.ca_file {} holds no usable PEM certificate", ca_file.display()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots);
        let tls = match (&config.cert_file, &config.key_file) {
            (Some(cert_file), Some(key_file)) => {
                let (cert_file, key_file) = (resolve(home, cert_file), resolve(home, key_file));
                let chain = CertificateDer::pem_file_iter(&cert_file)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("atna.cert_file {}: {e}", cert_file.display()))?;
                if chain.is_empty() {
                    return Err(format!("atna.cert_file {} holds no PEM certificate", cert_file.display()));
                }
                let key = PrivateKeyDer::from_pem_file(&key_file)
                    .map_err(|e| format!("atna.key_file {}: {e}", key_file.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("atna.cert_file and atna.key_file do not go together: {e}"))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("atna.cert_file and atna.key_file go together: give both or neither".into()),
        };
        Ok(Collector {
            address,
            name,
            connector: TlsConnector::from(Arc::new(tls)),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            confirm_timeout: Duration::from_millis(config.confirm_timeout_ms),
        })
    }

    /// The collector's `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends `frames` (framed syslog messages) on a new connection and returns once the
    /// collector has confirmed it read them all.
    pub async fn deliver(&self, frames: &[u8]) -> Result<(), DeliveryError> {
        let collector = || self.address.clone();
        let tcp = tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(&self.address))
            .await
            .map_err(|_| DeliveryError::Connect { collector: collector(), error: std::io::ErrorKind::TimedOut.into() })?
            .map_err(|error| DeliveryError::Connect { collector: collector(), error })?;
        let _ = tcp.set_nodelay(true);
        let mut tls = tokio::time::timeout(self.connect_timeout, self.connector.connect(self.name.clone(), tcp))
            .await
            .map_err(|_| DeliveryError::Handshake {
                collector: collector(),
                error: std::io::ErrorKind::TimedOut.into(),
            })?
            .map_err(|error| DeliveryError::Handshake { collector: collector(), error })?;
        let exchange = async {
            tls.write_all(frames).await?;
            // close_notify, then FIN: the end the collector reads up to before it closes.
            tls.shutdown().await?;
            let mut buf = [0u8; 512];
            match tls.read(&mut buf).await {
                Ok(0) => Ok(true),
                Ok(_) => Ok(false),
                // A close without close_notify is still an orderly TCP close (FIN after
                // reading all we sent); a reset is not, and stays an error.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(true),
                Err(e) => Err(e),
            }
        };
        match tokio::time::timeout(self.confirm_timeout, exchange).await {
            Err(_) => Err(DeliveryError::Unconfirmed {
                collector: collector(),
                timeout_ms: u64::try_from(self.confirm_timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(Err(error)) => Err(DeliveryError::Broken { collector: collector(), error }),
            Ok(Ok(false)) => Err(DeliveryError::Unexpected { collector: collector() }),
            Ok(Ok(true)) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_files_that_do_not_load_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = AtnaConfig {
            collector: Some("collector.example:6514".into()),
            ca_file: Some("missing.pem".into()),
            ..AtnaConfig::default()
        };
        let error = Collector::new(&config, dir.path()).unwrap_err();
        assert!(error.contains("atna.ca_file") && error.contains("missing.pem"), "{error}");
        std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").unwrap();
        config.ca_file = Some("empty.pem".into());
        let error = Collector::new(&config, dir.path()).unwrap_err();
        assert!(error.contains("no usable PEM certificate"), "{error}");
    }
}

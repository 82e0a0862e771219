//! TLS for the main listener: a configured certificate, or a self-signed one generated once into the base
//! directory (`tls.cert` / `tls.key`, like Aperture and lnd), offering `h2` and `http/1.1` by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::TlsSource;
use crate::files::{io_error, write_private, FileError};

/// The rustls server configuration for `source`, or `None` for `insecure` (plaintext and h2c).
pub fn server_config(source: &TlsSource) -> Result<Option<Arc<ServerConfig>>, FileError> {
    let (cert, key) = match source {
        TlsSource::Insecure => return Ok(None),
        TlsSource::SelfSigned { cert, key } => {
            if !cert.exists() || !key.exists() {
                generate(cert, key)?;
            }
            (cert, key)
        }
        TlsSource::Files { cert, key } => (cert, key),
    };
    let cert_pem = std::fs::read(cert).map_err(io_error(cert))?;
    let key_pem = std::fs::read(key).map_err(io_error(key))?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(io_error(cert))?;
    if certs.is_empty() {
        return Err(FileError::Invalid(format!(
            "{}: no PEM certificate",
            cert.display()
        )));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(io_error(key))?
        .ok_or_else(|| FileError::Invalid(format!("{}: no PEM private key", key.display())))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| FileError::Invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| FileError::Invalid(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// Generates a self-signed certificate for `localhost`, `127.0.0.1` and `::1`; the key file is mode 0600.
fn generate(cert_path: &Path, key_path: &Path) -> Result<(), FileError> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| FileError::Invalid(e.to_string()))?;
    if let Some(dir) = cert_path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    if let Some(dir) = key_path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    write_private(key_path, certified.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, certified.cert.pem()).map_err(io_error(cert_path))?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let source = TlsSource::SelfSigned {
            cert: dir.path().join("tls.cert"),
            key: dir.path().join("tls.key"),
        };
        server_config(&source).unwrap().expect("a TLS config");
        let first = std::fs::read(dir.path().join("tls.cert")).unwrap();
        server_config(&source).unwrap();
        assert_eq!(first, std::fs::read(dir.path().join("tls.cert")).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

//! TLS for the main listener: a configured certificate, or a self-signed one generated once into the base
//! directory (`tls.cert` / `tls.key`, like Aperture and lnd), offering `h2` and `http/1.1` by ALPN.

use std::sync::Arc;

use rustls::ServerConfig;
use service_kit::tls;

use crate::config::TlsSource;
use crate::files::FileError;

/// The rustls server configuration for `source`, or `None` for `insecure` (plaintext and h2c).
pub fn server_config(source: &TlsSource) -> Result<Option<Arc<ServerConfig>>, FileError> {
    let identity = match source {
        TlsSource::Insecure => return Ok(None),
        TlsSource::SelfSigned { cert, key } => tls::load_or_generate(cert, key, "auth-proxy", &[])?,
        TlsSource::Files { cert, key } => tls::load(cert, key)?,
    };
    Ok(Some(tls::server_config(&identity, &[b"h2", b"http/1.1"])?))
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

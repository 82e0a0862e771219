//! TLS for the main listener: a configured certificate, or a self-signed one generated once into the base
//! directory (`tls.cert` / `tls.key`, like Aperture and lnd), offering `h2` and `http/1.1` by ALPN.

use std::sync::Arc;

use rustls::ServerConfig;
use service_kit::tls;

use crate::config::TlsSource;
use crate::files::FileError;

/// The rustls server configuration for `source`, or `None` for `insecure` (plaintext and h2c). A generated
/// certificate covers `server_name`, the host name and every interface address (lnd's and Aperture's names),
/// and is generated anew when one of them is missing; an operator's `tlscertpath` is used as it is.
pub fn server_config(
    source: &TlsSource,
    server_name: Option<&str>,
) -> Result<Option<Arc<ServerConfig>>, FileError> {
    let identity = match source {
        TlsSource::Insecure => return Ok(None),
        TlsSource::SelfSigned { cert, key } => {
            let extra: Vec<String> = server_name.map(str::to_owned).into_iter().collect();
            tls::load_or_refresh(cert, key, "auth-proxy", &tls::machine_names(&extra))?.0
        }
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
        server_config(&source, None).unwrap().expect("a TLS config");
        let first = std::fs::read(dir.path().join("tls.cert")).unwrap();
        server_config(&source, None).unwrap();
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

    #[test]
    fn servername_is_covered_and_a_new_one_regenerates() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("tls.cert");
        let source = TlsSource::SelfSigned {
            cert: cert.clone(),
            key: dir.path().join("tls.key"),
        };
        let covers = |name: &str| {
            let pem = std::fs::read(&cert).unwrap();
            tls::uncovered_names(&pem, &[name.to_owned()])
                .unwrap()
                .0
                .is_empty()
        };
        server_config(&source, Some("a.example.test")).unwrap();
        assert!(covers("a.example.test"));
        let first = std::fs::read(&cert).unwrap();
        server_config(&source, Some("a.example.test")).unwrap();
        assert_eq!(
            first,
            std::fs::read(&cert).unwrap(),
            "nothing changed: kept"
        );
        server_config(&source, Some("b.example.test")).unwrap();
        assert!(covers("b.example.test"));
    }

    #[test]
    fn an_operator_certificate_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("op.cert"), dir.path().join("op.key"));
        let identity = tls::self_signed("operator", &[]).unwrap();
        std::fs::write(&cert, &identity.cert_pem).unwrap();
        std::fs::write(&key, &identity.key_pem).unwrap();
        let source = TlsSource::Files {
            cert: cert.clone(),
            key,
        };
        server_config(&source, Some("not-in-it.example.test")).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), identity.cert_pem);
    }
}

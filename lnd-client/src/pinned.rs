//! TLS with a pinned certificate, the way lnd clients trust an lnd node.
//!
//! lnd (and mock-lnd, and our auth proxy) serve a self-signed certificate from
//! `tls.cert`. A client does not validate it against a CA or check the host
//! name; it trusts exactly that certificate. rustls's default verifier cannot
//! express this (lnd's certificate is a CA certificate used as an end-entity
//! one, which WebPKI rejects), so [`PinnedCertVerifier`] accepts the server if
//! and only if it presents one of the pinned certificates, and still checks the
//! handshake signature made with that certificate's key.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// A certificate file that cannot be pinned: no PEM certificate in it, or one rustls cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid TLS certificate: {0}")]
pub struct BadCertificate(pub String);

/// Accepts a server only if its end-entity certificate is one of the pinned ones.
#[derive(Debug)]
pub struct PinnedCertVerifier {
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertVerifier {
    /// Pins every certificate found in `pem` (usually exactly one, lnd's `tls.cert`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, BadCertificate> {
        let pinned = rustls_pemfile::certs(&mut &pem[..])
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BadCertificate(e.to_string()))?;
        if pinned.is_empty() {
            return Err(BadCertificate("no PEM certificate found".into()));
        }
        Ok(Self {
            pinned,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
        {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "server certificate does not match the pinned tls.cert".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration that trusts only the certificates in `pem`
/// and offers HTTP/2 (`h2`) via ALPN, as gRPC requires.
pub fn pinned_client_config(pem: &[u8]) -> Result<rustls::ClientConfig, BadCertificate> {
    let verifier = PinnedCertVerifier::from_pem(pem)?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| BadCertificate(e.to_string()))?
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(verifier))
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

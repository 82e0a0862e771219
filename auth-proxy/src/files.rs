//! The error of the proxy's own files: its TLS identity and the admin macaroon and root key.

/// A failure reading or writing one of the proxy's own files (certificates, keys, macaroons).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] service_kit::files::FileError),
    /// The TLS certificate or key is missing, unusable or could not be generated.
    #[error(transparent)]
    Tls(#[from] service_kit::tls::TlsError),
    /// A file holds something unusable.
    #[error("{0}")]
    Invalid(String),
}

//! Small file helpers shared by the TLS and admin set-up: private (0600) writes and a typed error.

use std::io::Write;
use std::path::Path;

/// A failure reading or writing one of the proxy's own files (certificates, keys, macaroons).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing a certificate or key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The files hold no usable certificate or key.
    #[error("{0}")]
    Invalid(String),
}

/// Maps an I/O error on `path` to a [`FileError`].
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a file only the owner can read.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(contents).map_err(io_error(path))
}

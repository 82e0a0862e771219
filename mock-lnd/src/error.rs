//! The error type of mock-lnd's public API (starting a network, taking nodes on and off line).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the mock network (or one of its nodes) could not be started or changed.
#[derive(Debug, thiserror::Error)]
pub enum MockLndError {
    /// Reading or writing one of a node's files failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A node file exists but does not hold what it should (e.g. a truncated `node.key`).
    #[error("invalid content in {0}")]
    InvalidFile(PathBuf),
    /// The TLS certificate could not be generated or loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// A node's listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The configuration is inconsistent (unknown network, duplicate node name, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// No node has this name.
    #[error("unknown node {0:?}")]
    UnknownNode(String),
}

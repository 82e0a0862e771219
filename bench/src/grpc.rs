//! The request body of the benchmark's gRPC unary calls (h2load's and the paced caller's).

use std::path::{Path, PathBuf};

/// The gRPC frame of an empty request message: not compressed, length 0.
pub const EMPTY_REQUEST: [u8; 5] = [0; 5];

/// Writes [`EMPTY_REQUEST`] to a file for h2load and returns its path.
pub fn write_empty_request(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("grpc-empty-request.bin");
    std::fs::write(&path, EMPTY_REQUEST)?;
    Ok(path)
}

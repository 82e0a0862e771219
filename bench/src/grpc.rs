//! The request body h2load sends as a gRPC unary call.

use std::path::{Path, PathBuf};

/// Writes the gRPC frame of an empty request message (not compressed, length 0) and returns its path.
pub fn write_empty_request(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("grpc-empty-request.bin");
    std::fs::write(&path, [0u8; 5])?;
    Ok(path)
}

//! The gRPC side of the benchmark: the request body h2load sends, and a real tonic call proving that
//! the token admits it (h2load only sees HTTP status 200, which a gRPC error has too).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::ServerLoopOutTermsRequest;

/// Writes the gRPC frame of an empty request message (not compressed, length 0) and returns its path.
pub fn write_empty_request(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("grpc-empty-request.bin");
    std::fs::write(&path, [0u8; 5])?;
    Ok(path)
}

/// Calls the benchmark's method through the proxy with `authorization` and checks that it succeeds.
pub async fn check_admitted(proxy: SocketAddr, authorization: &str) -> anyhow::Result<()> {
    let mut client = SwapServerClient::connect(format!("http://{proxy}")).await?;
    let mut request = tonic::Request::new(ServerLoopOutTermsRequest::default());
    request
        .metadata_mut()
        .insert("authorization", authorization.parse()?);
    client
        .loop_out_terms(request)
        .await
        .context("the gRPC call with the token was not admitted")?;
    Ok(())
}

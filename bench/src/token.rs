//! Buying the tokens the benchmark presents, with this workspace's L402 client as any program would use it:
//! the HTTP client with its middleware, the tonic client with its layer. Each pays the 402's invoice through
//! the payer's lnd and keeps the token in a directory of its own; the token's `Authorization` value is what
//! every benchmark request then carries. The gRPC purchase is a real call, so it also proves that the token
//! admits gRPC (h2load sees only HTTP status 200, which a gRPC error has too).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use l402_client::{L402Client, L402Config, L402HttpClient, L402Layer, LndPayer, TokenStore};
use lnd_client::{LndClient, LndConfig};
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::ServerLoopOutTermsRequest;

/// Buys a token with a GET of `url` and returns its `Authorization` value.
pub async fn buy_http(url: &str, dir: &Path, payer: &LndConfig) -> anyhow::Result<String> {
    let client = L402HttpClient::new(reqwest::Client::new(), l402_client(dir, payer).await?);
    let response = client.send(client.inner().get(url)).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url}: the paid request was answered {}",
        response.status()
    );
    authorization(dir)
}

/// Buys a token with a gRPC call of `method` (`LoopOutTerms`) through `proxy` and returns its
/// `Authorization` value.
pub async fn buy_grpc(proxy: SocketAddr, dir: &Path, payer: &LndConfig) -> anyhow::Result<String> {
    let channel = lnd_client::plaintext_channel(&proxy.to_string())?;
    let service = tower::ServiceBuilder::new()
        .layer(L402Layer::new(l402_client(dir, payer).await?))
        .service(channel);
    SwapServerClient::new(service)
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await
        .context("the paid gRPC call was not admitted")?;
    authorization(dir)
}

async fn l402_client(dir: &Path, payer: &LndConfig) -> anyhow::Result<L402Client> {
    let lnd = LndClient::connect(payer).await?;
    Ok(L402Client::new(
        TokenStore::open(dir)?,
        Arc::new(LndPayer::new(&lnd)),
        L402Config::default(),
    )?)
}

/// The `Authorization` value of the paid token in `dir`.
fn authorization(dir: &Path) -> anyhow::Result<String> {
    let token = TokenStore::open(dir)?
        .paid_token()?
        .context("no token was bought (is the service free?)")?;
    let credential = token
        .credential()
        .context("the stored token has no preimage")?;
    Ok(credential.to_authorization())
}

//! `l402 get`: fetch a URL behind an L402 paywall, paying through lnd, as curl would if it spoke L402.
//!
//! The first request meets the `402` challenge; the client (`l402-client`'s reqwest client) checks the
//! invoice (amount within `--max-cost-sat`, the lnd's network, the macaroon's payment hash), pays it
//! through lnd with `routerrpc.SendPaymentV2`, keeps the token in Loop's file layout in `--tokendir`,
//! and retries. A later `l402 get` of the same server reuses the token and pays nothing.
//!
//! Every flag has the environment variable `l402-conformance client` sets, so that
//! `l402-conformance client -- l402 get` tests this client with no wrapper.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use l402::Network;
use l402_client::{L402Client, L402Config, L402HttpClient, LndPayer, TokenStore};
use lnd_client::{LndClient, LndConfig};
use service_kit::exit::ExitError;

/// How long the whole request may take, payment included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// The flags of `l402 get`.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// The URL to fetch.
    #[arg(env = "L402_URL")]
    pub url: reqwest::Url,
    /// The paying lnd's gRPC address.
    #[arg(
        long = "lnd.host",
        env = "LND_GRPC_HOST",
        default_value = "127.0.0.1:10009"
    )]
    pub lnd_host: String,
    /// The lnd's `tls.cert`; without it the connection is plaintext (mock-lnd `--no-tls` only).
    #[arg(long = "lnd.tlspath", env = "LND_TLS_CERT_PATH")]
    pub lnd_tls_path: Option<PathBuf>,
    /// A macaroon of the lnd that may pay (`admin.macaroon`).
    #[arg(long = "lnd.macaroonpath", env = "LND_MACAROON_PATH")]
    pub lnd_macaroon_path: PathBuf,
    /// The lnd's network: an invoice for another one is refused.
    #[arg(long, env = "LND_NETWORK", default_value = "mainnet")]
    pub network: Network,
    /// Where the token is kept (`l402.token`, Loop's layout); `~/.l402/<host>_<port>` by default.
    #[arg(long, env = "L402_TOKEN_DIR")]
    pub tokendir: Option<PathBuf>,
    /// The most a token may cost, in satoshis: a dearer invoice is not paid.
    #[arg(long = "max-cost-sat", env = "L402_MAX_PRICE_SAT", default_value_t = l402_client::DEFAULT_MAX_COST_SAT)]
    pub max_cost_sat: u64,
    /// The most the payment may cost in routing fees, in satoshis.
    #[arg(long = "max-fee-sat", default_value_t = l402_client::DEFAULT_MAX_FEE_SAT)]
    pub max_fee_sat: u64,
}

/// Fetches `args.url` and returns the body of a 2xx answer; any other answer is a failure naming
/// its status.
pub async fn get(args: &GetArgs) -> Result<String, ExitError> {
    let token_dir = match &args.tokendir {
        Some(dir) => dir.clone(),
        None => default_token_dir(&args.url)?,
    };
    let lnd = LndClient::connect(&LndConfig {
        host: args.lnd_host.clone(),
        tls_cert_path: args.lnd_tls_path.clone(),
        macaroon_path: args.lnd_macaroon_path.clone(),
    })
    .await
    .map_err(|e| ExitError::usage(format!("lnd: {e}")))?;
    let store = TokenStore::open(&token_dir)
        .map_err(|e| ExitError::failure(format!("{}: {e}", token_dir.display())))?;
    let config = L402Config {
        max_cost_sat: args.max_cost_sat,
        max_fee_sat: args.max_fee_sat,
        network: Some(args.network),
        ..L402Config::default()
    };
    let l402 = L402Client::new(store, Arc::new(LndPayer::new(&lnd)), config)
        .map_err(ExitError::failure)?;
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(ExitError::failure)?;
    let client = L402HttpClient::new(http, l402);
    let response = client
        .send(client.inner().get(args.url.clone()))
        .await
        .map_err(|e| ExitError::failure(e.to_string()))?;
    let status = response.status();
    let body = response.text().await.map_err(ExitError::failure)?;
    if !status.is_success() {
        return Err(ExitError::failure(format!(
            "{}: HTTP {status}: {}",
            args.url,
            body.trim()
        )));
    }
    Ok(body)
}

/// `~/.l402/<host>_<port>`: one token directory per server, as Loop keeps one per network.
fn default_token_dir(url: &reqwest::Url) -> Result<PathBuf, ExitError> {
    let home = std::env::var_os("HOME")
        .ok_or_else(|| ExitError::usage("no --tokendir and no $HOME to put ~/.l402 in"))?;
    let host = url.host_str().unwrap_or("localhost");
    let port = url.port_or_known_default().unwrap_or(0);
    Ok(PathBuf::from(home)
        .join(".l402")
        .join(format!("{host}_{port}")))
}

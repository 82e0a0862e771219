//! A paid API: `GET /joke` costs 10 sat per token, charged with [`L402Layer`] — no proxy in front.
//!
//! ```text
//! cargo run -p l402-server --example paid_api                       # in-process mock-lnd network
//! cargo run -p l402-server --example paid_api -- --lnd-host localhost:10009 \
//!     --tls-cert ~/.lnd/tls.cert --macaroon ~/.lnd/data/chain/bitcoin/regtest/invoice.macaroon
//! ```
//!
//! `curl -i localhost:8402/joke` answers `402` with the challenge; pay its invoice, then retry with
//! `Authorization: L402 <macaroon>:<preimage>`.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::routing::get;
use axum::{Extension, Router};
use clap::Parser;
use l402_server::{
    InvoiceSource, L402Layer, LndInvoices, MemoryStore, Pricing, RootKeyStore, VerifiedToken,
};
use lnd_client::{LndClient, LndConfig};

/// The price of one joke token, in satoshis.
pub const JOKE_PRICE_SAT: i64 = 10;

/// The service name minted into the tokens.
pub const SERVICE: &str = "jokes";

/// The router: `/joke` behind the paywall.
pub fn app<K: RootKeyStore, I: InvoiceSource>(store: K, invoices: I) -> Router {
    let pricing = Pricing::new(SERVICE, JOKE_PRICE_SAT).expect("a valid service name");
    Router::new()
        .route("/joke", get(joke))
        .layer(L402Layer::new(pricing, store, invoices))
}

async fn joke(Extension(token): Extension<VerifiedToken>) -> String {
    format!(
        "Why did the satoshi cross the channel? To settle down. (token {})\n",
        token.token_id
    )
}

#[derive(Debug, Parser)]
struct Args {
    /// Where to serve the API.
    #[arg(long, default_value = "127.0.0.1:8402")]
    listen: SocketAddr,
    /// `host:port` of an lnd's gRPC listener; without it an in-process mock-lnd network is started.
    #[arg(long, requires = "macaroon")]
    lnd_host: Option<String>,
    /// That lnd's `tls.cert` (plaintext without it).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// A macaroon allowing `AddInvoice` (`invoice.macaroon`).
    #[arg(long)]
    macaroon: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let args = Args::parse();
    // Kept alive while serving: the mock network and its data directory.
    let mut _mock = None;
    let config = match (args.lnd_host, args.macaroon) {
        (Some(host), Some(macaroon_path)) => LndConfig {
            host,
            tls_cert_path: args.tls_cert,
            macaroon_path,
        },
        _ => {
            let dir = tempfile::tempdir()?;
            let network = mock_lnd::MockNetwork::builder()
                .datadir(dir.path())
                .network("regtest")
                .node("api")
                .node("wallet")
                .start()
                .await?;
            let (api, wallet) = (network.node("api"), network.node("wallet"));
            println!(
                "mock-lnd: api node at {}, pay from the wallet node at {} (admin.macaroon: {})",
                api.addr(),
                wallet.addr(),
                wallet.admin_macaroon_path().display()
            );
            let config = api.invoice_lnd_config();
            _mock = Some((network, dir));
            config
        }
    };
    let lnd = LndClient::connect(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("serving http://{}/joke", listener.local_addr()?);
    axum::serve(listener, app(MemoryStore::new(), LndInvoices::new(lnd))).await?;
    Ok(())
}

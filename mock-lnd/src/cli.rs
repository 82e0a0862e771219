//! mock-lnd's command line: every flag with its `MOCK_LND_*` variable.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// A simulated Lightning network whose nodes speak lnd's gRPC API.
#[derive(Debug, Parser)]
#[command(name = "mock-lnd", version, about)]
pub struct Args {
    /// Directory for each node's tls.cert, tls.key, admin.macaroon, invoice.macaroon (in <datadir>/<node>/).
    #[arg(long, env = "MOCK_LND_DATADIR", default_value = "mock-lnd-data")]
    pub datadir: PathBuf,
    /// lnd network name: regtest, testnet, signet, simnet or mainnet (sets the invoice prefix).
    #[arg(long, env = "MOCK_LND_NETWORK", default_value = "regtest")]
    pub network: String,
    /// A node as NAME=HOST:PORT (repeatable; env: comma-separated). Default: client=127.0.0.1:10009,
    /// proxy=127.0.0.1:10010, server=127.0.0.1:10011.
    #[arg(long = "node", env = "MOCK_LND_NODES", value_delimiter = ',', value_parser = parse_node)]
    pub nodes: Vec<(String, SocketAddr)>,
    /// A node's REST listener (lnd's REST API) as NAME=HOST:PORT (repeatable, one per node; env:
    /// comma-separated). Default: none.
    #[arg(long = "rest", env = "MOCK_LND_REST", value_delimiter = ',', value_parser = parse_node)]
    pub rest: Vec<(String, SocketAddr)>,
    /// Serve REST over plain HTTP instead of TLS (lnd's flag of that name).
    #[arg(long, env = "MOCK_LND_NO_REST_TLS")]
    pub no_rest_tls: bool,
    /// Initial channel balance of every node, in satoshis.
    #[arg(long, env = "MOCK_LND_BALANCE_SAT", default_value_t = crate::network::DEFAULT_BALANCE_SAT)]
    pub balance_sat: u64,
    /// Extra DNS name or IP for the TLS certificates, e.g. a docker service name (repeatable).
    #[arg(
        long = "tls-extra-domain",
        env = "MOCK_LND_TLS_EXTRA_DOMAINS",
        value_delimiter = ','
    )]
    pub tls_extra_domains: Vec<String>,
    /// Serve plaintext gRPC (h2c) instead of TLS.
    #[arg(long, env = "MOCK_LND_NO_TLS")]
    pub no_tls: bool,
    /// Base routing fee of every payment, in msat.
    #[arg(long, env = "MOCK_LND_BASE_FEE_MSAT", default_value_t = crate::network::DEFAULT_BASE_FEE_MSAT)]
    pub base_fee_msat: u64,
    /// Proportional routing fee, in parts per million of the amount.
    #[arg(long, env = "MOCK_LND_FEE_PPM", default_value_t = crate::network::DEFAULT_FEE_PPM)]
    pub fee_ppm: u64,
    /// Delay before each payment attempt, e.g. "250ms".
    #[arg(long, env = "MOCK_LND_PAYMENT_LATENCY", value_parser = humantime::parse_duration, default_value = "0s")]
    pub payment_latency: Duration,
    /// Serve the HTTP control endpoint (test hooks) here, e.g. 127.0.0.1:10099. Keep it on loopback.
    #[arg(long, env = "MOCK_LND_CONTROL_LISTEN")]
    pub control_listen: Option<SocketAddr>,
}

fn parse_node(value: &str) -> Result<(String, SocketAddr), String> {
    let (name, host) = value.split_once('=').ok_or("expected NAME=HOST:PORT")?;
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host:?} resolves to no address"))?;
    Ok((name.to_owned(), addr))
}

/// mock-lnd's default nodes: `client` on 127.0.0.1:10009, `proxy` on :10010, `server` on :10011.
pub fn default_nodes() -> Vec<(String, SocketAddr)> {
    [("client", 10009), ("proxy", 10010), ("server", 10011)]
        .into_iter()
        .map(|(name, port)| (name.to_owned(), SocketAddr::from(([127, 0, 0, 1], port))))
        .collect()
}

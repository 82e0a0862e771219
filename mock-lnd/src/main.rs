//! `mock-lnd`: run a simulated Lightning network of lnd nodes (see the crate README).
#![forbid(unsafe_code)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mock_lnd::MockNetwork;

/// A simulated Lightning network whose nodes speak lnd's gRPC API.
#[derive(Debug, Parser)]
#[command(name = "mock-lnd", version, about)]
struct Args {
    /// Directory for each node's tls.cert, tls.key, admin.macaroon, invoice.macaroon (in <datadir>/<node>/).
    #[arg(long, env = "MOCK_LND_DATADIR", default_value = "mock-lnd-data")]
    datadir: PathBuf,
    /// lnd network name: regtest, testnet, signet, simnet or mainnet (sets the invoice prefix).
    #[arg(long, env = "MOCK_LND_NETWORK", default_value = "regtest")]
    network: String,
    /// A node as NAME=HOST:PORT (repeatable; env: comma-separated). Default: client=127.0.0.1:10009,
    /// proxy=127.0.0.1:10010, server=127.0.0.1:10011.
    #[arg(long = "node", env = "MOCK_LND_NODES", value_delimiter = ',', value_parser = parse_node)]
    nodes: Vec<(String, SocketAddr)>,
    /// Initial channel balance of every node, in satoshis.
    #[arg(long, env = "MOCK_LND_BALANCE_SAT", default_value_t = mock_lnd::network::DEFAULT_BALANCE_SAT)]
    balance_sat: u64,
    /// Extra DNS name or IP for the TLS certificates, e.g. a docker service name (repeatable).
    #[arg(
        long = "tls-extra-domain",
        env = "MOCK_LND_TLS_EXTRA_DOMAINS",
        value_delimiter = ','
    )]
    tls_extra_domains: Vec<String>,
    /// Serve plaintext gRPC (h2c) instead of TLS.
    #[arg(long, env = "MOCK_LND_NO_TLS")]
    no_tls: bool,
    /// Base routing fee of every payment, in msat.
    #[arg(long, env = "MOCK_LND_BASE_FEE_MSAT", default_value_t = mock_lnd::network::DEFAULT_BASE_FEE_MSAT)]
    base_fee_msat: u64,
    /// Proportional routing fee, in parts per million of the amount.
    #[arg(long, env = "MOCK_LND_FEE_PPM", default_value_t = mock_lnd::network::DEFAULT_FEE_PPM)]
    fee_ppm: u64,
    /// Delay before each payment attempt, e.g. "250ms".
    #[arg(long, env = "MOCK_LND_PAYMENT_LATENCY", value_parser = humantime::parse_duration, default_value = "0s")]
    payment_latency: Duration,
    /// Serve the HTTP control endpoint (test hooks) here, e.g. 127.0.0.1:10099. Keep it on loopback.
    #[arg(long, env = "MOCK_LND_CONTROL_LISTEN")]
    control_listen: Option<SocketAddr>,
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

fn default_nodes() -> Vec<(String, SocketAddr)> {
    [("client", 10009), ("proxy", 10010), ("server", 10011)]
        .into_iter()
        .map(|(name, port)| (name.to_owned(), SocketAddr::from(([127, 0, 0, 1], port))))
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    proto::runtime::init_tracing("info");
    let nodes = if args.nodes.is_empty() {
        default_nodes()
    } else {
        args.nodes.clone()
    };
    let mut builder = MockNetwork::builder()
        .datadir(&args.datadir)
        .network(&args.network)
        .tls(!args.no_tls)
        .balance_sat(args.balance_sat)
        .routing_fee(args.base_fee_msat, args.fee_ppm)
        .payment_latency(args.payment_latency);
    for (name, addr) in nodes {
        builder = builder.node_at(name, addr);
    }
    for name in &args.tls_extra_domains {
        builder = builder.tls_extra_domain(name);
    }
    let net = Arc::new(builder.start().await.context("starting mock-lnd")?);
    let control = match args.control_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding control endpoint {addr}"))?;
            tracing::info!(addr = %listener.local_addr()?, "control endpoint listening");
            Some(tokio::spawn(mock_lnd::control::serve(
                listener,
                net.clone(),
                proto::runtime::shutdown_signal(),
            )))
        }
        None => None,
    };
    tracing::info!(nodes = net.nodes().len(), datadir = %args.datadir.display(), "mock-lnd ready");
    proto::runtime::shutdown_signal().await;
    tracing::info!("shutting down");
    if let Some(control) = control {
        control.await.context("control endpoint task")??;
    }
    net.shutdown().await;
    Ok(())
}

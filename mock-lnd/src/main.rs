//! `mock-lnd`: run a simulated Lightning network of lnd nodes (see the crate README).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use mock_lnd::cli::{default_nodes, Args};
use mock_lnd::MockNetwork;
use service_kit::exit::{report, ExitError};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    service_kit::logging::init("info");
    report("mock-lnd:", run(args).await.map_err(ExitError::failure))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let nodes = if args.nodes.is_empty() {
        default_nodes()
    } else {
        args.nodes.clone()
    };
    let mut builder = MockNetwork::builder()
        .datadir(&args.datadir)
        .network(&args.network)
        .tls(!args.no_tls)
        .rest_tls(!args.no_rest_tls)
        .balance_sat(args.balance_sat)
        .routing_fee(args.base_fee_msat, args.fee_ppm)
        .payment_latency(args.payment_latency);
    for (name, addr) in nodes {
        builder = builder.node_at(name, addr);
    }
    for (name, addr) in &args.rest {
        builder = builder.rest_at(name, *addr);
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
                service_kit::shutdown::signal(),
            )))
        }
        None => None,
    };
    tracing::info!(nodes = net.nodes().len(), datadir = %args.datadir.display(), "mock-lnd ready");
    service_kit::shutdown::signal().await;
    tracing::info!("shutting down");
    if let Some(control) = control {
        control.await.context("control endpoint task")??;
    }
    net.shutdown().await;
    Ok(())
}

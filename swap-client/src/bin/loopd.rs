//! `loopd`: the Loop client daemon (see `swap_client::daemon`).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use service_kit::exit::{report, ExitError};
use swap_client::config::LoopdArgs;
use swap_client::daemon::Daemon;

#[tokio::main]
async fn main() -> ExitCode {
    let args = LoopdArgs::parse();
    service_kit::logging::init("info");
    report("[loopd]", run(args).await)
}

async fn run(args: LoopdArgs) -> Result<(), ExitError> {
    let config = args.into_config().map_err(ExitError::usage)?;
    let rpc_listen = config.rpc_listen.clone();
    // Build first: tls.cert and loop.macaroon exist before the port opens.
    let daemon = Daemon::build(config).await.map_err(ExitError::failure)?;
    let listener = tokio::net::TcpListener::bind(&rpc_listen)
        .await
        .map_err(|e| ExitError::failure(format!("cannot listen on {rpc_listen}: {e}")))?;
    daemon
        .serve(listener, service_kit::shutdown::signal())
        .await
        .map_err(ExitError::failure)
}

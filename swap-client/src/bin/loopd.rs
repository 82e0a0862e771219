//! `loopd`: the Loop client daemon (see `swap_client::daemon`).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use service_kit::exit::{report, ExitError};
use swap_client::config::LoopdArgs;
use swap_client::daemon;

#[tokio::main]
async fn main() -> ExitCode {
    let args = LoopdArgs::parse();
    service_kit::logging::init("info");
    report("[loopd]", run(args).await)
}

async fn run(args: LoopdArgs) -> Result<(), ExitError> {
    let config = args.into_config().map_err(ExitError::usage)?;
    let listener = tokio::net::TcpListener::bind(&config.rpc_listen)
        .await
        .map_err(|e| ExitError::failure(format!("cannot listen on {}: {e}", config.rpc_listen)))?;
    daemon::run(listener, config, service_kit::shutdown::signal())
        .await
        .map_err(ExitError::failure)
}

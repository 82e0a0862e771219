//! `swap-server`: the simulated Loop server binary (flags → config → run until a signal).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use service_kit::exit::{report, ExitError};
use swap_server::cli::Args;

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::logging::init("info");
    report("swap-server:", run(Args::parse()).await)
}

async fn run(args: Args) -> Result<(), ExitError> {
    let listen = args.listen;
    let config = args.into_config();
    config.validate().map_err(ExitError::usage)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ExitError::failure(format!("cannot listen on {listen}: {e}")))?;
    swap_server::run(listener, config, service_kit::shutdown::signal())
        .await
        .map_err(ExitError::failure)
}

//! `swap-server`: the simulated Loop server binary (flags → config → run until a signal).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use service_kit::exit::{report, ExitError};
use swap_server::cli::Args;
use swap_server::Server;

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::logging::init("info");
    report("swap-server:", run(Args::parse()).await)
}

async fn run(args: Args) -> Result<(), ExitError> {
    let (listen, events_listen) = (args.listen, args.eventslisten);
    let config = args.into_config();
    config.validate().map_err(ExitError::usage)?;
    let listener = bind(listen).await?;
    let events = match events_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let mut server = Server::build(config).await.map_err(ExitError::failure)?;
    if let Some(events) = events {
        server = server.with_events(events);
    }
    server
        .serve(listener, service_kit::shutdown::signal())
        .await
        .map_err(ExitError::failure)
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, ExitError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ExitError::failure(format!("cannot listen on {addr}: {e}")))
}

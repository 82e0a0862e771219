//! `loopd`: the Loop client daemon (see `swap_client::daemon`).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use swap_client::config::LoopdArgs;
use swap_client::daemon;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let args = LoopdArgs::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match start(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[loopd] {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn start(args: LoopdArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    let listener = tokio::net::TcpListener::bind(&config.rpc_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.rpc_listen))?;
    daemon::run(listener, config, daemon::shutdown_signal()).await?;
    Ok(())
}

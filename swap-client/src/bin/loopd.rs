//! `loopd`: the Loop client daemon (see `swap_client::daemon`).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use swap_client::config::LoopdArgs;
use swap_client::daemon;

#[tokio::main]
async fn main() -> ExitCode {
    let args = LoopdArgs::parse();
    proto::runtime::init_tracing("info");
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
    daemon::run(listener, config, proto::runtime::shutdown_signal()).await?;
    Ok(())
}

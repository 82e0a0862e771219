//! `auth-proxy`: the L402 reverse proxy. Reads an Aperture-style YAML file (`--configfile`), lets flags and
//! `AUTH_PROXY_*` variables override it, and runs until SIGINT/SIGTERM.

use std::process::ExitCode;

use auth_proxy::cli::Cli;
use auth_proxy::{Listeners, Proxy};
use clap::Parser;
use service_kit::exit::{report, ExitError};

/// mimalloc rather than glibc's malloc: hyper allocates and frees a buffer of several KiB for each message it
/// reads, and thread-local free lists serve that far faster (`bench/README.md`, "What the profile shows").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    report("auth-proxy:", run(Cli::parse()).await)
}

async fn run(cli: Cli) -> Result<(), ExitError> {
    // Configuration errors name the key and never contain secrets.
    let config = cli.load().map_err(ExitError::usage)?;
    service_kit::logging::init(config.debug_level.as_deref().unwrap_or("info"));
    let listeners = Listeners::bind(&config)
        .await
        .map_err(|e| ExitError::failure(format!("cannot bind listeners: {e}")))?;
    let proxy = Proxy::build(config)
        .await
        .map_err(|e| ExitError::failure(format!("cannot start: {e}")))?;
    proxy.run(listeners, service_kit::shutdown::signal()).await;
    Ok(())
}

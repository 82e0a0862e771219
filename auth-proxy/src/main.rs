//! `auth-proxy`: the L402 reverse proxy. Reads an Aperture-style YAML file (`--configfile`), lets flags and
//! `AUTH_PROXY_*` variables override it, and runs until SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;

use auth_proxy::cli::{shutdown_signal, Cli};
use auth_proxy::{Listeners, Proxy};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Cli::parse().load() {
        Ok(config) => config,
        Err(error) => {
            // Config errors name the key and never contain secrets.
            eprintln!("auth-proxy: {error}");
            return ExitCode::from(2);
        }
    };
    let default_level = config.debug_level.as_deref().unwrap_or("info");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    let listeners = match Listeners::bind(&config).await {
        Ok(listeners) => listeners,
        Err(error) => {
            tracing::error!(error = %error, "cannot bind listeners");
            return ExitCode::FAILURE;
        }
    };
    let proxy = match Proxy::build(config).await {
        Ok(proxy) => proxy,
        Err(error) => {
            tracing::error!(error = %error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    proxy.run(listeners, shutdown_signal()).await;
    ExitCode::SUCCESS
}

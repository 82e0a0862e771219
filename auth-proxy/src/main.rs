//! `auth-proxy`: the L402 reverse proxy. Reads an Aperture-style YAML file (`--configfile`), lets flags and
//! `AUTH_PROXY_*` variables override it, and runs until SIGINT/SIGTERM.

use std::process::ExitCode;

use auth_proxy::cli::Cli;
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
    proto::runtime::init_tracing(default_level);

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
    proxy
        .run(listeners, proto::runtime::shutdown_signal())
        .await;
    ExitCode::SUCCESS
}

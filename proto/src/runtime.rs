//! What every binary of the workspace does the same way: wait for the signal
//! to shut down, and set up logging.
//!
//! Keeping these in one place means every program stops on the same signals
//! and writes logs the same way (stderr, `RUST_LOG` filter, colours only on a
//! terminal so files and containers get plain lines).

use std::io::IsTerminal;

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what `docker stop` sends): the
/// shutdown future handed to every server.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}

/// Logs to stderr with `RUST_LOG` as the filter, else `default_filter`
/// (e.g. `"info"`); colours only when stderr is a terminal.
pub fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

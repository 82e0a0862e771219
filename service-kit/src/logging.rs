//! Log set-up shared by every binary: stderr, a `RUST_LOG` filter, colours only on a terminal so that
//! files and containers get plain lines.

use std::io::IsTerminal;

/// Logs to stderr with `RUST_LOG` as the filter, else `default_filter` (e.g. `"info"`).
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

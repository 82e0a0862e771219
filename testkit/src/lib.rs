//! Test helpers shared by every crate's tests, the end-to-end suite and the
//! demo, written once:
//!
//! - [`wait`]: [`eventually`], [`within`] and [`until`] — waits that poll
//!   with a deadline instead of sleeping;
//! - [`postgres`]: [`fresh_database`] — a fresh PostgreSQL database from
//!   `DATABASE_URL`, else testcontainers, else a skip with the reason (a
//!   failure when `L402_REQUIRE_POSTGRES=1`);
//! - with the `stack` feature: [`component`] (a server running as a task,
//!   stoppable and restartable on its address), [`process`] (the real
//!   binaries as child processes), [`proxy_config`] (the proxy's YAML) and
//!   [`stack`] — the one [`Stack`](stack::Stack) builder wiring mock-lnd,
//!   swap-server, auth-proxy and loopd together in one process, and [`loopd`]
//!   (loopd alone, in this process);
//! - [`sse`]: a bounded subscription to a program's server-sent event feed;
//! - with the `tokens` feature: [`tokens`] — token files as a crashed client
//!   leaves them.
//!
//! No production crate depends on this one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "stack")]
pub mod component;
#[cfg(feature = "stack")]
pub mod loopd;
pub mod postgres;
#[cfg(feature = "stack")]
pub mod process;
#[cfg(feature = "stack")]
pub mod proxy_config;
pub mod sse;
#[cfg(feature = "stack")]
pub mod stack;
#[cfg(feature = "tokens")]
pub mod tokens;
pub mod wait;

pub use postgres::{fresh_database, TestDatabase};
pub use wait::{eventually, until, within, WaitTimeout, WAIT};

/// Sends the programs' logs to the test output when `TEST_LOG` asks for them
/// (`TEST_LOG=swap_client=debug cargo test …`); silent otherwise. Safe to
/// call from every test.
pub fn init_test_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG"))
        .with_test_writer()
        .try_init();
}

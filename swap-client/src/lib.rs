//! loopd and loop: the Loop client daemon and CLI, with a reusable L402 client.
//!
//! A tour of the crate:
//! - [`l402_client`]: the L402 client anyone can reuse — a tower layer for
//!   tonic clients ([`l402_client::L402Layer`]), a reqwest wrapper
//!   ([`l402_client::L402HttpClient`]), both built on [`l402_client::L402Client`]
//!   (acquisition: pay once, track pending payments, evict rejected tokens) and
//!   Loop's token files ([`l402_client::TokenStore`]).
//! - [`swap`]: the client side of a loop out (quote, limits, contract checks,
//!   payments, preimage push) and the swap manager that runs and resumes swaps.
//! - [`db`]: loopd's SQLite swap database (sqlx, migrations in `migrations/`).
//! - [`daemon`]: loopd — the `looprpc.SwapClient` gRPC server;
//!   [`daemon::run`] takes a bound listener, a [`config::DaemonConfig`] and a
//!   shutdown future.
//! - [`config`]: loopd's flags (Loop's names, `LOOPD_*` variables).
//! - [`cli`]: the `loop` command line (Loop's commands and output).
//!
//! The binaries `loopd` and `loop` are thin wrappers around [`daemon`] and [`cli`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod daemon;
pub mod db;
pub mod l402_client;
pub mod swap;

/// Unix time now, in nanoseconds.
pub(crate) fn now_unix_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

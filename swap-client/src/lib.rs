//! loopd and loop: the Loop client daemon and CLI.
//!
//! The L402 client loopd pays its tokens with is the `l402-client` crate; this crate is what Loop adds
//! around it. A tour:
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
pub mod swap;

//! The whole L402 loop-out sequence, end to end.
//!
//! This crate ties the four programs together the way FLOW.md describes:
//! - [`stack`]: mock-lnd, swap-server, auth-proxy and loopd in one process on
//!   ephemeral ports, with SQLite in a temporary directory;
//! - [`process`]: the same programs as real child processes;
//! - [`demo`]: plays a first loop (402, payment, retry) and a repeat loop (token
//!   reused) and reports what happened — the `loop-demo` binary;
//! - [`component`] and [`wait`]: running a server as a task, and waiting with
//!   deadlines instead of sleeps.
//!
//! The end-to-end suite lives in `tests/` and uses all of the above.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod component;
pub mod demo;
pub mod process;
pub mod proxy_config;
pub mod stack;
pub mod wait;

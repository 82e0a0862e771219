//! What every program of the workspace does the same way, so that it is written once.
//!
//! | module | what it gives |
//! |---|---|
//! | [`shutdown`] | the future that completes on SIGINT or SIGTERM, handed to every server |
//! | [`logging`] | `tracing` to stderr with a `RUST_LOG` filter, colours only on a terminal |
//! | [`exit`] | one mapping of errors to process exit codes (2 for usage and configuration, 1 otherwise) |
//! | [`files`] | private files and directories (0600 / 0700 whatever the umask), atomic replacement |
//! | [`tls`] | self-signed TLS identities shaped like lnd's, and rustls server configurations from PEM files |
//! | [`db`] | database pools: private SQLite files in WAL mode, PostgreSQL as given |
//! | [`go_duration`] | Go's `time.Duration` text (`1h30m`, `1.5s`), as Aperture's YAML and Loop's flags hold it |
//! | [`clock`] | the current Unix time in seconds and nanoseconds |
//! | [`backoff`] | the reconnect delays of long-lived streams (exponential, capped, reset on success) |
//! | [`sse`] | a broadcast feed as server-sent events of JSON (bounded, lag notices), and their reader |
//!
//! Nothing here knows about L402, Lightning or Loop.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backoff;
pub mod clock;
pub mod db;
pub mod exit;
pub mod files;
pub mod go_duration;
pub mod logging;
pub mod shutdown;
pub mod sse;
pub mod tls;

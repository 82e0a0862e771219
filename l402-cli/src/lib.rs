//! The token inspector behind the `l402` command, as a library: [`decode`] classifies an input (macaroon,
//! `Authorization` or `WWW-Authenticate` value, Loop token file) and explains it as a [`decode::Report`];
//! [`render`] writes that report as text. `loop-demo --web` shows the same reports for what crossed the wire.
//! [`get`] is `l402 get`, the L402 client as a command.
//!
//! Secrets are reported, never printed: a preimage is "present" and "matches the payment hash" or not.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod decode;
pub mod get;
pub mod render;

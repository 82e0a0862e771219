//! A simulated Loop server that runs loop-out swaps against its own lnd node.
//!
//! It speaks the loop-out calls of Lightning Labs' Loop server
//! (`looprpc.SwapServer`: `LoopOutTerms`, `LoopOutQuote`, `NewLoopOutSwap`,
//! `LoopOutPushPreimage`, `SubscribeLoopOutUpdates`, `CancelLoopOutSwap`) over
//! gRPC, and the same operations as JSON over HTTP, on one port. The
//! off-chain part is real (hold invoices on the server's lnd, paid by the
//! client); the on-chain HTLC is simulated (a fake txid, a confirmation after
//! a configurable delay).
//!
//! Tour of the crate:
//! - [`config`]: terms, fees, timings, lnd and database settings; [`cli`]: the flags that fill it;
//! - [`server`]: [`run`] / [`Server`]: one listener, gRPC and HTTP dispatched by content type;
//! - [`grpc`] and [`http`]: the two front ends, thin layers over [`manager`]; [`events`]: every swap's
//!   state changes for the operator, on a listener of its own;
//! - [`manager`]: the operations (validation, swap creation, commands to running swaps);
//! - `actor` (private): one task per running swap, the lifecycle state machine;
//! - [`lnd`]: the calls made to the server's lnd; [`store`]: sqlx persistence;
//! - [`swap`]: domain types; [`token`]: the client's L402 token id; [`error`]: one error enum.
//!
//! ```no_run
//! # async fn example(config: swap_server::Config) -> Result<(), swap_server::ServerError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! swap_server::run(listener, config, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actor;
pub mod cli;
mod command;
pub mod config;
pub mod error;
pub mod events;
pub mod grpc;
pub mod http;
pub mod lnd;
pub mod manager;
pub mod server;
mod shared;
pub mod store;
pub mod swap;
pub mod token;

pub use config::{Config, ConfigError, Terms, Timings};
pub use error::SwapError;
pub use manager::SwapManager;
pub use server::{run, Server, ServerError};

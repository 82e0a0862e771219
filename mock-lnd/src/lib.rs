//! An in-memory Lightning network whose nodes speak a wire-compatible subset of lnd's gRPC API.
//!
//! Each node of a [`MockNetwork`] has its own secp256k1 key, alias, balance and gRPC listener
//! serving `lnrpc.Lightning`, `routerrpc.Router` and `invoicesrpc.Invoices`, and writes lnd's files
//! (`tls.cert`, `tls.key`, `admin.macaroon`, `invoice.macaroon`) to `<datadir>/<node>/`, so any lnd
//! client connects to it as to a real lnd. Invoices are real BOLT11 signed with the node key;
//! payments move balances between nodes atomically.
//!
//! Tour of the crate:
//! - [`network`]: [`MockNetwork`] builder and [`NodeHandle`] (addresses, files, test hooks);
//! - `ledger`: balances, invoices, payments, hold invoices and subscriptions of all nodes behind one
//!   lock, in domain types, and the live feed of invoice and payment events
//!   ([`MockNetwork::subscribe_events`], [`NetworkEvent`]);
//! - [`rpc`]: the three gRPC services, thin translations onto the ledger (proto conversion and the
//!   domain error → gRPC status mapping live there);
//! - [`macaroon`]: lnd's macaroon permissions (format, baking and the per-call check are
//!   `lnd_client::macaroon` / `lnd_client::macaroon_auth`, shared with loopd);
//! - [`files`] and [`invoice`]: node files (TLS, keys) and BOLT11 signing/decoding;
//! - [`control`]: an HTTP control endpoint exposing the test hooks to other processes;
//! - [`cli`]: the `mock-lnd` binary's flags;
//! - [`rest`]: lnd's REST API on a node's REST listener, calling its gRPC stack in-process;
//! - `server`: one node's listeners, which can go offline and come back on the same addresses.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod control;
pub mod error;
pub mod files;
pub mod invoice;
mod ledger;
pub mod macaroon;
pub mod network;
pub mod rest;
pub mod rpc;
mod server;

pub use error::MockLndError;
pub use ledger::{
    FailureReason, InvoiceEvent, NetworkEvent, ParseFailureReasonError, PaymentEvent,
};
pub use network::{MockNetwork, MockNetworkBuilder, NodeHandle};

//! The server side of L402 as an embeddable tower layer: a Rust service takes Lightning payments for its
//! API without running a proxy in front of it.
//!
//! The pieces:
//! - [`Pricing`] (module [`pricing`]): what a token buys — service name, tier, price, capabilities,
//!   validity — and the caveats minted from it.
//! - [`RootKeyStore`] (module [`store`]): where minted root keys live (insert, look up, revoke), with the
//!   in-memory [`MemoryStore`].
//! - [`InvoiceSource`] (module [`invoice`]): where invoices come from, with [`LndInvoices`] over lnd.
//! - [`issue`] (module [`mint`](mod@mint)): invoice, then macaroon, then root key stored, then the
//!   [`l402::Challenge`] to send — in that order, so no challenge is ever sent for a key we do not hold.
//! - [`authenticate`] (module [`authenticate`](mod@authenticate)): a request's credential checked against
//!   the store (constant-time checks are `l402`'s).
//! - [`L402Layer`] (module [`layer`]): the tower middleware for HTTP services (axum-compatible) tying it
//!   together — `402` with a fresh challenge, or the request forwarded with a [`VerifiedToken`] in its
//!   extensions, or `503` when lnd or the store is down.
//!
//! ```no_run
//! # async fn demo(lnd: lnd_client::LndClient) {
//! use l402_server::{L402Layer, LndInvoices, MemoryStore, Pricing};
//! let pricing = Pricing::new("jokes", 10).expect("a valid service name");
//! let app: axum::Router = axum::Router::new()
//!     .route("/joke", axum::routing::get(|| async { "a joke" }))
//!     .layer(L402Layer::new(pricing, MemoryStore::new(), LndInvoices::new(lnd)));
//! # let _ = app; }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod authenticate;
pub mod invoice;
pub mod layer;
pub mod mint;
pub mod pricing;
pub mod store;

pub use authenticate::{authenticate, AuthOutcome, Rejection};
pub use invoice::{
    InvoiceError, InvoiceSource, LndInvoices, NewInvoice, DEFAULT_CALL_TIMEOUT,
    DEFAULT_INVOICE_EXPIRY,
};
pub use layer::{L402Layer, L402Service, VerifiedToken};
pub use mint::{issue, IssueError, Issued};
pub use pricing::Pricing;
pub use store::{MemoryStore, NewRootKey, RootKeyLookup, RootKeyStore, StoreError};

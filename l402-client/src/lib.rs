//! The L402 client: meets a payment challenge, pays once, stores the token, retries — and reuses the
//! token on every later call.
//!
//! The pieces:
//! - [`L402Client`]: the transport-independent core — the current token, the
//!   acquisition logic (track a pending payment, evict a rejected token, pay a
//!   new challenge) and the [`TokenStore`]; cheap to clone, share one per server.
//! - [`L402Layer`] (module [`grpc`], feature `grpc`): a tower layer for any tonic client; it
//!   attaches `macaroon: <hex paid macaroon>` metadata and handles gRPC
//!   challenges (status `Internal`/`Unknown`, "payment required",
//!   `www-authenticate` in headers or trailers).
//! - [`L402Middleware`] (module [`http`], feature `http`): the same as a `reqwest_middleware`
//!   middleware; it attaches `Authorization: L402 <base64 macaroon>:<hex preimage>` and handles
//!   `402 Payment Required` with `WWW-Authenticate`. [`L402HttpClient`] is a reqwest client with
//!   that middleware, returning [`HttpError`]s.
//! - [`Payer`] (module [`payer`]): how invoices get paid; lnd's [`LndPayer`] implements it.
//! - [`TokenStore`] (module [`store`]): Loop's `l402.token` / `l402.token.pending` files.
//! - [`L402Event`] (module [`events`]): a live feed of what the client does with tokens
//!   ([`L402Client::subscribe_events`]), free while nobody listens.
//!
//! Concurrency: a call with a valid token takes only a short read lock on the
//! cached token, so such calls run fully in parallel. Only acquisition is
//! serialised (one async mutex): when N calls meet a challenge at once, the
//! first pays and the others find the new token when they get the lock.
//!
//! Payments per call: at most one. A call that meets a challenge either finds
//! a token acquired meanwhile, or resolves a pending payment, or evicts the
//! token the server just rejected and pays the new challenge; then it retries
//! once. A challenge on the retry is reported as [`L402Error::Rejected`].
//!
//! Re-purchases: a token is reused until the server rejects it, then a new one
//! is bought — but not without bound. A re-purchase (a purchase replacing an
//! evicted token) needs the last one to be at least
//! [`L402Config::rebuy_backoff`] ago ([`L402Error::RebuyBackoff`]) and must fit
//! the budget [`L402Config::rebuy_budget_sat`] over the rolling
//! [`L402Config::rebuy_window`] ([`L402Error::RebuyBudgetExceeded`]); a refused
//! re-purchase leaves the rejected token in place. Each re-purchase is logged
//! at warn and counted in [`L402Stats::rebuys`]. The bounds are kept in memory,
//! per client.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
pub mod events;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "http")]
pub mod http;
pub mod payer;
pub mod store;

pub use client::{
    L402Client, L402Config, L402Error, L402Stats, PaidToken, DEFAULT_MAX_COST_SAT,
    DEFAULT_MAX_FEE_SAT, DEFAULT_PAYMENT_TIMEOUT, DEFAULT_REBUY_BACKOFF,
    DEFAULT_REBUY_BUDGET_FACTOR, DEFAULT_REBUY_WINDOW,
};
pub use events::L402Event;
#[cfg(feature = "grpc")]
pub use grpc::{L402Layer, L402Service};
#[cfg(feature = "http")]
pub use http::{HttpError, L402HttpClient, L402Middleware};
pub use lnd_client::LndPayer;
pub use payer::{Payer, PayerError, PaymentOutcome, PaymentSuccess};
pub use store::{StoreError, StoredToken, TokenStore};

//! Connecting to an lnd node (a real one or a mock-lnd node) the way lnd's own clients do.
//!
//! lnd authenticates in two layers: TLS with the node's self-signed `tls.cert`, which clients pin
//! ([`pinned`]), and a macaroon sent as the gRPC metadata value `macaroon: <hex>` on every call
//! ([`connect`]). [`LndClient`] holds typed clients for the three services this workspace uses
//! (`lnrpc.Lightning`, `routerrpc.Router`, `invoicesrpc.Invoices`) over one lazy connection;
//! [`pay`] pays and tracks invoices through the router; [`invoices`] follows invoice subscriptions that
//! survive stream errors.
//!
//! The server side of lnd's macaroons lives here too, for the programs that serve lnd-style APIs
//! (mock-lnd, and loopd, whose `loop.macaroon` is baked by lnd's code): [`macaroon`] bakes and
//! verifies them, [`macaroon_auth`] checks them per call against a permission table.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod connect;
pub mod invoices;
pub mod macaroon;
pub mod macaroon_auth;
pub mod pay;
pub mod pinned;

pub use connect::{
    pinned_tls_channel, plaintext_channel, webpki_client_config, webpki_tls_channel, LndChannel,
    LndClient, LndConfig, LndConnectError, MacaroonInterceptor,
};
pub use invoices::{InvoiceEvent, InvoiceStates, SettledInvoice, SettledInvoices};
pub use macaroon::{MacaroonError, MacaroonService, Permission, RootKeyError};
pub use macaroon_auth::{MacaroonAuthLayer, PermissionTable};
pub use pay::{outcome_of, LndPayer, PayerError, PaymentOutcome, PaymentSuccess};
pub use pinned::{pinned_client_config, BadCertificate, PinnedCertVerifier};

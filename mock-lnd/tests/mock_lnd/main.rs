//! Black-box tests of mock-lnd through real gRPC clients (`lnd_client::LndClient`, TLS + macaroons).

mod auth;
mod concurrency;
mod events;
mod failures;
mod hold;
mod hooks;
mod invoices;
mod payments;
mod support;

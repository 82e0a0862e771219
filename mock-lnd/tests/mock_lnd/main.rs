//! Black-box tests of mock-lnd through real gRPC clients (`lnd_client::LndClient`, TLS + macaroons)
//! and, for its REST API, a real HTTP client (reqwest).

mod auth;
mod concurrency;
mod events;
mod failures;
mod hold;
mod hooks;
mod invoices;
mod payments;
mod rest;
mod rest_errors;
mod rest_support;
mod support;

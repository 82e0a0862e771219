//! Integration tests of the swap server against an in-process mock-lnd network.

mod cancel;
mod errors;
mod events;
mod helpers;
mod http;
mod postgres;
mod restart;
mod success;
mod timeouts;

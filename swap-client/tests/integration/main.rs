//! swap-client's integration tests: one binary, every test in-process on
//! ephemeral ports.

mod l402_grpc;
mod l402_http;
mod support;
mod token_store;

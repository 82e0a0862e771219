//! auth-proxy integration tests: mock-lnd, an axum HTTP backend and a tonic gRPC backend, all in-process on
//! ephemeral ports.

mod challenge;
mod pay;
mod support;

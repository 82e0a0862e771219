//! auth-proxy integration tests: mock-lnd, an axum HTTP backend and a tonic gRPC backend, all in-process on
//! ephemeral ports.

mod admin;
mod aperture_db;
mod challenge;
mod connections;
mod dynamic_price;
mod early_answers;
mod failures;
mod levels;
mod listener;
mod logging;
mod paths;
mod pay;
mod rejections;
mod storage;
mod support;

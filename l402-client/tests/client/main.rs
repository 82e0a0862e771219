//! l402-client's integration tests: one binary, every test in-process on
//! ephemeral ports, against in-test servers minting real challenges and a
//! fake payer.
//!
//! - [`events`]: the client's event feed, and a token restricted by its holder;
//! - [`grpc`]: the tower layer under a tonic client;
//! - [`http`]: the reqwest client built on the middleware;
//! - [`middleware`]: the reqwest middleware in a `ClientWithMiddleware`;
//! - [`rebuy`]: re-buying a rejected token, within the back-off and the budget;
//! - [`token_store`]: Loop's token file format and the store's file handling;
//! - [`support`]: the test doubles (invoicer, payer, gate, servers).

mod events;
mod grpc;
mod http;
mod middleware;
mod rebuy;
mod support;
mod token_store;

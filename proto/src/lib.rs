//! gRPC definitions shared by every program of the workspace.
//!
//! The `.proto` files under `proto/` are subsets of lnd's, Loop's and Aperture's, with the
//! same package, service, message and field names and numbers, so that our
//! programs and the real ones can talk to each other on the wire:
//!
//! | module | upstream | used by |
//! |---|---|---|
//! | [`lnrpc`] | lnd `lightning.proto` | mock-lnd (server), every lnd client |
//! | [`routerrpc`] | lnd `routerrpc/router.proto` | paying invoices (loopd) |
//! | [`invoicesrpc`] | lnd `invoicesrpc/invoices.proto` | hold invoices (swap-server) |
//! | [`looprpc`] | Loop `swapserverrpc/server.proto` and `looprpc/client.proto` | swap-server, loopd, `loop` |
//! | [`pricesrpc`] | Aperture `pricesrpc/prices.proto` | auth-proxy's dynamic prices (client) |
//!
//! This crate holds generated code only: connecting to lnd is the `lnd-client`
//! crate's job.
#![forbid(unsafe_code)]

/// The encoded `google.protobuf.FileDescriptorSet` of every file above (messages, fields, services
/// and methods by name), for reflection, e.g. mock-lnd's REST gateway writing lnd's JSON.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

/// lnd's main service (`lnrpc.Lightning`): node info, invoices, payments.
pub mod lnrpc {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("lnrpc");
}

/// lnd's router sub-server (`routerrpc.Router`): `SendPaymentV2`, `TrackPaymentV2`.
pub mod routerrpc {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("routerrpc");
}

/// lnd's invoices sub-server (`invoicesrpc.Invoices`): hold invoices.
pub mod invoicesrpc {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("invoicesrpc");
}

/// Loop's services: `SwapServer` (the Loop server) and `SwapClient` (loopd).
pub mod looprpc {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("looprpc");
}

/// Aperture's price server (`pricesrpc.Prices`): `GetPrice` for services with dynamic prices.
pub mod pricesrpc {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("pricesrpc");
}

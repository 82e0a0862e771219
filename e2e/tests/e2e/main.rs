//! The end-to-end suite: the whole sequence of docs/FLOW.md across the four programs.
//!
//! - `sequence`: first loop (402, one invoice, one payment, token stored, swap
//!   to SUCCESS, balances conserved) and repeat loop (no 402, no payment, same
//!   token at the server, faster), in-process;
//! - `processes`: the same over the real binaries and the `loop` CLI;
//! - `failures`: what users meet when something is wrong — a token too
//!   expensive, restarts, revocation, an lnd node or the swap server down;
//! - `postgres`: the sequence with the proxy on PostgreSQL;
//! - `loopd_loop_out` and `loopd_l402`: loopd and the `loop` CLI against the
//!   real proxy, swap server and mock-lnd — loop outs, their output formats
//!   and restarts, and loopd's L402 client (failed and crashed payments,
//!   revocation, concurrent calls, the HTTP API);
//! - `loopd_rpc_auth`: loopd's RPC as Loop serves it — TLS, `loop.macaroon`,
//!   Loop's permissions, Loop's default paths for the CLI, private files;
//! - `lnd_rest`: the token's invoice and payment as lnd's REST clients see them.

mod failures;
mod lnd_rest;
mod loopd_l402;
mod loopd_loop_out;
mod loopd_rpc_auth;
mod postgres;
mod processes;
mod sequence;
mod support;

//! End to end: loopd and `loop` against the real auth-proxy, swap-server and
//! mock-lnd, all in-process on ephemeral ports.

mod env;
mod l402;
mod loop_out;

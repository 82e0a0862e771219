//! The `loop-demo` binary's library: plays the whole L402 loop-out sequence
//! on testkit's [`Stack`](testkit::stack::Stack) and reports what happened.
//!
//! - [`demo`]: a first loop (402, payment, retry) and a repeat loop (token
//!   reused), narrated from what the programs report, or one JSON report;
//! - [`web`]: the same sequence as a live page (`loop-demo --web`), fed by the programs' own
//!   instrumentation, with buttons that drive them;
//! - [`programs`]: where the programs run — all in this process, or ([`remote`]) in other
//!   containers, reached over their control, admin and events listeners, with loopd here.
//!
//! The stack itself is in `testkit`; the end-to-end suite is in `e2e`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod demo;
pub mod programs;
pub mod remote;
pub mod web;

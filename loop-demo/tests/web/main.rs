//! `loop-demo --web`, served in-process on an ephemeral port over a real stack:
//!
//! - [`events`]: the event stream and the action endpoint over HTTP — the programs' reports reach the
//!   page, a first loop shows the 402, the payment and SUCCESS, a repeat loop neither; the unhappy paths;
//! - [`remote`]: the page of another deployment (docker compose's `loop-web`), fed over the network;
//! - [`browser`]: the page itself in headless Chromium (through chromedriver), with a screenshot;
//! - [`support`]: starting the page, reading its event stream.

mod browser;
mod events;
mod remote;
mod support;

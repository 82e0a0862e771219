//! The cross-program end-to-end suite. Everything is in `tests/e2e/`: the
//! sequence of docs/FLOW.md in-process and over the real binaries, failures across
//! the program boundaries, the proxy on PostgreSQL, and loopd and the `loop`
//! CLI against the real proxy, swap server and mock-lnd. The stacks it runs
//! on are `testkit`'s. This library is empty.
#![forbid(unsafe_code)]

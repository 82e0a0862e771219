//! Waiting for something to become true, with a deadline instead of a sleep.
//!
//! Every wait in the suite and the demo polls a condition at a short interval
//! and gives up with a message naming what it waited for, so a broken test
//! fails in seconds with a reason instead of hanging or racing.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::{sleep, Instant};

/// How often a condition is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The condition did not hold before the deadline.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}")]
pub struct WaitTimeout {
    /// What was waited for.
    pub what: String,
    /// How long it was waited for.
    pub timeout: Duration,
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(WaitTimeout {
                what: what.to_owned(),
                timeout,
            });
        }
        sleep(POLL_INTERVAL).await;
    }
}

/// Waits until a TCP listener accepts connections at `addr`.
pub async fn port_open(addr: SocketAddr, timeout: Duration) -> Result<(), WaitTimeout> {
    until(&format!("a listener at {addr}"), timeout, || async move {
        tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())
    })
    .await
}

/// Waits until a file exists (e.g. a `tls.cert` written by a starting program).
pub async fn file_exists(path: &std::path::Path, timeout: Duration) -> Result<(), WaitTimeout> {
    until(
        &format!("file {}", path.display()),
        timeout,
        || async move { path.exists().then_some(()) },
    )
    .await
}

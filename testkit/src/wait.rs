//! Waiting for something to become true, with a deadline instead of a sleep.
//!
//! Every wait in the tests and the demo polls a condition at a short interval
//! and gives up with a message naming what it waited for, so a broken test
//! fails in seconds with a reason instead of hanging or racing.
//!
//! - [`until`]: poll until a check yields a value, or return a [`WaitTimeout`];
//! - [`eventually`]: poll until a condition holds, or panic (for tests);
//! - [`within`]: await one future with a deadline, or return a [`WaitTimeout`];
//! - [`port_open`] and [`file_exists`]: the two waits for a starting program.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::time::{sleep, Instant};

/// How often a condition is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A generous upper bound for one wait in a test: long enough for a loaded
/// CI machine, short enough that a broken test fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(20);

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

/// Polls `condition` until it holds; panics, naming `what`, after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let result = until(what, timeout, || {
        let holds = condition();
        async move { holds.await.then_some(()) }
    })
    .await;
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// Awaits `future`, or fails after `timeout`.
pub async fn within<F: Future>(
    what: &str,
    timeout: Duration,
    future: F,
) -> Result<F::Output, WaitTimeout> {
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| WaitTimeout {
            what: what.to_owned(),
            timeout,
        })
}

/// Waits until a TCP listener accepts connections at `addr`.
pub async fn port_open(addr: SocketAddr, timeout: Duration) -> Result<(), WaitTimeout> {
    until(&format!("a listener at {addr}"), timeout, || async move {
        tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())
    })
    .await
}

/// Waits until a file exists (e.g. a `tls.cert` written by a starting program).
pub async fn file_exists(path: &Path, timeout: Duration) -> Result<(), WaitTimeout> {
    until(
        &format!("file {}", path.display()),
        timeout,
        || async move { path.exists().then_some(()) },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn until_returns_the_first_value() {
        let mut calls = 0;
        let value = until("three calls", WAIT, || {
            calls += 1;
            let done = calls >= 3;
            async move { done.then_some(calls) }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn until_names_what_timed_out() {
        let error = until("nothing", Duration::from_millis(30), || async {
            None::<()>
        })
        .await
        .unwrap_err();
        assert!(error.to_string().contains("waiting for nothing"), "{error}");
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for never")]
    async fn eventually_panics_after_the_deadline() {
        eventually(Duration::from_millis(30), "never", || async { false }).await;
    }

    #[tokio::test]
    async fn within_times_out() {
        let error = within(
            "a pending future",
            Duration::from_millis(10),
            std::future::pending::<()>(),
        )
        .await
        .unwrap_err();
        assert_eq!(error.timeout, Duration::from_millis(10));
    }
}

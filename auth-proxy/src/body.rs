//! The client's request body as the proxy forwards it: bounded in time, and able to tell whose fault a
//! failed forward was.
//!
//! A client that sends its body slowly must not hold a connection and a backend request forever, so each
//! frame must arrive within `timeout` of the previous one (as nginx's `client_body_timeout`). And when the
//! body breaks off — a malformed chunked encoding, a reset stream, the deadline — the backend request fails
//! too; [`ClientBody::failure`] then says it was the client, so the proxy answers 400 or 408 rather than
//! blaming the backend with 502.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// Why the client's body could not be read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFailure {
    /// The body was malformed or the client broke it off.
    Malformed,
    /// No frame arrived within the body timeout.
    TimedOut,
}

/// The error the forwarded body ends with.
#[derive(Debug, thiserror::Error)]
pub enum ClientBodyError {
    /// Reading the client's body failed.
    #[error("reading the request body failed: {0}")]
    Read(#[from] hyper::Error),
    /// The client stopped sending its body.
    #[error("the request body timed out")]
    TimedOut,
}

/// The client's body with a deadline between frames.
#[derive(Debug)]
pub struct ClientBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    failure: Arc<OnceLock<BodyFailure>>,
}

impl ClientBody {
    /// Wraps `inner`; each frame must arrive within `timeout` of the previous one.
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            failure: Arc::default(),
        }
    }

    /// A handle that tells, after the forward, whether the body failed and why.
    pub fn failure(&self) -> Arc<OnceLock<BodyFailure>> {
        Arc::clone(&self.failure)
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = Instant::now() + this.timeout;
                this.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                let _ = this.failure.set(BodyFailure::Malformed);
                Poll::Ready(Some(Err(ClientBodyError::Read(error))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let _ = this.failure.set(BodyFailure::TimedOut);
                    Poll::Ready(Some(Err(ClientBodyError::TimedOut)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! The client's request body as the proxy forwards it: bounded in time, and able to tell whose fault a
//! failed forward was.
//!
//! A client that sends its body slowly must not hold a connection and a backend request forever, so each
//! frame must arrive within `timeout` of the previous one, the first within `timeout` of the proxy starting
//! to read (as nginx's `client_body_timeout`). And when the body breaks off — a malformed chunked encoding, a
//! reset stream, the deadline — the backend request fails too; [`ClientBody::failure`] then says it was the
//! client, so the proxy answers 400 or 408 rather than blaming the backend with 502.
//!
//! The first bytes can be read ahead ([`ClientBody::buffer_prefix`], for a price server that prices by the
//! body) and are then replayed, so the backend still receives every byte.
//!
//! When the proxy answers an HTTP/2 request before its body has ended (a challenge, an error, a backend that
//! answered early), dropping the body would end the client's stream with `RST_STREAM(NO_ERROR)`. RFC 9113
//! §8.1 allows that, but some clients lose the answer they were just given: curl 7.88 (Debian 12's) reports
//! "Empty reply from server". So a body dropped before its end is read on and discarded in the background,
//! as nginx discards an unread body, until it ends normally — bounded by [`DISCARD_MAX_BYTES`] and
//! [`DISCARD_FOR`], after which it is reset as before.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
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

/// The most of an unfinished HTTP/2 request body that is read and discarded once nobody needs it.
pub const DISCARD_MAX_BYTES: usize = 64 * 1024;

/// How long the rest of an unfinished HTTP/2 request body is read and discarded at most.
pub const DISCARD_FOR: Duration = Duration::from_secs(1);

/// The client's body with a deadline between frames.
#[derive(Debug)]
pub struct ClientBody {
    /// Always present until the body is dropped (taken then by the discarding task).
    inner: Option<Incoming>,
    /// HTTP/2: an unfinished body is discarded rather than reset when dropped.
    http2: bool,
    timeout: Duration,
    /// Armed when the proxy first waits for a frame, reset by each frame.
    deadline: Option<Pin<Box<Sleep>>>,
    failure: Arc<OnceLock<BodyFailure>>,
    /// Frames read ahead by [`ClientBody::buffer_prefix`], sent before anything else.
    replay: VecDeque<Frame<Bytes>>,
}

impl ClientBody {
    /// Wraps `inner`, the body of an HTTP/2 request if `http2`; each frame must arrive within `timeout` of the
    /// previous one.
    pub fn new(inner: Incoming, http2: bool, timeout: Duration) -> Self {
        Self {
            inner: Some(inner),
            http2,
            timeout,
            deadline: None,
            failure: Arc::default(),
            replay: VecDeque::new(),
        }
    }

    /// Reads ahead until `max` bytes of data (or the whole body, if shorter) have arrived, and returns at most
    /// `max` of them. What was read is kept and sent first when the body is forwarded.
    pub async fn buffer_prefix(&mut self, max: usize) -> Result<Bytes, BodyFailure> {
        let mut prefix = BytesMut::new();
        let mut read = 0;
        while read < max && !self.inner_ended() {
            match std::future::poll_fn(|cx| self.poll_inner(cx)).await {
                None => break,
                Some(Err(_)) => {
                    return Err(self
                        .failure
                        .get()
                        .copied()
                        .unwrap_or(BodyFailure::Malformed))
                }
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read += data.len();
                        let take = data.len().min(max - prefix.len());
                        prefix.extend_from_slice(&data[..take]);
                    }
                    let trailers = frame.is_trailers();
                    self.replay.push_back(frame);
                    if trailers {
                        break;
                    }
                }
            }
        }
        Ok(prefix.freeze())
    }

    fn inner_ended(&self) -> bool {
        self.inner.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn poll_inner(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(deadline) = self.deadline.as_mut() {
                    deadline.as_mut().reset(Instant::now() + self.timeout);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                let _ = self.failure.set(BodyFailure::Malformed);
                Poll::Ready(Some(Err(ClientBodyError::Read(error))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self
                .deadline
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(self.timeout)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => {
                    let _ = self.failure.set(BodyFailure::TimedOut);
                    Poll::Ready(Some(Err(ClientBodyError::TimedOut)))
                }
                Poll::Pending => Poll::Pending,
            },
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
        if let Some(frame) = this.replay.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        this.poll_inner(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.replay.is_empty() && self.inner_ended()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self
            .inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Incoming::size_hint);
        let buffered: u64 = self
            .replay
            .iter()
            .filter_map(|frame| frame.data_ref())
            .map(|data| data.len() as u64)
            .sum();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + buffered);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + buffered);
        }
        hint
    }
}

impl Drop for ClientBody {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        // A body that failed is reset at once: that is the answer to a broken or stalled client.
        if !self.http2 || inner.is_end_stream() || self.failure.get().is_some() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(discard(inner));
        }
    }
}

/// Reads `body` to its end and throws it away, for at most [`DISCARD_FOR`] and [`DISCARD_MAX_BYTES`]; a body
/// still unfinished then is dropped, which resets its stream.
async fn discard(mut body: Incoming) {
    let read_to_end = async {
        let mut read = 0;
        while read <= DISCARD_MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                None | Some(Err(_)) => return,
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_FOR, read_to_end).await;
}

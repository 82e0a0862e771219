//! The main listener: accepts TCP connections and hands each to a serving worker ([`crate::workers`]), which
//! terminates TLS (unless `insecure`), serves HTTP/1.1 and HTTP/2 on the same port (hyper-util's auto builder:
//! h2 by ALPN or by the h2c preface); drains on shutdown.
//!
//! Every resource a client can make the listener hold before paying anything is bounded
//! ([`ConnectionLimits`]): open connections in all and per client address (beyond them a new connection is
//! closed at once, with one warning per second at most, while the admin and metrics listeners keep
//! serving); the time from accept to the first complete request head, TLS handshake included; the wait for
//! the next request on a kept-alive HTTP/1.1 connection; an HTTP/2 connection with no request in progress;
//! and the size of a request's header block in both protocols.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::config::ConnectionLimits;
use crate::forward::Backends;
use crate::pipeline::Pipeline;
use crate::responses::ProxyBody;
use crate::workers::{Job, Workers};

/// Serves `listener` with `workers` until `shutdown` resolves, then stops accepting and gives in-flight
/// requests `grace` to finish before returning (connections still open then are dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    pipeline: Arc<Pipeline>,
    mut workers: Workers,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    limits: ConnectionLimits,
) {
    let graceful = GracefulShutdown::new();
    let builder = http_builder(&limits);
    let acceptor = tls.map(TlsAcceptor::from);
    let admission = Arc::new(Admission::new(limits));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually EMFILE: back off briefly instead of spinning.
                    tracing::warn!(error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = admission.admit(peer.ip().to_canonical()) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Leaves this runtime's reactor; the worker registers it with its own.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(error = %error, %peer, "cannot hand the connection to a worker");
                continue;
            }
        };
        let connection = Connection {
            builder: builder.clone(),
            peer,
            pipeline: Arc::clone(&pipeline),
            watcher: graceful.watcher(),
            tls: acceptor.clone(),
            first_request_by: Instant::now() + limits.request_head_timeout,
            idle_timeout: limits.idle_timeout,
            _slot: slot,
        };
        let job: Job = Box::new(move |backends| Box::pin(connection.run(stream, backends)));
        if workers.dispatch(job).is_err() {
            tracing::error!("no serving worker is running; not accepting connections");
            break;
        }
    }
    drop(listener);
    tracing::info!(grace = ?grace, "shutting down: no new connections, draining in-flight requests");
    workers.close();
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing remaining connections");
    }
    workers.halt();
    workers.stopped().await;
}

/// The HTTP/1.1 + HTTP/2 server settings for `limits`.
fn http_builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper answers 431 to a head larger than its read buffer, whose minimum is 8 KiB.
    let head_buffer = limits.max_header_bytes.max(8 * 1024);
    builder
        .http1()
        .timer(TokioTimer::new())
        // Also bounds the wait for the next request on a kept-alive connection.
        .header_read_timeout(limits.request_head_timeout)
        .max_buf_size(head_buffer);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        // Peers that stop answering pings are dead: close their connections.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

/// Counts open connections, in all and per client address.
struct Admission {
    limits: ConnectionLimits,
    open: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
    last_warning: Mutex<Option<Instant>>,
}

/// One admitted connection; dropping it frees its place.
struct Slot {
    admission: Arc<Admission>,
    client: IpAddr,
}

impl Admission {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            open: Mutex::default(),
            total: AtomicUsize::new(0),
            last_warning: Mutex::new(None),
        }
    }

    /// A place for a connection from `client`, or `None` when a cap is reached (warned about).
    fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let total = self.total.load(Ordering::Relaxed);
        let from_client = open.get(&client).copied().unwrap_or(0);
        let refused = if total >= self.limits.max {
            Some(("connections.max", self.limits.max))
        } else if from_client >= self.limits.max_per_client {
            Some(("connections.maxperclient", self.limits.max_per_client))
        } else {
            None
        };
        if let Some((key, limit)) = refused {
            drop(open);
            self.warn(client, key, limit);
            return None;
        }
        open.insert(client, from_client + 1);
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            admission: Arc::clone(self),
            client,
        })
    }

    /// At most one warning a second, so that a flood does not become a log flood.
    fn warn(&self, client: IpAddr, key: &str, limit: usize) {
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1)) {
            *last = Some(now);
            tracing::warn!(%client, limit, "connection refused: {key} reached");
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
        self.admission.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One client connection and its deadlines.
struct Connection {
    builder: auto::Builder<TokioExecutor>,
    peer: SocketAddr,
    pipeline: Arc<Pipeline>,
    watcher: hyper_util::server::graceful::Watcher,
    /// The TLS handshake to make first, unless `insecure`.
    tls: Option<TlsAcceptor>,
    first_request_by: Instant,
    idle_timeout: Duration,
    /// The connection's place under the connection caps, freed when it is dropped.
    _slot: Slot,
}

impl Connection {
    /// Runs on the worker given `stream` (registered with the worker's reactor here): the TLS handshake
    /// (within the first request's deadline), then [`Connection::serve`].
    async fn run(mut self, stream: std::net::TcpStream, backends: Arc<Backends>) {
        let peer = self.peer;
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(error = %error, %peer, "worker cannot take the connection");
                return;
            }
        };
        let Some(acceptor) = self.tls.take() else {
            return self.serve(stream, backends).await;
        };
        match tokio::time::timeout_at(self.first_request_by, acceptor.accept(stream)).await {
            Ok(Ok(tls_stream)) => self.serve(tls_stream, backends).await,
            Ok(Err(error)) => tracing::debug!(error = %error, %peer, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    }

    /// Serves `stream` with the worker's `backends` until the client closes it, a deadline passes, or the
    /// proxy shuts down.
    async fn serve<S>(self, stream: S, backends: Arc<Backends>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            builder,
            peer,
            pipeline,
            watcher,
            first_request_by,
            idle_timeout,
            tls: _,
            // Held until the connection ends.
            _slot,
        } = self;
        let activity = Arc::new(Activity::default());
        let service = {
            let activity = Arc::clone(&activity);
            service_fn(move |request| {
                let pipeline = Arc::clone(&pipeline);
                let backends = Arc::clone(&backends);
                let guard = activity.start();
                // Boxed: hyper moves the service's future into the request's task (HTTP/2: a task per
                // stream), and a box moves as a pointer where the pipeline's future is kilobytes.
                Box::pin(async move {
                    let response = pipeline.handle(request, peer, &backends).await;
                    // The request stays in progress until its response body has been sent.
                    Ok::<_, std::convert::Infallible>(response.map(|body| Tracked {
                        inner: body,
                        _guard: guard,
                    }))
                })
            })
        };
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = watcher.watch(connection);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = &mut connection => result,
            reason = activity.expired(first_request_by, idle_timeout) => {
                tracing::debug!(%peer, reason, "closing connection");
                return;
            }
        };
        if let Err(error) = result {
            tracing::debug!(error = %error, %peer, "connection ended with an error");
        }
    }
}

/// What a connection is doing: requests in progress, when the last one ended, whether one ever came.
///
/// Starting and ending a request only updates the state: nobody is woken. The watcher ([`Activity::expired`])
/// sleeps until the earliest moment the connection could expire and looks again then, so that a busy
/// kept-alive connection costs no wake-up and no timer per request.
#[derive(Default)]
struct Activity {
    state: Mutex<ActivityState>,
}

#[derive(Default)]
struct ActivityState {
    in_progress: usize,
    requests: u64,
    idle_since: Option<Instant>,
}

/// A request in progress; dropping it (its response body sent or abandoned) ends it.
struct InProgress(Arc<Activity>);

impl Activity {
    fn start(self: &Arc<Self>) -> InProgress {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.in_progress += 1;
        state.requests += 1;
        drop(state);
        InProgress(Arc::clone(self))
    }

    /// What to do at `now`: expire (and why), or look again at the returned instant, before which the
    /// connection cannot expire.
    fn check(
        &self,
        now: Instant,
        first_request_by: Instant,
        idle_timeout: Duration,
    ) -> Result<&'static str, Instant> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (at, reason) = match (state.requests, state.in_progress, state.idle_since) {
            (0, _, _) => (first_request_by, "no request in time"),
            (_, 0, Some(since)) => (since + idle_timeout, "idle"),
            // A request in progress: idle at the earliest `idle_timeout` after it ends, so after now.
            _ => return Err(now + idle_timeout),
        };
        if at <= now {
            Ok(reason)
        } else {
            Err(at)
        }
    }

    /// Completes when no request has come by `first_request_by`, or when no request has been in progress
    /// for `idle_timeout`; returns which.
    async fn expired(&self, first_request_by: Instant, idle_timeout: Duration) -> &'static str {
        let sleep = tokio::time::sleep_until(first_request_by);
        tokio::pin!(sleep);
        loop {
            sleep.as_mut().await;
            match self.check(Instant::now(), first_request_by, idle_timeout) {
                Ok(reason) => return reason,
                Err(next) => sleep.as_mut().reset(next),
            }
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        state.in_progress -= 1;
        if state.in_progress == 0 {
            state.idle_since = Some(Instant::now());
        }
    }
}

/// A response body that keeps its request counted as in progress until it is done.
struct Tracked {
    inner: ProxyBody,
    _guard: InProgress,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_millis(100);

    #[test]
    fn a_connection_without_a_request_expires_at_its_first_request_deadline() {
        let activity = Activity::default();
        let now = Instant::now();
        let by = now + Duration::from_secs(1);
        assert_eq!(activity.check(now, by, IDLE), Err(by));
        assert_eq!(activity.check(by, by, IDLE), Ok("no request in time"));
    }

    #[test]
    fn a_request_in_progress_keeps_the_connection_and_idleness_counts_from_its_end() {
        let activity = Arc::new(Activity::default());
        let start = Instant::now();
        let by = start + Duration::from_millis(10);
        let request = activity.start();
        // Long after both deadlines, a request still in progress is not idle.
        let later = start + Duration::from_secs(5);
        assert_eq!(activity.check(later, by, IDLE), Err(later + IDLE));
        drop(request);
        let ended = activity.state.lock().unwrap().idle_since.unwrap();
        assert_eq!(activity.check(ended, by, IDLE), Err(ended + IDLE));
        assert_eq!(activity.check(ended + IDLE, by, IDLE), Ok("idle"));
        // A new request pushes idleness back.
        let again = activity.start();
        assert!(activity.check(ended + IDLE, by, IDLE).is_err());
        drop(again);
    }

    #[tokio::test]
    async fn the_watcher_waits_out_long_requests_and_then_the_idle_time() {
        let activity = Arc::new(Activity::default());
        let request = activity.start();
        let started = Instant::now();
        let watcher = activity.expired(started, IDLE);
        tokio::pin!(watcher);
        // In progress for three idle periods: not expired.
        assert!(
            tokio::time::timeout(IDLE * 3, watcher.as_mut())
                .await
                .is_err(),
            "expired while a request was in progress"
        );
        drop(request);
        let ended = Instant::now();
        assert_eq!(watcher.await, "idle");
        assert!(ended.elapsed() >= IDLE);
        assert!(ended.elapsed() < IDLE * 5);
    }
}

//! A node's REST listener: TCP, TLS with the node's `tls.cert` (unless `--no-rest-tls`), HTTP/1.1
//! and HTTP/2 on the same port (by ALPN, or by the h2c preface in plaintext).
//!
//! What a client can make it hold is bounded: [`MAX_CONNECTIONS`] open connections (more are
//! closed at once) with at most [`MAX_STREAMS_PER_CONNECTION`] requests each (HTTP/2),
//! [`HANDSHAKE_TIMEOUT`] for the TLS handshake and for each request head, [`MAX_HEADER_BYTES`] of
//! request head, and [`super::MAX_BODY_BYTES`] of body per request. Connections are
//! [`KillableIo`], so taking the node offline closes them with its gRPC ones.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::error::MockLndError;
use crate::server::KillableIo;

/// Open connections served at once; more are closed when accepted.
pub const MAX_CONNECTIONS: usize = 256;
/// Requests in progress at once on one HTTP/2 connection.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 16;
/// Time for the TLS handshake, and for each request head.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head (request line and headers) read, in bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// TLS with a node's PEM certificate and key, offering HTTP/2 and HTTP/1.1.
pub(crate) fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsAcceptor, MockLndError> {
    let identity = service_kit::tls::Identity {
        cert_pem: cert_pem.to_vec(),
        key_pem: key_pem.to_vec(),
    };
    let config = service_kit::tls::server_config(&identity, &[b"h2", b"http/1.1"])
        .map_err(|e| MockLndError::Tls(e.to_string()))?;
    Ok(TlsAcceptor::from(config))
}

/// Serves `app` on `listener` until `stop` is cancelled, with TLS when `tls` is given.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    stop: CancellationToken,
) {
    let builder = http_builder();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually EMFILE: back off briefly instead of spinning.
                    tracing::warn!(error = %error, "REST accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "REST connection limit reached; closing a new connection");
            continue;
        };
        let stream = KillableIo::new(stream, stop.clone());
        let (builder, app, tls) = (builder.clone(), app.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(&builder, stream, app).await,
                Some(tls) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(&builder, stream, app).await,
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, error = %error, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// HTTP/1.1 + HTTP/2 with the head limits.
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        // hyper answers 431 to a head larger than its read buffer.
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    builder
}

async fn serve_connection<S>(builder: &auto::Builder<TokioExecutor>, stream: S, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    if let Err(error) = builder
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(error = %error, "REST connection ended with an error");
    }
}

//! One node's listeners, gRPC and (when asked for) REST, which can be stopped ("offline") and
//! restarted on the same addresses.
//!
//! Both serve the node's [`GrpcStack`], built here once per start: the REST gateway calls it
//! in-process. Connections are wrapped in [`KillableIo`]: when the node goes offline, every open
//! connection (including long-lived streams such as `SubscribeInvoices`) fails at once, and the
//! listening sockets are closed, so clients see exactly what they would see if lnd went down.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt as _;
use proto::invoicesrpc::invoices_server::InvoicesServer;
use proto::lnrpc::lightning_server::LightningServer;
use proto::routerrpc::router_server::RouterServer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt as _;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::service::Routes;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::error::MockLndError;
use crate::macaroon::{required_permission, MacaroonService};
use crate::rpc::invoices::InvoicesService;
use crate::rpc::lightning::LightningService;
use crate::rpc::router::RouterService;
use crate::rpc::NodeContext;
use lnd_client::macaroon_auth::{MacaroonAuth, MacaroonAuthLayer};

/// A node's gRPC services behind its macaroon check: what its gRPC listener serves and what its
/// REST gateway calls.
pub(crate) type GrpcStack = MacaroonAuth<Routes>;

/// A node's REST listener.
pub(crate) struct RestListener {
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// TLS with the node's certificate, or plaintext.
    pub tls: Option<TlsAcceptor>,
}

impl RestListener {
    /// Its base URL: `https://ADDR`, or `http://ADDR` in plaintext.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

/// Everything needed to (re)start a node's servers.
pub(crate) struct NodeServer {
    pub addr: SocketAddr,
    /// The REST listener, if the node has one.
    pub rest: Option<RestListener>,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    ctx: NodeContext,
    macaroons: Arc<MacaroonService>,
    /// The network's shutdown token; each run uses a child of it.
    shutdown: CancellationToken,
    running: tokio::sync::Mutex<Option<Running>>,
}

struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl NodeServer {
    /// A node serving gRPC on `addr` (with TLS when `tls` holds the PEM certificate and key) and
    /// REST when `rest` is given.
    pub fn new(
        addr: SocketAddr,
        tls: Option<(Vec<u8>, Vec<u8>)>,
        rest: Option<RestListener>,
        ctx: NodeContext,
        macaroons: Arc<MacaroonService>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            addr,
            rest,
            tls,
            ctx,
            macaroons,
            shutdown,
            running: tokio::sync::Mutex::new(None),
        }
    }

    /// Serves gRPC on `listener` (already bound to `self.addr`) and REST on `rest_listener` (bound
    /// to the REST address, when the node has one) until stopped.
    pub async fn start(
        &self,
        listener: TcpListener,
        rest_listener: Option<TcpListener>,
    ) -> Result<(), MockLndError> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let mut builder = Server::builder();
        if let Some((cert, key)) = &self.tls {
            let tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
            builder = builder
                .tls_config(tls)
                .map_err(|e| MockLndError::Tls(e.to_string()))?;
        }
        let auth = MacaroonAuthLayer::new(self.macaroons.clone(), required_permission);
        let routes = Routes::new(LightningServer::new(LightningService::new(
            self.ctx.clone(),
        )))
        .add_service(RouterServer::new(RouterService::new(self.ctx.clone())))
        .add_service(InvoicesServer::new(InvoicesService::new(self.ctx.clone())));
        let stop = self.shutdown.child_token();
        let mut tasks = Vec::new();
        if let (Some(rest), Some(rest_listener)) = (&self.rest, rest_listener) {
            let app = crate::rest::router(tower::Layer::layer(&auth, routes.clone()));
            tasks.push(tokio::spawn(crate::rest::listener::serve(
                rest_listener,
                rest.tls.clone(),
                app,
                stop.clone(),
            )));
        }
        let router = builder.layer(auth).add_routes(routes);
        let kill = stop.clone();
        let incoming = TcpListenerStream::new(listener)
            .map(move |conn| conn.map(|stream| KillableIo::new(stream, kill.clone())));
        let signal = stop.clone().cancelled_owned();
        let addr = self.addr;
        tasks.push(tokio::spawn(async move {
            if let Err(error) = router.serve_with_incoming_shutdown(incoming, signal).await {
                tracing::error!(%addr, error = %error, "gRPC server failed");
            }
        }));
        *running = Some(Running { stop, tasks });
        Ok(())
    }

    /// Binds the node's addresses again and serves (bringing a node back online).
    pub async fn restart(&self) -> Result<(), MockLndError> {
        let listener = bind(self.addr).await?;
        let rest_listener = match &self.rest {
            Some(rest) => Some(bind(rest.addr).await?),
            None => None,
        };
        self.start(listener, rest_listener).await
    }

    /// Stops serving: closes the listener and every open connection; returns once they are gone.
    pub async fn stop(&self) {
        let running = self.running.lock().await.take();
        if let Some(running) = running {
            running.stop.cancel();
            for task in running.tasks {
                if let Err(error) = task.await {
                    tracing::error!(addr = %self.addr, error = %error, "server task panicked");
                }
            }
        }
    }
}

/// A listener on `addr`.
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, MockLndError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| MockLndError::Bind { addr, source })
}

/// A TCP connection that fails all I/O once its token is cancelled.
pub(crate) struct KillableIo {
    inner: TcpStream,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl KillableIo {
    /// `inner`, failing once `token` is cancelled.
    pub(crate) fn new(inner: TcpStream, token: CancellationToken) -> Self {
        // gRPC sends small frames; without this, Nagle + delayed ACKs add ~40 ms per call.
        if let Err(error) = inner.set_nodelay(true) {
            tracing::debug!(error = %error, "cannot set TCP_NODELAY");
        }
        Self {
            inner,
            killed: Box::pin(token.cancelled_owned()),
        }
    }

    /// Registers for wake-up on cancellation and reports whether it happened.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.killed.poll_unpin(cx).is_ready() {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "node went offline",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connected for KillableIo {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

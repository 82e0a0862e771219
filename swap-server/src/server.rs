//! Wiring: gRPC and HTTP on one listener, start-up and graceful shutdown.
//!
//! Requests whose `content-type` starts with `application/grpc` go to the
//! tonic `looprpc.SwapServer` service; everything else to the JSON routes of
//! [`crate::http`]. The listener speaks HTTP/1.1 and HTTP/2 (h2c). An optional second listener serves
//! [`crate::events`].

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request};
use axum::serve::ListenerExt;
use axum::Router;
use lnd_client::{LndClient, LndConnectError};
use service_kit::sse::Feeds;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::{Config, ConfigError};
use crate::grpc::GrpcService;
use crate::lnd::Lnd;
use crate::manager::SwapManager;
use crate::store::{Store, StoreError};

/// How long open connections may take to finish after shutdown was requested.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is incoherent.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The lnd client could not be built (unreadable macaroon or certificate).
    #[error("cannot set up the lnd client: {0}")]
    Lnd(#[from] LndConnectError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Serving failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A built server: database open, unfinished swaps resumed, ready to serve.
#[derive(Debug)]
pub struct Server {
    manager: SwapManager,
    store: Store,
    stop: CancellationToken,
    events: Option<TcpListener>,
}

impl Server {
    /// Validates `config`, opens and migrates the database, prepares the lnd
    /// client (lazily connected) and resumes every unfinished swap.
    pub async fn build(config: Config) -> Result<Self, ServerError> {
        config.validate()?;
        let client = LndClient::connect(&config.lnd).await?;
        let store = Store::connect(&config.database_url).await?;
        let stop = CancellationToken::new();
        let manager =
            SwapManager::start(config, store.clone(), Lnd::new(client), stop.clone()).await?;
        Ok(Self {
            manager,
            store,
            stop,
            events: None,
        })
    }

    /// Also serves the operator's feed of every swap's updates ([`crate::events`]) on `listener`.
    pub fn with_events(mut self, listener: TcpListener) -> Self {
        self.events = Some(listener);
        self
    }

    /// The swap service behind both front ends.
    pub fn manager(&self) -> &SwapManager {
        &self.manager
    }

    /// One router for both protocols, dispatching on `content-type`.
    pub fn router(&self) -> Router {
        let grpc =
            tonic::service::Routes::new(GrpcService::new(self.manager.clone()).into_server())
                .into_axum_router();
        let json = crate::http::router(self.manager.clone());
        let dispatch = tower::service_fn(move |request: Request<Body>| {
            let is_grpc = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/grpc"));
            let target = if is_grpc { grpc.clone() } else { json.clone() };
            target.oneshot(request)
        });
        Router::new().fallback_service(dispatch)
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting,
    /// ends update streams and swap tasks, and drains open connections for
    /// at most a grace period.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let app = self.router();
        tracing::info!(addr = %listener.local_addr()?, "swap server listening (gRPC and HTTP)");
        let events = self.events.map(|listener| {
            let feeds = Feeds::new(crate::events::MAX_UPDATE_STREAMS);
            let router = crate::events::router(self.manager.clone(), feeds.clone());
            let stop = self.stop.clone();
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "swap updates feed listening (no authentication)");
            }
            tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        stop.cancelled().await;
                        // Update streams never end by themselves.
                        feeds.close();
                    })
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "swap updates feed failed");
                }
            })
        });
        let stop = self.stop.clone();
        let (stopping_tx, stopping_rx) = oneshot::channel::<()>();
        // Without TCP_NODELAY, small gRPC frames wait for delayed ACKs (~40 ms a call).
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::warn!(%error, "cannot set TCP_NODELAY");
            }
        });
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
            let _ = stopping_tx.send(());
        });
        let drain_deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(DRAIN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = serve => served?,
            _ = drain_deadline => tracing::warn!("drain grace period over, closing remaining connections"),
        }
        if let Some(events) = events {
            let _ = events.await;
        }
        self.manager.shutdown().await;
        self.store.close().await;
        tracing::info!("swap server stopped");
        Ok(())
    }
}

/// Builds a [`Server`] from `config` and serves on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::build(config).await?.serve(listener, shutdown).await
}

//! loopd: builds the L402 client, the swap server client and the swap
//! manager, resumes unfinished swaps, and serves `looprpc.SwapClient`.
//!
//! [`run`] takes an already-bound listener and a shutdown future, so tests
//! run a whole daemon in-process on port 0.

mod rpc;

use std::future::Future;
use std::sync::Arc;

use lnd_client::{LndClient, LndConnectError};
use proto::looprpc::swap_client_server::SwapClientServer;
use proto::looprpc::swap_server_client::SwapServerClient;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{DaemonConfig, ServerTls, SHUTDOWN_GRACE};
use crate::db::{DbError, SwapDb};
use crate::swap::{SwapError, SwapManager};
use l402_client::{L402Client, L402Config, L402Error, L402Layer, LndPayer, StoreError, TokenStore};

/// File name of loopd's SQLite database (Loop's).
pub const DB_FILE: &str = "loop_sqlite.db";

/// Why loopd could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// lnd's files are unusable (the node itself is reached lazily).
    #[error("lnd: {0}")]
    Lnd(#[source] LndConnectError),
    /// The swap server's certificate or address is unusable.
    #[error("swap server: {0}")]
    Server(#[source] LndConnectError),
    /// The token store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The L402 client could not start.
    #[error(transparent)]
    L402(#[from] L402Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Resuming swaps failed.
    #[error(transparent)]
    Swap(#[from] SwapError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// A built daemon, ready to serve.
pub struct Daemon {
    config: DaemonConfig,
    l402: L402Client,
    swaps: SwapManager,
}

impl Daemon {
    /// Opens the token store and database, prepares the connections (lazily:
    /// lnd or the server being down is reported by calls, not here) and
    /// resumes unfinished swaps.
    pub async fn build(config: DaemonConfig) -> Result<Self, DaemonError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| DaemonError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let lnd = LndClient::connect(&config.lnd)
            .await
            .map_err(DaemonError::Lnd)?;
        let store = TokenStore::open(&config.data_dir)?;
        // Token invoices must be for the network loopd runs on, however the
        // configuration was built.
        let l402_config = L402Config {
            network: config.l402.network.or(Some(config.network)),
            ..config.l402
        };
        let l402 = L402Client::new(store, Arc::new(LndPayer::new(&lnd)), l402_config)?;
        let channel = match &config.server_tls {
            ServerTls::Disabled => lnd_client::plaintext_channel(&config.server_host),
            ServerTls::Pinned(path) => {
                let pem = std::fs::read(path).map_err(|source| {
                    DaemonError::Server(LndConnectError::ReadFile {
                        path: path.clone(),
                        source,
                    })
                })?;
                lnd_client::pinned_tls_channel(&config.server_host, &pem)
            }
        }
        .map_err(DaemonError::Server)?;
        let server = SwapServerClient::new(
            tower::ServiceBuilder::new()
                .layer(L402Layer::new(l402.clone()))
                .service(channel),
        );
        let db = SwapDb::open(&config.data_dir.join(DB_FILE)).await?;
        let swaps = SwapManager::new(db, server, lnd);
        let resumed = swaps.resume().await?;
        info!(
            network = %config.network,
            data_dir = %config.data_dir.display(),
            server = %config.server_host,
            resumed,
            "loopd ready"
        );
        Ok(Self {
            config,
            l402,
            swaps,
        })
    }

    /// The L402 client (token store and stats).
    pub fn l402(&self) -> &L402Client {
        &self.l402
    }

    /// The swap manager.
    pub fn swaps(&self) -> &SwapManager {
        &self.swaps
    }

    /// Serves `looprpc.SwapClient` on `listener` until `shutdown` completes,
    /// then stops the swap tasks (their state is saved) within a grace period.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DaemonError> {
        let stop = CancellationToken::new();
        let service = rpc::SwapClientService::new(
            self.config.clone(),
            self.l402.clone(),
            self.swaps.clone(),
            stop.clone(),
        );
        let local = listener.local_addr().ok();
        info!(listen = ?local, "serving looprpc.SwapClient");
        let stopping = stop.clone();
        let result = tonic::transport::Server::builder()
            .add_service(SwapClientServer::new(service))
            .serve_with_incoming_shutdown(
                // TCP_NODELAY: small gRPC frames must not wait for delayed ACKs (~40 ms a call).
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                async move {
                    shutdown.await;
                    // Ends Monitor streams so the server can drain.
                    stopping.cancel();
                },
            )
            .await;
        stop.cancel();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.swaps.shutdown())
            .await
            .is_err()
        {
            warn!("swap tasks did not stop within the grace period");
        }
        self.swaps.db().close().await;
        info!("loopd stopped");
        Ok(result?)
    }
}

/// Builds loopd from `config` and serves on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    config: DaemonConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    Daemon::build(config).await?.serve(listener, shutdown).await
}

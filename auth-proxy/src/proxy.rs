//! [`Proxy`]: build everything from a [`Config`], then run on pre-bound [`Listeners`] until shutdown.
//!
//! ```no_run
//! # async fn demo(config: auth_proxy::Config) -> Result<(), Box<dyn std::error::Error>> {
//! let listeners = auth_proxy::Listeners::bind(&config).await?;
//! let proxy = auth_proxy::Proxy::build(config).await?;
//! let handle = proxy.handle(); // revoke tokens, read decisions and metrics
//! proxy.run(listeners, async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::admin::{admin_router, metrics_router, AdminAuth, MAX_DECISION_STREAMS};
use crate::authenticate::Authenticator;
use crate::challenge::Challenger;
use crate::config::{Config, ConnectionLimits, DatabaseConfig};
use crate::decision::Decisions;
use crate::files::FileError;
use crate::forward::{Backends, UpstreamSetupError};
use crate::handle::ProxyHandle;
use crate::lnd::{Invoices, Settlements};
use crate::metrics::Metrics;
use crate::pipeline::{Gate, Pipeline, Route};
use crate::pricer::{Pricer, PricerSetupError};
use crate::ratelimit::RateLimiter;
use crate::store::{revocation, Store, StoreError};
use crate::unpaid::{spawn_sweeper, UnpaidTokens};
use crate::workers::Workers;

/// Why the proxy could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The database could not be opened or migrated.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// lnd's certificate or macaroon could not be read.
    #[error("lnd: {0}")]
    Lnd(#[from] lnd_client::LndConnectError),
    /// A backend's TLS setup failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamSetupError),
    /// A service's price server (`dynamicprice`) cannot be set up.
    #[error(transparent)]
    Pricer(#[from] PricerSetupError),
    /// TLS certificate or admin macaroon files.
    #[error("files: {0}")]
    Files(#[from] FileError),
    /// The serving threads could not be started.
    #[error("cannot start the serving workers: {0}")]
    Workers(std::io::Error),
}

/// The proxy's sockets, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// The L402 proxy itself.
    pub proxy: TcpListener,
    /// Prometheus `/metrics`, if served.
    pub metrics: Option<TcpListener>,
    /// The admin API, if served.
    pub admin: Option<TcpListener>,
}

impl Listeners {
    /// Binds the addresses in `config` (`listenaddr`, `prometheus.listenaddr` when enabled, `admin.listenaddr`
    /// when enabled).
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        let proxy = TcpListener::bind(&config.listen_addr).await?;
        let metrics = match &config.prometheus_listen_addr {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let admin = match config.admin.enabled {
            true => Some(TcpListener::bind(&config.admin.listen_addr).await?),
            false => None,
        };
        if let Some(addr) = admin.as_ref().and_then(|l| l.local_addr().ok()) {
            if !addr.ip().is_loopback() {
                tracing::warn!(%addr, "admin API listens beyond loopback; its macaroon is all that protects it");
            }
        }
        Ok(Listeners {
            proxy,
            metrics,
            admin,
        })
    }
}

/// A built proxy, ready to run.
#[derive(Debug)]
pub struct Proxy {
    pipeline: Arc<Pipeline>,
    workers: Workers,
    tls: Option<Arc<ServerConfig>>,
    admin: Option<AdminAuth>,
    handle: ProxyHandle,
    store: Store,
    background: DropGuard,
    grace: Duration,
    connections: ConnectionLimits,
}

impl Proxy {
    /// Opens the store (running migrations), connects (lazily) to lnd, prepares TLS, backends and the admin
    /// macaroon. Fails on configuration the proxy cannot run with; lnd being down is not such a failure
    /// (challenges then answer 503 until it is back).
    pub async fn build(config: Config) -> Result<Proxy, BuildError> {
        for key in &config.ignored_aperture_keys {
            tracing::warn!(key = %key, "Aperture config key is not supported by auth-proxy and has no effect");
        }
        let metrics = Metrics::new();
        let tls = crate::tls::server_config(&config.tls, config.server_name.as_deref())?;
        let store = Store::connect(&config.database, metrics.clone()).await?;
        // Background tasks stop when the proxy is dropped — or when building fails half-way.
        let background = CancellationToken::new();
        let guard = background.clone().drop_guard();
        if let DatabaseConfig::Postgres(pg) = &config.database {
            let url = crate::store::postgres_url(pg);
            revocation::spawn_listener(url, Arc::clone(store.cache()), background.child_token())
                .await;
        }
        let gate = gate(&config, &store, &metrics, &background).await?;
        let routes = config
            .services
            .iter()
            .map(|service| {
                let pricer = service
                    .dynamic_price
                    .as_ref()
                    .map(|dynamic| Pricer::new(&service.name, dynamic))
                    .transpose()?;
                Ok(Route {
                    pricer,
                    limiter: RateLimiter::new(service.rate_limits.clone()),
                    freebies: Default::default(),
                    config: service.clone(),
                })
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        let backends = (0..config.workers)
            .map(|_| Backends::new(&config.services))
            .collect::<Result<Vec<_>, _>>()?;
        let workers = Workers::start(backends).map_err(BuildError::Workers)?;
        let admin = match config.admin.enabled {
            true => Some(AdminAuth::load_or_create(
                &config.base_dir,
                &config.admin.macaroon_path,
            )?),
            false => None,
        };
        let decisions = Decisions::default();
        let handle = ProxyHandle {
            store: store.clone(),
            decisions: decisions.clone(),
            metrics: metrics.clone(),
        };
        let pipeline = Arc::new(Pipeline {
            blocklist: config.blocklist.clone(),
            routes,
            gate,
            metrics,
            decisions,
            body_timeout: config.connections.body_timeout,
            challenge_budget: config
                .challenge_limit
                .clone()
                .map(|rule| RateLimiter::new(vec![rule])),
        });
        Ok(Proxy {
            pipeline,
            workers,
            tls,
            admin,
            handle,
            store,
            background: guard,
            grace: config.shutdown_grace,
            connections: config.connections,
        })
    }

    /// A handle to revoke tokens and read decisions and metrics, usable while the proxy runs.
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish within the grace
    /// period, stops background tasks and closes the database.
    pub async fn run(self, listeners: Listeners, shutdown: impl Future<Output = ()> + Send) {
        let stop = CancellationToken::new();
        let decision_streams = service_kit::sse::Feeds::new(MAX_DECISION_STREAMS);
        let mut side_doors = Vec::new();
        if let Some(listener) = listeners.metrics {
            side_doors.push(tokio::spawn(serve_router(
                "metrics",
                listener,
                metrics_router(self.handle.metrics.clone()),
                stop.clone(),
            )));
        }
        match (listeners.admin, self.admin) {
            (Some(listener), Some(auth)) => {
                side_doors.push(tokio::spawn(serve_router(
                    "admin API",
                    listener,
                    admin_router(auth, self.handle.clone(), decision_streams.clone()),
                    stop.clone(),
                )));
            }
            (Some(_), None) => {
                tracing::warn!("admin listener given but admin.enabled is false; not serving it")
            }
            _ => {}
        }
        if let Ok(addr) = listeners.proxy.local_addr() {
            tracing::info!(%addr, tls = self.tls.is_some(), workers = self.workers.len(), "auth-proxy listening");
        }
        crate::server::serve(
            listeners.proxy,
            self.tls,
            self.pipeline,
            self.workers,
            shutdown,
            self.grace,
            self.connections,
        )
        .await;
        stop.cancel();
        // The side doors wait for their open answers; the decision streams would never end by themselves.
        decision_streams.close();
        for task in side_doors {
            let _ = task.await;
        }
        drop(self.background);
        self.store.close().await;
        tracing::info!("auth-proxy stopped");
    }
}

/// The L402 machinery (invoices, verification, settlement tracking), unless the authenticator is disabled.
async fn gate(
    config: &Config,
    store: &Store,
    metrics: &Metrics,
    background: &CancellationToken,
) -> Result<Option<Gate>, BuildError> {
    let lnd_config = match (&config.authenticator.lnd, config.authenticator.disable) {
        (Some(lnd_config), false) => lnd_config,
        _ => {
            tracing::warn!("authenticator disabled: every request is forwarded without payment");
            return Ok(None);
        }
    };
    let lnd = lnd_client::LndClient::connect(lnd_config).await?;
    let invoices = Invoices::new(lnd.clone(), metrics.clone(), config.invoice_expiry);
    let settlements = Settlements::new(store.clone(), Some(invoices.clone()));
    let following = settlements.spawn(lnd, background.child_token());
    // Do not serve before settlements are followed (bounded: lnd may be down).
    let _ = tokio::time::timeout(Duration::from_secs(5), following).await;
    let strict = config
        .strict_verify
        .then_some((settlements, config.strict_verify_timeout));
    let unpaid = Arc::new(UnpaidTokens::new(config.max_unpaid_tokens));
    // Counted before serving, so that the cap holds from the first request (the sweeper recounts later).
    if let Err(error) = unpaid.recount(store).await {
        tracing::warn!(error = %error, "cannot count unpaid tokens; counting from zero until the next sweep");
    }
    spawn_sweeper(
        store.clone(),
        Arc::clone(&unpaid),
        config.invoice_expiry,
        background.child_token(),
    );
    Ok(Some(Gate {
        authenticator: Authenticator::new(store.clone(), strict),
        challenger: Challenger::new(invoices, store.clone()),
        unpaid,
        challenge_form: config.challenge_form,
    }))
}

async fn serve_router(
    name: &'static str,
    listener: TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "{name} listening");
    }
    if let Err(error) = axum::serve(listener, router)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::error!(error = %error, "side listener failed");
    }
}

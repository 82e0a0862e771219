//! The whole system in one process: mock-lnd, swap-server, auth-proxy, loopd.
//!
//! [`Stack::start`] wires the four programs exactly as a deployment does —
//! each talks to the others over TCP on loopback, with TLS and macaroons
//! where the real ones use them — but runs them as tasks of this process on
//! ephemeral ports, with their data in a fresh temporary directory:
//!
//! ```text
//! loopd ──gRPC/TLS──▶ auth-proxy ──h2c──▶ swap-server
//!   │                     │                    │
//!   ▼                     ▼                    ▼
//! mock-lnd "client"   mock-lnd "proxy"    mock-lnd "server"
//! ```
//!
//! Tests and the demo use it to play loops, and to stop or restart a part.
//! [`StackOptions`] says what differs between them: prices and limits, the
//! proxy's store (SQLite or PostgreSQL), TLS on the proxy's listener, the
//! simulated payment latency, the swap server's confirmation delay, and
//! whether the lnd nodes also serve lnd's REST API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use auth_proxy::ProxyHandle;
use l402_client::TokenStore;
use l402_client::{L402Client, L402Config};
use mock_lnd::{MockNetwork, NodeHandle};
pub use swap_client::cli::LoopdClient;
use swap_client::cli::{self, CliError, Io, LoopArgs};
use swap_client::config::ServerTls;
use tempfile::TempDir;
use tokio::net::TcpListener;

use crate::component::Component;
use crate::loopd::LoopdSetup;
pub use crate::proxy_config::{HTTP_SERVICE_NAME, SERVICE_NAME};

/// Names of the simulated lnd nodes, one per party.
pub const CLIENT_NODE: &str = "client";
/// The auth proxy's node: it creates the token invoices.
pub const PROXY_NODE: &str = "proxy";
/// The swap server's node: it creates the swap and prepay hold invoices.
pub const SERVER_NODE: &str = "server";

/// How the stack is set up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// What the proxy charges for a token, in satoshis.
    pub token_price_sat: u64,
    /// The most loopd pays for a token automatically (`--maxl402cost`).
    pub max_token_cost_sat: u64,
    /// The proxy's database: `None` for SQLite in the stack's directory,
    /// else a PostgreSQL URL (see [`crate::postgres::fresh_database`]).
    pub proxy_postgres_url: Option<String>,
    /// TLS on the proxy's listener, its certificate pinned by loopd; `false`
    /// runs the proxy in plaintext (`insecure: true`) and loopd with
    /// `--server.notls`.
    pub proxy_tls: bool,
    /// Delay of the simulated HTLC confirmation at the swap server.
    pub confirmation_delay: Duration,
    /// How long every Lightning payment takes in mock-lnd (real ones take
    /// from a few hundred milliseconds to seconds).
    pub payment_latency: Duration,
    /// The shortest time between two re-purchases of a rejected token by loopd
    /// (`--l402rebuybackoff`).
    pub rebuy_backoff: Duration,
    /// Give every mock-lnd node a REST listener too (lnd's REST API over
    /// TLS on an ephemeral port; `stack.node(name).rest_url()`).
    pub lnd_rest: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            token_price_sat: 100,
            max_token_cost_sat: l402_client::DEFAULT_MAX_COST_SAT,
            proxy_postgres_url: None,
            proxy_tls: true,
            confirmation_delay: Duration::from_millis(200),
            payment_latency: Duration::from_millis(100),
            rebuy_backoff: l402_client::DEFAULT_REBUY_BACKOFF,
            lnd_rest: false,
        }
    }
}

/// The four programs running in this process.
pub struct Stack {
    options: StackOptions,
    dir: TempDir,
    network: Arc<MockNetwork>,
    swap_server: Component,
    swaps: swap_server::SwapManager,
    proxy: Component,
    proxy_handle: ProxyHandle,
    loopd: Component,
    l402: L402Client,
}

impl Stack {
    /// Starts everything and waits until each part listens.
    pub async fn start(options: StackOptions) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("loop-l402-").tempdir()?;
        let mut network = MockNetwork::builder()
            .datadir(dir.path().join("lnd"))
            .network("regtest")
            .node(CLIENT_NODE)
            .node(PROXY_NODE)
            .node(SERVER_NODE)
            .payment_latency(options.payment_latency);
        if options.lnd_rest {
            for node in [CLIENT_NODE, PROXY_NODE, SERVER_NODE] {
                network = network.rest(node);
            }
        }
        let network = Arc::new(network.start().await.context("starting mock-lnd")?);
        let (swap_server, swaps) = start_swap_server(
            &network.node(SERVER_NODE),
            &dir.path().join("swap-server"),
            &options,
            None,
        )
        .await?;
        let (proxy, proxy_handle) = start_proxy(
            &network.node(PROXY_NODE),
            swap_server.addr(),
            dir.path(),
            &options,
            None,
        )
        .await?;
        let (loopd, l402) = start_loopd(
            &network.node(CLIENT_NODE),
            proxy.addr(),
            dir.path(),
            &options,
            None,
        )
        .await?;
        Ok(Self {
            options,
            dir,
            network,
            swap_server,
            swaps,
            proxy,
            proxy_handle,
            loopd,
            l402,
        })
    }

    /// The simulated Lightning network.
    pub fn network(&self) -> &MockNetwork {
        &self.network
    }

    /// The same network, shared (e.g. to serve its control endpoint).
    pub fn shared_network(&self) -> Arc<MockNetwork> {
        self.network.clone()
    }

    /// One simulated lnd node ([`CLIENT_NODE`], [`PROXY_NODE`], [`SERVER_NODE`]).
    pub fn node(&self, name: &str) -> NodeHandle {
        self.network.node(name)
    }

    /// The directory holding every part's data.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// loopd's data directory for regtest (`l402.token`, `loop_sqlite.db`).
    pub fn loopd_data_dir(&self) -> PathBuf {
        crate::loopd::data_dir(&self.loop_dir())
    }

    /// Where loopd serves `looprpc.SwapClient`.
    pub fn loopd_addr(&self) -> SocketAddr {
        self.loopd.addr()
    }

    /// Where the auth proxy listens.
    pub fn proxy_addr(&self) -> SocketAddr {
        self.proxy.addr()
    }

    /// Where the swap server listens (behind the proxy).
    pub fn swap_server_addr(&self) -> SocketAddr {
        self.swap_server.addr()
    }

    /// The swap server's swaps, as it sees them (e.g. which token paid for one).
    pub fn swap_server(&self) -> &swap_server::SwapManager {
        &self.swaps
    }

    /// In-process control of the proxy: decisions, tokens, revocation, metrics.
    pub fn proxy(&self) -> &ProxyHandle {
        &self.proxy_handle
    }

    /// loopd's L402 client: its token store and counters.
    pub fn l402(&self) -> &L402Client {
        &self.l402
    }

    /// A gRPC client of loopd as the `loop` CLI makes it: TLS to loopd's `tls.cert`, the
    /// `loop.macaroon` on every call.
    pub async fn loop_client(&self) -> anyhow::Result<LoopdClient> {
        crate::loopd::connect(self.loopd.addr(), &self.loop_dir())
    }

    /// loopd's base directory, the `--loopdir` the `loop` CLI is given.
    pub fn loop_dir(&self) -> PathBuf {
        self.dir.path().join("loopd")
    }

    /// The proxy's TLS certificate, which loopd pins (`None`: plaintext proxy).
    pub fn proxy_cert(&self) -> Option<PathBuf> {
        self.options.proxy_tls.then(|| proxy_cert(self.dir.path()))
    }

    /// loopd's token store (`l402.token`, `l402.token.pending`, …).
    pub fn token_store(&self) -> anyhow::Result<TokenStore> {
        TokenStore::open(self.loopd_data_dir()).context("opening loopd's token store")
    }

    /// How many payments loopd's lnd node has sent.
    pub fn client_payments(&self) -> usize {
        self.network.node(CLIENT_NODE).payment_count()
    }

    /// Runs `loop <args>` in this process against loopd, answering `y` to
    /// any confirmation; returns the result and what it printed.
    pub async fn loop_cli(&self, args: &[&str]) -> (Result<(), CliError>, String) {
        self.loop_cli_with_input(args, "y\n").await
    }

    /// `loop` and the global flags that reach loopd at `rpcserver` with this stack's files: only
    /// `--loopdir` and `-n regtest`, so `tls.cert` and `loop.macaroon` are found at Loop's default
    /// paths `<loopdir>/regtest/`.
    pub fn loop_cli_flags(&self, rpcserver: &str) -> Vec<String> {
        let loop_dir = self.loop_dir().display().to_string();
        [
            "loop",
            "--rpcserver",
            rpcserver,
            "--loopdir",
            &loop_dir,
            "-n",
            "regtest",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Runs `loop <args>` in this process with `input` on its stdin.
    pub async fn loop_cli_with_input(
        &self,
        args: &[&str],
        input: &str,
    ) -> (Result<(), CliError>, String) {
        let global = self.loop_cli_flags(&self.loopd.addr().to_string());
        let mut argv: Vec<&str> = global.iter().map(String::as_str).collect();
        argv.extend_from_slice(args);
        run_loop_cli(&argv, input).await
    }

    /// Stops the auth proxy and starts it again on the same address and database.
    pub async fn restart_proxy(&mut self) -> anyhow::Result<()> {
        self.proxy.stop().await?;
        let (proxy, handle) = start_proxy(
            &self.network.node(PROXY_NODE),
            self.swap_server.addr(),
            self.dir.path(),
            &self.options,
            Some(self.proxy.addr()),
        )
        .await?;
        self.proxy = proxy;
        self.proxy_handle = handle;
        Ok(())
    }

    /// Stops loopd and starts it again on the same address and data directory.
    pub async fn restart_loopd(&mut self) -> anyhow::Result<()> {
        self.stop_loopd().await?;
        self.start_loopd().await
    }

    /// Stops loopd (its running swaps' tasks are cancelled, as in a crash
    /// between two states); fails if loopd had stopped with an error.
    pub async fn stop_loopd(&mut self) -> anyhow::Result<()> {
        self.loopd.stop().await
    }

    /// Starts loopd again on its address and data directory.
    pub async fn start_loopd(&mut self) -> anyhow::Result<()> {
        let (loopd, l402) = start_loopd(
            &self.network.node(CLIENT_NODE),
            self.proxy.addr(),
            self.dir.path(),
            &self.options,
            Some(self.loopd.addr()),
        )
        .await?;
        self.loopd = loopd;
        self.l402 = l402;
        Ok(())
    }

    /// Stops the swap server (the proxy's backend goes down).
    pub async fn stop_swap_server(&mut self) -> anyhow::Result<()> {
        self.swap_server.stop().await
    }

    /// Starts the swap server again on its address, with its database.
    pub async fn start_swap_server(&mut self) -> anyhow::Result<()> {
        (self.swap_server, self.swaps) = start_swap_server(
            &self.network.node(SERVER_NODE),
            &self.dir.path().join("swap-server"),
            &self.options,
            Some(self.swap_server.addr()),
        )
        .await?;
        Ok(())
    }

    /// Stops every part (also done, less gracefully, on drop), logging the
    /// errors any of them stopped with.
    pub async fn shutdown(mut self) {
        for component in [&mut self.loopd, &mut self.proxy, &mut self.swap_server] {
            if let Err(error) = component.stop().await {
                tracing::error!(component = component.name(), "{error:#}");
            }
        }
        self.network.shutdown().await;
    }
}

/// Where the proxy writes its TLS certificate in the stack's directory.
fn proxy_cert(dir: &Path) -> PathBuf {
    dir.join("auth-proxy").join("tls.cert")
}

/// Binds `addr`, or an ephemeral loopback port when `None`.
pub(crate) async fn bind(addr: Option<SocketAddr>) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()))
        .await
        .context("binding a listener")?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

async fn start_swap_server(
    node: &NodeHandle,
    dir: &Path,
    options: &StackOptions,
    addr: Option<SocketAddr>,
) -> anyhow::Result<(Component, swap_server::SwapManager)> {
    std::fs::create_dir_all(dir)?;
    let mut config = swap_server::Config::new(
        node.lnd_config(),
        format!("sqlite://{}", dir.join("swaps.db").display()),
    );
    config.timings.confirmation_delay = options.confirmation_delay;
    let server = swap_server::Server::build(config)
        .await
        .context("building swap-server")?;
    let swaps = server.manager().clone();
    let (listener, addr) = bind(addr).await?;
    let component = Component::spawn("swap-server", addr, move |shutdown| async move {
        Ok(server.serve(listener, shutdown).await?)
    });
    Ok((component, swaps))
}

async fn start_proxy(
    node: &NodeHandle,
    backend: SocketAddr,
    dir: &Path,
    options: &StackOptions,
    addr: Option<SocketAddr>,
) -> anyhow::Result<(Component, ProxyHandle)> {
    let base_dir = dir.join("auth-proxy");
    std::fs::create_dir_all(&base_dir)?;
    let yaml = crate::proxy_config::yaml(&crate::proxy_config::ProxySetup {
        listen: "127.0.0.1:0".into(),
        tls: options.proxy_tls,
        base_dir: base_dir.clone(),
        lnd_host: node.host(),
        lnd_dir: node.dir().to_owned(),
        backend,
        price_sat: options.token_price_sat,
        postgres_url: options.proxy_postgres_url.clone(),
    });
    let config = auth_proxy::Config::from_yaml(&yaml, &Default::default())
        .context("auth-proxy configuration")?;
    let proxy = auth_proxy::Proxy::build(config)
        .await
        .context("building auth-proxy")?;
    let handle = proxy.handle();
    let (listener, addr) = bind(addr).await?;
    let listeners = auth_proxy::Listeners {
        proxy: listener,
        metrics: None,
        admin: None,
    };
    let component = Component::spawn("auth-proxy", addr, move |shutdown| async move {
        proxy.run(listeners, shutdown).await;
        Ok(())
    });
    Ok((component, handle))
}

/// Runs the `loop` CLI in this process with exactly `argv` (starting with `loop`) and `input` on
/// its stdin; returns the result and what it printed.
pub async fn run_loop_cli(argv: &[&str], input: &str) -> (Result<(), CliError>, String) {
    let args = <LoopArgs as clap::Parser>::try_parse_from(argv).expect("valid arguments");
    let mut out = Vec::new();
    let mut input = std::io::Cursor::new(input.as_bytes().to_vec());
    let result = cli::run(
        args,
        Io {
            out: &mut out,
            input: &mut input,
            tty: false,
        },
    )
    .await;
    (result, String::from_utf8_lossy(&out).into_owned())
}

async fn start_loopd(
    node: &NodeHandle,
    proxy: SocketAddr,
    dir: &Path,
    options: &StackOptions,
    addr: Option<SocketAddr>,
) -> anyhow::Result<(Component, L402Client)> {
    crate::loopd::start(LoopdSetup {
        lnd: node.lnd_config(),
        server_host: proxy.to_string(),
        server_tls: if options.proxy_tls {
            ServerTls::Pinned(proxy_cert(dir))
        } else {
            ServerTls::Disabled
        },
        loop_dir: dir.join("loopd"),
        l402: L402Config {
            max_cost_sat: options.max_token_cost_sat,
            rebuy_backoff: options.rebuy_backoff,
            ..L402Config::default()
        },
        addr,
    })
    .await
}

//! The whole system in one test: mock-lnd (client, proxy, server nodes),
//! swap-server, auth-proxy (TLS, price 100 sat for `looprpc.*`) and loopd.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use auth_proxy::{Config as ProxyConfig, Listeners, Overrides, Proxy, ProxyHandle};
use l402_client::{L402Config, TokenStore};
use mock_lnd::MockNetwork;
use proto::looprpc::swap_client_client::SwapClientClient;
use swap_client::cli::{self, Io, LoopArgs};
use swap_client::config::{DaemonConfig, ServerTls};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Price of a token at the proxy, satoshis.
pub const PRICE_SAT: u64 = 100;

/// Waits for `condition`, polling, for at most `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A task with a shutdown trigger.
struct Stoppable<T> {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<T>>,
}

impl<T> Stoppable<T> {
    async fn stop(&mut self) -> Option<T> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take()?;
        Some(
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("stops in time")
                .expect("task"),
        )
    }
}

impl<T> Drop for Stoppable<T> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Everything running.
pub struct Env {
    pub net: MockNetwork,
    pub dir: tempfile::TempDir,
    pub proxy_addr: SocketAddr,
    pub proxy: ProxyHandle,
    /// The proxy's certificate (`None`: plaintext proxy).
    pub proxy_cert: Option<PathBuf>,
    pub swap_server: swap_server::SwapManager,
    pub loopd_addr: SocketAddr,
    loopd: Stoppable<Result<(), swap_client::daemon::DaemonError>>,
    _proxy_task: Stoppable<()>,
    _server_task: Stoppable<Result<(), swap_server::ServerError>>,
    max_cost_sat: u64,
}

impl Env {
    /// Starts everything (proxy with TLS); loopd pays at most `max_cost_sat` per token.
    pub async fn start(max_cost_sat: u64) -> Env {
        Self::start_with(max_cost_sat, true).await
    }

    /// Starts everything; `tls: false` runs the proxy in plaintext (`insecure`)
    /// and loopd with `--server.notls`.
    pub async fn start_with(max_cost_sat: u64, tls: bool) -> Env {
        // Silent unless asked for: TEST_LOG=swap_client=debug cargo test ...
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG"))
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let net = MockNetwork::builder()
            .datadir(dir.path().join("lnd"))
            .network("regtest")
            .node("client")
            .node("proxy")
            .node("server")
            .balance_sat(10_000_000)
            .routing_fee(1000, 1)
            .start()
            .await
            .expect("mock-lnd starts");

        let server = swap_server::Server::build(swap_server::Config::new(
            net.node("server").lnd_config(),
            // A file: an in-memory SQLite database exists per pool connection.
            format!("sqlite://{}", dir.path().join("swap-server.db").display()),
        ))
        .await
        .expect("swap-server builds");
        let swap_server = server.manager().clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server_addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server_task = Stoppable {
            stop: Some(stop),
            task: Some(tokio::spawn(server.serve(listener, async {
                let _ = stopped.await;
            }))),
        };

        let proxy_node = net.node("proxy");
        let basedir = dir.path().join("proxy");
        // Two services in front of the swap server: its gRPC API and its HTTP API.
        let yaml = format!(
            r#"
listenaddr: 127.0.0.1:0
insecure: {insecure}
basedir: {basedir}
authenticator:
  network: regtest
  lndhost: {host}
  tlspath: {tls}
  macdir: {macdir}
services:
  - name: loop
    hostregexp: '.*'
    pathregexp: '^/looprpc\..*$'
    address: "{server_addr}"
    protocol: http
    price: {PRICE_SAT}
  - name: loophttp
    hostregexp: '.*'
    pathregexp: '^/v1/loop/.*$'
    address: "{server_addr}"
    protocol: http
    price: {PRICE_SAT}
"#,
            insecure = !tls,
            basedir = basedir.display(),
            host = proxy_node.host(),
            tls = proxy_node.tls_cert_path().display(),
            macdir = proxy_node
                .invoice_macaroon_path()
                .parent()
                .unwrap()
                .display(),
        );
        let config = ProxyConfig::from_yaml(&yaml, &Overrides::default()).expect("proxy config");
        let listeners = Listeners {
            proxy: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            metrics: None,
            admin: None,
        };
        let proxy_addr = listeners.proxy.local_addr().unwrap();
        let proxy = Proxy::build(config).await.expect("proxy builds");
        let proxy_handle = proxy.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let proxy_task = Stoppable {
            stop: Some(stop),
            task: Some(tokio::spawn(proxy.run(listeners, async {
                let _ = stopped.await;
            }))),
        };

        let mut env = Env {
            proxy_cert: tls.then(|| basedir.join("tls.cert")),
            net,
            dir,
            proxy_addr,
            proxy: proxy_handle,
            swap_server,
            loopd_addr: "127.0.0.1:0".parse().unwrap(),
            loopd: Stoppable {
                stop: None,
                task: None,
            },
            _proxy_task: proxy_task,
            _server_task: server_task,
            max_cost_sat,
        };
        env.start_loopd().await;
        env
    }

    /// loopd's data directory (token files, database).
    pub fn loop_dir(&self) -> PathBuf {
        self.dir.path().join("loop").join("regtest")
    }

    /// loopd's token store.
    pub fn store(&self) -> TokenStore {
        TokenStore::open(self.loop_dir()).unwrap()
    }

    fn loopd_config(&self) -> DaemonConfig {
        DaemonConfig {
            network: l402::Network::Regtest,
            data_dir: self.loop_dir(),
            rpc_listen: "127.0.0.1:0".into(),
            server_host: self.proxy_addr.to_string(),
            server_tls: match &self.proxy_cert {
                Some(cert) => ServerTls::Pinned(cert.clone()),
                None => ServerTls::Disabled,
            },
            lnd: self.net.node("client").lnd_config(),
            l402: L402Config {
                max_cost_sat: self.max_cost_sat,
                ..L402Config::default()
            },
        }
    }

    /// (Re)starts loopd on a fresh port with the same data directory.
    pub async fn start_loopd(&mut self) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.loopd_addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let config = self.loopd_config();
        self.loopd = Stoppable {
            stop: Some(stop),
            task: Some(tokio::spawn(swap_client::daemon::run(
                listener,
                config,
                async {
                    let _ = stopped.await;
                },
            ))),
        };
    }

    /// Stops loopd (as a crash would, between two states: tasks are cancelled).
    pub async fn stop_loopd(&mut self) {
        if let Some(result) = self.loopd.stop().await {
            result.expect("loopd ran without error");
        }
    }

    /// A gRPC client of loopd.
    pub async fn client(&self) -> SwapClientClient<Channel> {
        cli::connect(&self.loopd_addr.to_string())
            .await
            .expect("loopd reachable")
    }

    /// Runs `loop <args>` and returns (result, stdout).
    pub async fn cli(&self, args: &[&str]) -> (Result<(), cli::CliError>, String) {
        self.cli_with_input(args, "y\n").await
    }

    /// Runs `loop <args>` with `input` on stdin.
    pub async fn cli_with_input(
        &self,
        args: &[&str],
        input: &str,
    ) -> (Result<(), cli::CliError>, String) {
        let addr = self.loopd_addr.to_string();
        let mut argv = vec!["loop", "--rpcserver", &addr];
        argv.extend_from_slice(args);
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
        (result, String::from_utf8(out).unwrap())
    }

    /// Payments sent by loopd's lnd.
    pub fn client_payments(&self) -> usize {
        self.net.node("client").payment_count()
    }
}

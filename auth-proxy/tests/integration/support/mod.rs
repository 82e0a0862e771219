//! Test environment: a mock Lightning network, an HTTP backend (axum) and a gRPC backend (tonic) on ephemeral
//! ports, and auth-proxy instances built from YAML in-process.

pub mod backends;
pub mod forge;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_proxy::{Config, Listeners, Overrides, Proxy, ProxyHandle};
use l402::{Challenge, Credential, Preimage};
use lnd_client::LndClient;
use mock_lnd::MockNetwork;
use proto::lnrpc::SendRequest;
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::ServerLoopOutTermsRequest;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub use backends::{GrpcBackend, HttpBackend};

pub use testkit::eventually;

/// The standard services: `http` (HTTP backend, paths `/http/…`, capability rule on `/http/admin`, free
/// `/http/free`), `other` (HTTP backend, `/other/…`), `loop` (gRPC backend, `/looprpc.…`).
pub fn standard_services(http: SocketAddr, grpc: SocketAddr) -> String {
    format!(
        r#"
services:
  - name: http
    hostregexp: '.*'
    pathregexp: '^/http/.*$'
    address: "{http}"
    protocol: http
    price: 10
    timeout: 3600
    capabilities: "read"
    capabilityrules:
      - pathregexp: '^/http/admin'
        capability: admin
    authwhitelistpaths:
      - '^/http/free.*$'
  - name: other
    hostregexp: '.*'
    pathregexp: '^/other/.*$'
    address: "{http}"
    protocol: http
    price: 5
  - name: loop
    hostregexp: '.*'
    pathregexp: '^/looprpc\..*$'
    address: "{grpc}"
    protocol: http
    price: 20
"#
    )
}

/// Everything a test needs.
pub struct TestEnv {
    pub net: MockNetwork,
    pub http: HttpBackend,
    pub grpc: GrpcBackend,
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    /// Starts mock-lnd (nodes `client` and `proxy`, TLS on) and both backends.
    pub async fn start() -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let net = MockNetwork::builder()
            .datadir(dir.path().join("lnd"))
            .network("regtest")
            .node("client")
            .node("proxy")
            .balance_sat(1_000_000)
            .start()
            .await
            .expect("mock-lnd starts");
        TestEnv {
            net,
            http: HttpBackend::start().await,
            grpc: GrpcBackend::start().await,
            dir,
        }
    }

    /// The YAML for a proxy in `basedir` using the standard services plus `extra` top-level YAML.
    pub fn yaml(&self, basedir: &Path, extra: &str) -> String {
        self.yaml_with_services(
            basedir,
            &standard_services(self.http.addr, self.grpc.addr),
            extra,
        )
    }

    /// The YAML for a proxy in `basedir` with these `services:` and `extra` top-level YAML.
    pub fn yaml_with_services(&self, basedir: &Path, services: &str, extra: &str) -> String {
        let proxy = self.net.node("proxy");
        let macdir = proxy
            .invoice_macaroon_path()
            .parent()
            .expect("macaroon dir")
            .to_path_buf();
        format!(
            "listenaddr: 127.0.0.1:0\ninsecure: true\nworkers: 2\nbasedir: {basedir}\nadmin:\n  enabled: true\n\
             authenticator:\n  network: regtest\n  lndhost: {host}\n  tlspath: {tls}\n  macdir: {macdir}\n{services}{extra}\n",
            basedir = basedir.display(),
            host = proxy.host(),
            tls = proxy.tls_cert_path().display(),
            macdir = macdir.display(),
        )
    }

    /// A fresh base directory under the test's temporary directory.
    pub fn basedir(&self) -> PathBuf {
        self.dir.path().join(format!("proxy-{}", rand_suffix()))
    }

    /// A proxy with the standard config in its own base directory.
    pub async fn proxy(&self) -> TestProxy {
        self.proxy_with("").await
    }

    /// A proxy with extra top-level YAML.
    pub async fn proxy_with(&self, extra: &str) -> TestProxy {
        TestProxy::start(&self.yaml(&self.basedir(), extra)).await
    }

    /// Pays `invoice` from the `client` node and returns the preimage.
    pub async fn pay(&self, invoice: &str) -> Preimage {
        let client = LndClient::connect(&self.net.node("client").lnd_config())
            .await
            .expect("lnd client");
        let response = client
            .lightning
            .clone()
            .send_payment_sync(SendRequest {
                payment_request: invoice.to_owned(),
                ..Default::default()
            })
            .await
            .expect("payment call")
            .into_inner();
        assert!(
            response.payment_error.is_empty(),
            "payment failed: {}",
            response.payment_error
        );
        Preimage::from_slice(&response.payment_preimage).expect("32-byte preimage")
    }

    /// Pays a challenge and returns the credential.
    pub async fn pay_challenge(&self, challenge: Challenge) -> Credential {
        let preimage = self.pay(challenge.invoice_str()).await;
        challenge.into_credential(preimage)
    }
}

impl TestEnv {
    /// Requests `path` without a credential, pays the 402 challenge and returns the credential.
    pub async fn paid_http(&self, proxy: &TestProxy, path: &str) -> Credential {
        let response = get(proxy, path).await;
        assert_eq!(response.status(), 402, "{path} challenges");
        self.pay_challenge(challenge_of(response.headers())).await
    }

    /// A gRPC client of the proxy, and a paid credential for the `loop` service.
    pub async fn paid_grpc(&self, proxy: &TestProxy) -> (SwapServerClient<Channel>, Credential) {
        let mut client = SwapServerClient::connect(proxy.url(""))
            .await
            .expect("grpc connect");
        let status = client
            .loop_out_terms(ServerLoopOutTermsRequest::default())
            .await
            .expect_err("a challenge");
        let challenge = challenge_of(&status.metadata().clone().into_headers());
        (client, self.pay_challenge(challenge).await)
    }
}

/// `LoopOutTerms` through the proxy without a credential; returns the error status it must end with.
pub async fn unpaid_grpc_call(proxy: &TestProxy) -> tonic::Status {
    let mut client = SwapServerClient::connect(proxy.url(""))
        .await
        .expect("grpc connect");
    client
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await
        .expect_err("an unpaid call fails")
}

/// A gRPC request carrying `value` in the metadata entry `name`.
pub fn grpc_request<T>(message: T, name: &'static str, value: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert(name, value.parse().expect("ASCII metadata"));
    request
}

/// GET `path` through the proxy without credentials.
pub async fn get(proxy: &TestProxy, path: &str) -> reqwest::Response {
    http_client()
        .get(proxy.url(path))
        .send()
        .await
        .expect("request")
}

/// GET `path` through the proxy with one extra header.
pub async fn get_with(proxy: &TestProxy, path: &str, header: (&str, &str)) -> reqwest::Response {
    http_client()
        .get(proxy.url(path))
        .header(header.0, header.1)
        .send()
        .await
        .expect("request")
}

/// A short random hex suffix.
pub fn rand_suffix() -> String {
    l402::TokenId::random().to_hex()[..12].to_owned()
}

/// A running proxy.
pub struct TestProxy {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub handle: ProxyHandle,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestProxy {
    /// Builds and runs a proxy from YAML on ephemeral ports.
    pub async fn start(yaml: &str) -> TestProxy {
        let config = Config::from_yaml(yaml, &Overrides::default()).expect("valid config");
        Self::start_config(config).await
    }

    /// Builds and runs a proxy from a config on ephemeral ports.
    pub async fn start_config(config: Config) -> TestProxy {
        let bind = || async { TcpListener::bind("127.0.0.1:0").await.expect("bind") };
        let listeners = Listeners {
            proxy: bind().await,
            metrics: Some(bind().await),
            admin: Some(bind().await),
        };
        let addr = listeners.proxy.local_addr().unwrap();
        let metrics_addr = listeners.metrics.as_ref().unwrap().local_addr().unwrap();
        let admin_addr = listeners.admin.as_ref().unwrap().local_addr().unwrap();
        let proxy = Proxy::build(config.clone()).await.expect("proxy builds");
        let handle = proxy.handle();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(proxy.run(listeners, async move {
            let _ = rx.await;
        }));
        TestProxy {
            addr,
            metrics_addr,
            admin_addr,
            handle,
            config,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://<addr>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The base directory.
    pub fn base_dir(&self) -> PathBuf {
        self.config.base_dir.clone()
    }

    /// Shuts the proxy down and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("proxy stops")
                .expect("proxy task");
        }
    }

    /// The first page of the token list (the admin API's default listing).
    pub async fn tokens(&self) -> Vec<auth_proxy::TokenRecord> {
        self.handle
            .tokens(&Default::default())
            .await
            .unwrap()
            .tokens
    }

    /// The most recent decision for `path`.
    pub fn last_decision(&self, path: &str) -> auth_proxy::Decision {
        self.handle
            .decisions()
            .into_iter()
            .rev()
            .find(|d| d.path == path)
            .unwrap_or_else(|| panic!("no decision for {path}"))
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An HTTP client (HTTP/1.1).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// Parses the L402 challenge from response headers.
pub fn challenge_of(headers: &http::HeaderMap) -> Challenge {
    Challenge::from_headers(headers).expect("a parsable challenge")
}

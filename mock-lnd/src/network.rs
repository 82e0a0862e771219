//! [`MockNetwork`]: start a simulated Lightning network in-process, and [`NodeHandle`]: reach into
//! one node (its address, files and test hooks).
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_lnd::MockLndError> {
//! let net = mock_lnd::MockNetwork::builder().node("client").node("server").start().await?;
//! let server = net.node("server");
//! let config = server.lnd_config(); // host, tls.cert, admin.macaroon: what an lnd client needs
//! server.fail_next_payments(1, mock_lnd::FailureReason::NoRoute);
//! # let _ = config; Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lnd_client::LndConfig;
use secp256k1::{PublicKey, SECP256K1};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::MockLndError;
use crate::files::NodeFiles;
use crate::invoice::currency_for_network;
use crate::ledger::{FailureReason, Ledger, LedgerConfig, NetworkEvent, NodeId, NodeMeta};
use crate::rest::listener::tls_acceptor;
use crate::rpc::NodeContext;
use crate::server::{bind, NodeServer, RestListener};

/// Default balance of each node: 10,000,000 sat.
pub const DEFAULT_BALANCE_SAT: u64 = 10_000_000;
/// Default routing fee: 1 sat base ...
pub const DEFAULT_BASE_FEE_MSAT: u64 = 1_000;
/// ... plus 1 ppm of the amount.
pub const DEFAULT_FEE_PPM: u64 = 1;

/// Configures and starts a [`MockNetwork`].
#[derive(Debug, Clone)]
pub struct MockNetworkBuilder {
    datadir: Option<PathBuf>,
    network: String,
    nodes: Vec<(String, SocketAddr)>,
    rest: Vec<(String, SocketAddr)>,
    tls: bool,
    rest_tls: bool,
    tls_extra_domains: Vec<String>,
    balance_sat: u64,
    base_fee_msat: u64,
    fee_ppm: u64,
    payment_latency: Duration,
}

impl Default for MockNetworkBuilder {
    fn default() -> Self {
        Self {
            datadir: None,
            network: "regtest".into(),
            nodes: Vec::new(),
            rest: Vec::new(),
            tls: true,
            rest_tls: true,
            tls_extra_domains: Vec::new(),
            balance_sat: DEFAULT_BALANCE_SAT,
            base_fee_msat: DEFAULT_BASE_FEE_MSAT,
            fee_ppm: DEFAULT_FEE_PPM,
            payment_latency: Duration::ZERO,
        }
    }
}

impl MockNetworkBuilder {
    /// Where `<node>/tls.cert` etc. are written. Default: a temporary directory removed with the network.
    pub fn datadir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.datadir = Some(dir.into());
        self
    }

    /// lnd network name: `regtest` (default, `lnbcrt` invoices), `testnet`, `signet`, `simnet`, `mainnet`.
    pub fn network(mut self, network: impl Into<String>) -> Self {
        self.network = network.into();
        self
    }

    /// Adds a node listening on `127.0.0.1` with an ephemeral port.
    pub fn node(self, name: impl Into<String>) -> Self {
        self.node_at(name, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Adds a node listening on `addr`.
    pub fn node_at(mut self, name: impl Into<String>, addr: SocketAddr) -> Self {
        self.nodes.push((name.into(), addr));
        self
    }

    /// Gives node `name` a REST listener (lnd's REST API) on `127.0.0.1` with an ephemeral port.
    pub fn rest(self, name: impl Into<String>) -> Self {
        self.rest_at(name, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Gives node `name` a REST listener on `addr`.
    pub fn rest_at(mut self, name: impl Into<String>, addr: SocketAddr) -> Self {
        self.rest.push((name.into(), addr));
        self
    }

    /// REST over TLS with the node's `tls.cert` (default) or plaintext HTTP (`false`, lnd's
    /// `--no-rest-tls`); independent of [`MockNetworkBuilder::tls`].
    pub fn rest_tls(mut self, tls: bool) -> Self {
        self.rest_tls = tls;
        self
    }

    /// gRPC over TLS (default) or plaintext h2c (`false`).
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Adds a name (DNS name or IP) to every node's certificate, e.g. a docker service name.
    pub fn tls_extra_domain(mut self, name: impl Into<String>) -> Self {
        self.tls_extra_domains.push(name.into());
        self
    }

    /// Initial balance of each node (default 10,000,000 sat).
    pub fn balance_sat(mut self, sat: u64) -> Self {
        self.balance_sat = sat;
        self
    }

    /// Routing fee of every payment: `base_msat + amount * ppm / 1e6` (default 1000 msat + 1 ppm).
    pub fn routing_fee(mut self, base_msat: u64, ppm: u64) -> Self {
        self.base_fee_msat = base_msat;
        self.fee_ppm = ppm;
        self
    }

    /// Delay before each payment attempt (default none).
    pub fn payment_latency(mut self, latency: Duration) -> Self {
        self.payment_latency = latency;
        self
    }

    /// Writes each node's files, binds its listener and starts serving.
    pub async fn start(self) -> Result<MockNetwork, MockLndError> {
        let currency = currency_for_network(&self.network)?;
        self.validate_names()?;
        let (tempdir, datadir) = match &self.datadir {
            Some(dir) => (None, dir.clone()),
            None => {
                let tempdir = tempfile::Builder::new()
                    .prefix("mock-lnd-")
                    .tempdir()
                    .map_err(|source| MockLndError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                let path = tempdir.path().to_owned();
                (Some(tempdir), path)
            }
        };
        let mut metas = Vec::new();
        let mut prepared = Vec::new();
        for (name, addr) in &self.nodes {
            let files = NodeFiles::new(&datadir, name);
            let rest_addr = self.rest_addr(name);
            let needs_cert = self.tls || (rest_addr.is_some() && self.rest_tls);
            let secrets = files.prepare(name, needs_cert, &self.tls_extra_domains)?;
            let listener = bind(*addr).await?;
            let addr = local_addr(&listener, *addr)?;
            let rest =
                rest_listener(&files, rest_addr, secrets.tls.as_ref(), self.rest_tls).await?;
            metas.push(NodeMeta {
                name: name.clone(),
                key: secrets.node_key,
                pubkey: secrets.node_key.public_key(SECP256K1),
            });
            prepared.push((files, secrets, listener, addr, rest));
        }
        let initial_balance_msat = self.balance_sat.saturating_mul(1000);
        let config = LedgerConfig {
            currency,
            base_fee_msat: self.base_fee_msat,
            fee_ppm: self.fee_ppm,
            initial_balance_msat,
            payment_latency: self.payment_latency,
        };
        let shutdown = CancellationToken::new();
        let ledger = Ledger::new(&config, metas, shutdown.clone());
        let mut nodes = Vec::new();
        for (id, (files, secrets, listener, addr, rest)) in prepared.into_iter().enumerate() {
            let ctx = NodeContext {
                ledger: ledger.clone(),
                id,
                network: self.network.clone(),
                capacity_msat: initial_balance_msat.saturating_mul(2),
            };
            let (rest, rest_listener) = rest.unzip();
            let server = NodeServer::new(
                addr,
                secrets.tls.filter(|_| self.tls),
                rest,
                ctx,
                Arc::new(secrets.macaroons),
                shutdown.clone(),
            );
            server.start(listener, rest_listener).await?;
            let meta = ledger.meta(id);
            tracing::info!(node = %meta.name, %addr, pubkey = %meta.pubkey, tls = self.tls, dir = %files.dir.display(), "node listening");
            if let Some(rest) = &server.rest {
                tracing::info!(node = %meta.name, url = %rest.url(), "REST listening");
            }
            nodes.push(NodeHandle {
                inner: Arc::new(NodeInner {
                    id,
                    files,
                    server,
                    tls: self.tls,
                    ledger: ledger.clone(),
                }),
            });
        }
        Ok(MockNetwork {
            ledger,
            nodes,
            shutdown,
            datadir,
            _tempdir: tempdir,
        })
    }

    /// The REST address asked for node `name`, if any.
    fn rest_addr(&self, name: &str) -> Option<SocketAddr> {
        self.rest
            .iter()
            .find(|(rest_name, _)| rest_name == name)
            .map(|(_, addr)| *addr)
    }

    fn validate_names(&self) -> Result<(), MockLndError> {
        if self.nodes.is_empty() {
            return Err(MockLndError::InvalidConfig(
                "at least one node is needed".into(),
            ));
        }
        for (i, (name, _)) in self.nodes.iter().enumerate() {
            let safe = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && name != "."
                && name != "..";
            if !safe {
                return Err(MockLndError::InvalidConfig(format!(
                    "node name {name:?} must be non-empty ASCII letters, digits, '-' or '_'"
                )));
            }
            if self.nodes[..i].iter().any(|(other, _)| other == name) {
                return Err(MockLndError::InvalidConfig(format!(
                    "duplicate node name {name:?}"
                )));
            }
        }
        for (i, (name, _)) in self.rest.iter().enumerate() {
            if !self.nodes.iter().any(|(node, _)| node == name) {
                return Err(MockLndError::InvalidConfig(format!(
                    "REST listener for unknown node {name:?}"
                )));
            }
            if self.rest[..i].iter().any(|(other, _)| other == name) {
                return Err(MockLndError::InvalidConfig(format!(
                    "two REST listeners for node {name:?}"
                )));
            }
        }
        Ok(())
    }
}

/// The address `listener` is bound to (asked for as `asked`).
fn local_addr(listener: &TcpListener, asked: SocketAddr) -> Result<SocketAddr, MockLndError> {
    listener.local_addr().map_err(|source| MockLndError::Bind {
        addr: asked,
        source,
    })
}

/// Binds a node's REST listener on `addr` if it has one, over TLS with its PEM certificate and key
/// when `tls` (they exist then), and writes its `rest.url` (or removes a stale one).
async fn rest_listener(
    files: &NodeFiles,
    addr: Option<SocketAddr>,
    cert: Option<&(Vec<u8>, Vec<u8>)>,
    tls: bool,
) -> Result<Option<(RestListener, TcpListener)>, MockLndError> {
    let Some(asked) = addr else {
        files.write_rest_url(None)?;
        return Ok(None);
    };
    let listener = bind(asked).await?;
    let rest = RestListener {
        addr: local_addr(&listener, asked)?,
        tls: match cert {
            Some((cert_pem, key_pem)) if tls => Some(tls_acceptor(cert_pem, key_pem)?),
            _ => None,
        },
    };
    files.write_rest_url(Some(&rest.url()))?;
    Ok(Some((rest, listener)))
}

/// A running simulated Lightning network. Dropping it stops every node (use
/// [`MockNetwork::shutdown`] to also wait for them).
pub struct MockNetwork {
    ledger: Arc<Ledger>,
    nodes: Vec<NodeHandle>,
    shutdown: CancellationToken,
    datadir: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for MockNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockNetwork")
            .field("datadir", &self.datadir)
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl MockNetwork {
    /// A builder with no nodes yet, regtest, TLS on, 10,000,000 sat per node, 1 sat + 1 ppm fee.
    pub fn builder() -> MockNetworkBuilder {
        MockNetworkBuilder::default()
    }

    /// The node called `name`.
    ///
    /// # Panics
    /// If there is no such node (a test bug); see [`MockNetwork::try_node`].
    pub fn node(&self, name: &str) -> NodeHandle {
        self.try_node(name)
            .unwrap_or_else(|| panic!("mock-lnd has no node called {name:?}"))
    }

    /// The node called `name`, if any.
    pub fn try_node(&self, name: &str) -> Option<NodeHandle> {
        self.nodes.iter().find(|n| n.name() == name).cloned()
    }

    /// Every node, in the order they were added.
    pub fn nodes(&self) -> &[NodeHandle] {
        &self.nodes
    }

    /// The directory holding `<node>/tls.cert` etc.
    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// Delay applied before every payment attempt from now on.
    pub fn set_payment_latency(&self, latency: Duration) {
        self.ledger.set_payment_latency(latency);
    }

    /// The current payment latency.
    pub fn payment_latency(&self) -> Duration {
        self.ledger.payment_latency()
    }

    /// A live feed of every invoice and payment event on the network from now on (bounded: a subscriber
    /// that falls behind is told how many events it missed).
    pub fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<NetworkEvent> {
        self.ledger.subscribe_events()
    }

    /// All balances + money locked in accepted hold invoices + routing fees earned by the simulated
    /// intermediate hops. Constant for the life of the network.
    pub fn total_balance_msat(&self) -> u64 {
        self.ledger.total_balance_msat()
    }

    /// Stops every node and waits until their listeners and connections are closed.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        for node in &self.nodes {
            node.inner.server.stop().await;
        }
    }
}

impl Drop for MockNetwork {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct NodeInner {
    id: NodeId,
    files: NodeFiles,
    server: NodeServer,
    tls: bool,
    ledger: Arc<Ledger>,
}

/// One node of a [`MockNetwork`]: where it is, its files, and its test hooks. Cheap to clone.
#[derive(Clone)]
pub struct NodeHandle {
    inner: Arc<NodeInner>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("name", &self.name())
            .field("addr", &self.addr())
            .finish()
    }
}

impl NodeHandle {
    /// The node's name (also its alias).
    pub fn name(&self) -> &str {
        &self.inner.ledger.meta(self.inner.id).name
    }

    /// The address its gRPC listener is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.inner.server.addr
    }

    /// The address its REST listener is bound to, if it has one.
    pub fn rest_addr(&self) -> Option<SocketAddr> {
        self.inner.server.rest.as_ref().map(|rest| rest.addr)
    }

    /// The base URL of its REST API (`https://127.0.0.1:PORT`, `http://…` without REST TLS), if
    /// it has one; also in the node's `rest.url` file.
    pub fn rest_url(&self) -> Option<String> {
        self.inner.server.rest.as_ref().map(RestListener::url)
    }

    /// `host:port`, as lnd clients take it.
    pub fn host(&self) -> String {
        self.addr().to_string()
    }

    /// The node's identity key (invoices are signed with it).
    pub fn pubkey(&self) -> PublicKey {
        self.inner.ledger.meta(self.inner.id).pubkey
    }

    /// The node's data directory (`<datadir>/<name>`).
    pub fn dir(&self) -> &Path {
        &self.inner.files.dir
    }

    /// `tls.cert` (absent with TLS off).
    pub fn tls_cert_path(&self) -> PathBuf {
        self.inner.files.tls_cert()
    }

    /// `admin.macaroon`.
    pub fn admin_macaroon_path(&self) -> PathBuf {
        self.inner.files.admin_macaroon()
    }

    /// `invoice.macaroon` (invoice calls only).
    pub fn invoice_macaroon_path(&self) -> PathBuf {
        self.inner.files.invoice_macaroon()
    }

    /// Whether the node serves TLS.
    pub fn tls(&self) -> bool {
        self.inner.tls
    }

    /// How to connect with [`lnd_client::LndClient`]: this host, `tls.cert` (or plaintext), `admin.macaroon`.
    pub fn lnd_config(&self) -> LndConfig {
        self.lnd_config_with_macaroon(self.admin_macaroon_path())
    }

    /// Like [`NodeHandle::lnd_config`] but presenting `invoice.macaroon`.
    pub fn invoice_lnd_config(&self) -> LndConfig {
        self.lnd_config_with_macaroon(self.invoice_macaroon_path())
    }

    fn lnd_config_with_macaroon(&self, macaroon_path: PathBuf) -> LndConfig {
        LndConfig {
            host: self.host(),
            tls_cert_path: self.tls().then(|| self.tls_cert_path()),
            macaroon_path,
        }
    }

    /// Spendable balance in msat.
    pub fn balance_msat(&self) -> u64 {
        self.inner.ledger.balance_msat(self.inner.id)
    }

    /// Number of invoices created on this node (regular and hold).
    pub fn invoice_count(&self) -> usize {
        self.inner.ledger.invoice_count(self.inner.id)
    }

    /// Number of payments this node has sent, whatever their outcome.
    pub fn payment_count(&self) -> usize {
        self.inner.ledger.payment_count(self.inner.id)
    }

    /// Whether the node is online.
    pub fn is_online(&self) -> bool {
        self.inner.ledger.is_online(self.inner.id)
    }

    /// Takes the node offline (`true`: listener and all connections closed, payments to it fail
    /// with `NO_ROUTE`) or back online on the same address (`false`).
    ///
    /// # Panics
    /// If the address cannot be bound again (another process took the port); see
    /// [`NodeHandle::try_set_offline`].
    pub async fn set_offline(&self, offline: bool) {
        if let Err(error) = self.try_set_offline(offline).await {
            panic!(
                "cannot bring mock-lnd node {:?} back online: {error}",
                self.name()
            );
        }
    }

    /// Like [`NodeHandle::set_offline`], reporting a failure to re-bind instead of panicking.
    pub async fn try_set_offline(&self, offline: bool) -> Result<(), MockLndError> {
        let ledger = &self.inner.ledger;
        if offline {
            ledger.set_online(self.inner.id, false);
            self.inner.server.stop().await;
            tracing::info!(node = %self.name(), "node offline");
        } else {
            self.inner.server.restart().await?;
            ledger.set_online(self.inner.id, true);
            tracing::info!(node = %self.name(), "node online");
        }
        Ok(())
    }

    /// The next `count` payments sent by this node fail with `reason` (0 clears the hook).
    pub fn fail_next_payments(&self, count: u32, reason: FailureReason) {
        self.inner
            .ledger
            .fail_next_payments(self.inner.id, count, reason);
    }
}

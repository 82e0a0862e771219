//! The simulated Lightning network of `client` mode: a `payer` node whose credentials the client under
//! test gets (gRPC and REST, TLS with the node's `tls.cert`), a `server` node the test server mints
//! invoices with, and what the payer paid while one case ran.

use std::path::{Path, PathBuf};

use l402::PaymentHash;
use lnd_client::LndClient;
use mock_lnd::{MockNetwork, NetworkEvent, PaymentEvent};
use tokio::sync::broadcast::{self, error::TryRecvError};

use crate::client::cases::MAX_PRICE_SAT;

/// The node the client under test pays with.
const PAYER: &str = "payer";
/// The node the test server's invoices are on.
const SERVER: &str = "server";
/// The simulated network's chain: the client's lnd is on regtest.
pub const NETWORK: &str = "regtest";

/// Why the simulated network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A directory could not be made, or a node's file read.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// mock-lnd did not start.
    #[error("the simulated network did not start: {0}")]
    MockLnd(#[from] mock_lnd::MockLndError),
    /// The test server could not reach its node.
    #[error("the test server's node: {0}")]
    Connect(#[from] lnd_client::LndConnectError),
}

/// A payment the payer node started while a case ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The invoice's payment hash.
    pub payment_hash: PaymentHash,
    /// The amount sent, in millisatoshis.
    pub amount_msat: u64,
}

/// The running network, its files in a directory of its own.
pub struct SimulatedNetwork {
    net: MockNetwork,
    /// The payer's `admin.macaroon` in hex, read once (`LND_MACAROON_HEX`).
    payer_macaroon_hex: String,
    dir: tempfile::TempDir,
}

impl SimulatedNetwork {
    /// Starts the two nodes, the payer with a REST listener, each with a fresh balance.
    pub async fn start() -> Result<Self, NetworkError> {
        let dir = tempfile::Builder::new()
            .prefix("l402-conformance-")
            .tempdir()
            .map_err(|source| NetworkError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let net = MockNetwork::builder()
            .datadir(dir.path().join("lnd"))
            .network(NETWORK)
            .node(PAYER)
            .rest(PAYER)
            .node(SERVER)
            .start()
            .await?;
        let macaroon_path = net.node(PAYER).admin_macaroon_path();
        let payer_macaroon_hex =
            std::fs::read(&macaroon_path)
                .map(hex::encode)
                .map_err(|source| NetworkError::Io {
                    path: macaroon_path,
                    source,
                })?;
        Ok(Self {
            net,
            payer_macaroon_hex,
            dir,
        })
    }

    /// A client of the `server` node, for the test server's invoices.
    pub async fn server_lnd(&self) -> Result<LndClient, NetworkError> {
        Ok(LndClient::connect(&self.net.node(SERVER).lnd_config()).await?)
    }

    /// A fresh, empty directory for one case's tokens.
    pub fn token_dir(&self, case_id: &str) -> Result<PathBuf, NetworkError> {
        let path = self
            .dir
            .path()
            .join("tokens")
            .join(case_id.replace('/', "-"));
        std::fs::create_dir_all(&path).map_err(|source| NetworkError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// The environment the client under test gets: where the case is, and how to pay.
    pub fn env(&self, case_id: &str, url: &str, token_dir: &Path) -> Vec<(String, String)> {
        let payer = self.net.node(PAYER);
        let path = |p: &Path| p.display().to_string();
        [
            ("L402_URL", url.to_owned()),
            ("L402_CONFORMANCE_CASE", case_id.to_owned()),
            ("L402_MAX_PRICE_SAT", MAX_PRICE_SAT.to_string()),
            ("L402_TOKEN_DIR", path(token_dir)),
            ("LND_NETWORK", NETWORK.to_owned()),
            ("LND_GRPC_HOST", payer.host()),
            ("LND_TLS_CERT_PATH", path(&payer.tls_cert_path())),
            ("LND_MACAROON_PATH", path(&payer.admin_macaroon_path())),
            ("LND_MACAROON_HEX", self.payer_macaroon_hex.clone()),
            ("LND_REST_URL", payer.rest_url().unwrap_or_default()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Starts watching the payer's payments.
    pub fn watch_payments(&self) -> PaymentWatch {
        PaymentWatch {
            events: self.net.subscribe_events(),
        }
    }

    /// Stops the nodes.
    pub async fn shutdown(&self) {
        self.net.shutdown().await;
    }
}

/// The payer's payments from the moment [`SimulatedNetwork::watch_payments`] was called.
pub struct PaymentWatch {
    events: broadcast::Receiver<NetworkEvent>,
}

impl PaymentWatch {
    /// The payments started so far; `Err` when the feed overflowed and some may be missing.
    pub fn started(&mut self) -> Result<Vec<Payment>, String> {
        let mut payments = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(NetworkEvent::Payment {
                    payer,
                    payment_hash,
                    amount_msat,
                    state: PaymentEvent::Started,
                    ..
                }) if payer == PAYER => payments.push(Payment {
                    payment_hash,
                    amount_msat,
                }),
                Ok(_) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return Ok(payments),
                Err(TryRecvError::Lagged(missed)) => {
                    return Err(format!(
                        "the payment feed dropped {missed} events: payments unknown"
                    ))
                }
            }
        }
    }
}

//! Test environment: a mock Lightning network (client and server nodes), the
//! swap server on an ephemeral port, and client-side helpers (pay invoices,
//! follow updates), all in-process.

use std::future::Future;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::StreamExt;
use lnd_client::LndClient;
use mock_lnd::MockNetwork;
use proto::lnrpc::{invoice::InvoiceState, PayReq, PayReqString, PaymentHash};
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::{ServerLoopOutRequest, ServerSwapState, SubscribeUpdatesRequest};
use proto::routerrpc::SendPaymentRequest;
use rand::RngCore;
use secp256k1::{PublicKey, SecretKey, SECP256K1};
use sha2::{Digest, Sha256};
use swap_server::{Config, ServerError, Timings};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Upper bound for any single wait in the tests.
pub use testkit::WAIT;

/// Awaits `fut`, failing the test after [`WAIT`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> anyhow::Result<T> {
    Ok(testkit::within(what, WAIT, fut).await?)
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    Ok(testkit::until(what, WAIT, check).await?)
}

/// Timings that make a swap run in well under a second, but whose deadlines
/// never fire during a test that does not wait for them.
pub fn fast_timings() -> Timings {
    Timings {
        publication_grace: Duration::from_secs(600),
        confirmation_delay: Duration::from_millis(50),
        htlc_expiry: Duration::from_secs(600),
        lnd_retry: Duration::from_millis(50),
    }
}

/// Where the server keeps its swaps in a test.
#[derive(Debug, Clone)]
pub enum Db {
    /// A SQLite file in the test's temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

struct Running {
    addr: std::net::SocketAddr,
    events_addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
}

/// One test's world.
pub struct TestEnv {
    pub net: MockNetwork,
    pub config: Config,
    pub client_lnd: LndClient,
    pub server_lnd: LndClient,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

impl TestEnv {
    /// A network with `client` and `server` nodes and a running swap server on SQLite.
    pub async fn start(timings: Timings) -> anyhow::Result<Self> {
        Self::start_with(timings, Db::Sqlite).await
    }

    /// Same, with the given database.
    pub async fn start_with(timings: Timings, db: Db) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let net = MockNetwork::builder()
            .datadir(dir.path().join("lnd"))
            .network("regtest")
            .node("client")
            .node("server")
            .routing_fee(1_000, 1)
            .start()
            .await?;
        let database_url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.path().join("swaps.db").display()),
            Db::Postgres(url) => url,
        };
        let mut config = Config::new(net.node("server").lnd_config(), database_url);
        config.timings = timings;
        config.server_message = "simulated loop server".into();
        let client_lnd = LndClient::connect(&net.node("client").lnd_config()).await?;
        let server_lnd = LndClient::connect(&net.node("server").lnd_config()).await?;
        let mut env = Self {
            net,
            config,
            client_lnd,
            server_lnd,
            running: None,
            _dir: dir,
        };
        env.start_server().await?;
        Ok(env)
    }

    /// Starts the swap server on a fresh ephemeral port.
    pub async fn start_server(&mut self) -> anyhow::Result<()> {
        assert!(self.running.is_none(), "server already running");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let events = TcpListener::bind("127.0.0.1:0").await?;
        let events_addr = events.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let config = self.config.clone();
        let task = tokio::spawn(async move {
            let server = swap_server::Server::build(config)
                .await?
                .with_events(events);
            server
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
        });
        self.running = Some(Running {
            addr,
            events_addr,
            stop,
            task,
        });
        Ok(())
    }

    /// Shuts the swap server down gracefully and waits for it.
    pub async fn stop_server(&mut self) -> anyhow::Result<()> {
        let running = self.running.take().context("server not running")?;
        let _ = running.stop.send(());
        within("server shutdown", running.task).await???;
        Ok(())
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().expect("server running").addr
    }

    /// URL of the operator's feed of every swap's updates (`--eventslisten`).
    pub fn events_url(&self) -> String {
        let running = self.running.as_ref().expect("server running");
        format!("http://{}/v1/swaps/updates", running.events_addr)
    }

    /// Base URL of the HTTP routes.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// A gRPC client of the server (waits until the server accepts connections).
    pub async fn grpc(&self) -> anyhow::Result<SwapServerClient<Channel>> {
        let url = format!("http://{}", self.addr());
        let channel = eventually("swap server to accept connections", || {
            let url = url.clone();
            async move { Channel::from_shared(url).ok()?.connect().await.ok() }
        })
        .await?;
        Ok(SwapServerClient::new(channel))
    }

    /// The stored state history of a swap (from the HTTP status route).
    pub async fn history(&self, hash: &[u8]) -> anyhow::Result<Vec<ServerSwapState>> {
        let url = format!("{}/v1/loop/out/{}", self.http_url(), hex::encode(hash));
        let status: swap_server::http::StatusJson =
            reqwest::get(url).await?.error_for_status()?.json().await?;
        status
            .updates
            .iter()
            .map(|u| ServerSwapState::from_str_name(&u.state).context("unknown state name"))
            .collect()
    }

    /// Balance of a mock node, msat.
    pub fn balance(&self, node: &str) -> u64 {
        self.net.node(node).balance_msat()
    }

    /// The state of an invoice of the server's lnd.
    pub async fn server_invoice_state(&self, hash: &[u8]) -> anyhow::Result<InvoiceState> {
        let invoice = self
            .server_lnd
            .lightning
            .clone()
            .lookup_invoice(PaymentHash {
                r_hash: hash.to_vec(),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(InvoiceState::try_from(invoice.state)?)
    }

    /// Waits until the server's lnd reports the invoice in `state`.
    pub async fn wait_invoice_state(&self, hash: &[u8], state: InvoiceState) -> anyhow::Result<()> {
        eventually(
            &format!("invoice {} {state:?}", hex::encode(hash)),
            || async { (self.server_invoice_state(hash).await.ok()? == state).then_some(()) },
        )
        .await
    }

    /// Decodes an invoice with the client's lnd.
    pub async fn decode(&self, invoice: &str) -> anyhow::Result<PayReq> {
        Ok(self
            .client_lnd
            .lightning
            .clone()
            .decode_pay_req(PayReqString {
                pay_req: invoice.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Starts paying `invoice` from the client node; the task ends with the final payment.
    pub fn pay(&self, invoice: &str) -> JoinHandle<anyhow::Result<Payment>> {
        let mut router = self.client_lnd.router.clone();
        let request = SendPaymentRequest {
            payment_request: invoice.to_owned(),
            timeout_seconds: 60,
            fee_limit_sat: 100,
            ..Default::default()
        };
        tokio::spawn(async move {
            let mut stream = router.send_payment_v2(request).await?.into_inner();
            while let Some(payment) = stream.message().await? {
                match payment.status {
                    2 => {
                        return Ok(Payment {
                            succeeded: true,
                            fee_msat: u64::try_from(payment.fee_msat)?,
                        })
                    }
                    3 => {
                        return Ok(Payment {
                            succeeded: false,
                            fee_msat: 0,
                        })
                    }
                    _ => {}
                }
            }
            bail!("payment stream ended without a final state")
        })
    }
}

/// The outcome of a payment made by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub succeeded: bool,
    pub fee_msat: u64,
}

/// What a loop-out client prepares: a preimage and a `NewLoopOutSwap` request.
pub struct SwapSecret {
    pub preimage: [u8; 32],
    pub hash: Vec<u8>,
}

/// A fresh preimage and a request for `amt` with a real receiver key.
pub fn new_swap_request(amt: u64) -> (SwapSecret, ServerLoopOutRequest) {
    let mut preimage = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut preimage);
    let hash = Sha256::digest(preimage).to_vec();
    let receiver_key =
        PublicKey::from_secret_key(SECP256K1, &SecretKey::new(&mut rand::thread_rng()));
    let request = ServerLoopOutRequest {
        receiver_key: receiver_key.serialize().to_vec(),
        swap_hash: hash.clone(),
        amt,
        swap_publication_deadline: 0,
        protocol_version: 11,
        expiry: 1_000 + 100,
        user_agent: "swap-server-tests".into(),
    };
    (SwapSecret { preimage, hash }, request)
}

/// The JSON body of `POST /v1/loop/out` for `request`.
pub fn new_swap_json(request: &ServerLoopOutRequest) -> serde_json::Value {
    serde_json::json!({
        "receiver_key": hex::encode(&request.receiver_key),
        "swap_hash": hex::encode(&request.swap_hash),
        "amt": request.amt,
        "expiry": request.expiry,
        "user_agent": request.user_agent,
    })
}

/// A subscription to one swap's updates.
pub struct Updates {
    stream: tonic::Streaming<proto::looprpc::SubscribeLoopOutUpdatesResponse>,
    /// Every state received so far, in order.
    pub seen: Vec<ServerSwapState>,
    /// Their timestamps.
    pub timestamps: Vec<i64>,
}

impl Updates {
    /// Subscribes to `hash`.
    pub async fn subscribe(
        client: &mut SwapServerClient<Channel>,
        hash: &[u8],
    ) -> anyhow::Result<Self> {
        let stream = client
            .subscribe_loop_out_updates(SubscribeUpdatesRequest {
                swap_hash: hash.to_vec(),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(Self {
            stream,
            seen: Vec::new(),
            timestamps: Vec::new(),
        })
    }

    /// Reads updates until `state` arrives.
    pub async fn wait_for(&mut self, state: ServerSwapState) -> anyhow::Result<()> {
        within(&format!("state {}", state.as_str_name()), async {
            while let Some(update) = self.stream.next().await {
                let update = update?;
                let received = ServerSwapState::try_from(update.state)?;
                self.seen.push(received);
                self.timestamps.push(update.timestamp_ns);
                if received == state {
                    return Ok(());
                }
            }
            bail!(
                "stream ended before {}; saw {:?}",
                state.as_str_name(),
                self.seen
            )
        })
        .await?
    }

    /// Reads until the stream ends (it does after a final state).
    pub async fn wait_end(&mut self) -> anyhow::Result<()> {
        within("end of update stream", async {
            while let Some(update) = self.stream.next().await {
                let update = update?;
                self.seen.push(ServerSwapState::try_from(update.state)?);
                self.timestamps.push(update.timestamp_ns);
            }
            Ok(())
        })
        .await?
    }
}

//! The programs of another deployment (docker compose): mock-lnd's control endpoint, the proxy's admin
//! API and swap-server's events listener, reached over HTTP, and a loopd of our own in this process that
//! pays through the deployment's client node and calls the deployment's proxy.
//!
//! Each of the three feeds (server-sent events of JSON) is read by one task that republishes it on a
//! local channel, so that the page's translators read the same types either way. A feed that breaks is
//! reopened with backoff; what was missed meanwhile is reported as a [`FeedGap`], never papered over.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use auth_proxy::Decision;
use futures::StreamExt;
use l402_client::{L402Client, L402Config};
use lnd_client::LndConfig;
use mock_lnd::control::{NodeInfo, TotalBalance};
use mock_lnd::NetworkEvent;
use serde::de::DeserializeOwned;
use service_kit::backoff::Reconnect;
use service_kit::sse::{read_json, Received};
use swap_client::config::ServerTls;
use swap_server::swap::SwapUpdate;
use testkit::component::Component;
use testkit::loopd::{self, LoopdSetup};
use testkit::stack::{LoopdClient, CLIENT_NODE, PROXY_NODE, SERVER_NODE};
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::demo::Balances;

/// Items kept on each local channel for a reader that has not read them yet.
const CHANNEL: usize = 1024;
/// How long a control or admin call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the other programs are, and what our loopd is given.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// mock-lnd's control endpoint, e.g. `http://mock-lnd:10099`.
    pub mock_lnd_control: String,
    /// The proxy's admin API, e.g. `http://auth-proxy:8082`.
    pub proxy_admin: String,
    /// The proxy's admin macaroon (binary, as the proxy writes it).
    pub proxy_admin_macaroon: PathBuf,
    /// swap-server's events listener, e.g. `http://swap-server:11012`.
    pub swap_server_events: String,
    /// The proxy's main listener, as loopd dials it (`host:port`).
    pub proxy_host: String,
    /// How loopd reaches the proxy.
    pub proxy_tls: ServerTls,
    /// loopd's lnd node (the deployment's client node).
    pub lnd: LndConfig,
    /// loopd's `--loopdir`.
    pub loop_dir: PathBuf,
    /// loopd's L402 client's limits.
    pub l402: L402Config,
}

/// Which remote feed a [`FeedGap`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteFeed {
    /// The proxy's decisions (`GET /v1/decisions` of its admin API).
    Decisions,
    /// mock-lnd's invoice and payment events (`GET /events` of its control endpoint).
    Network,
    /// swap-server's swap updates (`GET /v1/swaps/updates` of its events listener).
    Swaps,
}

/// Events of a remote feed that did not reach us: its server said we lagged, or the stream broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedGap {
    /// The feed.
    pub feed: RemoteFeed,
    /// What happened, for a person.
    pub what: String,
}

/// The remote programs and our loopd.
pub struct Remote {
    options: RemoteOptions,
    http: reqwest::Client,
    admin_macaroon_hex: String,
    loopd: Component,
    l402: L402Client,
    decisions: broadcast::Sender<Decision>,
    network: broadcast::Sender<NetworkEvent>,
    swaps: broadcast::Sender<SwapUpdate>,
    gaps: broadcast::Sender<FeedGap>,
    readers: JoinSet<()>,
}

impl Remote {
    /// Opens the three feeds (so that nothing our loopd causes is missed), then starts loopd. Fails with
    /// the program's name when one cannot be reached or refuses us.
    pub async fn connect(options: RemoteOptions) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CALL_TIMEOUT)
            .build()?;
        let macaroon = std::fs::read(&options.proxy_admin_macaroon).with_context(|| {
            format!(
                "reading the proxy's admin macaroon {}",
                options.proxy_admin_macaroon.display()
            )
        })?;
        let admin_macaroon_hex = hex::encode(macaroon);
        let (gaps, _) = broadcast::channel(CHANNEL);
        let mut readers = JoinSet::new();
        let source = |feed, request| Source {
            feed,
            request,
            gaps: gaps.clone(),
        };
        let decisions = open_feed(
            &mut readers,
            source(
                RemoteFeed::Decisions,
                http.get(format!("{}/v1/decisions", options.proxy_admin))
                    .header("macaroon", &admin_macaroon_hex),
            ),
        )
        .await?;
        let network = open_feed(
            &mut readers,
            source(
                RemoteFeed::Network,
                http.get(format!("{}/events", options.mock_lnd_control)),
            ),
        )
        .await?;
        let swaps = open_feed(
            &mut readers,
            source(
                RemoteFeed::Swaps,
                http.get(format!("{}/v1/swaps/updates", options.swap_server_events)),
            ),
        )
        .await?;
        let (loopd, l402) = loopd::start(LoopdSetup {
            lnd: options.lnd.clone(),
            server_host: options.proxy_host.clone(),
            server_tls: options.proxy_tls.clone(),
            loop_dir: options.loop_dir.clone(),
            l402: options.l402,
            addr: None,
        })
        .await?;
        Ok(Self {
            options,
            http,
            admin_macaroon_hex,
            loopd,
            l402,
            decisions,
            network,
            swaps,
            gaps,
            readers,
        })
    }

    /// Our loopd's L402 client.
    pub fn l402(&self) -> &L402Client {
        &self.l402
    }

    /// A gRPC client of our loopd.
    pub fn loop_client(&self) -> anyhow::Result<LoopdClient> {
        loopd::connect(self.loopd.addr(), &self.options.loop_dir)
    }

    /// Where our loopd serves `looprpc.SwapClient`.
    pub fn loopd_addr(&self) -> SocketAddr {
        self.loopd.addr()
    }

    /// The proxy's decisions from now on.
    pub fn decisions(&self) -> broadcast::Receiver<Decision> {
        self.decisions.subscribe()
    }

    /// mock-lnd's events from now on.
    pub fn network_events(&self) -> broadcast::Receiver<NetworkEvent> {
        self.network.subscribe()
    }

    /// swap-server's updates from now on.
    pub fn swap_updates(&self) -> broadcast::Receiver<SwapUpdate> {
        self.swaps.subscribe()
    }

    /// The feeds' interruptions from now on.
    pub fn feed_gaps(&self) -> broadcast::Receiver<FeedGap> {
        self.gaps.subscribe()
    }

    /// One node, as mock-lnd's control endpoint reports it.
    pub async fn node(&self, name: &str) -> anyhow::Result<NodeInfo> {
        let url = format!("{}/nodes/{name}", self.options.mock_lnd_control);
        json_answer("mock-lnd", self.http.get(url)).await
    }

    /// The three nodes' balances.
    pub async fn balances(&self) -> anyhow::Result<Balances> {
        let url = format!("{}/nodes", self.options.mock_lnd_control);
        let nodes: Vec<NodeInfo> = json_answer("mock-lnd", self.http.get(url)).await?;
        let sat = |name: &str| {
            nodes
                .iter()
                .find(|node| node.name == name)
                .map(|node| node.balance_msat / 1000)
                .with_context(|| format!("mock-lnd has no node {name:?}"))
        };
        Ok(Balances {
            client: sat(CLIENT_NODE)?,
            proxy: sat(PROXY_NODE)?,
            server: sat(SERVER_NODE)?,
        })
    }

    /// The network's total balance.
    pub async fn total_balance_msat(&self) -> anyhow::Result<u64> {
        let url = format!("{}/total-balance", self.options.mock_lnd_control);
        let total: TotalBalance = json_answer("mock-lnd", self.http.get(url)).await?;
        Ok(total.total_balance_msat)
    }

    /// Takes node `name` offline or brings it back, through mock-lnd's control endpoint.
    pub async fn set_online(&self, name: &str, online: bool) -> anyhow::Result<()> {
        let verb = if online { "online" } else { "offline" };
        let url = format!("{}/nodes/{name}/{verb}", self.options.mock_lnd_control);
        let _: NodeInfo = json_answer("mock-lnd", self.http.post(url)).await?;
        Ok(())
    }

    /// Revokes `token_id` through the proxy's admin API; `false` if it was not an unrevoked token there.
    pub async fn revoke(&self, token_id: &str) -> anyhow::Result<bool> {
        let url = format!("{}/v1/tokens/{token_id}/revoke", self.options.proxy_admin);
        let request = self
            .http
            .post(url)
            .header("macaroon", &self.admin_macaroon_hex);
        let program = "auth-proxy's admin API";
        let response = send(program, request).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        successful(program, response).await?;
        Ok(true)
    }

    /// Stops our loopd and the feed readers.
    pub async fn shutdown(mut self) {
        self.readers.abort_all();
        if let Err(error) = self.loopd.stop().await {
            tracing::error!(component = "loopd", "{error:#}");
        }
    }
}

/// One remote feed to read.
struct Source {
    feed: RemoteFeed,
    request: reqwest::RequestBuilder,
    gaps: broadcast::Sender<FeedGap>,
}

impl Source {
    fn name(&self) -> &'static str {
        match self.feed {
            RemoteFeed::Decisions => "auth-proxy's decision feed",
            RemoteFeed::Network => "mock-lnd's event feed",
            RemoteFeed::Swaps => "swap-server's update feed",
        }
    }

    fn gap(&self, what: String) {
        tracing::warn!(feed = self.name(), "{what}");
        // Nobody watching is fine.
        let _ = self.gaps.send(FeedGap {
            feed: self.feed,
            what,
        });
    }

    /// Opens the stream once: an answer other than an event stream is an error naming the feed.
    async fn open(&self) -> anyhow::Result<reqwest::Response> {
        let request = self
            .request
            .try_clone()
            .context("a feed request has no body to clone")?;
        // No timeout on the whole answer: it is endless.
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.name()))?;
        successful(self.name(), response).await
    }
}

/// Opens `source` (failing if it cannot be opened now) and spawns the task that republishes it, reopening
/// it with backoff when it breaks.
async fn open_feed<T>(
    readers: &mut JoinSet<()>,
    source: Source,
) -> anyhow::Result<broadcast::Sender<T>>
where
    T: DeserializeOwned + Clone + Send + 'static,
{
    let first = source.open().await?;
    let (tx, _) = broadcast::channel(CHANNEL);
    let local = tx.clone();
    readers.spawn(async move {
        let mut response = Some(first);
        let mut delays = Reconnect::new(Duration::from_millis(200), Duration::from_secs(10));
        loop {
            let opened = match response.take() {
                Some(response) => Ok(response),
                None => source.open().await,
            };
            match opened {
                Ok(response) => {
                    delays.reset();
                    let why = republish(&source, response, &local).await;
                    source.gap(format!("{why}; reopening it (events meanwhile are missed)"));
                }
                Err(error) => source.gap(format!("{error:#}; retrying")),
            }
            tokio::time::sleep(delays.next_delay()).await;
        }
    });
    Ok(tx)
}

/// Sends every item of `response` to `local` until the stream ends or breaks, and says which.
async fn republish<T>(
    source: &Source,
    response: reqwest::Response,
    local: &broadcast::Sender<T>,
) -> String
where
    T: DeserializeOwned + Clone + Send + 'static,
{
    let mut items = Box::pin(read_json::<T, _, _>(response.bytes_stream()));
    while let Some(item) = items.next().await {
        match item {
            // Nobody watching is fine.
            Ok(Received::Item(item)) => drop(local.send(item)),
            Ok(Received::Lagged(missed)) => {
                source.gap(format!("we fell behind and missed {missed} events"))
            }
            Err(error) => return error.to_string(),
        }
    }
    "the stream ended".to_owned()
}

/// `response` if it is a success, else an error with its status and body.
async fn successful(
    program: &str,
    response: reqwest::Response,
) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    bail!(
        "{program} answered {}: {}",
        response.status(),
        response.text().await.unwrap_or_default()
    )
}

/// Sends `request` (bounded by [`CALL_TIMEOUT`]), naming `program` if it cannot be reached.
async fn send(
    program: &str,
    request: reqwest::RequestBuilder,
) -> anyhow::Result<reqwest::Response> {
    request
        .timeout(CALL_TIMEOUT)
        .send()
        .await
        .with_context(|| format!("cannot reach {program}"))
}

/// Sends `request` and reads a JSON answer, or an error with the status and body.
async fn json_answer<T: DeserializeOwned>(
    program: &str,
    request: reqwest::RequestBuilder,
) -> anyhow::Result<T> {
    successful(program, send(program, request).await?)
        .await?
        .json()
        .await
        .with_context(|| format!("{program} answered something that is not the JSON expected"))
}

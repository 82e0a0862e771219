//! The programs the demo plays its loops on and watches: every one of them in this process
//! ([`Programs::InProcess`], the demo and `--web`), or mock-lnd, auth-proxy and swap-server running
//! elsewhere with only loopd here ([`Programs::Remote`], the page in docker compose). Either way the
//! loops go through a real loopd, and the feeds are the programs' own instrumentation; only the way
//! they are reached differs.

use std::sync::Arc;

use auth_proxy::Decision;
use l402_client::L402Client;
use mock_lnd::NetworkEvent;
use swap_server::swap::SwapUpdate;
use testkit::stack::{LoopdClient, Stack, CLIENT_NODE, PROXY_NODE, SERVER_NODE};
use tokio::sync::broadcast;

use crate::demo::Balances;
use crate::remote::{FeedGap, Remote};

/// Where the programs run.
pub enum Programs {
    /// Every program in this process.
    InProcess(Stack),
    /// mock-lnd, auth-proxy and swap-server elsewhere, reached over their control, admin and events
    /// listeners; loopd in this process.
    Remote(Remote),
}

impl Programs {
    /// A view of them to play loops on and watch.
    pub fn by_ref(&self) -> ProgramsRef<'_> {
        match self {
            Self::InProcess(stack) => ProgramsRef::InProcess(stack),
            Self::Remote(remote) => ProgramsRef::Remote(remote),
        }
    }

    /// Stops what runs in this process.
    pub async fn shutdown(self) {
        match self {
            Self::InProcess(stack) => stack.shutdown().await,
            Self::Remote(remote) => remote.shutdown().await,
        }
    }
}

/// [`Programs`] borrowed: what a loop is played on (a test's own [`Stack`] too, which it may restart
/// between loops).
#[derive(Clone, Copy)]
pub enum ProgramsRef<'a> {
    /// Every program in this process.
    InProcess(&'a Stack),
    /// Another deployment, loopd in this process.
    Remote(&'a Remote),
}

impl<'a> From<&'a Stack> for ProgramsRef<'a> {
    fn from(stack: &'a Stack) -> Self {
        Self::InProcess(stack)
    }
}

impl<'a> ProgramsRef<'a> {
    /// loopd's L402 client: its token store, counters and events.
    pub fn l402(self) -> &'a L402Client {
        match self {
            Self::InProcess(stack) => stack.l402(),
            Self::Remote(remote) => remote.l402(),
        }
    }

    /// A gRPC client of loopd, as the `loop` CLI makes it.
    pub async fn loop_client(self) -> anyhow::Result<LoopdClient> {
        match self {
            Self::InProcess(stack) => stack.loop_client().await,
            Self::Remote(remote) => remote.loop_client(),
        }
    }

    /// The proxy's decisions from now on.
    pub fn decisions(self) -> broadcast::Receiver<Decision> {
        match self {
            Self::InProcess(stack) => stack.proxy().subscribe_decisions(),
            Self::Remote(remote) => remote.decisions(),
        }
    }

    /// mock-lnd's invoice and payment events from now on.
    pub fn network_events(self) -> broadcast::Receiver<NetworkEvent> {
        match self {
            Self::InProcess(stack) => stack.network().subscribe_events(),
            Self::Remote(remote) => remote.network_events(),
        }
    }

    /// swap-server's swap updates from now on.
    pub fn swap_updates(self) -> broadcast::Receiver<SwapUpdate> {
        match self {
            Self::InProcess(stack) => stack.swap_server().subscribe_all(),
            Self::Remote(remote) => remote.swap_updates(),
        }
    }

    /// The interruptions of the remote feeds (none in process: nothing stands between).
    pub fn feed_gaps(self) -> Option<broadcast::Receiver<FeedGap>> {
        match self {
            Self::InProcess(_) => None,
            Self::Remote(remote) => Some(remote.feed_gaps()),
        }
    }

    /// The three nodes' balances now.
    pub async fn balances(self) -> anyhow::Result<Balances> {
        match self {
            Self::InProcess(stack) => {
                let sat = |node: &str| stack.node(node).balance_msat() / 1000;
                Ok(Balances {
                    client: sat(CLIENT_NODE),
                    proxy: sat(PROXY_NODE),
                    server: sat(SERVER_NODE),
                })
            }
            Self::Remote(remote) => remote.balances().await,
        }
    }

    /// The sum of every node's balance (conserved by the network), in millisatoshis.
    pub async fn total_balance_msat(self) -> anyhow::Result<u64> {
        match self {
            Self::InProcess(stack) => Ok(stack.network().total_balance_msat()),
            Self::Remote(remote) => remote.total_balance_msat().await,
        }
    }

    /// How many invoices the proxy's node has created (one per challenge).
    pub async fn proxy_invoice_count(self) -> anyhow::Result<usize> {
        match self {
            Self::InProcess(stack) => Ok(stack.node(PROXY_NODE).invoice_count()),
            Self::Remote(remote) => Ok(remote.node(PROXY_NODE).await?.invoice_count),
        }
    }

    /// The proxy revokes `token_id`; `false` if it was not an unrevoked token there.
    pub async fn revoke(self, token_id: &str) -> anyhow::Result<bool> {
        match self {
            Self::InProcess(stack) => Ok(stack.proxy().revoke(token_id).await?),
            Self::Remote(remote) => remote.revoke(token_id).await,
        }
    }

    /// Whether the proxy's lnd node is online.
    pub async fn proxy_lnd_online(self) -> anyhow::Result<bool> {
        match self {
            Self::InProcess(stack) => Ok(stack.node(PROXY_NODE).is_online()),
            Self::Remote(remote) => Ok(remote.node(PROXY_NODE).await?.online),
        }
    }

    /// Takes the proxy's lnd node offline (`false`) or brings it back online.
    pub async fn set_proxy_lnd_online(self, online: bool) -> anyhow::Result<()> {
        match self {
            Self::InProcess(stack) => Ok(stack.node(PROXY_NODE).try_set_offline(!online).await?),
            Self::Remote(remote) => remote.set_online(PROXY_NODE, online).await,
        }
    }
}

/// Stops `programs` once nothing else holds them (an action still running stops them, less gracefully,
/// when it ends).
pub async fn shutdown_shared(programs: Arc<Programs>) {
    if let Ok(programs) = Arc::try_unwrap(programs) {
        programs.shutdown().await;
    }
}

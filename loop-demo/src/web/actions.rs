//! The page's buttons, each driving the real programs: a `loop out` through loopd ([`demo::play_loop`]),
//! a revocation by the proxy (its in-process handle, or its admin API), the holder's restriction of its
//! token to an expiry in the past, the proxy's lnd node taken offline or back online through mock-lnd
//! (in process, or its control endpoint). One action runs at a time: a press while one runs, or a press that makes no sense now (a
//! first loop while a token is held), is refused with the reason.

use std::sync::Arc;

use l402::Caveat;
use serde::Serialize;
use testkit::stack::SERVICE_NAME;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::detail::{self, Section};
use super::feed::{Feed, Kind, NewEvent, Party};
use super::translate;
use crate::demo::{self, short, Narrator};
use crate::programs::Programs;

const SOURCE: &str = "loop-demo (the button pressed)";

/// A button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `loop out` without a token: 402, payment, retry.
    FirstLoop,
    /// `loop out` with the stored token.
    RepeatLoop,
    /// The proxy revokes the client's token.
    Revoke,
    /// The client restricts its token to an expiry in the past.
    Expire,
    /// The proxy's lnd node goes offline, or comes back.
    ToggleProxyLnd,
}

impl Action {
    /// The action named in `/actions/{name}`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "first-loop" => Self::FirstLoop,
            "repeat-loop" => Self::RepeatLoop,
            "revoke" => Self::Revoke,
            "expire" => Self::Expire,
            "proxy-lnd" => Self::ToggleProxyLnd,
            _ => return None,
        })
    }
}

/// Why a press was refused (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Another action is running.
    #[error("another action is running; wait for it to finish")]
    Busy,
    /// The action does not apply to the present state.
    #[error("{0}")]
    NotNow(&'static str),
}

/// What the buttons need to know: whether an action runs, the token held, the proxy's lnd.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// An action is running.
    pub busy: bool,
    /// The id of the token loopd holds, if any.
    pub token_id: Option<String>,
    /// Whether the proxy's lnd node is online.
    pub proxy_lnd_online: bool,
}

/// Runs the buttons' actions, one at a time.
#[derive(Clone)]
pub struct Actions {
    programs: Arc<Programs>,
    feed: Feed,
    running: Arc<Mutex<()>>,
    first_amount_sat: u64,
    repeat_amount_sat: u64,
}

impl Actions {
    /// Actions on `programs`, reported on `feed`; the loops move these amounts.
    pub fn new(
        programs: Arc<Programs>,
        feed: Feed,
        first_amount_sat: u64,
        repeat_amount_sat: u64,
    ) -> Self {
        Self {
            programs,
            feed,
            running: Arc::default(),
            first_amount_sat,
            repeat_amount_sat,
        }
    }

    /// The buttons' state now (the proxy's lnd counts as offline when mock-lnd cannot tell).
    pub async fn status(&self) -> Status {
        Status {
            busy: self.running.try_lock().is_err(),
            token_id: self
                .programs
                .by_ref()
                .l402()
                .current_token()
                .map(|token| token.token_id().to_hex()),
            proxy_lnd_online: self
                .programs
                .by_ref()
                .proxy_lnd_online()
                .await
                .unwrap_or(false),
        }
    }

    /// Publishes the buttons' state, with `busy` as given (the lock's state lags behind the task).
    async fn publish_status(&self, busy: bool) {
        let status = Status {
            busy,
            ..self.status().await
        };
        self.feed.publish(
            NewEvent::state(
                Kind::Status,
                serde_json::to_value(status).unwrap_or_default(),
            )
            .from_source(SOURCE),
        );
    }

    /// Starts `action` in the background, or says why not.
    pub fn start(&self, action: Action) -> Result<(), Refusal> {
        let guard = self
            .running
            .clone()
            .try_lock_owned()
            .map_err(|_| Refusal::Busy)?;
        let held = self.programs.by_ref().l402().current_token().is_some();
        match action {
            Action::FirstLoop if held => {
                return Err(Refusal::NotNow(
                    "loopd already holds a token: this would be a repeat loop",
                ))
            }
            Action::RepeatLoop | Action::Revoke | Action::Expire if !held => {
                return Err(Refusal::NotNow(
                    "loopd holds no token yet: play the first loop",
                ))
            }
            _ => {}
        }
        let this = self.clone();
        tokio::spawn(async move { this.run(action, guard).await });
        Ok(())
    }

    async fn run(self, action: Action, guard: OwnedMutexGuard<()>) {
        self.feed.restart_clock();
        self.publish_status(true).await;
        let outcome = match action {
            Action::FirstLoop => self.play("First loop", self.first_amount_sat).await,
            Action::RepeatLoop => self.play("Repeat loop", self.repeat_amount_sat).await,
            Action::Revoke => self.revoke().await,
            Action::Expire => self.expire().await,
            Action::ToggleProxyLnd => self.toggle_proxy_lnd().await,
        };
        if let Err(error) = outcome {
            self.feed.publish(
                NewEvent::arrow(Kind::Error, Party::Loopd, Party::User, format!("{error:#}"))
                    .from_source(SOURCE),
            );
        }
        self.feed
            .publish(translate::balances(self.programs.by_ref()).await);
        drop(guard);
        self.publish_status(false).await;
    }

    fn section(&self, title: &str, what: &str) {
        self.feed.publish(
            NewEvent::note(Kind::Action, Party::User, title)
                .from_source(SOURCE)
                .with_detail(detail::of([Section::new(title).fact("what happens", what)])),
        );
    }

    async fn play(&self, title: &str, amount_sat: u64) -> anyhow::Result<()> {
        self.section(
            title,
            "loop out through loopd, which calls the swap server through the L402 proxy",
        );
        self.feed.publish(
            NewEvent::arrow(
                Kind::Call,
                Party::User,
                Party::Loopd,
                format!("loop out {amount_sat}"),
            )
            .from_source(SOURCE),
        );
        let report =
            demo::play_loop(self.programs.by_ref(), amount_sat, Narrator::new(false)).await?;
        let facts = Section::new("what loopd reported")
            .fact("swap", &report.swap_id)
            .fact("state", &report.swap_state)
            .fact("challenged (402)", report.challenged)
            .fact("token cost", format!("{} sat", report.token_cost_sat))
            .fact("routing fee", format!("{} sat", report.routing_fee_sat))
            .fact("initiated after", format!("{} ms", report.elapsed_ms))
            .fact("final after", format!("{} ms", report.swap_elapsed_ms))
            .fact("token", &report.token_id);
        self.feed.publish(
            NewEvent::arrow(
                Kind::Result,
                Party::Loopd,
                Party::User,
                format!(
                    "swap {} {} after {} ms",
                    short(&report.swap_id),
                    report.swap_state,
                    report.swap_elapsed_ms
                ),
            )
            .from_source("loopd's SwapInfo")
            .with_detail(detail::of([facts])),
        );
        Ok(())
    }

    async fn revoke(&self) -> anyhow::Result<()> {
        self.section(
            "Revoke token",
            "the proxy deletes the token's root key: its signature can no longer be checked",
        );
        let token_id = self.token_id()?;
        self.feed.publish(
            NewEvent::arrow(
                Kind::Call,
                Party::User,
                Party::Proxy,
                format!("revoke token {}", short(&token_id)),
            )
            .from_source(SOURCE),
        );
        let revoked = self.programs.by_ref().revoke(&token_id).await?;
        let label = if revoked {
            format!("token {} revoked", short(&token_id))
        } else {
            format!("token {} was not an unrevoked token here", short(&token_id))
        };
        self.feed
            .publish(NewEvent::note(Kind::Result, Party::Proxy, label).from_source("auth-proxy"));
        Ok(())
    }

    async fn expire(&self) -> anyhow::Result<()> {
        self.section(
            "Make the token expire",
            "loopd adds a caveat to its own token (attenuation): valid until a second ago",
        );
        let a_second_ago = i64::try_from(service_kit::clock::now_unix())? - 1;
        let caveat = Caveat::valid_until(SERVICE_NAME, a_second_ago)?;
        self.feed.publish(
            NewEvent::arrow(
                Kind::Call,
                Party::User,
                Party::Loopd,
                format!("restrict the token: {}", caveat.condition()),
            )
            .from_source(SOURCE),
        );
        self.programs.by_ref().l402().restrict(&caveat).await?;
        Ok(())
    }

    async fn toggle_proxy_lnd(&self) -> anyhow::Result<()> {
        let offline = self.programs.by_ref().proxy_lnd_online().await?;
        let (title, label) = if offline {
            ("Take the proxy's lnd offline", "stop")
        } else {
            ("Bring the proxy's lnd online", "start")
        };
        self.section(title, "mock-lnd closes (or reopens) the node's listener");
        self.feed.publish(
            NewEvent::arrow(Kind::Call, Party::User, Party::ProxyLnd, label).from_source(SOURCE),
        );
        self.programs
            .by_ref()
            .set_proxy_lnd_online(!offline)
            .await?;
        let state = if self.programs.by_ref().proxy_lnd_online().await? {
            "online"
        } else {
            "offline"
        };
        self.feed
            .publish(NewEvent::note(Kind::Result, Party::ProxyLnd, state).from_source("mock-lnd"));
        Ok(())
    }

    fn token_id(&self) -> anyhow::Result<String> {
        self.programs
            .by_ref()
            .l402()
            .current_token()
            .map(|token| token.token_id().to_hex())
            .ok_or_else(|| anyhow::anyhow!("loopd holds no token"))
    }
}

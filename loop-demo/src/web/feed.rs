//! The page's event feed: every [`PageEvent`] the translators publish, numbered, kept (the most recent
//! [`HISTORY`]) so that a page opened late sees what happened, and sent live to each open page.
//!
//! Bounded: at most [`MAX_VIEWERS`] pages at once ([`Feed::watch`] refuses more), each with a queue of
//! [`QUEUE`] events; a page that falls further behind is told how many events it missed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};

/// Events kept for pages opened later.
pub const HISTORY: usize = 4096;
/// Events queued for one page before it is told it missed some.
pub const QUEUE: usize = 1024;
/// Pages that may watch at once.
pub const MAX_VIEWERS: usize = 16;

/// A participant of the sequence diagram: one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The person typing `loop out` (here: the page's buttons).
    User,
    /// The Loop client daemon, with its L402 client.
    Loopd,
    /// loopd's lnd node.
    ClientLnd,
    /// The L402 reverse proxy.
    Proxy,
    /// The proxy's lnd node, which issues the token invoices.
    ProxyLnd,
    /// The Loop server behind the proxy.
    SwapServer,
    /// The swap server's lnd node (the swap's hold invoices).
    ServerLnd,
}

/// What a row of the diagram stands for; the page styles rows by it and the tests look for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A button was pressed: a new section of the diagram.
    Action,
    /// A request (to the proxy, to an lnd node).
    Call,
    /// The proxy's payment challenge: 402 / `grpc-status` 13 with `WWW-Authenticate`.
    Challenge,
    /// An invoice created, settled or canceled.
    Invoice,
    /// A token file written, evicted or restricted.
    Token,
    /// The Lightning payment that buys a token.
    TokenPayment,
    /// The preimage coming back to the payer (a secret).
    Preimage,
    /// The proxy's verification of a credential.
    Verify,
    /// A verified request forwarded to the swap server, and its answer.
    Forward,
    /// A payment that is part of the swap itself (its hold invoices).
    SwapPayment,
    /// A swap's state, as the swap server stores it.
    SwapState,
    /// The outcome of a button: what loopd answered the user, or a program's refusal.
    Result,
    /// An answer that refuses: an error status, a failed payment.
    Error,
    /// The nodes' balances (no row: the balance panel).
    Balances,
    /// Whether an action runs, the token held, the proxy's lnd (no row: the buttons).
    Status,
}

/// One event as the page receives it (JSON in an SSE `data:` line).
#[derive(Debug, Clone, Serialize)]
pub struct PageEvent {
    /// Its number in the feed, from 1.
    pub seq: u64,
    /// When it happened, in milliseconds since the current button was pressed.
    pub at_ms: f64,
    /// What it stands for.
    pub kind: Kind,
    /// Where the arrow starts (`None`: no arrow).
    pub from: Option<Party>,
    /// Where the arrow ends (the same party as `from`: a note on one lifeline).
    pub to: Option<Party>,
    /// The arrow's text.
    pub label: String,
    /// Which program's instrumentation reported it.
    pub source: &'static str,
    /// What crossed the wire, as sections of facts (shown when the row is opened).
    pub detail: serde_json::Value,
}

/// A new event before the feed numbers and times it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// See [`PageEvent::kind`].
    pub kind: Kind,
    /// See [`PageEvent::from`] and [`PageEvent::to`].
    pub arrow: Option<(Party, Party)>,
    /// See [`PageEvent::label`].
    pub label: String,
    /// See [`PageEvent::source`].
    pub source: &'static str,
    /// See [`PageEvent::detail`].
    pub detail: serde_json::Value,
    /// How long before now it happened (a request's start, reported when its answer is sent).
    pub earlier_by: std::time::Duration,
}

impl NewEvent {
    /// An arrow from `from` to `to`.
    pub fn arrow(kind: Kind, from: Party, to: Party, label: impl Into<String>) -> Self {
        Self {
            kind,
            arrow: Some((from, to)),
            label: label.into(),
            source: "",
            detail: serde_json::Value::Null,
            earlier_by: std::time::Duration::ZERO,
        }
    }

    /// A note on `party`'s lifeline.
    pub fn note(kind: Kind, party: Party, label: impl Into<String>) -> Self {
        Self::arrow(kind, party, party, label)
    }

    /// An event with no row.
    pub fn state(kind: Kind, detail: serde_json::Value) -> Self {
        Self {
            detail,
            arrow: None,
            ..Self::arrow(kind, Party::User, Party::User, "")
        }
    }

    /// Names the program that reported it.
    pub fn from_source(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }

    /// Adds what crossed the wire.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Dates it `by` before now.
    pub fn earlier(mut self, by: std::time::Duration) -> Self {
        self.earlier_by = by;
        self
    }
}

/// The feed; cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    live: broadcast::Sender<Arc<PageEvent>>,
    viewers: Arc<Semaphore>,
}

#[derive(Debug)]
struct State {
    history: VecDeque<Arc<PageEvent>>,
    seq: u64,
    /// When the current button was pressed (times are counted from it).
    epoch: Instant,
}

/// One page's view of the feed: what happened before it opened, then every new event.
#[derive(Debug)]
pub struct Watch {
    /// The kept history, oldest first.
    pub history: Vec<Arc<PageEvent>>,
    /// Every event after the history.
    pub live: broadcast::Receiver<Arc<PageEvent>>,
    /// Frees the viewer's place when dropped.
    pub permit: OwnedSemaphorePermit,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    history: VecDeque::new(),
                    seq: 0,
                    epoch: Instant::now(),
                }),
                live: broadcast::channel(QUEUE).0,
                viewers: Arc::new(Semaphore::new(MAX_VIEWERS)),
            }),
        }
    }
}

impl Feed {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update is a push or a counter: a panicking holder leaves the state consistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts times from now on from this instant (a button was pressed).
    pub fn restart_clock(&self) {
        self.state().epoch = Instant::now();
    }

    /// Numbers, times, keeps and sends `event`.
    pub fn publish(&self, event: NewEvent) {
        let mut state = self.state();
        state.seq += 1;
        let at = state.epoch.elapsed().saturating_sub(event.earlier_by);
        let (from, to) = event
            .arrow
            .map_or((None, None), |(f, t)| (Some(f), Some(t)));
        let event = Arc::new(PageEvent {
            seq: state.seq,
            at_ms: (at.as_secs_f64() * 10_000.0).round() / 10.0,
            kind: event.kind,
            from,
            to,
            label: event.label,
            source: event.source,
            detail: event.detail,
        });
        if state.history.len() == HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(event.clone());
        // Sent under the lock, so that a page's history and its live events neither overlap nor
        // leave a gap. No page watching is fine.
        let _ = self.inner.live.send(event);
    }

    /// A new page's view, or `None` when [`MAX_VIEWERS`] pages already watch.
    pub fn watch(&self) -> Option<Watch> {
        let permit = self.inner.viewers.clone().try_acquire_owned().ok()?;
        let state = self.state();
        Some(Watch {
            live: self.inner.live.subscribe(),
            history: state.history.iter().cloned().collect(),
            permit,
        })
    }
}

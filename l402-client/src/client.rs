//! The transport-independent core of the client: the current token, how a new one is acquired, and the
//! errors a call can end with.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ::http::HeaderValue;
use l402::{Caveat, Challenge, Network, Token, TokenId};
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::events::{L402Event, FEED_CAPACITY};
use crate::payer::{Payer, PayerError, PaymentOutcome, PaymentSuccess};
use crate::store::{StoreError, TokenStore};

/// Loop's default maximum price of a token, in satoshis (`--maxl402cost`).
pub const DEFAULT_MAX_COST_SAT: u64 = 1000;
/// Loop's default maximum routing fee for a token payment (`--maxl402fee`).
pub const DEFAULT_MAX_FEE_SAT: u64 = 10;
/// Loop's payment timeout for a token.
pub const DEFAULT_PAYMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Without an explicit re-purchase budget, re-purchases may cost this many times `max_cost_sat` per
/// [`DEFAULT_REBUY_WINDOW`].
pub const DEFAULT_REBUY_BUDGET_FACTOR: u64 = 10;
/// The rolling window over which re-purchases are budgeted.
pub const DEFAULT_REBUY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The shortest time between two re-purchases (`--l402rebuybackoff`).
pub const DEFAULT_REBUY_BACKOFF: Duration = Duration::from_secs(10 * 60);

/// Limits of automatic token payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L402Config {
    /// Never pay an invoice above this amount (satoshis, fees excluded).
    pub max_cost_sat: u64,
    /// Routing fee limit of the token payment (satoshis).
    pub max_fee_sat: u64,
    /// How long a payment (or the tracking of a pending one) may take.
    pub payment_timeout: Duration,
    /// The network of our lnd (`mainnet`, `testnet`, `regtest`, `simnet` or `signet`): an invoice for
    /// another network is refused before anything is stored or paid. `None`: not checked here.
    pub network: Option<Network>,
    /// Most satoshis that re-purchases — tokens bought because the server rejected the one held — may
    /// cost within [`L402Config::rebuy_window`] (`--maxl402rebuycost`). `None`:
    /// [`DEFAULT_REBUY_BUDGET_FACTOR`] × `max_cost_sat`; see [`L402Config::rebuy_budget_sat`].
    pub rebuy_budget_sat: Option<u64>,
    /// The rolling window of the re-purchase budget.
    pub rebuy_window: Duration,
    /// No re-purchase starts sooner than this after the last one (`--l402rebuybackoff`).
    pub rebuy_backoff: Duration,
}

impl L402Config {
    /// The re-purchase budget in satoshis per [`L402Config::rebuy_window`], defaults applied.
    pub fn rebuy_budget_sat(&self) -> u64 {
        self.rebuy_budget_sat.unwrap_or_else(|| {
            self.max_cost_sat
                .saturating_mul(DEFAULT_REBUY_BUDGET_FACTOR)
        })
    }
}

impl Default for L402Config {
    fn default() -> Self {
        Self {
            max_cost_sat: DEFAULT_MAX_COST_SAT,
            max_fee_sat: DEFAULT_MAX_FEE_SAT,
            payment_timeout: DEFAULT_PAYMENT_TIMEOUT,
            network: None,
            rebuy_budget_sat: None,
            rebuy_window: DEFAULT_REBUY_WINDOW,
            rebuy_backoff: DEFAULT_REBUY_BACKOFF,
        }
    }
}

/// Why a token could not be acquired.
#[derive(Debug, thiserror::Error)]
pub enum L402Error {
    /// The invoice asks more than `--maxl402cost`.
    #[error(
        "cannot pay for L402 token automatically: invoice of {invoice_msat} msat exceeds the \
         configured maximum cost of {max_msat} msat (--maxl402cost)"
    )]
    TooExpensive {
        /// The invoice amount.
        invoice_msat: u64,
        /// The configured maximum.
        max_msat: u64,
    },
    /// The server asked for payment without a usable challenge.
    #[error("invalid L402 challenge: {0}")]
    BadChallenge(String),
    /// The payment failed for good; the pending token was dropped, the next call pays again.
    #[error("L402 token payment failed: {reason}")]
    PaymentFailed {
        /// lnd's failure reason.
        reason: String,
    },
    /// The payment is still in flight; the pending token is kept and tracked on the next call.
    #[error(
        "L402 token payment {payment_hash} still in flight after {timeout:?}; it is tracked again \
         on the next call (see `loop listauth`)"
    )]
    PaymentPending {
        /// Hash of the payment in flight.
        payment_hash: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// lnd could not be asked.
    #[error("L402 token payment: {0}")]
    Lnd(#[from] PayerError),
    /// The token files could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A concurrent call just tried to pay for a token and failed; this call
    /// does not pay again (the next call will).
    #[error("{0} (attempted by a concurrent call; not paying again for this one)")]
    ConcurrentAttemptFailed(String),
    /// A pending token file was found corrupt: its payment may have been sent and cannot be tracked,
    /// so no new token is bought until the operator has looked.
    #[error(
        "a pending L402 token file was corrupt and was moved to {}; its payment may already have \
         been sent, so no new token is bought: check lnd's payments, then delete that file",
        path.display()
    )]
    CorruptPending {
        /// The corrupt file, moved aside.
        path: std::path::PathBuf,
    },
    /// The server rejected the token held, and the last re-purchase is too recent to buy another one.
    #[error(
        "the server rejected the L402 token {token_id}; not buying another one: the last re-purchase \
         was {since:?} ago, less than the back-off of {backoff:?} (--l402rebuybackoff)"
    )]
    RebuyBackoff {
        /// Id of the rejected token.
        token_id: String,
        /// How long ago the last re-purchase started.
        since: Duration,
        /// The configured back-off.
        backoff: Duration,
    },
    /// The server rejected the token held, and buying another one would exceed the re-purchase budget.
    #[error(
        "the server rejected the L402 token {token_id}; not buying another one: re-purchases cost \
         {spent_msat} msat in the last {window:?}, and {invoice_msat} msat more would exceed the \
         budget of {budget_msat} msat (--maxl402rebuycost)"
    )]
    RebuyBudgetExceeded {
        /// Id of the rejected token.
        token_id: String,
        /// What re-purchases cost within the window.
        spent_msat: u64,
        /// The price of the new token.
        invoice_msat: u64,
        /// The configured budget.
        budget_msat: u64,
        /// The budget's window.
        window: Duration,
    },
    /// The server challenged the token that was just acquired for this call.
    #[error("the server rejected the L402 token {token_id} just acquired for this call")]
    Rejected {
        /// Id of the rejected token.
        token_id: String,
    },
}

impl L402Error {
    /// The gRPC status a tonic caller sees for this error.
    pub fn to_status(&self) -> tonic::Status {
        use tonic::Code;
        let code = match self {
            Self::TooExpensive { .. } | Self::BadChallenge(_) | Self::CorruptPending { .. } => {
                Code::FailedPrecondition
            }
            Self::PaymentFailed { .. }
            | Self::PaymentPending { .. }
            | Self::Lnd(_)
            | Self::ConcurrentAttemptFailed(_) => Code::Unavailable,
            Self::Store(_) => Code::Internal,
            Self::Rejected { .. } => Code::PermissionDenied,
            Self::RebuyBackoff { .. } | Self::RebuyBudgetExceeded { .. } => Code::ResourceExhausted,
        };
        tonic::Status::new(code, self.to_string())
    }
}

/// A paid token with its credentials encoded once, ready to attach.
pub struct PaidToken {
    token: Token,
    token_id: TokenId,
    macaroon_metadata: HeaderValue,
    authorization: HeaderValue,
}

impl std::fmt::Debug for PaidToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are bearer secrets: print the id only.
        f.debug_struct("PaidToken")
            .field("token_id", &self.token_id.to_hex())
            .finish_non_exhaustive()
    }
}

impl PaidToken {
    fn new(token: Token) -> Result<Self, L402Error> {
        let credential = token
            .credential()
            .ok_or(StoreError::WrongKind("token has no preimage"))?;
        let metadata = credential
            .to_macaroon_metadata()
            .map_err(|e| L402Error::BadChallenge(format!("cannot add the preimage caveat: {e}")))?;
        let sensitive = |value: String| {
            let mut value = HeaderValue::try_from(value).map_err(|_| {
                L402Error::BadChallenge("credential is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            Ok::<_, L402Error>(value)
        };
        Ok(Self {
            token_id: token.token_id(),
            macaroon_metadata: sensitive(metadata)?,
            authorization: sensitive(credential.to_authorization())?,
            token,
        })
    }

    /// The token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The token id (from the macaroon identifier): what the server sees.
    pub fn token_id(&self) -> &TokenId {
        &self.token_id
    }

    /// `<hex paid macaroon>`, the value of the gRPC `macaroon` metadata.
    pub fn macaroon_metadata(&self) -> &HeaderValue {
        &self.macaroon_metadata
    }

    /// `L402 <base64 macaroon>:<hex preimage>`, the HTTP `Authorization` value.
    pub fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }
}

/// Counters of what the client did (for tests, metrics and the demo).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct L402Stats {
    /// Challenges received (first attempts and retries).
    pub challenges: u64,
    /// Invoices we started to pay.
    pub payments: u64,
    /// Paid tokens we evicted because the server rejected them.
    pub evictions: u64,
    /// Re-purchases started: payments for a token replacing one the server rejected.
    pub rebuys: u64,
    /// Re-purchases refused by the back-off or the budget of [`L402Config`].
    pub rebuys_refused: u64,
}

/// The L402 client core, shared by every transport. Cheap to clone.
#[derive(Clone)]
pub struct L402Client {
    inner: Arc<Inner>,
}

struct Inner {
    store: TokenStore,
    payer: Arc<dyn Payer>,
    config: L402Config,
    current: RwLock<Option<Arc<PaidToken>>>,
    acquire: tokio::sync::Mutex<()>,
    challenges: AtomicU64,
    payments: AtomicU64,
    evictions: AtomicU64,
    /// Number of finished payment attempts, and the failure of the last one.
    attempts: AtomicU64,
    last_failure: std::sync::Mutex<Option<(u64, String)>>,
    rebuys: std::sync::Mutex<Rebuys>,
    rebuys_started: AtomicU64,
    rebuys_refused: AtomicU64,
    events: broadcast::Sender<L402Event>,
}

/// The re-purchases of this client (in memory: a new process starts afresh), for the bounds of
/// [`L402Config`].
#[derive(Debug, Default)]
struct Rebuys {
    /// Id of the token evicted since the last successful purchase: the next purchase replaces it.
    owed: Option<String>,
    /// When each re-purchase started and what its invoice asked (msat), oldest first.
    history: VecDeque<(Instant, u64)>,
}

impl Rebuys {
    /// Whether a re-purchase of `invoice_msat` replacing `token_id` may start at `now`.
    fn check(
        &mut self,
        config: &L402Config,
        token_id: &str,
        invoice_msat: u64,
        now: Instant,
    ) -> Result<(), L402Error> {
        if let Some(&(last, _)) = self.history.back() {
            let since = now.saturating_duration_since(last);
            if since < config.rebuy_backoff {
                return Err(L402Error::RebuyBackoff {
                    token_id: token_id.to_owned(),
                    since,
                    backoff: config.rebuy_backoff,
                });
            }
        }
        let window = config.rebuy_window;
        while let Some(&(start, _)) = self.history.front() {
            if now.saturating_duration_since(start) < window {
                break;
            }
            self.history.pop_front();
        }
        let spent_msat: u64 = self.history.iter().map(|&(_, msat)| msat).sum();
        let budget_msat = config.rebuy_budget_sat().saturating_mul(1000);
        if spent_msat.saturating_add(invoice_msat) > budget_msat {
            return Err(L402Error::RebuyBudgetExceeded {
                token_id: token_id.to_owned(),
                spent_msat,
                invoice_msat,
                budget_msat,
                window,
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for L402Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L402Client")
            .field("store", &self.inner.store.dir())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl L402Client {
    /// A client paying through `payer`, keeping tokens in `store`, and starting
    /// with the paid token already in the store, if any.
    pub fn new(
        store: TokenStore,
        payer: Arc<dyn Payer>,
        config: L402Config,
    ) -> Result<Self, L402Error> {
        let current = store.paid_token()?.map(PaidToken::new).transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                payer,
                config,
                current: RwLock::new(current.map(Arc::new)),
                acquire: tokio::sync::Mutex::new(()),
                challenges: AtomicU64::new(0),
                payments: AtomicU64::new(0),
                evictions: AtomicU64::new(0),
                attempts: AtomicU64::new(0),
                last_failure: std::sync::Mutex::new(None),
                rebuys: std::sync::Mutex::new(Rebuys::default()),
                rebuys_started: AtomicU64::new(0),
                rebuys_refused: AtomicU64::new(0),
                events: broadcast::channel(FEED_CAPACITY).0,
            }),
        })
    }

    /// The token store.
    pub fn store(&self) -> &TokenStore {
        &self.inner.store
    }

    /// The payment limits.
    pub fn config(&self) -> &L402Config {
        &self.inner.config
    }

    /// What the client did so far.
    pub fn stats(&self) -> L402Stats {
        L402Stats {
            challenges: self.inner.challenges.load(Ordering::Relaxed),
            payments: self.inner.payments.load(Ordering::Relaxed),
            evictions: self.inner.evictions.load(Ordering::Relaxed),
            rebuys: self.inner.rebuys_started.load(Ordering::Relaxed),
            rebuys_refused: self.inner.rebuys_refused.load(Ordering::Relaxed),
        }
    }

    /// A live feed of what this client does with tokens from now on (see [`L402Event`]).
    pub fn subscribe_events(&self) -> broadcast::Receiver<L402Event> {
        self.inner.events.subscribe()
    }

    /// Sends the event `make` builds, only when someone listens.
    fn emit(&self, make: impl FnOnce() -> L402Event) {
        if self.inner.events.receiver_count() > 0 {
            // A subscriber that left meanwhile is fine.
            let _ = self.inner.events.send(make());
        }
    }

    /// Adds `caveat` to the paid token (attenuation, which only the holder can do and which can only
    /// restrict the token: a `valid_until` earlier than the server's, fewer capabilities), stores it and
    /// attaches the restricted token from the next call on. Fails when no paid token is held.
    pub async fn restrict(&self, caveat: &Caveat) -> Result<Arc<PaidToken>, L402Error> {
        let _guard = self.inner.acquire.lock().await;
        let mut token = self
            .inner
            .store
            .paid_token()?
            .ok_or(StoreError::WrongKind("no paid token to restrict"))?;
        token.macaroon = token
            .macaroon
            .with_caveat(caveat)
            .map_err(|e| L402Error::BadChallenge(format!("cannot add the caveat: {e}")))?;
        self.inner.store.store_paid(&token)?;
        let paid = Arc::new(PaidToken::new(token)?);
        info!(token_id = %paid.token_id.to_hex(), caveat = %caveat.condition(), "L402 token restricted");
        self.emit(|| L402Event::Restricted {
            token_id: paid.token_id,
            caveat: String::from_utf8_lossy(&caveat.to_bytes()).into_owned(),
        });
        self.set_current(Some(paid.clone()));
        Ok(paid)
    }

    /// Counts a challenge that is not handled (met on a retry).
    pub(crate) fn note_challenge(&self) {
        self.inner.challenges.fetch_add(1, Ordering::Relaxed);
    }

    /// The paid token to attach to the next call, if any.
    pub fn current_token(&self) -> Option<Arc<PaidToken>> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_current(&self, token: Option<Arc<PaidToken>>) {
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = token;
    }

    /// Handles a payment challenge met by a call that carried `sent` (the token
    /// attached to it, `None` if it had none) and returns the token to retry with.
    ///
    /// `challenges` are the `WWW-Authenticate` values of the response; the first
    /// one that parses (LSAT or L402 form) is used, and only if a payment is needed.
    pub async fn handle_challenge<'a, I>(
        &self,
        sent: Option<&PaidToken>,
        challenges: I,
    ) -> Result<Arc<PaidToken>, L402Error>
    where
        I: IntoIterator<Item = &'a str>,
    {
        self.inner.challenges.fetch_add(1, Ordering::Relaxed);
        let challenges: Vec<&str> = challenges.into_iter().collect();
        self.emit(|| L402Event::Challenged {
            sent: sent.map(|t| t.token_id),
            challenges: challenges.iter().map(|&c| c.to_owned()).collect(),
        });
        let attempts_seen = self.inner.attempts.load(Ordering::SeqCst);
        let _guard = self.inner.acquire.lock().await;
        let store = &self.inner.store;
        let sent_hash = sent.map(|t| t.token.payment_hash);
        // Parsed now, used only if a payment is needed.
        let challenge = parse_challenges(challenges);

        // Another call may have acquired a token while we waited for the lock.
        if let Some(paid) = store.paid_token()? {
            if Some(&paid.payment_hash) != sent_hash.as_ref() {
                let paid = Arc::new(PaidToken::new(paid)?);
                self.set_current(Some(paid.clone()));
                return Ok(paid);
            }
            // The server rejected the very token we sent. Unless the bounds on
            // re-purchases forbid a new one (then it stays, and the next call
            // is refused the same way), keep it aside for the user and never
            // send it again.
            let token_id = paid.token_id().to_hex();
            if let Ok(challenge) = &challenge {
                self.check_rebuy(&token_id, challenge)?;
            }
            let backup = store.evict_paid()?;
            self.rebuys().owed = Some(token_id);
            self.set_current(None);
            self.inner.evictions.fetch_add(1, Ordering::Relaxed);
            self.emit(|| L402Event::Evicted {
                token_id: paid.token_id(),
            });
            warn!(
                token_id = %paid.token_id().to_hex(),
                backup = ?backup,
                "server rejected the L402 token; evicted"
            );
        }

        // A call that waited behind a failed payment attempt does not pay again.
        if let Some((attempt, error)) = self.last_failure() {
            if attempt > attempts_seen {
                return Err(L402Error::ConcurrentAttemptFailed(error));
            }
        }

        // A payment interrupted earlier (crash, timeout): its fate decides.
        if let Some(pending) = store.pending_token()? {
            match self.resolve_pending(pending).await? {
                Some(paid) => return Ok(paid),
                None => store.remove_pending()?,
            }
        }

        // A corrupt pending token may be a payment already sent: never pay again unasked.
        if let Some(path) = store.corrupt_pending()? {
            return Err(L402Error::CorruptPending { path });
        }
        let challenge = challenge?;
        let rebuy = self.rebuys().owed.clone();
        if let Some(token_id) = &rebuy {
            self.check_rebuy(token_id, &challenge)?;
            let invoice_msat = challenge.amount_msat().unwrap_or(0);
            self.rebuys()
                .history
                .push_back((Instant::now(), invoice_msat));
            self.inner.rebuys_started.fetch_add(1, Ordering::Relaxed);
            warn!(
                rejected_token_id = %token_id,
                amount_msat = invoice_msat,
                "buying a new L402 token to replace the one the server rejected"
            );
        }
        let result = self.pay_challenge(challenge).await;
        if rebuy.is_some() && result.is_ok() {
            self.rebuys().owed = None;
        }
        let attempt = self.inner.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        *self
            .inner
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            result.as_ref().err().map(|e| (attempt, e.to_string()));
        result
    }

    /// The re-purchase state.
    fn rebuys(&self) -> std::sync::MutexGuard<'_, Rebuys> {
        self.inner
            .rebuys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `challenge` may be paid to replace the rejected token `token_id`; a refusal is
    /// logged and counted.
    fn check_rebuy(&self, token_id: &str, challenge: &Challenge) -> Result<(), L402Error> {
        let invoice_msat = challenge.amount_msat().unwrap_or(0);
        let checked =
            self.rebuys()
                .check(&self.inner.config, token_id, invoice_msat, Instant::now());
        if let Err(refusal) = &checked {
            self.inner.rebuys_refused.fetch_add(1, Ordering::Relaxed);
            warn!(%refusal, "not buying a new L402 token");
        }
        checked
    }

    fn last_failure(&self) -> Option<(u64, String)> {
        self.inner
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Makes sure a paid token is present, resolving a pending one if needed;
    /// returns `None` when no token exists (a server challenge is needed to get one).
    pub async fn resume_pending(&self) -> Result<Option<Arc<PaidToken>>, L402Error> {
        let _guard = self.inner.acquire.lock().await;
        if let Some(current) = self.current_token() {
            return Ok(Some(current));
        }
        match self.inner.store.pending_token()? {
            Some(pending) => {
                let paid = self.resolve_pending(pending).await?;
                if paid.is_none() {
                    self.inner.store.remove_pending()?;
                }
                Ok(paid)
            }
            None => Ok(None),
        }
    }

    /// Tracks the payment of a pending token: `Some` if it succeeded (the token
    /// is now paid), `None` if it never will (the caller drops it).
    async fn resolve_pending(&self, pending: Token) -> Result<Option<Arc<PaidToken>>, L402Error> {
        let hash = pending.payment_hash;
        info!(payment_hash = %hash.to_hex(), "tracking the payment of the pending L402 token");
        let timeout = self.inner.config.payment_timeout;
        match self.inner.payer.track(hash, timeout).await? {
            PaymentOutcome::Succeeded(success) => self.store_paid(pending, success).map(Some),
            PaymentOutcome::Failed { reason } => {
                info!(payment_hash = %hash.to_hex(), %reason, "pending L402 payment failed; dropping it");
                Ok(None)
            }
            PaymentOutcome::NotFound => {
                info!(payment_hash = %hash.to_hex(), "pending L402 payment was never sent; dropping it");
                Ok(None)
            }
            PaymentOutcome::InFlight => Err(L402Error::PaymentPending {
                payment_hash: hash.to_hex(),
                timeout,
            }),
        }
    }

    /// Pays a new challenge: check the price, store the pending token, pay,
    /// store the paid token.
    async fn pay_challenge(&self, challenge: Challenge) -> Result<Arc<PaidToken>, L402Error> {
        let config = &self.inner.config;
        let max_msat = config.max_cost_sat.saturating_mul(1000);
        let invoice_msat = challenge.amount_msat().ok_or_else(|| {
            L402Error::BadChallenge("the invoice has no amount; refusing to pay it".into())
        })?;
        if invoice_msat > max_msat {
            return Err(L402Error::TooExpensive {
                invoice_msat,
                max_msat,
            });
        }
        if !challenge.is_consistent() {
            return Err(L402Error::BadChallenge(
                "the invoice does not pay for the macaroon's payment hash".into(),
            ));
        }
        if let Some(network) = config.network {
            let currency = challenge.invoice().currency();
            if !network.accepts(&currency) {
                let invoice_network = Network::of_currency(&currency);
                return Err(L402Error::BadChallenge(format!(
                    "the invoice is for {invoice_network}, but our lnd is on {network}; refusing to pay it"
                )));
            }
        }
        let hash = challenge.payment_hash();
        let token = Token::pending(
            challenge.macaroon().clone(),
            hash,
            std::time::SystemTime::now(),
        );
        // Written before paying, so a crash mid-payment is resolved by tracking.
        self.inner.store.store_pending(&token)?;
        self.emit(|| L402Event::PendingStored {
            token_id: token.token_id(),
            payment_hash: hash,
            invoice_msat,
        });
        self.inner.payments.fetch_add(1, Ordering::Relaxed);
        info!(
            token_id = %token.token_id().to_hex(),
            amount_msat = invoice_msat,
            max_fee_sat = config.max_fee_sat,
            "paying for an L402 token"
        );
        let outcome = self
            .inner
            .payer
            .pay(
                challenge.invoice_str(),
                hash,
                config.max_fee_sat,
                config.payment_timeout,
            )
            .await?;
        let failure = match &outcome {
            PaymentOutcome::Failed { reason } => Some(reason.as_str()),
            PaymentOutcome::NotFound => Some("lnd lost track of the payment"),
            PaymentOutcome::Succeeded(_) | PaymentOutcome::InFlight => None,
        };
        if let Some(reason) = failure {
            self.emit(|| L402Event::PaymentFailed {
                token_id: token.token_id(),
                reason: reason.to_owned(),
            });
        }
        match outcome {
            PaymentOutcome::Succeeded(success) => self.store_paid(token, success),
            PaymentOutcome::Failed { reason } => {
                self.inner.store.remove_pending()?;
                Err(L402Error::PaymentFailed { reason })
            }
            PaymentOutcome::NotFound => {
                self.inner.store.remove_pending()?;
                Err(L402Error::PaymentFailed {
                    reason: "lnd lost track of the payment".into(),
                })
            }
            PaymentOutcome::InFlight => Err(L402Error::PaymentPending {
                payment_hash: hash.to_hex(),
                timeout: config.payment_timeout,
            }),
        }
    }

    fn store_paid(
        &self,
        mut token: Token,
        success: PaymentSuccess,
    ) -> Result<Arc<PaidToken>, L402Error> {
        if !token.mark_paid(
            success.preimage.clone(),
            success.amount_paid_msat,
            success.routing_fee_msat,
        ) {
            return Err(L402Error::Lnd(PayerError::InvalidPayment(
                "the preimage does not match the token's payment hash".into(),
            )));
        }
        self.inner.store.store_paid(&token)?;
        let paid = Arc::new(PaidToken::new(token)?);
        info!(
            token_id = %paid.token_id.to_hex(),
            amount_paid_msat = success.amount_paid_msat,
            routing_fee_msat = success.routing_fee_msat,
            "L402 token paid"
        );
        self.emit(|| L402Event::Paid {
            token_id: paid.token_id,
            amount_paid_msat: success.amount_paid_msat,
            routing_fee_msat: success.routing_fee_msat,
        });
        self.set_current(Some(paid.clone()));
        Ok(paid)
    }
}

/// The first challenge that parses among `values`.
fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Challenge, L402Error> {
    Challenge::from_header_values(values).map_err(|e| L402Error::BadChallenge(e.to_string()))
}

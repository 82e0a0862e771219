//! The swap manager: the operations of `looprpc.SwapServer`, shared by the
//! gRPC and HTTP front ends.
//!
//! It validates requests, creates swaps (hold invoices on the server's lnd,
//! a stored record) and hands each running swap to its own
//! `actor` task (private module), the single writer of that swap. Operations on
//! a running swap (push preimage, cancel) are sent to the actor as commands;
//! state changes are broadcast to subscribers.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::Stream;
use proto::looprpc::{
    CancelLoopOutSwapRequest, RoutePaymentType, ServerLoopOutQuote, ServerLoopOutQuoteRequest,
    ServerLoopOutRequest, ServerLoopOutResponse, ServerLoopOutTerms, ServerSwapState,
};
use rand::RngCore;
use secp256k1::{PublicKey, SecretKey, SECP256K1};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actor;
use crate::command::Command;
use crate::config::Config;
use crate::error::SwapError;
use crate::lnd::Lnd;
use crate::shared::{lock, Shared};
use crate::store::{Store, StoreError};
use crate::swap::{is_final, now_ns, secret32, Hash32, SwapRecord, SwapUpdate};

/// Capacity of the update broadcast; slower subscribers catch up from the database.
const UPDATE_CHANNEL_CAPACITY: usize = 1024;
/// Commands queued per swap before callers wait.
const COMMAND_CHANNEL_CAPACITY: usize = 16;
/// The lnd hold invoices outlive the payment deadline by this much, so that
/// the server's deadline (not lnd's invoice expiry) decides.
const INVOICE_EXPIRY_MARGIN_SECS: i64 = 60;

/// A stream of swap updates, current state first, ending after a final state.
pub type UpdateStream = Pin<Box<dyn Stream<Item = SwapUpdate> + Send>>;

/// Starts the actor driving `swap`.
fn spawn_actor(shared: &Arc<Shared>, swap: SwapRecord) {
    let (tx, rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    lock(&shared.actors).insert(swap.swap_hash, tx);
    shared.tasks.spawn(actor::run(shared.clone(), swap, rx));
}

/// Marks a swap hash as being created, so that two concurrent requests with
/// the same hash do not both reach lnd.
struct CreationGuard<'a> {
    shared: &'a Shared,
    hash: Hash32,
}

impl Drop for CreationGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.creating).remove(&self.hash);
    }
}

/// A swap's stored record and full state history.
#[derive(Debug, Clone)]
pub struct SwapStatus {
    /// The stored swap.
    pub swap: SwapRecord,
    /// Every state it went through, in order.
    pub updates: Vec<SwapUpdate>,
}

/// The loop-out swap service.
#[derive(Debug, Clone)]
pub struct SwapManager {
    shared: Arc<Shared>,
}

impl SwapManager {
    /// Builds the manager and resumes every unfinished swap in `store`.
    pub async fn start(
        config: Config,
        store: Store,
        lnd: Lnd,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let (updates, _) = broadcast::channel(UPDATE_CHANNEL_CAPACITY);
        let shared = Arc::new(Shared {
            config,
            store,
            lnd,
            updates,
            shutdown,
            actors: Mutex::new(HashMap::new()),
            creating: Mutex::new(HashSet::new()),
            tasks: TaskTracker::new(),
        });
        let unfinished = shared.store.unfinished().await?;
        if !unfinished.is_empty() {
            tracing::info!(count = unfinished.len(), "resuming unfinished swaps");
        }
        for swap in unfinished {
            spawn_actor(&shared, swap);
        }
        Ok(Self { shared })
    }

    /// Stops every swap actor and subscription and waits for them to finish.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// `LoopOutTerms`.
    pub fn terms(&self) -> ServerLoopOutTerms {
        let t = &self.shared.config.terms;
        ServerLoopOutTerms {
            min_swap_amount: t.min_swap_amount,
            max_swap_amount: t.max_swap_amount,
            min_cltv_delta: t.min_cltv_delta,
            max_cltv_delta: t.max_cltv_delta,
        }
    }

    fn check_amount(&self, amt: u64) -> Result<(), SwapError> {
        let t = &self.shared.config.terms;
        if t.amount_in_terms(amt) {
            Ok(())
        } else {
            Err(SwapError::AmountOutOfTerms {
                amt,
                min: t.min_swap_amount,
                max: t.max_swap_amount,
            })
        }
    }

    /// `LoopOutQuote`: the fee and prepay for an amount, and where to pay.
    pub async fn quote(
        &self,
        request: &ServerLoopOutQuoteRequest,
    ) -> Result<ServerLoopOutQuote, SwapError> {
        self.check_amount(request.amt)?;
        let info = self.shared.lnd.node_info().await?;
        let t = &self.shared.config.terms;
        Ok(ServerLoopOutQuote {
            swap_payment_dest: info.pubkey,
            swap_fee: i64::try_from(t.swap_fee(request.amt)).unwrap_or(i64::MAX),
            prepay_amt: t.prepay_amt_sat,
        })
    }

    async fn check_network(&self) -> Result<(), SwapError> {
        let info = self.shared.lnd.node_info().await?;
        let expected = self.shared.config.network;
        if info.network.is_empty() || info.network.parse() == Ok(expected) {
            Ok(())
        } else {
            Err(SwapError::FailedPrecondition(format!(
                "the server's lnd is on {} but the server is configured for {expected}",
                info.network
            )))
        }
    }

    async fn check_expiry(&self, expiry: i32) -> Result<(), SwapError> {
        if expiry == 0 {
            return Ok(());
        }
        let height = i64::from(self.shared.lnd.block_height().await?);
        let expiry = i64::from(expiry);
        let delta = expiry - height;
        let t = &self.shared.config.terms;
        if t.cltv_delta_in_terms(delta) {
            Ok(())
        } else {
            Err(SwapError::CltvOutOfTerms {
                expiry,
                height,
                delta,
                min: t.min_cltv_delta,
                max: t.max_cltv_delta,
            })
        }
    }

    fn reserve(&self, hash: Hash32) -> Result<CreationGuard<'_>, SwapError> {
        if !lock(&self.shared.creating).insert(hash) {
            return Err(SwapError::AlreadyExists(hash.to_string()));
        }
        Ok(CreationGuard {
            shared: &self.shared,
            hash,
        })
    }

    /// `NewLoopOutSwap`: validates the request, creates the hold swap and
    /// prepay invoices, stores the swap and starts driving it.
    ///
    /// `token_id` is the client's L402 token id (hex), when the request came
    /// through the auth proxy.
    pub async fn new_swap(
        &self,
        request: ServerLoopOutRequest,
        token_id: Option<String>,
    ) -> Result<ServerLoopOutResponse, SwapError> {
        let hash = Hash32::from_slice(&request.swap_hash, "swap_hash")?;
        self.check_amount(request.amt)?;
        PublicKey::from_slice(&request.receiver_key).map_err(|_| {
            SwapError::InvalidArgument(
                "receiver_key must be a 33-byte compressed secp256k1 public key".into(),
            )
        })?;
        let _guard = self.reserve(hash)?;
        if self.shared.store.get(&hash).await?.is_some() {
            return Err(SwapError::AlreadyExists(hash.to_string()));
        }
        self.check_network().await?;
        self.check_expiry(request.expiry).await?;

        let config = &self.shared.config;
        let terms = &config.terms;
        let fee = terms.swap_fee(request.amt);
        let prepay_amt = terms.prepay_amt_sat;
        let now = now_ns();
        let client_deadline_ns = request
            .swap_publication_deadline
            .saturating_mul(1_000_000_000);
        let grace_ns =
            i64::try_from(config.timings.publication_grace.as_nanos()).unwrap_or(i64::MAX);
        let payment_deadline_ns = client_deadline_ns.max(now).saturating_add(grace_ns);
        let expiry_secs =
            (payment_deadline_ns - now + 999_999_999) / 1_000_000_000 + INVOICE_EXPIRY_MARGIN_SECS;

        let mut prepay_preimage = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut prepay_preimage);
        let prepay_hash = Hash32::of_preimage(&prepay_preimage);

        let lnd = &self.shared.lnd;
        let swap_value = request.amt + fee - prepay_amt;
        let swap_invoice = lnd
            .add_hold_invoice(
                &hash,
                swap_value,
                format!("loop out {} sat", request.amt),
                expiry_secs,
            )
            .await?;
        let prepay_invoice = match lnd
            .add_hold_invoice(
                &prepay_hash,
                prepay_amt,
                "loop out prepay".into(),
                expiry_secs,
            )
            .await
        {
            Ok(invoice) => invoice,
            Err(e) => {
                self.cancel_quietly(&[hash]).await;
                return Err(e);
            }
        };

        let sender_secret = SecretKey::new(&mut rand::thread_rng());
        let sender_key = PublicKey::from_secret_key(SECP256K1, &sender_secret);
        let swap = SwapRecord {
            swap_hash: hash,
            amount_sat: request.amt,
            fee_sat: fee,
            prepay_amt_sat: prepay_amt,
            receiver_key: request.receiver_key.clone(),
            sender_key: sender_key.serialize().to_vec(),
            sender_secret: sender_secret.secret_bytes(),
            swap_invoice: swap_invoice.payment_request,
            swap_payment_addr: swap_invoice.payment_addr,
            prepay_invoice: prepay_invoice.payment_request,
            prepay_hash,
            prepay_preimage,
            expiry_height: i64::from(request.expiry),
            payment_deadline_ns,
            token_id,
            user_agent: request.user_agent.clone(),
            protocol_version: request.protocol_version,
            state: ServerSwapState::ServerInitiated,
            state_seq: 0,
            state_ns: now,
            htlc_txid: None,
            htlc_published_ns: None,
            timeout_txid: None,
            preimage: None,
            created_ns: now,
        };
        if let Err(e) = self.shared.store.insert_swap(&swap).await {
            self.cancel_quietly(&[hash, prepay_hash]).await;
            return Err(match e {
                StoreError::Duplicate => SwapError::AlreadyExists(hash.to_string()),
                other => other.into(),
            });
        }
        tracing::info!(
            swap_hash = %hash,
            amt = request.amt,
            fee,
            prepay_amt,
            token_id = swap.token_id.as_deref().unwrap_or("-"),
            "loop out swap created"
        );
        let response = ServerLoopOutResponse {
            swap_invoice: swap.swap_invoice.clone(),
            prepay_invoice: swap.prepay_invoice.clone(),
            sender_key: swap.sender_key.clone(),
            server_message: config.server_message.clone(),
        };
        spawn_actor(&self.shared, swap);
        Ok(response)
    }

    /// Best-effort cancellation of invoices of a swap that could not be created.
    async fn cancel_quietly(&self, hashes: &[Hash32]) {
        for hash in hashes {
            if let Err(e) = self.shared.lnd.cancel(hash).await {
                tracing::warn!(hash = %hash, error = %e, "could not cancel invoice of failed swap");
            }
        }
    }

    /// Sends a command to the actor of `hash`; for a swap that is no longer
    /// running, answers from the stored state instead.
    async fn command(
        &self,
        hash: Hash32,
        make: impl FnOnce(oneshot::Sender<Result<(), SwapError>>) -> Command,
    ) -> Result<(), SwapError> {
        let sender = lock(&self.shared.actors).get(&hash).cloned();
        let (reply_tx, reply_rx) = oneshot::channel();
        let command = make(reply_tx);
        let command = match sender {
            Some(sender) => match sender.send(command).await {
                Ok(()) => return reply_rx.await.unwrap_or(Err(SwapError::ShuttingDown)),
                Err(mpsc::error::SendError(command)) => command,
            },
            None => command,
        };
        // No actor: the swap is unknown or finished.
        let swap = self
            .shared
            .store
            .get(&hash)
            .await?
            .ok_or_else(|| SwapError::NotFound(hash.to_string()))?;
        if !is_final(swap.state) {
            // Running swaps always have an actor, except while shutting down.
            return Err(SwapError::ShuttingDown);
        }
        actor::finished_result(&swap, &command)
    }

    /// `LoopOutPushPreimage`: the client reveals the swap preimage; the server
    /// settles both invoices and the swap succeeds.
    pub async fn push_preimage(&self, preimage: &[u8]) -> Result<(), SwapError> {
        let preimage = secret32(preimage, "preimage")?;
        let hash = Hash32::of_preimage(&preimage);
        self.command(hash, |reply| Command::PushPreimage { preimage, reply })
            .await
    }

    /// `CancelLoopOutSwap`: the client gives up before the HTLC is published.
    pub async fn cancel(
        &self,
        request: CancelLoopOutSwapRequest,
        token_id: Option<String>,
    ) -> Result<(), SwapError> {
        let hash = Hash32::from_slice(&request.swap_hash, "swap_hash")?;
        let route_type = match request.cancel_info {
            Some(proto::looprpc::cancel_loop_out_swap_request::CancelInfo::RouteCancel(
                ref cancel,
            )) => RoutePaymentType::try_from(cancel.route_type).unwrap_or_default(),
            None => RoutePaymentType::RouteUnknown,
        };
        self.command(hash, |reply| Command::Cancel {
            payment_addr: request.payment_address,
            route_type,
            token_id,
            reply,
        })
        .await
    }

    /// The stored swap and its history.
    pub async fn status(&self, hash: &Hash32) -> Result<SwapStatus, SwapError> {
        let swap = self
            .shared
            .store
            .get(hash)
            .await?
            .ok_or_else(|| SwapError::NotFound(hash.to_string()))?;
        let updates = self.shared.store.updates(hash).await?;
        Ok(SwapStatus { swap, updates })
    }

    /// Every state change of every swap from now on, as it is stored (for in-process observers such as
    /// `loop-demo --web`). Bounded: a subscriber that falls behind is told how many it missed, and
    /// finds the history in [`SwapManager::status`].
    pub fn subscribe_all(&self) -> broadcast::Receiver<SwapUpdate> {
        self.shared.updates.subscribe()
    }

    /// `SubscribeLoopOutUpdates`: the current state, then every later one,
    /// ending after a final state (or at shutdown).
    pub async fn subscribe(&self, hash: Hash32) -> Result<UpdateStream, SwapError> {
        // Subscribe before reading the current state so no change falls between.
        let mut rx = self.shared.updates.subscribe();
        let swap = self
            .shared
            .store
            .get(&hash)
            .await?
            .ok_or_else(|| SwapError::NotFound(hash.to_string()))?;
        let shared = self.shared.clone();
        let stream = async_stream::stream! {
            let mut last = swap.current_update();
            yield last;
            while !is_final(last.state) {
                let received = tokio::select! {
                    _ = shared.shutdown.cancelled() => break,
                    received = rx.recv() => received,
                };
                match received {
                    Ok(update) if update.swap_hash == hash && update.seq > last.seq => {
                        last = update;
                        yield update;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Missed some broadcasts: replay from the stored history.
                        match shared.store.updates(&hash).await {
                            Ok(history) => {
                                let seen = last.seq;
                                for update in history.into_iter().filter(|u| u.seq > seen) {
                                    last = update;
                                    yield update;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(swap_hash = %hash, error = %e, "cannot replay updates");
                                break;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        };
        Ok(Box::pin(stream))
    }
}

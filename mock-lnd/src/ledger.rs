//! The simulated network's state: balances, invoices, payments and subscriptions of every node.
//!
//! All state sits behind one mutex, so a payment moves money between two nodes atomically and the
//! sum of all balances, the money locked in accepted hold invoices and the routing fees earned by the
//! (simulated) intermediate hops never changes. Nothing here awaits while holding the lock.
//!
//! A payment is started synchronously (a duplicate is refused right away with `AlreadyExists`), then
//! completed by a spawned task after the configured latency, so it goes on even if the caller stops
//! listening, as with lnd. Its state lives in a `watch` channel that `SendPaymentV2`,
//! `TrackPaymentV2` and `SendPaymentSync` read.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin_hashes::{sha256, Hash};
use lightning_invoice::Currency;
use proto::lnrpc::{self, invoice::InvoiceState, payment::PaymentStatus, PaymentFailureReason};
use rand::RngCore;
use secp256k1::{PublicKey, SecretKey};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::invoice::{self, InvoiceParams};

/// Index of a node in the network.
pub(crate) type NodeId = usize;
/// A payment hash.
pub(crate) type Hash32 = [u8; 32];

/// Why a payment failed, as lnd reports it in `Payment.failure_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureReason {
    /// `FAILURE_REASON_TIMEOUT`: the payment timeout elapsed before a route was found.
    Timeout,
    /// `FAILURE_REASON_NO_ROUTE`: unknown or offline destination, or every route costs more than the fee limit.
    NoRoute,
    /// `FAILURE_REASON_ERROR`: an unexpected error.
    Error,
    /// `FAILURE_REASON_INCORRECT_PAYMENT_DETAILS`: unknown, expired, canceled, paid or wrong-amount invoice.
    IncorrectPaymentDetails,
    /// `FAILURE_REASON_INSUFFICIENT_BALANCE`: the payer cannot afford amount + fee.
    InsufficientBalance,
    /// `FAILURE_REASON_CANCELED`: the payment was canceled.
    Canceled,
}

impl FailureReason {
    /// Every reason, in lnd's numbering order.
    pub const ALL: [FailureReason; 6] = [
        Self::Timeout,
        Self::NoRoute,
        Self::Error,
        Self::IncorrectPaymentDetails,
        Self::InsufficientBalance,
        Self::Canceled,
    ];

    /// The protobuf enum value.
    pub fn to_proto(self) -> PaymentFailureReason {
        match self {
            Self::Timeout => PaymentFailureReason::FailureReasonTimeout,
            Self::NoRoute => PaymentFailureReason::FailureReasonNoRoute,
            Self::Error => PaymentFailureReason::FailureReasonError,
            Self::IncorrectPaymentDetails => {
                PaymentFailureReason::FailureReasonIncorrectPaymentDetails
            }
            Self::InsufficientBalance => PaymentFailureReason::FailureReasonInsufficientBalance,
            Self::Canceled => PaymentFailureReason::FailureReasonCanceled,
        }
    }

    /// lnd's name, e.g. `FAILURE_REASON_NO_ROUTE`.
    pub fn as_str(self) -> &'static str {
        self.to_proto().as_str_name()
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a failure reason name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure reason {0:?} (expected e.g. NO_ROUTE or FAILURE_REASON_NO_ROUTE)")]
pub struct ParseFailureReasonError(String);

impl FromStr for FailureReason {
    type Err = ParseFailureReasonError;

    /// Accepts `FAILURE_REASON_NO_ROUTE`, `NO_ROUTE`, `no_route` or `no-route`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalised = s.trim().to_ascii_uppercase().replace('-', "_");
        let name = normalised
            .strip_prefix("FAILURE_REASON_")
            .unwrap_or(&normalised);
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str().strip_prefix("FAILURE_REASON_") == Some(name))
            .ok_or_else(|| ParseFailureReasonError(s.to_owned()))
    }
}

/// Settings shared by every node of the network.
#[derive(Debug, Clone)]
pub(crate) struct LedgerConfig {
    pub currency: Currency,
    pub base_fee_msat: u64,
    pub fee_ppm: u64,
    pub initial_balance_msat: u64,
    pub payment_latency: Duration,
}

/// Immutable facts about a node.
pub(crate) struct NodeMeta {
    pub name: String,
    pub key: SecretKey,
    pub pubkey: PublicKey,
}

/// The network's ledger; shared by every node's RPC services.
pub(crate) struct Ledger {
    pub currency: Currency,
    base_fee_msat: u64,
    fee_ppm: u64,
    nodes: Vec<NodeMeta>,
    state: Mutex<State>,
    /// Cancelled when the network shuts down: stops expiry timers and pending payment tasks.
    shutdown: CancellationToken,
    /// Lets methods spawn tasks that refer back to the ledger without keeping it alive.
    this: Weak<Ledger>,
}

struct State {
    nodes: Vec<NodeState>,
    /// Money debited from payers for accepted hold invoices, not yet settled or refunded.
    in_flight_msat: u64,
    /// Routing fees earned by the simulated intermediate hops.
    fees_earned_msat: u64,
    payment_latency: Duration,
}

struct NodeState {
    balance_msat: u64,
    online: bool,
    invoices: HashMap<Hash32, InvoiceRecord>,
    /// Payment hashes in add_index order (add_index = position + 1).
    invoice_order: Vec<Hash32>,
    settle_index: u64,
    payments: HashMap<Hash32, watch::Sender<lnrpc::Payment>>,
    payment_index: u64,
    fail_next: Option<(u32, FailureReason)>,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    /// `None` = all invoices (`SubscribeInvoices`), `Some(hash)` = one (`SubscribeSingleInvoice`).
    hash: Option<Hash32>,
    tx: mpsc::UnboundedSender<lnrpc::Invoice>,
}

/// Money locked by an accepted hold invoice.
#[derive(Clone, Copy)]
struct HeldHtlc {
    payer: NodeId,
    amount_msat: u64,
    fee_msat: u64,
}

struct InvoiceRecord {
    memo: String,
    preimage: Option<Hash32>,
    hash: Hash32,
    value_msat: u64,
    creation_date: u64,
    settle_date: u64,
    payment_request: String,
    description_hash: Vec<u8>,
    expiry_secs: u64,
    cltv_expiry: u64,
    add_index: u64,
    settle_index: u64,
    amt_paid_msat: u64,
    state: InvoiceState,
    payment_addr: Hash32,
    held: Option<HeldHtlc>,
}

impl InvoiceRecord {
    fn to_proto(&self) -> lnrpc::Invoice {
        lnrpc::Invoice {
            memo: self.memo.clone(),
            r_preimage: self.preimage.map(|p| p.to_vec()).unwrap_or_default(),
            r_hash: self.hash.to_vec(),
            value: invoice::to_i64(self.value_msat / 1000),
            settled: self.state == InvoiceState::Settled,
            creation_date: invoice::to_i64(self.creation_date),
            settle_date: invoice::to_i64(self.settle_date),
            payment_request: self.payment_request.clone(),
            description_hash: self.description_hash.clone(),
            expiry: invoice::to_i64(self.expiry_secs),
            cltv_expiry: self.cltv_expiry,
            private: false,
            add_index: self.add_index,
            settle_index: self.settle_index,
            amt_paid_sat: invoice::to_i64(self.amt_paid_msat / 1000),
            amt_paid_msat: invoice::to_i64(self.amt_paid_msat),
            state: self.state as i32,
            value_msat: invoice::to_i64(self.value_msat),
            payment_addr: self.payment_addr.to_vec(),
        }
    }

    fn is_expired(&self, now: u64) -> bool {
        now >= self.creation_date.saturating_add(self.expiry_secs)
    }
}

/// A request to create an invoice (regular or hold).
pub(crate) struct NewInvoice {
    pub memo: String,
    pub value_msat: u64,
    pub expiry_secs: u64,
    pub cltv_expiry: u64,
    pub description_hash: Option<Hash32>,
    /// Regular invoice: the preimage. Hold invoice: only the hash is known.
    pub secret: InvoiceSecret,
}

/// What the payee knows about the payment hash.
pub(crate) enum InvoiceSecret {
    Preimage(Hash32),
    HoldHash(Hash32),
}

/// The result of adding an invoice.
pub(crate) struct AddedInvoice {
    pub hash: Hash32,
    pub payment_request: String,
    pub add_index: u64,
    pub payment_addr: Hash32,
}

/// A validated payment to start.
#[derive(Clone)]
pub(crate) struct PaymentOrder {
    pub destination: PublicKey,
    pub hash: Hash32,
    pub amount_msat: u64,
    pub fee_limit_msat: u64,
    /// The invoice's payment secret, when paying an invoice.
    pub payment_addr: Option<Hash32>,
    pub payment_request: String,
    pub timeout: Duration,
}

/// The state of a started payment: its first snapshot and a receiver of its updates.
pub(crate) struct PaymentWatch {
    pub initial: lnrpc::Payment,
    pub updates: watch::Receiver<lnrpc::Payment>,
}

/// Whether a payment state is final.
pub(crate) fn is_final(payment: &lnrpc::Payment) -> bool {
    payment.status == PaymentStatus::Succeeded as i32
        || payment.status == PaymentStatus::Failed as i32
}

/// lnd's representation of an unknown preimage in `Payment.payment_preimage`.
const ZERO_PREIMAGE_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn random_32() -> Hash32 {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// sha256 of a preimage.
pub(crate) fn hash_of(preimage: &Hash32) -> Hash32 {
    sha256::Hash::hash(preimage).to_byte_array()
}

/// How a payment attempt ended (decided under the lock, published afterwards).
enum Outcome {
    Succeeded { preimage: Hash32, fee_msat: u64 },
    Held,
    Failed(FailureReason),
}

impl Ledger {
    /// A ledger for `nodes`, each starting with the configured balance.
    pub fn new(
        config: &LedgerConfig,
        nodes: Vec<NodeMeta>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let states = nodes
            .iter()
            .map(|_| NodeState {
                balance_msat: config.initial_balance_msat,
                online: true,
                invoices: HashMap::new(),
                invoice_order: Vec::new(),
                settle_index: 0,
                payments: HashMap::new(),
                payment_index: 0,
                fail_next: None,
                subscribers: Vec::new(),
            })
            .collect();
        Arc::new_cyclic(|this| Self {
            currency: config.currency.clone(),
            base_fee_msat: config.base_fee_msat,
            fee_ppm: config.fee_ppm,
            nodes,
            state: Mutex::new(State {
                nodes: states,
                in_flight_msat: 0,
                fees_earned_msat: 0,
                payment_latency: config.payment_latency,
            }),
            shutdown,
            this: this.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied transfer (all updates are
        // computed first), so a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Immutable facts about node `id`.
    pub fn meta(&self, id: NodeId) -> &NodeMeta {
        &self.nodes[id]
    }

    /// The number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The routing fee charged for sending `amount_msat`.
    pub fn routing_fee_msat(&self, amount_msat: u64) -> u64 {
        let proportional = u128::from(amount_msat) * u128::from(self.fee_ppm) / 1_000_000;
        self.base_fee_msat
            .saturating_add(u64::try_from(proportional).unwrap_or(u64::MAX))
    }

    // ----- hooks and introspection -----

    /// A node's spendable balance.
    pub fn balance_msat(&self, id: NodeId) -> u64 {
        self.lock().nodes[id].balance_msat
    }

    /// Balances + money held by accepted hold invoices + fees earned by routing hops: never changes.
    pub fn total_balance_msat(&self) -> u64 {
        let state = self.lock();
        state.nodes.iter().map(|n| n.balance_msat).sum::<u64>()
            + state.in_flight_msat
            + state.fees_earned_msat
    }

    /// Number of invoices a node has created.
    pub fn invoice_count(&self, id: NodeId) -> usize {
        self.lock().nodes[id].invoice_order.len()
    }

    /// Number of payments a node has sent (any outcome, retries of a failed hash included).
    pub fn payment_count(&self, id: NodeId) -> usize {
        usize::try_from(self.lock().nodes[id].payment_index).unwrap_or(usize::MAX)
    }

    /// Marks a node on- or offline (an offline node cannot be paid).
    pub fn set_online(&self, id: NodeId, online: bool) {
        self.lock().nodes[id].online = online;
    }

    /// Whether a node is online.
    pub fn is_online(&self, id: NodeId) -> bool {
        self.lock().nodes[id].online
    }

    /// The next `count` payments sent by node `id` fail with `reason` (replaces an earlier setting).
    pub fn fail_next_payments(&self, id: NodeId, count: u32, reason: FailureReason) {
        self.lock().nodes[id].fail_next = (count > 0).then_some((count, reason));
    }

    /// Delay applied before each payment attempt.
    pub fn set_payment_latency(&self, latency: Duration) {
        self.lock().payment_latency = latency;
    }

    /// The current payment latency.
    pub fn payment_latency(&self) -> Duration {
        self.lock().payment_latency
    }

    /// A node's channel balance: local = spendable, remote = inbound still available on its virtual
    /// channels (twice the initial balance of capacity, minus the local side).
    pub fn channel_balance(&self, id: NodeId, capacity_msat: u64) -> (u64, u64) {
        let local = self.balance_msat(id);
        (local, capacity_msat.saturating_sub(local))
    }

    // ----- invoices -----

    /// Creates an invoice on node `id`.
    pub fn add_invoice(&self, id: NodeId, new: NewInvoice) -> Result<AddedInvoice, Status> {
        let (hash, preimage) = match new.secret {
            InvoiceSecret::Preimage(preimage) => (hash_of(&preimage), Some(preimage)),
            InvoiceSecret::HoldHash(hash) => (hash, None),
        };
        let payment_addr = random_32();
        let timestamp = SystemTime::now();
        let creation_date = timestamp
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let bolt11 = invoice::sign_invoice(
            &self.nodes[id].key,
            &InvoiceParams {
                currency: self.currency.clone(),
                payment_hash: hash,
                payment_secret: payment_addr,
                amount_msat: new.value_msat,
                memo: &new.memo,
                description_hash: new.description_hash,
                expiry: Duration::from_secs(new.expiry_secs),
                cltv_expiry: new.cltv_expiry,
                timestamp,
            },
        )?;
        let payment_request = bolt11.to_string();
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        if node.invoices.contains_key(&hash) {
            return Err(Status::already_exists(
                "invoice with payment hash already exists",
            ));
        }
        node.invoice_order.push(hash);
        let record = InvoiceRecord {
            memo: new.memo,
            preimage,
            hash,
            value_msat: new.value_msat,
            creation_date,
            settle_date: 0,
            payment_request: payment_request.clone(),
            description_hash: new.description_hash.map(|h| h.to_vec()).unwrap_or_default(),
            expiry_secs: new.expiry_secs,
            cltv_expiry: new.cltv_expiry,
            add_index: node.invoice_order.len() as u64,
            settle_index: 0,
            amt_paid_msat: 0,
            state: InvoiceState::Open,
            payment_addr,
            held: None,
        };
        let added = AddedInvoice {
            hash,
            payment_request,
            add_index: record.add_index,
            payment_addr,
        };
        tracing::info!(
            node = %self.nodes[id].name,
            add_index = added.add_index,
            payment_hash = %hex::encode(hash),
            value_msat = new.value_msat,
            hold = preimage.is_none(),
            "invoice added"
        );
        notify(node, &record, true);
        node.invoices.insert(hash, record);
        drop(state);
        self.spawn_expiry(id, hash, creation_date.saturating_add(new.expiry_secs));
        Ok(added)
    }

    /// Cancels the invoice when it expires unpaid (lnd's invoice expiry watcher).
    fn spawn_expiry(&self, id: NodeId, hash: Hash32, expires_at_unix: u64) {
        let ledger = self.this.clone();
        let shutdown = self.shutdown.clone();
        let deadline = UNIX_EPOCH + Duration::from_secs(expires_at_unix);
        let wait = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(wait) => {
                    if let Some(ledger) = ledger.upgrade() {
                        ledger.expire(id, hash);
                    }
                }
            }
        });
    }

    fn expire(&self, id: NodeId, hash: Hash32) {
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        if let Some(record) = node.invoices.get_mut(&hash) {
            if record.state == InvoiceState::Open {
                record.state = InvoiceState::Canceled;
                tracing::info!(node = %self.nodes[id].name, payment_hash = %hex::encode(hash), "invoice expired");
                let snapshot = record.to_proto();
                notify_snapshot(node, snapshot, false);
            }
        }
    }

    /// One invoice of node `id`.
    pub fn lookup_invoice(&self, id: NodeId, hash: &Hash32) -> Option<lnrpc::Invoice> {
        self.lock().nodes[id]
            .invoices
            .get(hash)
            .map(InvoiceRecord::to_proto)
    }

    /// lnd's `ListInvoices` paging over add indices.
    pub fn list_invoices(
        &self,
        id: NodeId,
        request: &lnrpc::ListInvoiceRequest,
    ) -> lnrpc::ListInvoiceResponse {
        let state = self.lock();
        let node = &state.nodes[id];
        let max = if request.num_max_invoices == 0 {
            u64::MAX
        } else {
            request.num_max_invoices
        };
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let wanted = |record: &&InvoiceRecord| {
            !request.pending_only
                || matches!(record.state, InvoiceState::Open | InvoiceState::Accepted)
        };
        let records = node.invoice_order.iter().map(|hash| &node.invoices[hash]);
        let invoices: Vec<lnrpc::Invoice> = if request.reversed {
            // Backwards from index_offset (exclusive); 0 means from the newest.
            let end = if request.index_offset == 0 {
                u64::MAX
            } else {
                request.index_offset
            };
            let mut page: Vec<_> = records
                .rev()
                .filter(|r| r.add_index < end)
                .filter(wanted)
                .take(max)
                .map(InvoiceRecord::to_proto)
                .collect();
            page.reverse();
            page
        } else {
            records
                .filter(|r| r.add_index > request.index_offset)
                .filter(wanted)
                .take(max)
                .map(InvoiceRecord::to_proto)
                .collect()
        };
        lnrpc::ListInvoiceResponse {
            first_index_offset: invoices.first().map(|i| i.add_index).unwrap_or(0),
            last_index_offset: invoices.last().map(|i| i.add_index).unwrap_or(0),
            invoices,
        }
    }

    /// `SubscribeInvoices`: replays invoices added after `add_index` and settled after
    /// `settle_index` (when non-zero), then streams new additions and settlements.
    pub fn subscribe_invoices(
        &self,
        id: NodeId,
        add_index: u64,
        settle_index: u64,
    ) -> mpsc::UnboundedReceiver<lnrpc::Invoice> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        let records = || node.invoice_order.iter().map(|hash| &node.invoices[hash]);
        if add_index > 0 {
            // Replayed as stored now (a since-settled invoice comes with its settled state), as lnd does.
            for record in records().filter(|r| r.add_index > add_index) {
                let _ = tx.send(record.to_proto());
            }
        }
        if settle_index > 0 {
            let mut settled: Vec<&InvoiceRecord> = records()
                .filter(|r| r.settle_index > settle_index)
                .collect();
            settled.sort_by_key(|r| r.settle_index);
            for record in settled {
                let _ = tx.send(record.to_proto());
            }
        }
        node.subscribers.push(Subscriber { hash: None, tx });
        rx
    }

    /// `SubscribeSingleInvoice`: the invoice's current state (if it exists), then every change.
    pub fn subscribe_single_invoice(
        &self,
        id: NodeId,
        hash: Hash32,
    ) -> mpsc::UnboundedReceiver<lnrpc::Invoice> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        if let Some(record) = node.invoices.get(&hash) {
            let _ = tx.send(record.to_proto());
        }
        node.subscribers.push(Subscriber {
            hash: Some(hash),
            tx,
        });
        rx
    }

    /// Settles an accepted hold invoice with its preimage: the payee is credited, the payer's
    /// payment succeeds.
    pub fn settle_invoice(&self, id: NodeId, preimage: Hash32) -> Result<(), Status> {
        let hash = hash_of(&preimage);
        let mut state = self.lock();
        let record = state.nodes[id]
            .invoices
            .get(&hash)
            .ok_or_else(invoice_not_found)?;
        let held = match record.state {
            InvoiceState::Settled => return Ok(()),
            InvoiceState::Open => return Err(Status::failed_precondition("invoice still open")),
            InvoiceState::Canceled => {
                return Err(Status::failed_precondition("invoice already canceled"))
            }
            InvoiceState::Accepted => record.held.expect("accepted invoices hold an HTLC"),
        };
        let total = held.amount_msat + held.fee_msat;
        state.in_flight_msat -= total;
        state.fees_earned_msat += held.fee_msat;
        state.nodes[id].balance_msat += held.amount_msat;
        let node = &mut state.nodes[id];
        node.settle_index += 1;
        let settle_index = node.settle_index;
        let record = node.invoices.get_mut(&hash).expect("checked above");
        record.preimage = Some(preimage);
        record.held = None;
        mark_settled(record, settle_index, held.amount_msat);
        tracing::info!(node = %self.nodes[id].name, payment_hash = %hex::encode(hash), settle_index, "hold invoice settled");
        let snapshot = record.to_proto();
        notify_snapshot(node, snapshot, true);
        publish(
            &self.nodes[held.payer].name,
            &state.nodes[held.payer],
            &hash,
            Outcome::Succeeded {
                preimage,
                fee_msat: held.fee_msat,
            },
        );
        Ok(())
    }

    /// Cancels an open or accepted invoice; an accepted HTLC goes back to the payer, whose payment fails.
    pub fn cancel_invoice(&self, id: NodeId, hash: Hash32) -> Result<(), Status> {
        let mut state = self.lock();
        let record = state.nodes[id]
            .invoices
            .get_mut(&hash)
            .ok_or_else(invoice_not_found)?;
        match record.state {
            InvoiceState::Settled => {
                return Err(Status::failed_precondition("invoice already settled"))
            }
            InvoiceState::Canceled => return Ok(()),
            InvoiceState::Open | InvoiceState::Accepted => {}
        }
        record.state = InvoiceState::Canceled;
        let held = record.held.take();
        let snapshot = record.to_proto();
        tracing::info!(node = %self.nodes[id].name, payment_hash = %hex::encode(hash), "invoice canceled");
        notify_snapshot(&mut state.nodes[id], snapshot, false);
        if let Some(held) = held {
            let total = held.amount_msat + held.fee_msat;
            state.in_flight_msat -= total;
            state.nodes[held.payer].balance_msat += total;
            publish(
                &self.nodes[held.payer].name,
                &state.nodes[held.payer],
                &hash,
                Outcome::Failed(FailureReason::IncorrectPaymentDetails),
            );
        }
        Ok(())
    }

    // ----- payments -----

    /// Records a new payment of `order` by node `payer` (refusing a duplicate) and completes it in
    /// the background after the payment latency.
    pub fn start_payment(
        &self,
        payer: NodeId,
        order: PaymentOrder,
    ) -> Result<PaymentWatch, Status> {
        let mut state = self.lock();
        let latency = state.payment_latency;
        let node = &mut state.nodes[payer];
        if let Some(existing) = node.payments.get(&order.hash) {
            let status = existing.borrow().status;
            if status == PaymentStatus::Succeeded as i32 {
                return Err(Status::already_exists("invoice is already paid"));
            }
            if status != PaymentStatus::Failed as i32 {
                return Err(Status::already_exists("payment is in transition"));
            }
        }
        node.payment_index += 1;
        let initial = lnrpc::Payment {
            payment_hash: hex::encode(order.hash),
            payment_preimage: ZERO_PREIMAGE_HEX.to_owned(),
            value_sat: invoice::to_i64(order.amount_msat / 1000),
            value_msat: invoice::to_i64(order.amount_msat),
            payment_request: order.payment_request.clone(),
            status: PaymentStatus::InFlight as i32,
            fee_sat: 0,
            fee_msat: 0,
            creation_time_ns: now_unix_nanos(),
            payment_index: node.payment_index,
            failure_reason: PaymentFailureReason::FailureReasonNone as i32,
        };
        let (tx, updates) = watch::channel(initial.clone());
        node.payments.insert(order.hash, tx);
        drop(state);
        tracing::info!(
            payer = %self.nodes[payer].name,
            payment_hash = %hex::encode(order.hash),
            amount_msat = order.amount_msat,
            fee_limit_msat = order.fee_limit_msat,
            "payment started"
        );
        let ledger = self.this.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let (wait, timed_out) = if latency > order.timeout {
                (order.timeout, true)
            } else {
                (latency, false)
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(wait) => {
                    if let Some(ledger) = ledger.upgrade() {
                        ledger.attempt(payer, &order, timed_out);
                    }
                }
            }
        });
        Ok(PaymentWatch { initial, updates })
    }

    /// The state of node `payer`'s payment of `hash`, for `TrackPaymentV2`.
    pub fn track_payment(
        &self,
        payer: NodeId,
        hash: &Hash32,
    ) -> Option<watch::Receiver<lnrpc::Payment>> {
        self.lock().nodes[payer]
            .payments
            .get(hash)
            .map(watch::Sender::subscribe)
    }

    /// Tries to deliver the payment: everything is decided and applied under one lock.
    fn attempt(&self, payer: NodeId, order: &PaymentOrder, timed_out: bool) {
        let mut state = self.lock();
        let outcome = if timed_out {
            Outcome::Failed(FailureReason::Timeout)
        } else {
            match self.route(&mut state, payer, order) {
                Ok(outcome) => outcome,
                Err(reason) => Outcome::Failed(reason),
            }
        };
        match &outcome {
            Outcome::Succeeded { fee_msat, .. } => tracing::info!(
                payer = %self.nodes[payer].name,
                payment_hash = %hex::encode(order.hash),
                amount_msat = order.amount_msat,
                fee_msat,
                "payment succeeded"
            ),
            Outcome::Held => tracing::info!(
                payer = %self.nodes[payer].name,
                payment_hash = %hex::encode(order.hash),
                "payment held by hold invoice"
            ),
            Outcome::Failed(reason) => tracing::info!(
                payer = %self.nodes[payer].name,
                payment_hash = %hex::encode(order.hash),
                reason = %reason,
                "payment failed"
            ),
        }
        publish(
            &self.nodes[payer].name,
            &state.nodes[payer],
            &order.hash,
            outcome,
        );
    }

    /// Finds the payee, checks fee, balance and invoice, and moves the money.
    fn route(
        &self,
        state: &mut State,
        payer: NodeId,
        order: &PaymentOrder,
    ) -> Result<Outcome, FailureReason> {
        if let Some((count, reason)) = state.nodes[payer].fail_next {
            state.nodes[payer].fail_next = (count > 1).then_some((count - 1, reason));
            return Err(reason);
        }
        let payee = self
            .nodes
            .iter()
            .position(|n| n.pubkey == order.destination)
            .filter(|&payee| payee != payer && state.nodes[payee].online)
            .ok_or(FailureReason::NoRoute)?;
        let fee_msat = self.routing_fee_msat(order.amount_msat);
        if fee_msat > order.fee_limit_msat {
            return Err(FailureReason::NoRoute);
        }
        let total = order
            .amount_msat
            .checked_add(fee_msat)
            .ok_or(FailureReason::InsufficientBalance)?;
        if state.nodes[payer].balance_msat < total {
            return Err(FailureReason::InsufficientBalance);
        }
        let now = now_unix();
        let record = state.nodes[payee]
            .invoices
            .get(&order.hash)
            .ok_or(FailureReason::IncorrectPaymentDetails)?;
        let amount_ok = record.value_msat == 0
            || (order.amount_msat >= record.value_msat
                && order.amount_msat <= record.value_msat.saturating_mul(2));
        let secret_ok = order
            .payment_addr
            .is_none_or(|addr| addr == record.payment_addr);
        if record.state != InvoiceState::Open || record.is_expired(now) || !amount_ok || !secret_ok
        {
            return Err(FailureReason::IncorrectPaymentDetails);
        }
        state.nodes[payer].balance_msat -= total;
        let payee_state = &mut state.nodes[payee];
        let record = payee_state
            .invoices
            .get_mut(&order.hash)
            .expect("checked above");
        record.amt_paid_msat = order.amount_msat;
        let Some(preimage) = record.preimage else {
            record.state = InvoiceState::Accepted;
            record.held = Some(HeldHtlc {
                payer,
                amount_msat: order.amount_msat,
                fee_msat,
            });
            let snapshot = record.to_proto();
            notify_snapshot(payee_state, snapshot, false);
            state.in_flight_msat += total;
            return Ok(Outcome::Held);
        };
        payee_state.settle_index += 1;
        let settle_index = payee_state.settle_index;
        let record = payee_state
            .invoices
            .get_mut(&order.hash)
            .expect("checked above");
        mark_settled(record, settle_index, order.amount_msat);
        let snapshot = record.to_proto();
        notify_snapshot(payee_state, snapshot, true);
        payee_state.balance_msat += order.amount_msat;
        state.fees_earned_msat += fee_msat;
        Ok(Outcome::Succeeded { preimage, fee_msat })
    }
}

fn invoice_not_found() -> Status {
    Status::not_found("unable to locate invoice")
}

fn mark_settled(record: &mut InvoiceRecord, settle_index: u64, amount_msat: u64) {
    record.state = InvoiceState::Settled;
    record.settle_index = settle_index;
    record.settle_date = now_unix();
    record.amt_paid_msat = amount_msat;
}

/// Sends an invoice event: to single-invoice subscribers of its hash always, and to all-invoice
/// subscribers when `to_all` (lnd only tells those about additions and settlements).
fn notify(node: &mut NodeState, record: &InvoiceRecord, to_all: bool) {
    notify_snapshot(node, record.to_proto(), to_all);
}

fn notify_snapshot(node: &mut NodeState, snapshot: lnrpc::Invoice, to_all: bool) {
    let hash: Hash32 = snapshot
        .r_hash
        .as_slice()
        .try_into()
        .expect("hashes are 32 bytes");
    node.subscribers.retain(|subscriber| {
        let interested = match subscriber.hash {
            Some(h) => h == hash,
            None => to_all,
        };
        // A failed send means the subscriber went away: drop it.
        !interested || subscriber.tx.send(snapshot.clone()).is_ok()
    });
}

/// Applies a payment outcome to the payer's payment record.
fn publish(payer_name: &str, payer: &NodeState, hash: &Hash32, outcome: Outcome) {
    let Some(tx) = payer.payments.get(hash) else {
        return;
    };
    tx.send_modify(|payment| match outcome {
        Outcome::Held => {}
        Outcome::Succeeded { preimage, fee_msat } => {
            payment.status = PaymentStatus::Succeeded as i32;
            payment.payment_preimage = hex::encode(preimage);
            payment.fee_msat = invoice::to_i64(fee_msat);
            payment.fee_sat = invoice::to_i64(fee_msat / 1000);
        }
        Outcome::Failed(reason) => {
            payment.status = PaymentStatus::Failed as i32;
            payment.failure_reason = reason.to_proto() as i32;
        }
    });
    tracing::debug!(payer = payer_name, payment_hash = %hex::encode(hash), "payment state published");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_parse_in_every_spelling() {
        for reason in FailureReason::ALL {
            assert_eq!(reason.as_str().parse::<FailureReason>().unwrap(), reason);
            let short = reason
                .as_str()
                .trim_start_matches("FAILURE_REASON_")
                .to_lowercase();
            assert_eq!(short.parse::<FailureReason>().unwrap(), reason);
            assert_eq!(
                short.replace('_', "-").parse::<FailureReason>().unwrap(),
                reason
            );
        }
        assert!("none".parse::<FailureReason>().is_err());
        assert!("bogus".parse::<FailureReason>().is_err());
    }
}

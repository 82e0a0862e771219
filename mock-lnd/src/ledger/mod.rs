//! The simulated network's state: balances, invoices, payments and subscriptions of every node.
//!
//! All state sits behind one mutex, so a payment moves money between two nodes atomically and the
//! sum of all balances, the money locked in accepted hold invoices and the routing fees earned by the
//! (simulated) intermediate hops never changes. Nothing here awaits while holding the lock.
//!
//! This module holds that state and the per-node bookkeeping (balances, hooks, counters); the
//! operations live by concern in [`invoices`], [`payments`], [`hold`] and [`subscriptions`], and what
//! happens is published on a live feed ([`events`]). The
//! ledger speaks only domain types ([`Invoice`], [`Payment`], [`LedgerError`]); `crate::rpc`
//! translates them to and from lnd's protobuf messages and gRPC statuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bitcoin_hashes::{sha256, Hash};
use lightning_invoice::Currency;
use rand::RngCore;
use secp256k1::{PublicKey, SecretKey};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

mod error;
mod events;
mod failure;
mod hold;
mod invoices;
mod payments;
mod subscriptions;

pub(crate) use error::LedgerError;
pub use events::{InvoiceEvent, NetworkEvent, PaymentEvent};
pub use failure::{FailureReason, ParseFailureReasonError};
use invoices::InvoiceRecord;
pub(crate) use invoices::{
    AddedInvoice, Invoice, InvoiceQuery, InvoiceSecret, InvoiceState, NewInvoice,
};
pub(crate) use payments::{Payment, PaymentOrder, PaymentStatus};
use subscriptions::Subscribers;

/// Index of a node in the network.
pub(crate) type NodeId = usize;
/// A payment hash.
pub(crate) type Hash32 = [u8; 32];

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
    /// The live feed of invoice and payment events.
    events: broadcast::Sender<NetworkEvent>,
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
    payments: HashMap<Hash32, watch::Sender<Payment>>,
    payment_index: u64,
    fail_next: Option<(u32, FailureReason)>,
    subscribers: Subscribers,
}

fn random_32() -> Hash32 {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// sha256 of a preimage.
fn hash_of(preimage: &Hash32) -> Hash32 {
    sha256::Hash::hash(preimage).to_byte_array()
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
                subscribers: Subscribers::default(),
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
            events: broadcast::channel(events::FEED_CAPACITY).0,
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

    /// The node whose key is `pubkey`, if it is one of the network's.
    fn node_with_key(&self, pubkey: &PublicKey) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.pubkey == *pubkey)
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
}

impl NodeState {
    /// The node's invoices in add index order.
    fn invoices_in_order(&self) -> impl DoubleEndedIterator<Item = &Invoice> + '_ {
        self.invoice_order
            .iter()
            .map(|hash| &self.invoices[hash].invoice)
    }
}

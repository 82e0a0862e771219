//! The ledger's live feed of what happens on the network — invoices created, accepted, settled and
//! canceled; payments started and finished — for in-process observers such as `loop-demo --web`.
//!
//! The feed is bounded (a subscriber that falls behind loses the oldest events and is told how many) and
//! costs nothing while nobody listens: an event is built only when there is a subscriber. Other processes
//! read it as JSON (`GET /events` of the control endpoint): `{"kind": "invoice" | "payment", …}`, hashes as
//! hex, states in snake case.

use l402::PaymentHash;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{FailureReason, Hash32, Invoice, InvoiceState, Ledger, NodeId};

/// Events kept for a subscriber that has not read them yet.
pub(super) const FEED_CAPACITY: usize = 1024;

/// Something that happened on the simulated network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetworkEvent {
    /// An invoice of `node` changed state (created, accepted, settled or canceled).
    Invoice {
        /// The node that issued the invoice.
        node: String,
        /// Its payment hash.
        #[serde(with = "hex_hash")]
        payment_hash: PaymentHash,
        /// Its amount in millisatoshis (0: any amount).
        value_msat: u64,
        /// Its description.
        memo: String,
        /// Its new state.
        state: InvoiceEvent,
    },
    /// A payment sent by `payer` started or ended.
    Payment {
        /// The paying node.
        payer: String,
        /// The node it is addressed to, if it is one of the network's.
        payee: Option<String>,
        /// The payment hash.
        #[serde(with = "hex_hash")]
        payment_hash: PaymentHash,
        /// The amount delivered, in millisatoshis.
        amount_msat: u64,
        /// What happened.
        state: PaymentEvent,
    },
}

/// The state an invoice reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceEvent {
    /// Created, waiting for a payment.
    Added,
    /// A hold invoice's payment arrived and is held until the payee settles or cancels it.
    Accepted,
    /// Paid: the preimage is revealed to the payer.
    Settled,
    /// Canceled by the payee, or expired unpaid.
    Canceled,
}

/// The state a payment reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentEvent {
    /// Sent; the money moves after the network's payment latency.
    Started,
    /// Delivered to a hold invoice, which holds it.
    Held,
    /// Delivered: the payer has the preimage (not carried here: it is a secret) and paid `fee_msat` in
    /// routing fees on top of the amount.
    Succeeded {
        /// The routing fee paid, in millisatoshis.
        fee_msat: u64,
    },
    /// Not delivered; the payer's money is back (or never left).
    Failed(FailureReason),
}

/// A payment hash as hex text.
mod hex_hash {
    use l402::PaymentHash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &PaymentHash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hash.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PaymentHash, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<PaymentHash>()
            .map_err(serde::de::Error::custom)
    }
}

impl Ledger {
    /// Every event from now on.
    pub fn subscribe_events(&self) -> broadcast::Receiver<NetworkEvent> {
        self.events.subscribe()
    }

    /// Publishes `invoice`'s current state as node `id`'s.
    pub(super) fn invoice_event(&self, id: NodeId, invoice: &Invoice) {
        self.publish_event(|| NetworkEvent::Invoice {
            node: self.nodes[id].name.clone(),
            payment_hash: PaymentHash::from_bytes(invoice.hash),
            value_msat: invoice.value_msat,
            memo: invoice.memo.clone(),
            state: match invoice.state {
                InvoiceState::Open => InvoiceEvent::Added,
                InvoiceState::Accepted => InvoiceEvent::Accepted,
                InvoiceState::Settled => InvoiceEvent::Settled,
                InvoiceState::Canceled => InvoiceEvent::Canceled,
            },
        });
    }

    /// Publishes a state of node `payer`'s payment of `hash`, addressed to node `payee`.
    pub(super) fn payment_event(
        &self,
        payer: NodeId,
        payee: Option<NodeId>,
        hash: &Hash32,
        amount_msat: u64,
        state: PaymentEvent,
    ) {
        self.publish_event(|| NetworkEvent::Payment {
            payer: self.nodes[payer].name.clone(),
            payee: payee.map(|id| self.nodes[id].name.clone()),
            payment_hash: PaymentHash::from_bytes(*hash),
            amount_msat,
            state,
        });
    }

    /// Sends the event `make` builds, only when someone listens.
    fn publish_event(&self, make: impl FnOnce() -> NetworkEvent) {
        if self.events.receiver_count() > 0 {
            // A subscriber that left meanwhile is fine.
            let _ = self.events.send(make());
        }
    }
}

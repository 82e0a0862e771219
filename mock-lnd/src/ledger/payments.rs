//! Payments: starting one, delivering it after the payment latency, and publishing its outcome.
//!
//! A payment is started synchronously (a duplicate is refused right away), then completed by a
//! spawned task after the configured latency, so it goes on even if the caller stops listening, as
//! with lnd. Its state lives in a `watch` channel that `SendPaymentV2`, `TrackPaymentV2` and
//! `SendPaymentSync` read.

use std::time::Duration;

use secp256k1::PublicKey;
use tokio::sync::watch;

use super::hold::HeldHtlc;
use super::{
    FailureReason, Hash32, InvoiceState, Ledger, LedgerError, NodeId, NodeState, PaymentEvent,
    State,
};

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentStatus {
    /// Started, or held by the payee's hold invoice.
    InFlight,
    /// Delivered: the payee revealed the preimage; the payer paid `fee_msat` on top of the amount.
    Succeeded { preimage: Hash32, fee_msat: u64 },
    /// Not delivered; the payer's money is back (or never left).
    Failed(FailureReason),
}

/// A snapshot of a payment sent by a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payment {
    pub hash: Hash32,
    pub amount_msat: u64,
    /// The BOLT11 request paid, empty for a payment without invoice.
    pub payment_request: String,
    pub creation_time_ns: i64,
    /// 1 for the node's first payment, 2 for its second, ...
    pub payment_index: u64,
    pub status: PaymentStatus,
}

impl Payment {
    /// Whether the payment has reached its final state.
    pub fn is_final(&self) -> bool {
        self.status != PaymentStatus::InFlight
    }
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
    pub initial: Payment,
    pub updates: watch::Receiver<Payment>,
}

/// How a delivered payment ended up at the payee.
enum Delivery {
    /// A regular invoice: settled, the preimage is known.
    Settled { preimage: Hash32, fee_msat: u64 },
    /// A hold invoice: accepted, the money is locked until the payee settles or cancels it.
    Held,
}

impl Ledger {
    /// Records a new payment of `order` by node `payer` (refusing a duplicate) and completes it in
    /// the background after the payment latency.
    pub fn start_payment(
        &self,
        payer: NodeId,
        order: PaymentOrder,
    ) -> Result<PaymentWatch, LedgerError> {
        let mut state = self.lock();
        let latency = state.payment_latency;
        let node = &mut state.nodes[payer];
        if let Some(existing) = node.payments.get(&order.hash) {
            match existing.borrow().status {
                PaymentStatus::Succeeded { .. } => return Err(LedgerError::AlreadyPaid),
                PaymentStatus::InFlight => return Err(LedgerError::PaymentInFlight),
                PaymentStatus::Failed(_) => {}
            }
        }
        node.payment_index += 1;
        let initial = Payment {
            hash: order.hash,
            amount_msat: order.amount_msat,
            payment_request: order.payment_request.clone(),
            creation_time_ns: service_kit::clock::now_unix_nanos(),
            payment_index: node.payment_index,
            status: PaymentStatus::InFlight,
        };
        let (tx, updates) = watch::channel(initial.clone());
        node.payments.insert(order.hash, tx);
        self.payment_event(
            payer,
            self.node_with_key(&order.destination),
            &order.hash,
            order.amount_msat,
            PaymentEvent::Started,
        );
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
    pub fn track_payment(&self, payer: NodeId, hash: &Hash32) -> Option<watch::Receiver<Payment>> {
        self.lock().nodes[payer]
            .payments
            .get(hash)
            .map(watch::Sender::subscribe)
    }

    /// Tries to deliver the payment: everything is decided and applied under one lock.
    fn attempt(&self, payer: NodeId, order: &PaymentOrder, timed_out: bool) {
        let mut state = self.lock();
        let delivery = if timed_out {
            Err(FailureReason::Timeout)
        } else {
            self.deliver(&mut state, payer, order)
        };
        let payer_name = &self.nodes[payer].name;
        let status = match delivery {
            Ok(Delivery::Settled { preimage, fee_msat }) => {
                tracing::info!(
                    payer = %payer_name,
                    payment_hash = %hex::encode(order.hash),
                    amount_msat = order.amount_msat,
                    fee_msat,
                    "payment succeeded"
                );
                PaymentStatus::Succeeded { preimage, fee_msat }
            }
            Ok(Delivery::Held) => {
                tracing::info!(
                    payer = %payer_name,
                    payment_hash = %hex::encode(order.hash),
                    "payment held by hold invoice"
                );
                PaymentStatus::InFlight
            }
            Err(reason) => {
                tracing::info!(
                    payer = %payer_name,
                    payment_hash = %hex::encode(order.hash),
                    reason = %reason,
                    "payment failed"
                );
                PaymentStatus::Failed(reason)
            }
        };
        let event = match status {
            PaymentStatus::InFlight => PaymentEvent::Held,
            PaymentStatus::Succeeded { fee_msat, .. } => PaymentEvent::Succeeded { fee_msat },
            PaymentStatus::Failed(reason) => PaymentEvent::Failed(reason),
        };
        self.payment_event(
            payer,
            self.node_with_key(&order.destination),
            &order.hash,
            order.amount_msat,
            event,
        );
        state.nodes[payer].publish(payer_name, &order.hash, status);
    }

    /// Finds the payee, checks fee, balance and invoice, and moves the money.
    fn deliver(
        &self,
        state: &mut State,
        payer: NodeId,
        order: &PaymentOrder,
    ) -> Result<Delivery, FailureReason> {
        if let Some((count, reason)) = state.nodes[payer].fail_next {
            state.nodes[payer].fail_next = (count > 1).then_some((count - 1, reason));
            return Err(reason);
        }
        let payee = self
            .node_with_key(&order.destination)
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
        let payee_state = &mut state.nodes[payee];
        let record = payee_state
            .invoices
            .get_mut(&order.hash)
            .filter(|record| {
                record
                    .invoice
                    .accepts(order.amount_msat, order.payment_addr)
            })
            .ok_or(FailureReason::IncorrectPaymentDetails)?;
        record.invoice.amt_paid_msat = order.amount_msat;
        let Some(preimage) = record.invoice.preimage else {
            record.invoice.state = InvoiceState::Accepted;
            record.held = Some(HeldHtlc {
                payer,
                amount_msat: order.amount_msat,
                fee_msat,
            });
            payee_state.subscribers.notify(&record.invoice, false);
            self.invoice_event(payee, &record.invoice);
            state.nodes[payer].balance_msat -= total;
            state.in_flight_msat += total;
            return Ok(Delivery::Held);
        };
        payee_state.settle_index += 1;
        record
            .invoice
            .settle(payee_state.settle_index, order.amount_msat);
        payee_state.subscribers.notify(&record.invoice, true);
        self.invoice_event(payee, &record.invoice);
        payee_state.balance_msat += order.amount_msat;
        state.nodes[payer].balance_msat -= total;
        state.fees_earned_msat += fee_msat;
        Ok(Delivery::Settled { preimage, fee_msat })
    }
}

impl NodeState {
    /// Applies a payment's new status to this (paying) node's record of it.
    pub(super) fn publish(&self, name: &str, hash: &Hash32, status: PaymentStatus) {
        let Some(tx) = self.payments.get(hash) else {
            return;
        };
        tx.send_modify(|payment| payment.status = status);
        tracing::debug!(payer = name, payment_hash = %hex::encode(hash), "payment state published");
    }
}

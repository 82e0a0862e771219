//! Hold invoices: the money an accepted one locks, and settling or canceling it.

use super::{
    hash_of, FailureReason, Hash32, InvoiceState, Ledger, LedgerError, NodeId, PaymentEvent,
    PaymentStatus,
};

/// Money locked by an accepted hold invoice.
#[derive(Clone, Copy)]
pub(super) struct HeldHtlc {
    /// The node whose payment is held.
    pub payer: NodeId,
    pub amount_msat: u64,
    pub fee_msat: u64,
}

impl HeldHtlc {
    /// What the payer was debited: amount + routing fee.
    fn total_msat(&self) -> u64 {
        self.amount_msat + self.fee_msat
    }
}

impl Ledger {
    /// Settles an accepted hold invoice with its preimage: the payee is credited, the payer's
    /// payment succeeds.
    pub fn settle_invoice(&self, id: NodeId, preimage: Hash32) -> Result<(), LedgerError> {
        let hash = hash_of(&preimage);
        let mut state = self.lock();
        let record = state.nodes[id]
            .invoices
            .get(&hash)
            .ok_or(LedgerError::InvoiceNotFound)?;
        let held = match record.invoice.state {
            InvoiceState::Settled => return Ok(()),
            InvoiceState::Open => return Err(LedgerError::InvoiceStillOpen),
            InvoiceState::Canceled => return Err(LedgerError::InvoiceAlreadyCanceled),
            InvoiceState::Accepted => record.held.expect("accepted invoices hold an HTLC"),
        };
        state.in_flight_msat -= held.total_msat();
        state.fees_earned_msat += held.fee_msat;
        let node = &mut state.nodes[id];
        node.balance_msat += held.amount_msat;
        node.settle_index += 1;
        let record = node.invoices.get_mut(&hash).expect("checked above");
        record.invoice.preimage = Some(preimage);
        record.held = None;
        record.invoice.settle(node.settle_index, held.amount_msat);
        tracing::info!(node = %self.nodes[id].name, payment_hash = %hex::encode(hash), settle_index = node.settle_index, "hold invoice settled");
        node.subscribers.notify(&record.invoice, true);
        self.invoice_event(id, &record.invoice);
        self.payment_event(
            held.payer,
            Some(id),
            &hash,
            held.amount_msat,
            PaymentEvent::Succeeded {
                fee_msat: held.fee_msat,
            },
        );
        state.nodes[held.payer].publish(
            &self.nodes[held.payer].name,
            &hash,
            PaymentStatus::Succeeded {
                preimage,
                fee_msat: held.fee_msat,
            },
        );
        Ok(())
    }

    /// Cancels an open or accepted invoice; an accepted HTLC goes back to the payer, whose payment fails.
    pub fn cancel_invoice(&self, id: NodeId, hash: Hash32) -> Result<(), LedgerError> {
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        let record = node
            .invoices
            .get_mut(&hash)
            .ok_or(LedgerError::InvoiceNotFound)?;
        match record.invoice.state {
            InvoiceState::Settled => return Err(LedgerError::InvoiceAlreadySettled),
            InvoiceState::Canceled => return Ok(()),
            InvoiceState::Open | InvoiceState::Accepted => {}
        }
        record.invoice.state = InvoiceState::Canceled;
        let held = record.held.take();
        tracing::info!(node = %self.nodes[id].name, payment_hash = %hex::encode(hash), "invoice canceled");
        node.subscribers.notify(&record.invoice, false);
        self.invoice_event(id, &record.invoice);
        if let Some(held) = held {
            let reason = FailureReason::IncorrectPaymentDetails;
            self.payment_event(
                held.payer,
                Some(id),
                &hash,
                held.amount_msat,
                PaymentEvent::Failed(reason),
            );
            state.in_flight_msat -= held.total_msat();
            let payer = &mut state.nodes[held.payer];
            payer.balance_msat += held.total_msat();
            payer.publish(
                &self.nodes[held.payer].name,
                &hash,
                PaymentStatus::Failed(reason),
            );
        }
        Ok(())
    }
}

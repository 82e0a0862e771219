//! Invoice subscriptions: `SubscribeInvoices` and `SubscribeSingleInvoice`, and telling them about changes.

use tokio::sync::mpsc;

use super::{Hash32, Invoice, Ledger, NodeId};

/// Everyone listening to one node's invoice events.
#[derive(Default)]
pub(super) struct Subscribers(Vec<Subscriber>);

/// Someone listening to a node's invoice events.
struct Subscriber {
    /// `None` = all invoices (`SubscribeInvoices`), `Some(hash)` = one (`SubscribeSingleInvoice`).
    hash: Option<Hash32>,
    tx: mpsc::UnboundedSender<Invoice>,
}

impl Ledger {
    /// `SubscribeInvoices`: replays invoices added after `add_index` and settled after
    /// `settle_index` (when non-zero), then streams new additions and settlements.
    pub fn subscribe_invoices(
        &self,
        id: NodeId,
        add_index: u64,
        settle_index: u64,
    ) -> mpsc::UnboundedReceiver<Invoice> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        if add_index > 0 {
            // Replayed as stored now (a since-settled invoice comes with its settled state), as lnd does.
            for invoice in node.invoices_in_order().filter(|i| i.add_index > add_index) {
                let _ = tx.send(invoice.clone());
            }
        }
        if settle_index > 0 {
            let mut settled: Vec<&Invoice> = node
                .invoices_in_order()
                .filter(|i| i.settle_index > settle_index)
                .collect();
            settled.sort_by_key(|i| i.settle_index);
            for invoice in settled {
                let _ = tx.send(invoice.clone());
            }
        }
        node.subscribers.0.push(Subscriber { hash: None, tx });
        rx
    }

    /// `SubscribeSingleInvoice`: the invoice's current state (if it exists), then every change.
    pub fn subscribe_single_invoice(
        &self,
        id: NodeId,
        hash: Hash32,
    ) -> mpsc::UnboundedReceiver<Invoice> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        let node = &mut state.nodes[id];
        if let Some(record) = node.invoices.get(&hash) {
            let _ = tx.send(record.invoice.clone());
        }
        node.subscribers.0.push(Subscriber {
            hash: Some(hash),
            tx,
        });
        rx
    }
}

impl Subscribers {
    /// Sends an invoice event: to single-invoice subscribers of its hash always, and to all-invoice
    /// subscribers when `to_all` (lnd only tells those about additions and settlements).
    pub(super) fn notify(&mut self, invoice: &Invoice, to_all: bool) {
        self.0.retain(|subscriber| {
            let interested = match subscriber.hash {
                Some(hash) => hash == invoice.hash,
                None => to_all,
            };
            // A failed send means the subscriber went away: drop it.
            !interested || subscriber.tx.send(invoice.clone()).is_ok()
        });
    }
}

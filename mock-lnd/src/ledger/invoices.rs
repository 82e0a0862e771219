//! Invoices: creating them (signed BOLT11), expiring them, looking them up and listing them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use service_kit::clock;

use super::hold::HeldHtlc;
use super::{hash_of, random_32, Hash32, Ledger, LedgerError, NodeId};
use crate::invoice::{self, InvoiceParams};

/// The state of an invoice, as lnd's `Invoice.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvoiceState {
    /// Not paid yet.
    Open,
    /// Paid; the preimage is revealed.
    Settled,
    /// Canceled by the payee or expired; cannot be paid.
    Canceled,
    /// A hold invoice whose payment arrived and waits for the payee to settle or cancel it.
    Accepted,
}

/// A snapshot of an invoice, as `LookupInvoice`, `ListInvoices` and the subscriptions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invoice {
    pub memo: String,
    /// Known from the start for a regular invoice, once settled for a hold invoice.
    pub preimage: Option<Hash32>,
    pub hash: Hash32,
    /// 0 = any amount.
    pub value_msat: u64,
    pub creation_date: u64,
    /// 0 until settled.
    pub settle_date: u64,
    pub payment_request: String,
    pub description_hash: Option<Hash32>,
    pub expiry_secs: u64,
    pub cltv_expiry: u64,
    pub add_index: u64,
    /// 0 until settled.
    pub settle_index: u64,
    pub amt_paid_msat: u64,
    pub state: InvoiceState,
    pub payment_addr: Hash32,
}

impl Invoice {
    fn is_expired(&self, now: u64) -> bool {
        now >= self.creation_date.saturating_add(self.expiry_secs)
    }

    /// Whether a payment of `amount_msat` with payment secret `payment_addr` (if known) may
    /// settle (or be accepted by) this invoice now: open, not expired, at least the invoice's
    /// amount and at most twice it (lnd's rule), the right secret.
    pub(super) fn accepts(&self, amount_msat: u64, payment_addr: Option<Hash32>) -> bool {
        let amount_ok = self.value_msat == 0
            || (amount_msat >= self.value_msat && amount_msat <= self.value_msat.saturating_mul(2));
        let secret_ok = payment_addr.is_none_or(|addr| addr == self.payment_addr);
        self.state == InvoiceState::Open
            && !self.is_expired(clock::now_unix())
            && amount_ok
            && secret_ok
    }

    /// Marks the invoice paid with `amount_msat`, as the `settle_index`-th settlement of its node.
    pub(super) fn settle(&mut self, settle_index: u64, amount_msat: u64) {
        self.state = InvoiceState::Settled;
        self.settle_index = settle_index;
        self.settle_date = clock::now_unix();
        self.amt_paid_msat = amount_msat;
    }
}

/// An invoice as the ledger stores it: its snapshot, and the money it holds while accepted.
pub(super) struct InvoiceRecord {
    pub invoice: Invoice,
    pub held: Option<HeldHtlc>,
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

/// Which invoices `ListInvoices` wants: lnd's paging over add indices.
pub(crate) struct InvoiceQuery {
    /// Forwards: invoices after this add index. Backwards: before it (0 = from the newest).
    pub index_offset: u64,
    /// At most this many (0 = no limit).
    pub max_invoices: u64,
    /// Only open and accepted invoices.
    pub pending_only: bool,
    /// Page backwards from `index_offset`.
    pub reversed: bool,
}

impl Ledger {
    /// Creates an invoice on node `id`.
    pub fn add_invoice(&self, id: NodeId, new: NewInvoice) -> Result<AddedInvoice, LedgerError> {
        let (hash, preimage) = match new.secret {
            InvoiceSecret::Preimage(preimage) => (hash_of(&preimage), Some(preimage)),
            InvoiceSecret::HoldHash(hash) => (hash, None),
        };
        let payment_addr = random_32();
        let timestamp = SystemTime::now();
        let creation_date = clock::unix_secs(timestamp);
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
            return Err(LedgerError::InvoiceExists);
        }
        node.invoice_order.push(hash);
        let invoice = Invoice {
            memo: new.memo,
            preimage,
            hash,
            value_msat: new.value_msat,
            creation_date,
            settle_date: 0,
            payment_request: payment_request.clone(),
            description_hash: new.description_hash,
            expiry_secs: new.expiry_secs,
            cltv_expiry: new.cltv_expiry,
            add_index: node.invoice_order.len() as u64,
            settle_index: 0,
            amt_paid_msat: 0,
            state: InvoiceState::Open,
            payment_addr,
        };
        let added = AddedInvoice {
            hash,
            payment_request,
            add_index: invoice.add_index,
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
        node.subscribers.notify(&invoice, true);
        self.invoice_event(id, &invoice);
        node.invoices.insert(
            hash,
            InvoiceRecord {
                invoice,
                held: None,
            },
        );
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
            if record.invoice.state == InvoiceState::Open {
                record.invoice.state = InvoiceState::Canceled;
                tracing::info!(node = %self.nodes[id].name, payment_hash = %hex::encode(hash), "invoice expired");
                node.subscribers.notify(&record.invoice, false);
                self.invoice_event(id, &record.invoice);
            }
        }
    }

    /// One invoice of node `id`.
    pub fn lookup_invoice(&self, id: NodeId, hash: &Hash32) -> Option<Invoice> {
        self.lock().nodes[id]
            .invoices
            .get(hash)
            .map(|record| record.invoice.clone())
    }

    /// One page of node `id`'s invoices, in add index order.
    pub fn list_invoices(&self, id: NodeId, query: &InvoiceQuery) -> Vec<Invoice> {
        let state = self.lock();
        let node = &state.nodes[id];
        let max = if query.max_invoices == 0 {
            u64::MAX
        } else {
            query.max_invoices
        };
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let wanted = |invoice: &&Invoice| {
            !query.pending_only
                || matches!(invoice.state, InvoiceState::Open | InvoiceState::Accepted)
        };
        let invoices = node.invoices_in_order();
        if query.reversed {
            // Backwards from index_offset (exclusive); 0 means from the newest.
            let end = if query.index_offset == 0 {
                u64::MAX
            } else {
                query.index_offset
            };
            let mut page: Vec<_> = invoices
                .rev()
                .filter(|i| i.add_index < end)
                .filter(wanted)
                .take(max)
                .cloned()
                .collect();
            page.reverse();
            page
        } else {
            invoices
                .filter(|i| i.add_index > query.index_offset)
                .filter(wanted)
                .take(max)
                .cloned()
                .collect()
        }
    }
}

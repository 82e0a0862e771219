//! The proxy's lnd: invoices for challenges, and (for `strictverify`) which invoices were settled.
//!
//! Settlements are learned from one long-lived `SubscribeInvoices` stream (lnd-client's [`SettledInvoices`]),
//! never by a call per request. The stream resumes from the last settle index recorded in the database, so settlements that happened while the
//! proxy was down are replayed by lnd, and every settlement is written to the token record (`settled_at`),
//! where other proxies sharing the database see it too.

use service_kit::backoff::Reconnect;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use l402::PaymentHash;
use l402_server::{InvoiceSource, LndInvoices};
use lnd_client::invoices::{InvoiceEvent, SettledInvoices};
use lnd_client::LndClient;
use proto::lnrpc::{invoice::InvoiceState, PaymentHash as PaymentHashMessage};
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Why an lnd call failed, and a new invoice: l402-server's.
pub use l402_server::{InvoiceError as LndError, NewInvoice};

/// Creates invoices at the proxy's lnd, timing every call. Each call is bounded by l402-server's
/// [`l402_server::DEFAULT_CALL_TIMEOUT`] (an `AddInvoice` slower than that fails the challenge with 503).
#[derive(Debug, Clone)]
pub struct Invoices {
    lnd: LndClient,
    add: LndInvoices,
    metrics: Metrics,
}

impl Invoices {
    /// Wraps a connected (lazy) lnd client; invoices stay payable for `expiry`.
    pub fn new(lnd: LndClient, metrics: Metrics, expiry: Duration) -> Self {
        let add = LndInvoices::new(lnd.clone()).with_expiry(expiry);
        Invoices { lnd, add, metrics }
    }

    /// Runs `call` (named `name` in the metrics), timing it.
    async fn timed<T>(
        &self,
        name: &'static str,
        call: impl std::future::Future<Output = Result<T, LndError>>,
    ) -> Result<T, LndError> {
        let started = Instant::now();
        let result = call.await;
        self.metrics
            .lnd_call(name, result.is_ok(), started.elapsed());
        result
    }

    /// `LookupInvoice`: the invoice's settle index if it is settled.
    pub async fn settle_index_of(&self, hash: &PaymentHash) -> Result<Option<u64>, LndError> {
        let request = PaymentHashMessage {
            r_hash: hash.as_bytes().to_vec(),
            ..Default::default()
        };
        let mut lightning = self.lnd.lightning.clone();
        let lookup = self
            .add
            .call("LookupInvoice", lightning.lookup_invoice(request));
        let invoice = self.timed("LookupInvoice", lookup).await?;
        Ok((invoice.state == InvoiceState::Settled as i32).then_some(invoice.settle_index))
    }
}

/// `AddInvoice` (memo `L402`) and `CancelInvoice` through l402-server, timed like every other call.
impl InvoiceSource for Invoices {
    async fn add_invoice(&self, value_sat: i64) -> Result<NewInvoice, LndError> {
        self.timed("AddInvoice", self.add.add_invoice(value_sat))
            .await
    }

    async fn cancel_invoice(&self, payment_hash: PaymentHash) -> Result<(), LndError> {
        self.timed("CancelInvoice", self.add.cancel_invoice(payment_hash))
            .await
    }
}

/// The set of invoices our lnd reported settled, fed by `SubscribeInvoices`.
#[derive(Debug)]
pub struct Settlements {
    settled: Mutex<HashSet<PaymentHash>>,
    changed: Notify,
    store: Store,
    /// Asked once per token when the stream did not report its settlement in time (a subscription gap:
    /// lnd's stream cannot replay settlements from before the first recorded settle index).
    fallback: Option<Invoices>,
}

impl Settlements {
    /// An empty set backed by `store`, asking `fallback` about settlements the stream did not report.
    pub fn new(store: Store, fallback: Option<Invoices>) -> Arc<Self> {
        Arc::new(Settlements {
            settled: Mutex::new(HashSet::new()),
            changed: Notify::new(),
            store,
            fallback,
        })
    }

    fn contains(&self, hash: &PaymentHash) -> bool {
        self.settled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(hash)
    }

    async fn record(&self, hash: PaymentHash, settle_index: u64) {
        self.settled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash);
        self.changed.notify_waiters();
        if let Err(error) = self.store.mark_settled(&hash, settle_index).await {
            tracing::warn!(error = %error, payment_hash = %hash, "cannot record settlement");
        }
    }

    /// Whether the invoice is settled: known from the stream (or the database, where every proxy records what
    /// its stream saw), else after waiting up to `timeout` for the stream (a client usually retries the
    /// instant its payment succeeds, possibly before lnd's event reaches us), else — once per token, for the
    /// gaps a stream has — by asking lnd directly.
    pub async fn wait_settled(
        &self,
        hash: &PaymentHash,
        timeout: Duration,
    ) -> Result<bool, StoreError> {
        if self.contains(hash) {
            return Ok(true);
        }
        if self.store.is_settled(hash).await? {
            self.settled
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(*hash);
            return Ok(true);
        }
        if self.wait_for_stream(hash, timeout).await {
            return Ok(true);
        }
        let Some(invoices) = &self.fallback else {
            return Ok(false);
        };
        match invoices.settle_index_of(hash).await {
            Ok(Some(settle_index)) => {
                self.record(*hash, settle_index).await;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(error) => {
                tracing::warn!(error = %error, payment_hash = %hash, "cannot look up invoice");
                Ok(false)
            }
        }
    }

    async fn wait_for_stream(&self, hash: &PaymentHash, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.contains(hash) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.contains(hash);
            }
        }
    }

    /// Follows lnd's settled invoices (lnd-client's [`SettledInvoices`], resuming from the settle index recorded
    /// in the database) until `stop`. The returned receiver fires once the first subscription attempt has been
    /// answered (subscribed, or failed), so a caller can avoid serving before settlements are being followed.
    pub fn spawn(
        self: &Arc<Self>,
        lnd: LndClient,
        stop: CancellationToken,
    ) -> oneshot::Receiver<()> {
        let this = Arc::clone(self);
        let (ready_tx, ready_rx) = oneshot::channel();
        let store = self.store.clone();
        let backoff = Reconnect::new(Duration::from_millis(200), Duration::from_secs(10));
        let mut settled = SettledInvoices::spawn(lnd, backoff, move || {
            let store = store.clone();
            async move { store.settle_index().await.map_err(|e| e.to_string()) }
        });
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                let event = tokio::select! {
                    _ = stop.cancelled() => return,
                    event = settled.next() => event,
                };
                match event {
                    None => return,
                    Some(InvoiceEvent::Update(invoice)) => {
                        this.record(invoice.payment_hash, invoice.settle_index)
                            .await;
                        continue;
                    }
                    Some(InvoiceEvent::Subscribed) => tracing::debug!("subscribed to invoices"),
                    Some(InvoiceEvent::Failed(error)) => {
                        tracing::warn!(error = %error, "invoice subscription ended; resubscribing")
                    }
                }
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
            }
        });
        ready_rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_for_a_settlement_sees_it_arrive_or_times_out() {
        let (store, _dir) = crate::store::tests::sqlite_store().await;
        let settlements = Settlements::new(store, None);
        let hash = PaymentHash::from_bytes([3; 32]);
        assert!(!settlements
            .wait_settled(&hash, Duration::from_millis(20))
            .await
            .unwrap());
        let waiter = {
            let settlements = Arc::clone(&settlements);
            tokio::spawn(async move {
                settlements
                    .wait_settled(&hash, Duration::from_secs(10))
                    .await
            })
        };
        settlements.record(hash, 1).await;
        assert!(waiter.await.unwrap().unwrap());
        assert!(settlements
            .wait_settled(&hash, Duration::ZERO)
            .await
            .unwrap());
    }
}

//! lnd's invoice subscriptions, kept alive: after a stream error (lnd restarted, connection lost) they
//! subscribe again with backoff, from where they stood.
//!
//! - [`SettledInvoices`] follows `SubscribeInvoices` for settled invoices. Each subscription starts from
//!   the settle index the caller has recorded or the last one it saw, whichever is higher, so lnd
//!   replays the settlements made while the stream was down and none is lost.
//! - [`InvoiceStates`] follows `SubscribeSingleInvoice` for one invoice (its current state first) until
//!   the invoice is settled or cancelled.
//!
//! Both run a background task that delivers [`InvoiceEvent`]s and ends when the handle is dropped.

use std::future::Future;
use std::time::Duration;

use l402::PaymentHash;
use proto::invoicesrpc::SubscribeSingleInvoiceRequest;
use proto::lnrpc::{invoice::InvoiceState, Invoice, InvoiceSubscription};
use service_kit::backoff::Reconnect;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tonic::Streaming;

use crate::LndClient;

/// How long lnd may take to answer a subscription before it is retried.
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What an invoice subscription reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceEvent<T> {
    /// lnd accepted a (re)subscription.
    Subscribed,
    /// An update of the subscription.
    Update(T),
    /// The subscription failed or ended; it is retried after a backoff delay.
    Failed(String),
}

/// A settled invoice, as `SubscribeInvoices` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettledInvoice {
    /// The invoice's payment hash.
    pub payment_hash: PaymentHash,
    /// Its place in the node's sequence of settlements (lnd's `settle_index`).
    pub settle_index: u64,
}

/// The settled invoices of a node, from a settle index on, across stream errors.
#[derive(Debug)]
pub struct SettledInvoices {
    events: Events<SettledInvoice>,
}

impl SettledInvoices {
    /// Follows `lnd`'s settlements, waiting `backoff` delays between attempts. Before each subscription
    /// `resume_from` gives the settle index the caller has recorded (lnd replays every settlement after
    /// it; 0 replays none); the subscription starts after the higher of that and the last index seen.
    pub fn spawn<C, F>(lnd: LndClient, backoff: Reconnect, resume_from: C) -> Self
    where
        C: FnMut() -> F + Send + 'static,
        F: Future<Output = Result<u64, String>> + Send,
    {
        let follow = Settled {
            resume_from,
            last_seen: 0,
        };
        Self {
            events: Events::spawn(lnd, backoff, follow),
        }
    }

    /// The next event; `None` never comes while the handle lives.
    pub async fn next(&mut self) -> Option<InvoiceEvent<SettledInvoice>> {
        self.events.next().await
    }
}

/// The states of one invoice, across stream errors, until it is settled or cancelled.
#[derive(Debug)]
pub struct InvoiceStates {
    events: Events<InvoiceState>,
}

impl InvoiceStates {
    /// Follows the invoice paying to `hash` at `lnd`, waiting `backoff` delays between attempts. Every
    /// subscription reports the invoice's current state first.
    pub fn spawn(lnd: LndClient, hash: PaymentHash, backoff: Reconnect) -> Self {
        Self {
            events: Events::spawn(lnd, backoff, Single { hash }),
        }
    }

    /// The next event; `None` after the invoice was settled or cancelled.
    pub async fn next(&mut self) -> Option<InvoiceEvent<InvoiceState>> {
        self.events.next().await
    }
}

/// An invoice state as lnd reports it, decoded (unknown values read as `Open`).
pub fn invoice_state(invoice: &Invoice) -> InvoiceState {
    InvoiceState::try_from(invoice.state).unwrap_or(InvoiceState::Open)
}

/// One kind of invoice subscription: how it is opened from where it stands, and what an invoice means.
trait Follow: Send + 'static {
    /// What the subscription reports.
    type Update: Send + 'static;
    /// Opens the stream.
    fn open(
        &mut self,
        lnd: &LndClient,
    ) -> impl Future<Output = Result<Streaming<Invoice>, String>> + Send;
    /// The update `invoice` makes, if any, and whether the subscription is complete.
    fn update(&mut self, invoice: Invoice) -> (Option<Self::Update>, bool);
}

/// `SubscribeInvoices` from the higher of the caller's settle index and the last one seen.
struct Settled<C> {
    resume_from: C,
    last_seen: u64,
}

impl<C, F> Follow for Settled<C>
where
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = Result<u64, String>> + Send,
{
    type Update = SettledInvoice;

    async fn open(&mut self, lnd: &LndClient) -> Result<Streaming<Invoice>, String> {
        let settle_index = (self.resume_from)().await?.max(self.last_seen);
        let request = InvoiceSubscription {
            add_index: 0,
            settle_index,
        };
        tracing::debug!(settle_index, "subscribing to settled invoices");
        let response = lnd.lightning.clone().subscribe_invoices(request).await;
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| status.message().to_owned())
    }

    fn update(&mut self, invoice: Invoice) -> (Option<SettledInvoice>, bool) {
        if invoice_state(&invoice) != InvoiceState::Settled {
            return (None, false);
        }
        let Ok(payment_hash) = PaymentHash::from_slice(&invoice.r_hash) else {
            return (None, false);
        };
        self.last_seen = self.last_seen.max(invoice.settle_index);
        let settled = SettledInvoice {
            payment_hash,
            settle_index: invoice.settle_index,
        };
        (Some(settled), false)
    }
}

/// `SubscribeSingleInvoice` until the invoice is final.
struct Single {
    hash: PaymentHash,
}

impl Follow for Single {
    type Update = InvoiceState;

    async fn open(&mut self, lnd: &LndClient) -> Result<Streaming<Invoice>, String> {
        let request = SubscribeSingleInvoiceRequest {
            r_hash: self.hash.as_bytes().to_vec(),
        };
        let response = lnd.invoices.clone().subscribe_single_invoice(request).await;
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| status.message().to_owned())
    }

    fn update(&mut self, invoice: Invoice) -> (Option<InvoiceState>, bool) {
        let state = invoice_state(&invoice);
        let done = matches!(state, InvoiceState::Settled | InvoiceState::Canceled);
        (Some(state), done)
    }
}

/// The events of a subscription's task, which is aborted when they are dropped.
#[derive(Debug)]
struct Events<T> {
    rx: mpsc::Receiver<InvoiceEvent<T>>,
    task: JoinHandle<()>,
}

impl<T: Send + 'static> Events<T> {
    fn spawn<F: Follow<Update = T>>(lnd: LndClient, backoff: Reconnect, follow: F) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(resubscribe(lnd, backoff, follow, tx));
        Self { rx, task }
    }

    async fn next(&mut self) -> Option<InvoiceEvent<T>> {
        self.rx.recv().await
    }
}

impl<T> Drop for Events<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follows `follow` until it is complete or nobody listens, subscribing again after every failure or end
/// of the stream; the backoff starts afresh after a stream that ended without an error.
async fn resubscribe<F: Follow>(
    lnd: LndClient,
    mut backoff: Reconnect,
    mut follow: F,
    tx: mpsc::Sender<InvoiceEvent<F::Update>>,
) {
    loop {
        let result = async {
            let mut stream = tokio::time::timeout(SUBSCRIBE_TIMEOUT, follow.open(&lnd))
                .await
                .map_err(|_| "the subscription timed out".to_owned())??;
            if tx.send(InvoiceEvent::Subscribed).await.is_err() {
                return Ok(true);
            }
            while let Some(invoice) = stream
                .message()
                .await
                .map_err(|status| status.message().to_owned())?
            {
                let (update, done) = follow.update(invoice);
                if let Some(update) = update {
                    if tx.send(InvoiceEvent::Update(update)).await.is_err() {
                        return Ok(true);
                    }
                }
                if done {
                    return Ok(true);
                }
            }
            Ok::<bool, String>(false)
        }
        .await;
        match result {
            Ok(true) => return,
            Ok(false) => {
                backoff.reset();
                let ended = InvoiceEvent::Failed("the invoice stream ended".into());
                if tx.send(ended).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                if tx.send(InvoiceEvent::Failed(error)).await.is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

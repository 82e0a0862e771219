//! The gRPC services of one node: `lnrpc.Lightning`, `routerrpc.Router` and `invoicesrpc.Invoices`.
//!
//! Each service is a thin translation between protobuf messages and `crate::ledger::Ledger`
//! calls; argument validation follows lnd's rules (and its `InvalidArgument` answers) for the
//! fields we support. The ledger's types become protobuf messages in [`convert`] and its errors
//! become gRPC statuses in [`status`]. Authentication happens before a call reaches these
//! services, in [`crate::auth`].

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bitcoin_hashes::Hash as _;
use futures::Stream;
use proto::lnrpc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};
use tokio_stream::StreamExt as _;
use tonic::Status;

use crate::invoice;
use crate::ledger::{
    AddedInvoice, Hash32, Invoice, InvoiceSecret, Ledger, NewInvoice, NodeId, Payment, PaymentOrder,
};
use convert::{invoice_to_proto, payment_to_proto};

pub(crate) mod convert;
pub mod invoices;
pub mod lightning;
pub mod router;
mod status;

/// The default invoice expiry (lnd's: one day).
pub const DEFAULT_EXPIRY_SECS: u64 = 86_400;
/// The default final CLTV delta put into invoices.
pub const DEFAULT_CLTV_EXPIRY: u64 = 80;

/// A server-streaming response.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// What every service of a node needs: the shared ledger and which node it serves.
#[derive(Clone)]
pub struct NodeContext {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) id: NodeId,
    /// lnd's network name (`regtest`, ...).
    pub(crate) network: String,
    /// Total capacity of the node's virtual channels, for `ChannelBalance`.
    pub(crate) capacity_msat: u64,
}

/// The invoice fields `AddInvoice` and `AddHoldInvoice` share, as lnd's messages carry them.
pub(crate) struct InvoiceFields {
    pub memo: String,
    pub value: i64,
    pub value_msat: i64,
    pub expiry: i64,
    pub cltv_expiry: u64,
    pub description_hash: Vec<u8>,
}

/// The [`InvoiceFields`] of an `lnrpc.Invoice` or `invoicesrpc.AddHoldInvoiceRequest`, which name
/// them alike.
macro_rules! invoice_fields {
    ($request:expr) => {
        $crate::rpc::InvoiceFields {
            memo: $request.memo,
            value: $request.value,
            value_msat: $request.value_msat,
            expiry: $request.expiry,
            cltv_expiry: $request.cltv_expiry,
            description_hash: $request.description_hash,
        }
    };
}
pub(crate) use invoice_fields;

impl NodeContext {
    /// Validates `fields` with lnd's rules and defaults, then creates the invoice.
    pub(crate) fn add_invoice(
        &self,
        fields: InvoiceFields,
        secret: InvoiceSecret,
    ) -> Result<AddedInvoice, Status> {
        if fields.expiry < 0 {
            return Err(Status::invalid_argument("expiry cannot be negative"));
        }
        let description_hash = match fields.description_hash.len() {
            0 => None,
            _ => Some(bytes32(&fields.description_hash, "description_hash")?),
        };
        let new = NewInvoice {
            memo: fields.memo,
            value_msat: amount_msat(fields.value, fields.value_msat)?,
            expiry_secs: if fields.expiry == 0 {
                DEFAULT_EXPIRY_SECS
            } else {
                fields.expiry as u64
            },
            cltv_expiry: if fields.cltv_expiry == 0 {
                DEFAULT_CLTV_EXPIRY
            } else {
                fields.cltv_expiry
            },
            description_hash,
            secret,
        };
        Ok(self.ledger.add_invoice(self.id, new)?)
    }

    /// Builds a payment order for a BOLT11 request, applying lnd's amount rules.
    pub(crate) fn invoice_order(
        &self,
        payment_request: &str,
        amount_msat: u64,
        fee_limit: FeeLimit,
        timeout: Duration,
    ) -> Result<PaymentOrder, Status> {
        let bolt11 = invoice::parse_invoice(payment_request, self.ledger.currency.clone())?;
        let amount_msat = match (bolt11.amount_milli_satoshis(), amount_msat) {
            (Some(_), requested) if requested > 0 => {
                return Err(Status::invalid_argument(
                    "amount must not be specified when paying a non-zero amount invoice",
                ))
            }
            (Some(amount), _) => amount,
            (None, 0) => {
                return Err(Status::invalid_argument(
                    "amount must be specified when paying a zero amount invoice",
                ))
            }
            (None, requested) => requested,
        };
        let fee_limit_msat = match fee_limit {
            FeeLimit::Msat(msat) => msat,
            FeeLimit::Percent(percent) => amount_msat.saturating_mul(percent) / 100,
            FeeLimit::WholeAmount => amount_msat,
        };
        Ok(PaymentOrder {
            destination: invoice::payee(&bolt11),
            hash: bolt11.payment_hash().to_byte_array(),
            amount_msat,
            fee_limit_msat,
            payment_addr: Some(bolt11.payment_secret().0),
            payment_request: payment_request.trim().to_owned(),
            timeout,
        })
    }
}

/// The maximum routing fee of a payment.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FeeLimit {
    Msat(u64),
    Percent(u64),
    /// lnd's default for `SendPaymentSync` without a fee limit: up to the amount itself.
    WholeAmount,
}

/// lnd's amount rule for a pair of `sat` / `msat` fields: at most one of them, not negative.
pub(crate) fn amount_msat(sat: i64, msat: i64) -> Result<u64, Status> {
    if sat < 0 || msat < 0 {
        return Err(Status::invalid_argument("amount cannot be negative"));
    }
    match (sat, msat) {
        (0, msat) => Ok(msat as u64),
        (sat, 0) => (sat as u64)
            .checked_mul(1000)
            .ok_or_else(|| Status::invalid_argument("amount too large")),
        _ => Err(Status::invalid_argument(
            "sat and msat arguments are mutually exclusive",
        )),
    }
}

/// A 32-byte hash or preimage field.
pub(crate) fn bytes32(bytes: &[u8], what: &str) -> Result<Hash32, Status> {
    bytes.try_into().map_err(|_| {
        Status::invalid_argument(format!(
            "{what} must be exactly 32 bytes, got {}",
            bytes.len()
        ))
    })
}

/// Streams invoice events from a ledger subscription.
pub(crate) fn invoice_stream(
    rx: mpsc::UnboundedReceiver<Invoice>,
) -> ResponseStream<lnrpc::Invoice> {
    Box::pin(UnboundedReceiverStream::new(rx).map(|invoice| Ok(invoice_to_proto(&invoice))))
}

/// Streams a payment: `first` (if any), then its final state, then ends — as lnd's router does
/// for a single-shot payment. Stops early when the client goes away.
pub(crate) fn payment_stream(
    first: Option<Payment>,
    mut updates: watch::Receiver<Payment>,
) -> ResponseStream<lnrpc::Payment> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let first_was_final = first.as_ref().is_some_and(Payment::is_final);
        if let Some(first) = first {
            if tx.send(Ok(payment_to_proto(&first))).await.is_err() || first_was_final {
                return;
            }
        }
        let last = tokio::select! {
            _ = tx.closed() => return,
            last = updates.wait_for(Payment::is_final) => last.map(|p| payment_to_proto(&p)),
        };
        let item = last.map_err(|_| Status::unavailable("node shutting down"));
        let _ = tx.send(item).await;
    });
    Box::pin(ReceiverStream::new(rx))
}

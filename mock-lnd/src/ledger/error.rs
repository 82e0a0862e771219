//! Why the ledger refused an operation; `rpc::status` turns these into lnd's gRPC answers.

use crate::invoice::InvoiceError;

/// An operation the ledger refused. The messages are lnd's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LedgerError {
    /// The node already has an invoice for this payment hash.
    #[error("invoice with payment hash already exists")]
    InvoiceExists,
    /// The node has no invoice for this payment hash.
    #[error("unable to locate invoice")]
    InvoiceNotFound,
    /// Settling a hold invoice nobody has paid yet.
    #[error("invoice still open")]
    InvoiceStillOpen,
    /// Settling an invoice that was canceled.
    #[error("invoice already canceled")]
    InvoiceAlreadyCanceled,
    /// Canceling an invoice that was settled.
    #[error("invoice already settled")]
    InvoiceAlreadySettled,
    /// The node already paid this payment hash.
    #[error("invoice is already paid")]
    AlreadyPaid,
    /// The node's payment of this payment hash is still in flight.
    #[error("payment is in transition")]
    PaymentInFlight,
    /// The invoice could not be built and signed.
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
}

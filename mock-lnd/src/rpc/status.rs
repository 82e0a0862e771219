//! The one place where domain errors become gRPC statuses, with lnd's codes and messages.

use tonic::Status;

use crate::invoice::InvoiceError;
use crate::ledger::LedgerError;

impl From<LedgerError> for Status {
    fn from(error: LedgerError) -> Self {
        let message = error.to_string();
        match error {
            LedgerError::InvoiceExists
            | LedgerError::AlreadyPaid
            | LedgerError::PaymentInFlight => Status::already_exists(message),
            LedgerError::InvoiceNotFound => Status::not_found(message),
            LedgerError::InvoiceStillOpen
            | LedgerError::InvoiceAlreadyCanceled
            | LedgerError::InvoiceAlreadySettled => Status::failed_precondition(message),
            LedgerError::Invoice(error) => error.into(),
        }
    }
}

impl From<InvoiceError> for Status {
    fn from(error: InvoiceError) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

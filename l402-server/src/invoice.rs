//! Where invoices come from: the [`InvoiceSource`] trait ("an invoice of N sat, memo `L402`"; "cancel that
//! invoice") and [`LndInvoices`], its implementation over lnd's `AddInvoice` and `CancelInvoice`.
//!
//! Token invoices expire ([`DEFAULT_INVOICE_EXPIRY`], lnd's own default): an unpaid token is worthless
//! once its invoice can no longer be paid, so a server may forget it then.

use std::future::Future;
use std::time::Duration;

use l402::PaymentHash;
use lnd_client::LndClient;
use proto::invoicesrpc::CancelInvoiceMsg;
use proto::lnrpc::Invoice;

/// How long one `AddInvoice` may take by default (slower fails the challenge with 503).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a token invoice stays payable by default: one hour, as lnd's own default.
pub const DEFAULT_INVOICE_EXPIRY: Duration = Duration::from_secs(3600);

/// Why an invoice could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    /// The node is unreachable or answered with an error.
    #[error("lnd call {call} failed: {message}")]
    Call {
        /// Which RPC.
        call: &'static str,
        /// The status message (lnd's messages carry no secrets).
        message: String,
    },
    /// The node did not answer in time.
    #[error("lnd call {call} timed out")]
    Timeout {
        /// Which RPC.
        call: &'static str,
    },
    /// The node answered something unusable.
    #[error("lnd returned an invalid {what}")]
    Invalid {
        /// What was wrong.
        what: &'static str,
    },
}

/// A new invoice.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    /// Its payment hash (what the token is locked to).
    pub payment_hash: PaymentHash,
    /// The BOLT 11 payment request sent in the challenge.
    pub payment_request: String,
}

/// Creates the invoices that pay for tokens.
pub trait InvoiceSource: Send + Sync + 'static {
    /// An invoice of `value_sat` satoshis with memo `L402`.
    fn add_invoice(
        &self,
        value_sat: i64,
    ) -> impl Future<Output = Result<NewInvoice, InvoiceError>> + Send;

    /// Cancels the open invoice of `payment_hash`, so that it can never be paid (its token could not be
    /// stored: paying it would buy nothing).
    fn cancel_invoice(
        &self,
        payment_hash: PaymentHash,
    ) -> impl Future<Output = Result<(), InvoiceError>> + Send;
}

/// Invoices from an lnd node (`lnrpc.Lightning/AddInvoice`), each call bounded by a timeout.
#[derive(Debug, Clone)]
pub struct LndInvoices {
    lnd: LndClient,
    timeout: Duration,
    expiry: Duration,
}

impl LndInvoices {
    /// Invoices from `lnd` (a connected or lazy client), with [`DEFAULT_CALL_TIMEOUT`].
    pub fn new(lnd: LndClient) -> Self {
        LndInvoices {
            lnd,
            timeout: DEFAULT_CALL_TIMEOUT,
            expiry: DEFAULT_INVOICE_EXPIRY,
        }
    }

    /// Invoices that stay payable for `expiry` instead of [`DEFAULT_INVOICE_EXPIRY`].
    pub fn with_expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// Runs one call to this node within the timeout, mapping failures to [`InvoiceError`]; for callers
    /// that make other lnd calls the same way (e.g. `LookupInvoice`).
    pub async fn call<T>(
        &self,
        call: &'static str,
        future: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, InvoiceError> {
        tokio::time::timeout(self.timeout, future)
            .await
            .map_err(|_| InvoiceError::Timeout { call })?
            .map(tonic::Response::into_inner)
            .map_err(|status| InvoiceError::Call {
                call,
                message: status.message().to_owned(),
            })
    }

    /// Bounds every call by `timeout` instead.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl InvoiceSource for LndInvoices {
    async fn add_invoice(&self, value_sat: i64) -> Result<NewInvoice, InvoiceError> {
        let request = Invoice {
            memo: "L402".into(),
            value: value_sat,
            expiry: i64::try_from(self.expiry.as_secs()).unwrap_or(i64::MAX),
            ..Invoice::default()
        };
        let mut lightning = self.lnd.lightning.clone();
        let response = self
            .call("AddInvoice", lightning.add_invoice(request))
            .await?;
        let payment_hash =
            PaymentHash::from_slice(&response.r_hash).map_err(|_| InvoiceError::Invalid {
                what: "payment hash",
            })?;
        if response.payment_request.is_empty() {
            return Err(InvoiceError::Invalid {
                what: "payment request",
            });
        }
        Ok(NewInvoice {
            payment_hash,
            payment_request: response.payment_request,
        })
    }

    async fn cancel_invoice(&self, payment_hash: PaymentHash) -> Result<(), InvoiceError> {
        let request = CancelInvoiceMsg {
            payment_hash: payment_hash.as_bytes().to_vec(),
        };
        let mut invoices = self.lnd.invoices.clone();
        self.call("CancelInvoice", invoices.cancel_invoice(request))
            .await
            .map(drop)
    }
}

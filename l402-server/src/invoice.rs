//! Where invoices come from: the [`InvoiceSource`] trait ("an invoice of N sat, memo `L402`") and
//! [`LndInvoices`], its implementation over lnd's `AddInvoice`.

use std::future::Future;
use std::time::Duration;

use l402::PaymentHash;
use lnd_client::LndClient;
use proto::lnrpc::Invoice;

/// How long one `AddInvoice` may take by default (slower fails the challenge with 503).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

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
}

/// Invoices from an lnd node (`lnrpc.Lightning/AddInvoice`), each call bounded by a timeout.
#[derive(Debug, Clone)]
pub struct LndInvoices {
    lnd: LndClient,
    timeout: Duration,
}

impl LndInvoices {
    /// Invoices from `lnd` (a connected or lazy client), with [`DEFAULT_CALL_TIMEOUT`].
    pub fn new(lnd: LndClient) -> Self {
        LndInvoices {
            lnd,
            timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// Bounds every call by `timeout` instead.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl InvoiceSource for LndInvoices {
    async fn add_invoice(&self, value_sat: i64) -> Result<NewInvoice, InvoiceError> {
        const CALL: &str = "AddInvoice";
        let request = Invoice {
            memo: "L402".into(),
            value: value_sat,
            ..Invoice::default()
        };
        let mut lightning = self.lnd.lightning.clone();
        let response = tokio::time::timeout(self.timeout, lightning.add_invoice(request))
            .await
            .map_err(|_| InvoiceError::Timeout { call: CALL })?
            .map_err(|status| InvoiceError::Call {
                call: CALL,
                message: status.message().to_owned(),
            })?
            .into_inner();
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
}

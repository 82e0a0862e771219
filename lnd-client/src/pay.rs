//! Paying a BOLT11 invoice through lnd, and following an earlier payment, as Loop does.
//!
//! [`LndPayer`] uses lnd's router sub-server: `routerrpc.SendPaymentV2` to pay within a fee limit and a
//! timeout, `routerrpc.TrackPaymentV2` to learn what became of a payment sent before (after a restart,
//! or when lnd refuses to pay the same hash twice). Every answer is one [`PaymentOutcome`]; a settled
//! payment's preimage is checked against the payment hash before it is returned.

use std::time::Duration;

use l402::{PaymentHash, Preimage};
use proto::lnrpc::payment::PaymentStatus;
use proto::lnrpc::{Payment, PaymentFailureReason};
use proto::routerrpc::router_client::RouterClient;
use proto::routerrpc::{SendPaymentRequest, TrackPaymentRequest};
use tonic::{Code, Status, Streaming};

use crate::connect::{LndChannel, LndClient};

/// A settled payment: what the token store records.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentSuccess {
    /// The preimage revealed by the payee.
    pub preimage: Preimage,
    /// The amount that reached the payee, in millisatoshis.
    pub amount_paid_msat: u64,
    /// The routing fee paid on top, in millisatoshis.
    pub routing_fee_msat: u64,
}

impl std::fmt::Debug for PaymentSuccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The preimage is the secret half of the token: never print it.
        f.debug_struct("PaymentSuccess")
            .field("amount_paid_msat", &self.amount_paid_msat)
            .field("routing_fee_msat", &self.routing_fee_msat)
            .finish_non_exhaustive()
    }
}

/// What became of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The payment settled.
    Succeeded(PaymentSuccess),
    /// The payment failed for good; it will never settle.
    Failed {
        /// lnd's failure reason (e.g. `FAILURE_REASON_NO_ROUTE`).
        reason: String,
    },
    /// The node has no record of this payment: it was never sent.
    NotFound,
    /// The payment was still in flight when the timeout ran out.
    InFlight,
}

/// Why the node could not be asked (as opposed to a payment that failed).
#[derive(Debug, thiserror::Error)]
pub enum PayerError {
    /// The gRPC call to lnd failed (node down, bad macaroon, ...).
    #[error("lnd call {call} failed: {code:?}: {message}")]
    Rpc {
        /// The lnd RPC that failed.
        call: &'static str,
        /// The gRPC status code.
        code: Code,
        /// The status message from lnd (or the transport).
        message: String,
    },
    /// lnd answered with a payment it could not have sent (e.g. a bad preimage).
    #[error("lnd returned an invalid payment: {0}")]
    InvalidPayment(String),
}

impl PayerError {
    fn rpc(call: &'static str, status: &Status) -> Self {
        Self::Rpc {
            call,
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

/// Pays through lnd's router sub-server (`SendPaymentV2`, `TrackPaymentV2`).
#[derive(Debug, Clone)]
pub struct LndPayer {
    router: RouterClient<LndChannel>,
}

impl LndPayer {
    /// A payer using the router client of `lnd`.
    pub fn new(lnd: &LndClient) -> Self {
        Self {
            router: lnd.router.clone(),
        }
    }

    /// Pays `invoice` (whose hash is `payment_hash`) with at most `max_fee_sat` routing fee, waiting at
    /// most `timeout` for a final state. An invoice paid before is not paid again: the earlier
    /// payment's outcome is returned.
    pub async fn pay(
        &self,
        invoice: &str,
        payment_hash: PaymentHash,
        max_fee_sat: u64,
        timeout: Duration,
    ) -> Result<PaymentOutcome, PayerError> {
        let request = SendPaymentRequest {
            payment_request: invoice.to_owned(),
            timeout_seconds: i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX),
            fee_limit_sat: i64::try_from(max_fee_sat).unwrap_or(i64::MAX),
            no_inflight_updates: true,
            ..Default::default()
        };
        let mut router = self.router.clone();
        let stream = match router.send_payment_v2(request).await {
            Ok(response) => response.into_inner(),
            // lnd refuses to pay the same hash twice: follow the first attempt.
            Err(status) if status.code() == Code::AlreadyExists => {
                return self.track(payment_hash, timeout).await;
            }
            Err(status) => return Err(PayerError::rpc("SendPaymentV2", &status)),
        };
        wait_final(stream, payment_hash, timeout, "SendPaymentV2").await
    }

    /// The outcome of an earlier payment of `payment_hash`, waiting at most `timeout` while it is in
    /// flight.
    pub async fn track(
        &self,
        payment_hash: PaymentHash,
        timeout: Duration,
    ) -> Result<PaymentOutcome, PayerError> {
        let request = TrackPaymentRequest {
            payment_hash: payment_hash.as_bytes().to_vec(),
            no_inflight_updates: true,
        };
        let mut router = self.router.clone();
        let call = tokio::time::timeout(timeout, router.track_payment_v2(request)).await;
        let stream = match call {
            Err(_elapsed) => return Ok(PaymentOutcome::InFlight),
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) if status.code() == Code::NotFound => {
                return Ok(PaymentOutcome::NotFound)
            }
            Ok(Err(status)) => return Err(PayerError::rpc("TrackPaymentV2", &status)),
        };
        wait_final(stream, payment_hash, timeout, "TrackPaymentV2").await
    }
}

/// Reads payment updates until a final state, or `InFlight` once `timeout` has passed.
async fn wait_final(
    mut stream: Streaming<Payment>,
    payment_hash: PaymentHash,
    timeout: Duration,
    call: &'static str,
) -> Result<PaymentOutcome, PayerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let message = match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_elapsed) => return Ok(PaymentOutcome::InFlight),
            Ok(message) => message,
        };
        let payment = match message {
            Ok(Some(payment)) => payment,
            // The stream ended without a final state: we cannot tell.
            Ok(None) => return Ok(PaymentOutcome::InFlight),
            Err(status) if status.code() == Code::NotFound => return Ok(PaymentOutcome::NotFound),
            Err(status) => return Err(PayerError::rpc(call, &status)),
        };
        if let Some(outcome) = outcome_of(&payment, payment_hash)? {
            return Ok(outcome);
        }
    }
}

/// The final outcome a payment update describes, or `None` while in flight.
pub fn outcome_of(
    payment: &Payment,
    payment_hash: PaymentHash,
) -> Result<Option<PaymentOutcome>, PayerError> {
    match PaymentStatus::try_from(payment.status).unwrap_or(PaymentStatus::Unknown) {
        PaymentStatus::Succeeded => {
            let preimage = Preimage::from_hex(&payment.payment_preimage).map_err(|_| {
                PayerError::InvalidPayment("preimage is not 32 bytes of hex".into())
            })?;
            if !preimage.matches(&payment_hash) {
                return Err(PayerError::InvalidPayment(
                    "the preimage does not match the payment hash".into(),
                ));
            }
            Ok(Some(PaymentOutcome::Succeeded(PaymentSuccess {
                preimage,
                amount_paid_msat: u64::try_from(payment.value_msat).unwrap_or(0),
                routing_fee_msat: u64::try_from(payment.fee_msat).unwrap_or(0),
            })))
        }
        PaymentStatus::Failed => {
            let reason = PaymentFailureReason::try_from(payment.failure_reason)
                .map(|r| r.as_str_name().to_owned())
                .unwrap_or_else(|_| format!("failure reason {}", payment.failure_reason));
            Ok(Some(PaymentOutcome::Failed { reason }))
        }
        PaymentStatus::InFlight | PaymentStatus::Initiated | PaymentStatus::Unknown => Ok(None),
    }
}

//! How the client pays: the [`Payer`] trait, the only thing it needs from a Lightning node.
//!
//! A payer pays a BOLT11 invoice within a fee limit and a timeout and tells what became of an earlier
//! payment. lnd's [`LndPayer`] (`routerrpc.SendPaymentV2` / `TrackPaymentV2`, as Loop pays) implements
//! it; tests implement it with a closure-driven fake.

use std::time::Duration;

use futures::future::BoxFuture;
use l402::PaymentHash;
pub use lnd_client::{LndPayer, PayerError, PaymentOutcome, PaymentSuccess};

/// Something that can pay BOLT11 invoices: lnd in production, anything in tests.
pub trait Payer: Send + Sync + 'static {
    /// Pays `invoice` (whose hash is `payment_hash`) with at most `max_fee_sat` routing fee, waiting at
    /// most `timeout` for a final state.
    ///
    /// An invoice that was already paid is not paid again: the earlier payment's outcome is returned.
    fn pay<'a>(
        &'a self,
        invoice: &'a str,
        payment_hash: PaymentHash,
        max_fee_sat: u64,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<PaymentOutcome, PayerError>>;

    /// Reports the outcome of an earlier payment of `payment_hash`, waiting at most `timeout` while it is
    /// in flight.
    fn track(
        &self,
        payment_hash: PaymentHash,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<PaymentOutcome, PayerError>>;
}

impl Payer for LndPayer {
    fn pay<'a>(
        &'a self,
        invoice: &'a str,
        payment_hash: PaymentHash,
        max_fee_sat: u64,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<PaymentOutcome, PayerError>> {
        Box::pin(LndPayer::pay(
            self,
            invoice,
            payment_hash,
            max_fee_sat,
            timeout,
        ))
    }

    fn track(
        &self,
        payment_hash: PaymentHash,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<PaymentOutcome, PayerError>> {
        Box::pin(LndPayer::track(self, payment_hash, timeout))
    }
}

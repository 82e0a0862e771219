//! Helpers shared by the tests: a network on ephemeral ports, clients, and bounded waits.

use std::future::Future;

use lnd_client::LndClient;
use mock_lnd::{MockNetwork, NodeHandle};
use proto::lnrpc::{self, payment::PaymentStatus};
use proto::routerrpc::SendPaymentRequest;
use tonic::Streaming;

/// Upper bound for any single wait in these tests.
pub use testkit::WAIT;

/// A TLS network with the given nodes on ephemeral ports.
pub async fn network(names: &[&str]) -> MockNetwork {
    let mut builder = MockNetwork::builder();
    for name in names {
        builder = builder.node(*name);
    }
    builder.start().await.expect("mock network starts")
}

/// An lnd client of `node` using `admin.macaroon` over pinned TLS.
pub async fn client(node: &NodeHandle) -> LndClient {
    LndClient::connect(&node.lnd_config())
        .await
        .expect("client builds")
}

/// Awaits `future` for at most [`WAIT`].
pub async fn within<F: Future>(future: F) -> F::Output {
    testkit::within("a mock-lnd call", WAIT, future)
        .await
        .expect("in time")
}

/// The next message of a server stream.
pub async fn next<T>(stream: &mut Streaming<T>) -> T {
    within(stream.message())
        .await
        .expect("stream error")
        .expect("stream ended")
}

/// Adds a plain invoice of `sat` on `client`'s node.
pub async fn add_invoice(
    client: &mut LndClient,
    sat: i64,
    memo: &str,
) -> lnrpc::AddInvoiceResponse {
    client
        .lightning
        .add_invoice(lnrpc::Invoice {
            value: sat,
            memo: memo.into(),
            ..Default::default()
        })
        .await
        .expect("AddInvoice")
        .into_inner()
}

/// A `SendPaymentV2` request with lnd-typical timeout and fee limit.
pub fn send_request(payment_request: &str, fee_limit_sat: i64) -> SendPaymentRequest {
    SendPaymentRequest {
        payment_request: payment_request.into(),
        timeout_seconds: 30,
        fee_limit_sat,
        ..Default::default()
    }
}

/// Sends a payment and returns every update of its stream (the stream ends after the final one).
pub async fn pay(client: &mut LndClient, request: SendPaymentRequest) -> Vec<lnrpc::Payment> {
    let mut stream = client
        .router
        .send_payment_v2(request)
        .await
        .expect("SendPaymentV2")
        .into_inner();
    let mut updates = Vec::new();
    while let Some(update) = within(stream.message()).await.expect("stream error") {
        updates.push(update);
    }
    updates
}

/// The status of a payment update.
pub fn status(payment: &lnrpc::Payment) -> PaymentStatus {
    PaymentStatus::try_from(payment.status).expect("known status")
}

/// The failure reason of a payment update.
pub fn reason(payment: &lnrpc::Payment) -> lnrpc::PaymentFailureReason {
    lnrpc::PaymentFailureReason::try_from(payment.failure_reason).expect("known reason")
}

/// Polls `check` until it returns true, failing after [`WAIT`].
pub async fn eventually(mut check: impl FnMut() -> bool) {
    testkit::eventually(WAIT, "the condition", || {
        let holds = check();
        async move { holds }
    })
    .await
}

/// `LookupInvoice` by hash.
pub async fn lookup(client: &mut LndClient, r_hash: &[u8]) -> lnrpc::Invoice {
    let request = lnrpc::PaymentHash {
        r_hash: r_hash.to_vec(),
        ..Default::default()
    };
    client
        .lightning
        .lookup_invoice(request)
        .await
        .expect("LookupInvoice")
        .into_inner()
}

/// `SubscribeInvoices` from the given indices.
pub async fn subscribe_all(
    client: &mut LndClient,
    add_index: u64,
    settle_index: u64,
) -> Streaming<lnrpc::Invoice> {
    let request = lnrpc::InvoiceSubscription {
        add_index,
        settle_index,
    };
    client
        .lightning
        .subscribe_invoices(request)
        .await
        .expect("SubscribeInvoices")
        .into_inner()
}

/// `SubscribeSingleInvoice` of one hash.
pub async fn subscribe_single(client: &mut LndClient, r_hash: &[u8]) -> Streaming<lnrpc::Invoice> {
    let request = proto::invoicesrpc::SubscribeSingleInvoiceRequest {
        r_hash: r_hash.to_vec(),
    };
    client
        .invoices
        .subscribe_single_invoice(request)
        .await
        .expect("SubscribeSingleInvoice")
        .into_inner()
}

/// Pays an invoice (fee limit in sat) and returns the payment's final state.
pub async fn pay_last(
    client: &mut LndClient,
    payment_request: &str,
    fee_limit_sat: i64,
) -> lnrpc::Payment {
    let mut updates = pay(client, send_request(payment_request, fee_limit_sat)).await;
    updates.pop().expect("at least one update")
}

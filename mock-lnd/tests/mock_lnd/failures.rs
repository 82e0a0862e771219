//! Every payment failure, with lnd's failure reasons and gRPC codes.

use std::time::Duration;

use mock_lnd::MockNetwork;
use proto::invoicesrpc::CancelInvoiceMsg;
use proto::lnrpc::{
    self, invoice::InvoiceState, payment::PaymentStatus, PaymentFailureReason as Reason,
};
use proto::routerrpc::SendPaymentRequest;

use crate::support::{
    add_invoice, client, lookup, network, pay, pay_last, reason, send_request, status, within,
};

/// Pays and returns the failure reason, checking the stream was IN_FLIGHT then FAILED.
async fn failure(client: &mut lnd_client::LndClient, request: SendPaymentRequest) -> Reason {
    let updates = pay(client, request).await;
    let statuses: Vec<_> = updates.iter().map(status).collect();
    assert_eq!(statuses, [PaymentStatus::InFlight, PaymentStatus::Failed]);
    reason(&updates[1])
}

#[tokio::test]
async fn unknown_destination_is_no_route() {
    let net = network(&["a"]).await;
    let elsewhere = network(&["stranger"]).await;
    let mut a = client(&net.node("a")).await;
    let invoice = add_invoice(&mut client(&elsewhere.node("stranger")).await, 10, "").await;
    let before = net.node("a").balance_msat();
    assert_eq!(
        failure(&mut a, send_request(&invoice.payment_request, 10)).await,
        Reason::FailureReasonNoRoute
    );
    assert_eq!(net.node("a").balance_msat(), before);
}

#[tokio::test]
async fn fee_above_limit_is_no_route_and_zero_fee_network_needs_no_limit() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = add_invoice(&mut b, 1_000, "").await;
    // Fee is 1000 msat + 1 ppm = 1001 msat; a limit of 1000 msat is not enough.
    let mut request = send_request(&invoice.payment_request, 0);
    request.fee_limit_msat = 1_000;
    assert_eq!(
        failure(&mut a, request.clone()).await,
        Reason::FailureReasonNoRoute
    );
    // A failed payment may be retried with a higher limit.
    request.fee_limit_msat = 1_001;
    let updates = pay(&mut a, request).await;
    assert_eq!(status(updates.last().unwrap()), PaymentStatus::Succeeded);

    let free = MockNetwork::builder()
        .node("a")
        .node("b")
        .routing_fee(0, 0)
        .start()
        .await
        .unwrap();
    let (mut a, mut b) = (client(&free.node("a")).await, client(&free.node("b")).await);
    let invoice = add_invoice(&mut b, 1_000, "").await;
    let updates = pay(&mut a, send_request(&invoice.payment_request, 0)).await;
    assert_eq!(
        (
            status(updates.last().unwrap()),
            updates.last().unwrap().fee_msat
        ),
        (PaymentStatus::Succeeded, 0)
    );
}

#[tokio::test]
async fn insufficient_balance() {
    let net = MockNetwork::builder()
        .node("a")
        .node("b")
        .balance_sat(1_000)
        .start()
        .await
        .unwrap();
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    // 1000 sat + 1 sat fee does not fit into 1000 sat.
    let invoice = add_invoice(&mut b, 1_000, "").await;
    assert_eq!(
        failure(&mut a, send_request(&invoice.payment_request, 10)).await,
        Reason::FailureReasonInsufficientBalance
    );
    assert_eq!(net.node("a").balance_msat(), 1_000_000);
}

#[tokio::test]
async fn expired_invoice_is_incorrect_payment_details() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = b
        .lightning
        .add_invoice(lnrpc::Invoice {
            value: 10,
            expiry: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // lnd's expiry watcher cancels the invoice once it expires.
    within(async {
        loop {
            let current = lookup(&mut b, &invoice.r_hash).await;
            if current.state() == InvoiceState::Canceled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(
        failure(&mut a, send_request(&invoice.payment_request, 10)).await,
        Reason::FailureReasonIncorrectPaymentDetails
    );
}

#[tokio::test]
async fn canceled_invoice_is_incorrect_payment_details() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = add_invoice(&mut b, 10, "").await;
    b.invoices
        .cancel_invoice(CancelInvoiceMsg {
            payment_hash: invoice.r_hash.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        failure(&mut a, send_request(&invoice.payment_request, 10)).await,
        Reason::FailureReasonIncorrectPaymentDetails
    );
}

#[tokio::test]
async fn wrong_amount_is_incorrect_payment_details() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = add_invoice(&mut b, 10, "").await;
    // Pay the hash directly (no invoice) with less than the invoice asks for.
    let underpay = SendPaymentRequest {
        dest: net.node("b").pubkey().serialize().to_vec(),
        payment_hash: invoice.r_hash.clone(),
        amt: 9,
        fee_limit_sat: 10,
        timeout_seconds: 30,
        ..Default::default()
    };
    assert_eq!(
        failure(&mut a, underpay.clone()).await,
        Reason::FailureReasonIncorrectPaymentDetails
    );
    // The right amount to the same hash then succeeds (a failed payment can be retried).
    let exact = SendPaymentRequest {
        amt: 10,
        ..underpay
    };
    assert_eq!(
        status(pay(&mut a, exact).await.last().unwrap()),
        PaymentStatus::Succeeded
    );
}

#[tokio::test]
async fn paying_twice_is_already_exists_and_a_paid_invoice_fails_for_others() {
    let net = network(&["a", "b", "c"]).await;
    let (mut a, mut b, mut c) = (
        client(&net.node("a")).await,
        client(&net.node("b")).await,
        client(&net.node("c")).await,
    );
    let invoice = add_invoice(&mut b, 10, "").await;
    assert_eq!(
        pay_last(&mut a, &invoice.payment_request, 10)
            .await
            .status(),
        PaymentStatus::Succeeded
    );
    let err = a
        .router
        .send_payment_v2(send_request(&invoice.payment_request, 10))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    let err = a
        .lightning
        .send_payment_sync(lnrpc::SendRequest {
            payment_request: invoice.payment_request.clone(),
            fee_limit: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    assert_eq!(
        failure(&mut c, send_request(&invoice.payment_request, 10)).await,
        Reason::FailureReasonIncorrectPaymentDetails
    );
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_timeout() {
    let net = MockNetwork::builder()
        .node("a")
        .node("b")
        .payment_latency(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = add_invoice(&mut b, 10, "").await;
    let mut request = send_request(&invoice.payment_request, 10);
    request.timeout_seconds = 1;
    assert_eq!(failure(&mut a, request).await, Reason::FailureReasonTimeout);
    let sync = a.lightning.send_payment_sync(lnrpc::SendRequest {
        payment_request: invoice.payment_request,
        fee_limit: None,
    });
    net.set_payment_latency(Duration::ZERO);
    let response = within(sync).await.unwrap().into_inner();
    assert_eq!(response.payment_error, "");
}

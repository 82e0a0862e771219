//! Test hooks: forced failures, offline nodes, latency.

use std::time::Duration;

use mock_lnd::FailureReason;
use proto::lnrpc::{self, payment::PaymentStatus, PaymentFailureReason as Reason};

use crate::support::{
    add_invoice, client, network, pay_last, reason, send_request, status, subscribe_all, within,
};

#[tokio::test]
async fn fail_next_payments_fails_exactly_n() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    net.node("a")
        .fail_next_payments(2, FailureReason::InsufficientBalance);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let invoice = add_invoice(&mut b, 1, "").await;
        let last = pay_last(&mut a, &invoice.payment_request, 10).await;
        outcomes.push((status(&last), reason(&last)));
    }
    assert_eq!(
        outcomes,
        [
            (
                PaymentStatus::Failed,
                Reason::FailureReasonInsufficientBalance
            ),
            (
                PaymentStatus::Failed,
                Reason::FailureReasonInsufficientBalance
            ),
            (PaymentStatus::Succeeded, Reason::FailureReasonNone),
        ]
    );
    // Only the payer is affected.
    net.node("b").fail_next_payments(1, FailureReason::Error);
    let invoice = add_invoice(&mut b, 1, "").await;
    let last = pay_last(&mut a, &invoice.payment_request, 10).await;
    assert_eq!(status(&last), PaymentStatus::Succeeded);
}

#[tokio::test]
async fn offline_node_refuses_calls_and_cannot_be_paid_then_comes_back() {
    let net = network(&["a", "b"]).await;
    let (node_a, node_b) = (net.node("a"), net.node("b"));
    let (mut a, mut b) = (client(&node_a).await, client(&node_b).await);
    let invoice = add_invoice(&mut b, 10, "").await;
    let mut open_stream = subscribe_all(&mut b, 0, 0).await;
    let addr = node_b.addr();

    node_b.set_offline(true).await;
    assert!(!node_b.is_online());
    // Open streams end with an error, new calls fail as if lnd were down, the port is closed.
    assert!(within(open_stream.message()).await.is_err());
    let err = b
        .lightning
        .get_info(lnrpc::GetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let last = pay_last(&mut a, &invoice.payment_request, 10).await;
    assert_eq!(reason(&last), Reason::FailureReasonNoRoute);

    node_b.set_offline(false).await;
    assert_eq!(node_b.addr(), addr);
    let info = within(async {
        loop {
            // The client's channel reconnects on its own; retry until it has.
            match b.lightning.get_info(lnrpc::GetInfoRequest {}).await {
                Ok(info) => break info.into_inner(),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    assert_eq!(info.alias, "b");
    let last = pay_last(&mut a, &invoice.payment_request, 10).await;
    assert_eq!(status(&last), PaymentStatus::Succeeded);
}

#[tokio::test]
async fn payment_latency_delays_the_result_not_the_in_flight_update() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    net.set_payment_latency(Duration::from_millis(300));
    assert_eq!(net.payment_latency(), Duration::from_millis(300));
    let invoice = add_invoice(&mut b, 10, "").await;
    let started = tokio::time::Instant::now();
    let mut stream = a
        .router
        .send_payment_v2(send_request(&invoice.payment_request, 10))
        .await
        .unwrap()
        .into_inner();
    let first = within(stream.message()).await.unwrap().unwrap();
    assert_eq!(status(&first), PaymentStatus::InFlight);
    let last = within(stream.message()).await.unwrap().unwrap();
    assert_eq!(status(&last), PaymentStatus::Succeeded);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

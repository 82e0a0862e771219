//! Concurrent payments keep the books balanced.

use futures::future::join_all;
use mock_lnd::MockNetwork;
use proto::lnrpc::payment::PaymentStatus;

use crate::support::{add_invoice, client, network, pay, send_request, status};

const NODES: [&str; 4] = ["n0", "n1", "n2", "n3"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_payments_conserve_the_total_balance() {
    let mut builder = MockNetwork::builder().balance_sat(1_000_000);
    for name in NODES {
        builder = builder.node(name);
    }
    let net = builder.start().await.unwrap();
    let total = net.total_balance_msat();
    let mut clients = Vec::new();
    for name in NODES {
        clients.push(client(&net.node(name)).await);
    }
    // Payment i goes from node i%4 to node (i+1+i/4)%4 (never to itself), 1000 + i sat.
    let mut jobs = Vec::new();
    for i in 0..200usize {
        let (from, step) = (i % 4, 1 + (i / 4) % 3);
        let to = (from + step) % 4;
        let invoice = add_invoice(&mut clients[to], 1_000 + i as i64, "").await;
        jobs.push((from, to, 1_000 + i as u64, invoice.payment_request));
    }
    let results = join_all(jobs.iter().map(|(from, _, _, payment_request)| {
        let mut payer = clients[*from].clone();
        let request = send_request(payment_request, 100);
        async move { pay(&mut payer, request).await }
    }))
    .await;
    let mut expected: Vec<i128> = vec![1_000_000_000; 4];
    let mut fees = 0i128;
    for ((from, to, sat, _), updates) in jobs.iter().zip(&results) {
        let last = updates.last().unwrap();
        assert_eq!(status(last), PaymentStatus::Succeeded);
        expected[*from] -= (*sat as i128) * 1000 + last.fee_msat as i128;
        expected[*to] += (*sat as i128) * 1000;
        fees += last.fee_msat as i128;
    }
    assert!(fees > 0);
    for (i, name) in NODES.iter().enumerate() {
        assert_eq!(net.node(name).balance_msat() as i128, expected[i], "{name}");
    }
    assert_eq!(net.total_balance_msat(), total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_of_one_invoice_pay_it_once() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = add_invoice(&mut b, 100, "").await;
    let before = net.node("b").balance_msat();
    let attempts = join_all((0..20).map(|_| {
        let mut payer = a.clone();
        let request = send_request(&invoice.payment_request, 10);
        async move { payer.router.send_payment_v2(request).await.map(|_| ()) }
    }))
    .await;
    let accepted = attempts.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 1);
    for refused in attempts.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.code(), tonic::Code::AlreadyExists);
    }
    let _ = &mut a;
    crate::support::eventually(|| net.node("b").balance_msat() == before + 100_000).await;
    assert_eq!(net.node("a").payment_count(), 1);
}

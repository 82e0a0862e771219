//! Throughput of mock-lnd over real gRPC (TLS + macaroons): one invoice-and-payment round trip, and
//! batches of concurrent payments.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::future::join_all;
use lnd_client::LndClient;
use mock_lnd::MockNetwork;
use proto::lnrpc;
use proto::routerrpc::SendPaymentRequest;

/// Creates an invoice on `payee` and pays it from `payer`, waiting for the final state.
async fn round_trip(payer: &mut LndClient, payee: &mut LndClient) {
    let invoice = lnrpc::Invoice {
        value: 1_000,
        ..Default::default()
    };
    let invoice = payee
        .lightning
        .add_invoice(invoice)
        .await
        .unwrap()
        .into_inner();
    let request = SendPaymentRequest {
        payment_request: invoice.payment_request,
        timeout_seconds: 30,
        fee_limit_sat: 10,
        ..Default::default()
    };
    let mut stream = payer
        .router
        .send_payment_v2(request)
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(update) = stream.message().await.unwrap() {
        last = Some(update);
    }
    assert_eq!(
        last.unwrap().status,
        lnrpc::payment::PaymentStatus::Succeeded as i32
    );
}

fn payments(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (net, payer, payee) = rt.block_on(async {
        let net = MockNetwork::builder()
            .node("a")
            .node("b")
            .balance_sat(u64::MAX / 4000)
            .start()
            .await
            .unwrap();
        let payer = LndClient::connect(&net.node("a").lnd_config())
            .await
            .unwrap();
        let payee = LndClient::connect(&net.node("b").lnd_config())
            .await
            .unwrap();
        (net, payer, payee)
    });
    let mut group = c.benchmark_group("payments");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function("invoice_and_payment_round_trip", |b| {
        b.iter(|| rt.block_on(round_trip(&mut payer.clone(), &mut payee.clone())))
    });
    for batch in [50u64, 200] {
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(
            BenchmarkId::new("concurrent", batch),
            &batch,
            |b, &batch| {
                b.iter(|| {
                    rt.block_on(join_all((0..batch).map(|_| {
                        let (mut payer, mut payee) = (payer.clone(), payee.clone());
                        async move { round_trip(&mut payer, &mut payee).await }
                    })))
                })
            },
        );
    }
    group.finish();
    drop(net);
}

criterion_group!(benches, payments);
criterion_main!(benches);

//! Payments across nodes: balances move, invoices settle, streams and tracking report it.

use bitcoin_hashes::{sha256, Hash};
use proto::lnrpc::{self, invoice::InvoiceState, payment::PaymentStatus};
use proto::routerrpc::TrackPaymentRequest;

use crate::support::{
    add_invoice, client, lookup, network, next, pay, send_request, status, subscribe_all, within,
};

#[tokio::test]
async fn payment_moves_balances_and_settles_the_invoice() {
    let net = network(&["client", "server"]).await;
    let (payer, payee) = (net.node("client"), net.node("server"));
    let (mut c, mut s) = (client(&payer).await, client(&payee).await);
    let total = net.total_balance_msat();
    let before = (payer.balance_msat(), payee.balance_msat());

    let mut settles = subscribe_all(&mut s, 0, 0).await;
    let invoice = add_invoice(&mut s, 10_000, "coffee").await;
    assert_eq!(next(&mut settles).await.state(), InvoiceState::Open);

    let updates = pay(&mut c, send_request(&invoice.payment_request, 100)).await;
    let statuses: Vec<_> = updates.iter().map(status).collect();
    assert_eq!(
        statuses,
        [PaymentStatus::InFlight, PaymentStatus::Succeeded]
    );
    let done = &updates[1];
    let preimage = hex::decode(&done.payment_preimage).unwrap();
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array().to_vec(),
        invoice.r_hash
    );
    assert_eq!(done.payment_hash, hex::encode(&invoice.r_hash));
    assert_eq!((done.value_sat, done.value_msat), (10_000, 10_000_000));
    // Default fee: 1000 msat + 1 ppm of 10,000,000 msat = 1010 msat.
    assert_eq!((done.fee_msat, done.fee_sat), (1_010, 1));

    assert_eq!(payer.balance_msat(), before.0 - 10_000_000 - 1_010);
    assert_eq!(payee.balance_msat(), before.1 + 10_000_000);
    assert_eq!(net.total_balance_msat(), total);
    assert_eq!((payer.payment_count(), payee.invoice_count()), (1, 1));

    let settled = next(&mut settles).await;
    assert_eq!(
        (settled.state(), settled.settle_index, settled.amt_paid_msat),
        (InvoiceState::Settled, 1, 10_000_000)
    );
    let looked_up = lookup(&mut s, &invoice.r_hash).await;
    assert_eq!(looked_up.state(), InvoiceState::Settled);
    assert!(looked_up.settled);
    assert_eq!(looked_up.r_preimage, preimage);

    // TrackPaymentV2 reports the final state and ends.
    let mut track = c
        .router
        .track_payment_v2(TrackPaymentRequest {
            payment_hash: invoice.r_hash.clone(),
            no_inflight_updates: false,
        })
        .await
        .unwrap()
        .into_inner();
    let tracked = next(&mut track).await;
    assert_eq!(
        (status(&tracked), tracked.payment_preimage.clone()),
        (PaymentStatus::Succeeded, done.payment_preimage.clone())
    );
    assert!(within(track.message()).await.unwrap().is_none());

    // A subscription from add_index 1 does not replay invoice 1 and streams the next one.
    let mut later = subscribe_all(&mut s, 1, 0).await;
    let second = add_invoice(&mut s, 1, "").await;
    let event = next(&mut later).await;
    assert_eq!((event.r_hash, event.add_index), (second.r_hash, 2));
}

#[tokio::test]
async fn settle_index_subscription_replays_settlements() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let mut hashes = Vec::new();
    for _ in 0..3 {
        let invoice = add_invoice(&mut b, 5, "").await;
        let updates = pay(&mut a, send_request(&invoice.payment_request, 10)).await;
        assert_eq!(status(updates.last().unwrap()), PaymentStatus::Succeeded);
        hashes.push(invoice.r_hash);
    }
    let mut stream = subscribe_all(&mut b, 0, 1).await;
    for (settle_index, hash) in [(2, &hashes[1]), (3, &hashes[2])] {
        let event = next(&mut stream).await;
        assert_eq!(
            (event.settle_index, &event.r_hash, event.state()),
            (settle_index, hash, InvoiceState::Settled)
        );
    }
}

#[tokio::test]
async fn send_payment_sync_and_zero_amount_invoices() {
    let net = network(&["a", "b"]).await;
    let (payer, payee) = (net.node("a"), net.node("b"));
    let (mut a, mut b) = (client(&payer).await, client(&payee).await);
    let invoice = add_invoice(&mut b, 2_000, "sync").await;
    let response = a
        .lightning
        .send_payment_sync(lnrpc::SendRequest {
            payment_request: invoice.payment_request.clone(),
            fee_limit: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.payment_error, "");
    assert_eq!(response.payment_hash, invoice.r_hash);
    assert_eq!(
        sha256::Hash::hash(&response.payment_preimage)
            .to_byte_array()
            .to_vec(),
        invoice.r_hash
    );

    // A zero-amount invoice needs an amount; a non-zero one must not get one.
    let open = add_invoice(&mut b, 0, "any amount").await;
    let mut request = send_request(&open.payment_request, 10);
    let err = a.router.send_payment_v2(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    request.amt = 777;
    let updates = pay(&mut a, request).await;
    assert_eq!(status(updates.last().unwrap()), PaymentStatus::Succeeded);
    let looked_up = lookup(&mut b, &open.r_hash).await;
    assert_eq!(looked_up.amt_paid_sat, 777);
    let fixed = add_invoice(&mut b, 5, "").await;
    let mut request = send_request(&fixed.payment_request, 10);
    request.amt = 5;
    assert_eq!(
        a.router.send_payment_v2(request).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );

    // lnd requires a timeout for SendPaymentV2.
    let mut request = send_request(&fixed.payment_request, 10);
    request.timeout_seconds = 0;
    assert_eq!(
        a.router.send_payment_v2(request).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );

    let balance = a
        .lightning
        .channel_balance(lnrpc::ChannelBalanceRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balance.local_balance.unwrap().msat, payer.balance_msat());
    assert_eq!(balance.balance as u64, payer.balance_msat() / 1000);
}

#[tokio::test]
async fn no_inflight_updates_sends_only_the_final_state() {
    let net = network(&["a", "b"]).await;
    let (mut a, mut b) = (client(&net.node("a")).await, client(&net.node("b")).await);
    let invoice = add_invoice(&mut b, 3, "").await;
    let mut request = send_request(&invoice.payment_request, 10);
    request.no_inflight_updates = true;
    let updates = pay(&mut a, request).await;
    assert_eq!(
        updates.iter().map(status).collect::<Vec<_>>(),
        [PaymentStatus::Succeeded]
    );
}

#[tokio::test]
async fn get_info_reports_identity_and_network() {
    let net = network(&["alice"]).await;
    let node = net.node("alice");
    let info = client(&node)
        .await
        .lightning
        .get_info(lnrpc::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.identity_pubkey, node.pubkey().to_string());
    assert_eq!(info.alias, "alice");
    assert_eq!(info.chains[0].network, "regtest");
    assert!(info.synced_to_chain);
    assert!(info.version.contains("beta"));
}

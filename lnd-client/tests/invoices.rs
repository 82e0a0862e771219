//! `lnd_client::invoices` against an in-process mock-lnd whose node goes offline and comes back: the
//! subscriptions resubscribe, and a settlement made while the stream was down is not lost.

use std::time::Duration;

use l402::PaymentHash;
use lnd_client::invoices::{InvoiceEvent, InvoiceStates, SettledInvoice, SettledInvoices};
use lnd_client::LndClient;
use mock_lnd::MockNetwork;
use proto::lnrpc::{self, invoice::InvoiceState};
use service_kit::backoff::Reconnect;

/// Long enough that a payment made right after the node is back lands before the resubscription.
const BACKOFF: Duration = Duration::from_secs(2);

async fn network(dir: &tempfile::TempDir) -> (MockNetwork, LndClient, LndClient) {
    let net = MockNetwork::builder()
        .datadir(dir.path().join("lnd"))
        .network("regtest")
        .node("payer")
        .node("payee")
        .start()
        .await
        .unwrap();
    let payer = LndClient::connect(&net.node("payer").lnd_config())
        .await
        .unwrap();
    let payee = LndClient::connect(&net.node("payee").lnd_config())
        .await
        .unwrap();
    (net, payer, payee)
}

/// An invoice of the payee: its payment request and hash.
async fn invoice(payee: &LndClient, memo: &str) -> (String, PaymentHash) {
    let invoice = lnrpc::Invoice {
        memo: memo.into(),
        value: 1_000,
        ..Default::default()
    };
    let added = payee
        .lightning
        .clone()
        .add_invoice(invoice)
        .await
        .unwrap()
        .into_inner();
    let hash = PaymentHash::from_slice(&added.r_hash).unwrap();
    (added.payment_request, hash)
}

async fn pay(payer: &LndClient, payment_request: String) {
    let response = payer
        .lightning
        .clone()
        .send_payment_sync(lnrpc::SendRequest {
            payment_request,
            fee_limit: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.payment_error, "");
}

/// The next event, within 10 s.
async fn next<T>(
    next: impl std::future::Future<Output = Option<InvoiceEvent<T>>>,
) -> InvoiceEvent<T> {
    tokio::time::timeout(Duration::from_secs(10), next)
        .await
        .expect("an event within 10 s")
        .expect("the subscription is alive")
}

#[tokio::test]
async fn settled_invoices_resubscribe_and_replay_a_settlement_made_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let (net, payer, payee) = network(&dir).await;
    let mut settled =
        SettledInvoices::spawn(payee.clone(), Reconnect::new(BACKOFF, BACKOFF), || async {
            Ok(0)
        });
    assert_eq!(next(settled.next()).await, InvoiceEvent::Subscribed);

    let (first, first_hash) = invoice(&payee, "first").await;
    pay(&payer, first).await;
    let expected = SettledInvoice {
        payment_hash: first_hash,
        settle_index: 1,
    };
    assert_eq!(next(settled.next()).await, InvoiceEvent::Update(expected));

    // The payee goes away: the stream fails.
    net.node("payee").set_offline(true).await;
    assert!(matches!(
        next(settled.next()).await,
        InvoiceEvent::Failed(_)
    ));
    // It is back, and is paid before the subscription is renewed.
    net.node("payee").set_offline(false).await;
    let (second, second_hash) = invoice(&payee, "second").await;
    pay(&payer, second).await;

    assert_eq!(next(settled.next()).await, InvoiceEvent::Subscribed);
    let expected = SettledInvoice {
        payment_hash: second_hash,
        settle_index: 2,
    };
    assert_eq!(
        next(settled.next()).await,
        InvoiceEvent::Update(expected),
        "the settlement made while the stream was down is replayed, and only it"
    );
    net.shutdown().await;
}

#[tokio::test]
async fn settled_invoices_start_after_the_callers_settle_index() {
    let dir = tempfile::tempdir().unwrap();
    let (net, payer, payee) = network(&dir).await;
    for memo in ["one", "two"] {
        let (request, _) = invoice(&payee, memo).await;
        pay(&payer, request).await;
    }
    let mut settled =
        SettledInvoices::spawn(payee.clone(), Reconnect::new(BACKOFF, BACKOFF), || async {
            Ok(1)
        });
    assert_eq!(next(settled.next()).await, InvoiceEvent::Subscribed);
    match next(settled.next()).await {
        InvoiceEvent::Update(settled) => assert_eq!(settled.settle_index, 2),
        other => panic!("unexpected {other:?}"),
    }
    net.shutdown().await;
}

#[tokio::test]
async fn invoice_states_resubscribe_and_end_once_settled() {
    let dir = tempfile::tempdir().unwrap();
    let (net, payer, payee) = network(&dir).await;
    let (request, hash) = invoice(&payee, "single").await;
    let mut states = InvoiceStates::spawn(
        payee.clone(),
        hash,
        Reconnect::new(Duration::from_millis(50), Duration::from_millis(50)),
    );
    assert_eq!(next(states.next()).await, InvoiceEvent::Subscribed);
    assert_eq!(
        next(states.next()).await,
        InvoiceEvent::Update(InvoiceState::Open)
    );

    net.node("payee").set_offline(true).await;
    assert!(matches!(next(states.next()).await, InvoiceEvent::Failed(_)));
    net.node("payee").set_offline(false).await;
    // Failures are reported until a subscription gets through again.
    loop {
        match next(states.next()).await {
            InvoiceEvent::Subscribed => break,
            InvoiceEvent::Failed(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        next(states.next()).await,
        InvoiceEvent::Update(InvoiceState::Open)
    );
    pay(&payer, request).await;
    assert_eq!(
        next(states.next()).await,
        InvoiceEvent::Update(InvoiceState::Settled)
    );
    let end = tokio::time::timeout(Duration::from_secs(10), states.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "the subscription ends once settled"
    );
    net.shutdown().await;
}

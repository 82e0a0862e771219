//! The live event feed: what a payment does on the network, in order, as an observer sees it.

use l402::PaymentHash;
use mock_lnd::{FailureReason, InvoiceEvent, NetworkEvent, PaymentEvent};
use tokio::sync::broadcast;

use crate::support::{add_invoice, client, network, pay, send_request, within};

/// The next event of the feed.
async fn next(events: &mut broadcast::Receiver<NetworkEvent>) -> NetworkEvent {
    within(events.recv()).await.expect("the feed is open")
}

#[tokio::test]
async fn a_payment_is_seen_from_invoice_to_settlement() {
    let net = network(&["client", "server"]).await;
    let mut events = net.subscribe_events();
    let (mut c, mut s) = (
        client(&net.node("client")).await,
        client(&net.node("server")).await,
    );
    let invoice = add_invoice(&mut s, 1_000, "token").await;
    let hash = PaymentHash::from_bytes(invoice.r_hash.clone().try_into().unwrap());
    let invoice_event = |state| NetworkEvent::Invoice {
        node: "server".into(),
        payment_hash: hash,
        value_msat: 1_000_000,
        memo: "token".into(),
        state,
    };
    let payment_event = |state| NetworkEvent::Payment {
        payer: "client".into(),
        payee: Some("server".into()),
        payment_hash: hash,
        amount_msat: 1_000_000,
        state,
    };
    assert_eq!(next(&mut events).await, invoice_event(InvoiceEvent::Added));

    pay(&mut c, send_request(&invoice.payment_request, 10)).await;
    assert_eq!(
        next(&mut events).await,
        payment_event(PaymentEvent::Started)
    );
    assert_eq!(
        next(&mut events).await,
        invoice_event(InvoiceEvent::Settled)
    );
    // Default fee: 1000 msat + 1 ppm of 1,000,000 msat = 1001 msat.
    assert_eq!(
        next(&mut events).await,
        payment_event(PaymentEvent::Succeeded { fee_msat: 1_001 })
    );
}

#[tokio::test]
async fn a_failed_payment_says_why() {
    let net = network(&["client", "server"]).await;
    let (mut c, mut s) = (
        client(&net.node("client")).await,
        client(&net.node("server")).await,
    );
    let invoice = add_invoice(&mut s, 1_000, "token").await;
    net.node("client")
        .fail_next_payments(1, FailureReason::NoRoute);
    let mut events = net.subscribe_events();

    pay(&mut c, send_request(&invoice.payment_request, 10)).await;
    let states: Vec<PaymentEvent> = [next(&mut events).await, next(&mut events).await]
        .into_iter()
        .map(|event| match event {
            NetworkEvent::Payment { state, .. } => state,
            other => panic!("not a payment event: {other:?}"),
        })
        .collect();
    assert_eq!(
        states,
        [
            PaymentEvent::Started,
            PaymentEvent::Failed(FailureReason::NoRoute)
        ]
    );
}

#[tokio::test]
async fn other_processes_read_the_feed_as_server_sent_events_of_json() {
    let net = std::sync::Arc::new(network(&["client", "server"]).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let control = tokio::spawn(mock_lnd::control::serve(listener, net.clone(), async {
        let _ = stopped.await;
    }));
    let mut events =
        testkit::sse::subscribe::<NetworkEvent>(reqwest::Client::new().get(&url)).await;

    let mut s = client(&net.node("server")).await;
    let invoice = add_invoice(&mut s, 2_000, "over the wire").await;
    assert_eq!(
        events.next_item().await,
        NetworkEvent::Invoice {
            node: "server".into(),
            payment_hash: PaymentHash::from_bytes(invoice.r_hash.try_into().unwrap()),
            value_msat: 2_000_000,
            memo: "over the wire".into(),
            state: InvoiceEvent::Added,
        }
    );

    // Shutting the endpoint down ends the stream instead of waiting for it forever.
    stop.send(()).unwrap();
    assert_eq!(events.next().await, None);
    within(control).await.unwrap().unwrap();
}

#[test]
fn events_are_tagged_json_with_hex_hashes() {
    let event = NetworkEvent::Payment {
        payer: "client".into(),
        payee: None,
        payment_hash: PaymentHash::from_bytes([0xab; 32]),
        amount_msat: 5,
        state: PaymentEvent::Failed(FailureReason::NoRoute),
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["kind"], "payment");
    assert_eq!(json["payment_hash"], "ab".repeat(32));
    assert_eq!(json["state"], serde_json::json!({"failed": "NO_ROUTE"}));
    assert_eq!(serde_json::from_value::<NetworkEvent>(json).unwrap(), event);
}

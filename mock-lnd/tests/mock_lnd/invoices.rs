//! Invoices: BOLT11 content, lookup, listing, subscriptions.

use std::str::FromStr;

use bitcoin_hashes::Hash as _;
use lightning_invoice::Bolt11Invoice;
use proto::lnrpc::{self, invoice::InvoiceState};

use crate::support::{add_invoice, client, lookup, network, next, subscribe_all};

#[tokio::test]
async fn invoice_decodes_to_amount_hash_payee_and_expiry() {
    let net = network(&["server"]).await;
    let node = net.node("server");
    let mut server = client(&node).await;
    let added = add_invoice(&mut server, 1_500, "L402").await;
    assert_eq!(added.add_index, 1);
    assert!(
        added.payment_request.starts_with("lnbcrt15u1"),
        "{}",
        added.payment_request
    );

    // Independent decoder: lightning-invoice.
    let bolt11 = Bolt11Invoice::from_str(&added.payment_request).unwrap();
    assert!(bolt11.check_signature().is_ok());
    assert_eq!(bolt11.recover_payee_pub_key(), node.pubkey());
    assert_eq!(bolt11.amount_milli_satoshis(), Some(1_500_000));
    assert_eq!(bolt11.payment_hash().to_byte_array().to_vec(), added.r_hash);
    assert_eq!(bolt11.expiry_time().as_secs(), 86_400);
    assert_eq!(bolt11.payment_secret().0.to_vec(), added.payment_addr);

    // The node's own decoder.
    let decoded = server
        .lightning
        .decode_pay_req(lnrpc::PayReqString {
            pay_req: added.payment_request.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decoded.destination, node.pubkey().to_string());
    assert_eq!(decoded.payment_hash, hex::encode(&added.r_hash));
    assert_eq!((decoded.num_satoshis, decoded.num_msat), (1_500, 1_500_000));
    assert_eq!(decoded.expiry, 86_400);
    assert_eq!(decoded.description, "L402");
    assert_eq!(decoded.payment_addr, added.payment_addr);

    let invoice = lookup(&mut server, &added.r_hash).await;
    assert_eq!(invoice.state(), InvoiceState::Open);
    assert_eq!((invoice.value, invoice.value_msat), (1_500, 1_500_000));
    assert_eq!(invoice.memo, "L402");
    assert_eq!(invoice.payment_request, added.payment_request);
    assert_eq!(invoice.add_index, 1);
}

#[tokio::test]
async fn custom_expiry_memo_and_network_prefix() {
    let net = mock_lnd::MockNetwork::builder()
        .network("testnet")
        .node("n")
        .start()
        .await
        .unwrap();
    let mut node = client(&net.node("n")).await;
    let added = node
        .lightning
        .add_invoice(lnrpc::Invoice {
            value_msat: 1_234,
            expiry: 600,
            memo: "tiny".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let bolt11 = Bolt11Invoice::from_str(&added.payment_request).unwrap();
    assert!(added.payment_request.starts_with("lntb"));
    assert_eq!(bolt11.amount_milli_satoshis(), Some(1_234));
    assert_eq!(bolt11.expiry_time().as_secs(), 600);
    // A regtest invoice is refused by a testnet node, as lnd does.
    let regtest = network(&["r"]).await;
    let mut r = client(&regtest.node("r")).await;
    let foreign = add_invoice(&mut r, 1, "").await.payment_request;
    let err = node
        .lightning
        .decode_pay_req(lnrpc::PayReqString { pay_req: foreign })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn invalid_invoice_arguments_are_rejected() {
    let net = network(&["n"]).await;
    let mut node = client(&net.node("n")).await;
    let both = lnrpc::Invoice {
        value: 1,
        value_msat: 1000,
        ..Default::default()
    };
    let short_preimage = lnrpc::Invoice {
        r_preimage: vec![1; 31],
        ..Default::default()
    };
    let negative = lnrpc::Invoice {
        value: -1,
        ..Default::default()
    };
    for bad in [both, short_preimage, negative] {
        let err = node.lightning.add_invoice(bad).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    }
    let preimage = vec![7; 32];
    let invoice = lnrpc::Invoice {
        r_preimage: preimage.clone(),
        ..Default::default()
    };
    node.lightning.add_invoice(invoice.clone()).await.unwrap();
    let err = node.lightning.add_invoice(invoice).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    let err = node
        .lightning
        .lookup_invoice(lnrpc::PaymentHash {
            r_hash: vec![0; 32],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn list_invoices_pages_by_add_index() {
    let net = network(&["n"]).await;
    let mut node = client(&net.node("n")).await;
    for i in 1..=5 {
        add_invoice(&mut node, i, &format!("#{i}")).await;
    }
    let page = |index_offset, num_max_invoices, reversed| lnrpc::ListInvoiceRequest {
        index_offset,
        num_max_invoices,
        reversed,
        pending_only: false,
    };
    let all = node
        .lightning
        .list_invoices(page(0, 0, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        all.invoices.iter().map(|i| i.add_index).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let forward = node
        .lightning
        .list_invoices(page(2, 2, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        forward.invoices.iter().map(|i| i.value).collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(
        (forward.first_index_offset, forward.last_index_offset),
        (3, 4)
    );
    let newest = node
        .lightning
        .list_invoices(page(0, 2, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        newest
            .invoices
            .iter()
            .map(|i| i.add_index)
            .collect::<Vec<_>>(),
        [4, 5]
    );
    let before = node
        .lightning
        .list_invoices(page(4, 10, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        before
            .invoices
            .iter()
            .map(|i| i.add_index)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[tokio::test]
async fn subscribe_invoices_replays_from_add_index_then_streams() {
    let net = network(&["n"]).await;
    let mut node = client(&net.node("n")).await;
    for i in 1..=3 {
        add_invoice(&mut node, i, "").await;
    }
    let mut stream = subscribe_all(&mut node, 1, 0).await;
    assert_eq!(next(&mut stream).await.add_index, 2);
    assert_eq!(next(&mut stream).await.add_index, 3);
    let live = add_invoice(&mut node, 4, "live").await;
    let event = next(&mut stream).await;
    assert_eq!(event.state(), InvoiceState::Open);
    assert_eq!((event.add_index, event.r_hash), (4, live.r_hash));
}

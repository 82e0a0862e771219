//! lnd's REST API: each endpoint's JSON as lnd writes it (proto field names, every field, 64-bit
//! integers as strings, bytes as base64, enums by name), a whole payment over REST only, and hold
//! invoices settled and canceled.

use bitcoin_hashes::{sha256, Hash as _};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rest_support::{bytes_field, field, int64_field, rest_network, str_field, Lines, Rest};
use crate::support::WAIT;

/// URL-safe base64 (as grpc-gateway accepts in a path) of `bytes`.
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The `result` objects of a stream, failing on an `error` line.
fn results(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .map(|line| {
            line.get("result")
                .unwrap_or_else(|| panic!("not a result line: {line}"))
        })
        .collect()
}

#[tokio::test]
async fn getinfo_and_channel_balance() {
    let net = rest_network(&["alice", "bob"]).await;
    let alice = net.node("alice");
    let rest = Rest::admin(&alice);

    let info = rest.get_ok("/v1/getinfo").await;
    assert_eq!(
        str_field(&info, "identity_pubkey"),
        alice.pubkey().to_string()
    );
    assert_eq!(str_field(&info, "alias"), "alice");
    // uint32 as a JSON number, bool as a JSON bool, repeated messages as an array.
    assert_eq!(field(&info, "block_height"), &json!(1000));
    assert_eq!(field(&info, "num_peers"), &json!(1));
    assert_eq!(field(&info, "synced_to_chain"), &json!(true));
    assert_eq!(
        field(&info, "chains"),
        &json!([{"chain": "bitcoin", "network": "regtest"}])
    );
    assert!(
        info.get("identityPubkey").is_none(),
        "proto names, not JSON names: {info}"
    );

    let balance = rest.get_ok("/v1/balance/channels").await;
    // int64 and uint64 as decimal strings.
    assert_eq!(int64_field(&balance, "balance"), 10_000_000);
    let local = field(&balance, "local_balance");
    assert_eq!(int64_field(local, "sat"), 10_000_000);
    assert_eq!(int64_field(local, "msat"), 10_000_000_000);
    assert_eq!(
        int64_field(field(&balance, "remote_balance"), "sat"),
        10_000_000
    );
}

#[tokio::test]
async fn add_lookup_and_decode_an_invoice() {
    let net = rest_network(&["alice"]).await;
    let alice = net.node("alice");
    let rest = Rest::admin(&alice);

    // int64 given as a string, as lnd's REST clients send it.
    let added = rest
        .post_ok(
            "/v1/invoices",
            &json!({"value": "1234", "memo": "over rest"}),
        )
        .await;
    let r_hash = bytes_field(&added, "r_hash");
    assert_eq!(r_hash.len(), 32);
    assert_eq!(bytes_field(&added, "payment_addr").len(), 32);
    assert_eq!(int64_field(&added, "add_index"), 1);
    let pay_req = str_field(&added, "payment_request");
    assert!(pay_req.starts_with("lnbcrt1234"), "{pay_req}");

    // r_hash_str is hex (lnd's LookupInvoice hex-decodes it).
    let invoice = rest
        .get_ok(&format!("/v1/invoice/{}", hex::encode(&r_hash)))
        .await;
    assert_eq!(str_field(&invoice, "state"), "OPEN");
    assert_eq!(str_field(&invoice, "memo"), "over rest");
    assert_eq!(int64_field(&invoice, "value"), 1234);
    assert_eq!(int64_field(&invoice, "value_msat"), 1_234_000);
    assert_eq!(bytes_field(&invoice, "r_hash"), r_hash);
    // Unpopulated fields are written at their defaults, as lnd's EmitUnpopulated does.
    assert_eq!(field(&invoice, "settled"), &json!(false));
    assert_eq!(int64_field(&invoice, "settle_date"), 0);
    assert_eq!(int64_field(&invoice, "amt_paid_msat"), 0);
    assert_eq!(str_field(&invoice, "description_hash"), "");
    assert_eq!(str_field(&invoice, "payment_request"), pay_req);

    let decoded = rest.get_ok(&format!("/v1/payreq/{pay_req}")).await;
    assert_eq!(
        str_field(&decoded, "destination"),
        alice.pubkey().to_string()
    );
    assert_eq!(str_field(&decoded, "payment_hash"), hex::encode(&r_hash));
    assert_eq!(int64_field(&decoded, "num_satoshis"), 1234);
    assert_eq!(int64_field(&decoded, "num_msat"), 1_234_000);
    assert_eq!(int64_field(&decoded, "expiry"), 86_400);
    assert_eq!(int64_field(&decoded, "cltv_expiry"), 80);
    assert_eq!(str_field(&decoded, "description"), "over rest");

    // A JSON number for an int64 and a camelCase name are read too.
    let added = rest
        .post_ok("/v1/invoices", &json!({"valueMsat": 5000, "memo": "msat"}))
        .await;
    let invoice = rest
        .get_ok(&format!(
            "/v1/invoice/{}",
            hex::encode(bytes_field(&added, "r_hash"))
        ))
        .await;
    assert_eq!(int64_field(&invoice, "value_msat"), 5000);
}

#[tokio::test]
async fn a_payment_over_rest_only() {
    let net = rest_network(&["payee", "payer"]).await;
    let (payee, payer) = (
        Rest::admin(&net.node("payee")),
        Rest::admin(&net.node("payer")),
    );

    let added = payee
        .post_ok("/v1/invoices", &json!({"value": "1234", "memo": "coffee"}))
        .await;
    let pay_req = str_field(&added, "payment_request").to_owned();
    let r_hash = bytes_field(&added, "r_hash");
    let decoded = payer.get_ok(&format!("/v1/payreq/{pay_req}")).await;
    assert_eq!(int64_field(&decoded, "num_satoshis"), 1234);

    let request = payer.request(Method::POST, "/v2/router/send").json(&json!({
        "payment_request": pay_req,
        "timeout_seconds": 30,
        "fee_limit_sat": "10",
    }));
    let (status, lines) = payer.stream(request).await;
    assert_eq!(status, StatusCode::OK);
    let updates = results(&lines);
    let statuses: Vec<&str> = updates.iter().map(|u| str_field(u, "status")).collect();
    assert_eq!(statuses, ["IN_FLIGHT", "SUCCEEDED"], "{lines:?}");
    let done = updates[1];
    assert_eq!(str_field(done, "payment_hash"), hex::encode(&r_hash));
    let preimage = hex::decode(str_field(done, "payment_preimage")).unwrap();
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array().as_slice(),
        r_hash
    );
    assert_eq!(int64_field(done, "value_msat"), 1_234_000);
    // 1000 msat base fee + 1 ppm of 1,234,000 msat.
    assert_eq!(int64_field(done, "fee_msat"), 1001);
    assert_eq!(str_field(done, "failure_reason"), "FAILURE_REASON_NONE");

    let invoice = payee
        .get_ok(&format!("/v1/invoice/{}", hex::encode(&r_hash)))
        .await;
    assert_eq!(str_field(&invoice, "state"), "SETTLED");
    assert_eq!(field(&invoice, "settled"), &json!(true));
    assert_eq!(int64_field(&invoice, "amt_paid_msat"), 1_234_000);
    assert_eq!(bytes_field(&invoice, "r_preimage"), preimage);

    // TrackPaymentV2 with the hash as URL-safe base64 in the path: the final state, then the end.
    let track = format!("/v2/router/track/{}", base64_url(&r_hash));
    let (status, lines) = payer.stream(payer.request(Method::GET, &track)).await;
    assert_eq!(status, StatusCode::OK);
    let updates = results(&lines);
    assert_eq!(updates.len(), 1, "{lines:?}");
    assert_eq!(str_field(updates[0], "status"), "SUCCEEDED");

    let balance = payer.get_ok("/v1/balance/channels").await;
    assert_eq!(
        int64_field(field(&balance, "local_balance"), "msat"),
        10_000_000_000 - 1_234_000 - 1001
    );

    // Paying it again fails before the stream's first message: 409 and one error line.
    let again = payer.request(Method::POST, "/v2/router/send").json(&json!({
        "payment_request": pay_req,
        "timeout_seconds": 30,
        "fee_limit_sat": "10",
    }));
    let (status, lines) = payer.stream(again).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(field(field(&lines[0], "error"), "code"), &json!(6));
}

#[tokio::test]
async fn send_payment_sync_over_rest() {
    let net = rest_network(&["payee", "payer"]).await;
    let (payee, payer) = (
        Rest::admin(&net.node("payee")),
        Rest::admin(&net.node("payer")),
    );
    let added = payee.post_ok("/v1/invoices", &json!({"value": "50"})).await;
    let sent = payer
        .post_ok(
            "/v1/channels/transactions",
            &json!({"payment_request": str_field(&added, "payment_request")}),
        )
        .await;
    assert_eq!(str_field(&sent, "payment_error"), "");
    assert_eq!(
        bytes_field(&sent, "payment_hash"),
        bytes_field(&added, "r_hash")
    );
    let preimage = bytes_field(&sent, "payment_preimage");
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array().to_vec(),
        bytes_field(&added, "r_hash")
    );
}

/// Starts paying a hold invoice of `payee` from `payer` over REST, reads the payment's first
/// update (`IN_FLIGHT`, sent while the payment is held), waits until the invoice is `ACCEPTED`,
/// and returns the still-open payment stream and the hash.
async fn accepted_hold_payment(payee: &Rest, payer: &Rest, preimage: [u8; 32]) -> (Lines, Vec<u8>) {
    let hash = sha256::Hash::hash(&preimage).to_byte_array().to_vec();
    let added = payee
        .post_ok(
            "/v2/invoices/hodl",
            &json!({"hash": base64_std(&hash), "value": "700", "memo": "hold"}),
        )
        .await;
    assert_eq!(int64_field(&added, "add_index"), 1);
    assert_eq!(bytes_field(&added, "payment_addr").len(), 32);
    let request = payer.request(Method::POST, "/v2/router/send").json(&json!({
        "payment_request": str_field(&added, "payment_request"),
        "timeout_seconds": 30,
        "fee_limit_sat": 10,
    }));
    let mut payment = payer.open_stream(request).await;
    assert_eq!(payment.status, StatusCode::OK);
    let first = payment.next().await.expect("a first update");
    assert_eq!(str_field(field(&first, "result"), "status"), "IN_FLIGHT");
    let lookup = format!("/v1/invoice/{}", hex::encode(&hash));
    testkit::eventually(WAIT, "the hold invoice is accepted", || async {
        str_field(&payee.get_ok(&lookup).await, "state") == "ACCEPTED"
    })
    .await;
    (payment, hash)
}

/// The rest of a payment stream: its final update, then its end.
async fn final_update(mut payment: Lines) -> Value {
    let last = payment.next().await.expect("a final update");
    assert!(
        payment.next().await.is_none(),
        "the stream ends after the final update"
    );
    field(&last, "result").clone()
}

#[tokio::test]
async fn hold_invoice_settled_over_rest() {
    let net = rest_network(&["payee", "payer"]).await;
    let payee = Rest::admin(&net.node("payee"));
    let preimage = [7u8; 32];
    let payer = Rest::admin(&net.node("payer"));
    let (payment, hash) = accepted_hold_payment(&payee, &payer, preimage).await;

    let settled = payee
        .post_ok(
            "/v2/invoices/settle",
            &json!({"preimage": base64_std(&preimage)}),
        )
        .await;
    assert_eq!(settled, json!({}));
    let last = final_update(payment).await;
    assert_eq!(str_field(&last, "status"), "SUCCEEDED");
    assert_eq!(str_field(&last, "payment_preimage"), hex::encode(preimage));
    let invoice = payee
        .get_ok(&format!("/v1/invoice/{}", hex::encode(&hash)))
        .await;
    assert_eq!(str_field(&invoice, "state"), "SETTLED");
}

#[tokio::test]
async fn hold_invoice_canceled_over_rest() {
    let net = rest_network(&["payee", "payer"]).await;
    let payee = Rest::admin(&net.node("payee"));
    let payer = Rest::admin(&net.node("payer"));
    let (payment, hash) = accepted_hold_payment(&payee, &payer, [8u8; 32]).await;

    let canceled = payee
        .post_ok(
            "/v2/invoices/cancel",
            &json!({"payment_hash": base64_std(&hash)}),
        )
        .await;
    assert_eq!(canceled, json!({}));
    let last = final_update(payment).await;
    assert_eq!(str_field(&last, "status"), "FAILED");
    assert_eq!(
        str_field(&last, "failure_reason"),
        "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS"
    );
    let invoice = payee
        .get_ok(&format!("/v1/invoice/{}", hex::encode(&hash)))
        .await;
    assert_eq!(str_field(&invoice, "state"), "CANCELED");

    // Settling it now is a failed precondition: 400 with code 9.
    let answer = payee
        .post(
            "/v2/invoices/settle",
            &json!({"preimage": base64_std(&[8u8; 32])}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(field(&answer.json, "code"), &json!(9));
}

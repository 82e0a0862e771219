//! lnd's REST API on the stack's nodes (`StackOptions::lnd_rest`): after a loop, a REST client sees
//! the L402 token's invoice on the proxy's node and its payment on the client's node, as lnd's REST
//! clients would.

use base64::Engine as _;
use mock_lnd::NodeHandle;
use serde_json::Value;
use testkit::stack::{Stack, StackOptions, CLIENT_NODE, PROXY_NODE};

use crate::support::{paid_token_file, play};

/// `GET path` on `node`'s REST API with its `admin.macaroon`: the HTTP status and the body's
/// newline-delimited JSON objects (one for a unary call).
async fn rest_get(node: &NodeHandle, path: &str) -> (reqwest::StatusCode, Vec<Value>) {
    let pem = std::fs::read(node.tls_cert_path()).expect("tls.cert");
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(lnd_client::pinned_client_config(&pem).expect("valid tls.cert"))
        .build()
        .expect("client builds");
    let macaroon = hex::encode(std::fs::read(node.admin_macaroon_path()).expect("macaroon"));
    let url = format!("{}{path}", node.rest_url().expect("the node serves REST"));
    let response = client
        .get(url)
        .header("Grpc-Metadata-macaroon", macaroon)
        .send()
        .await
        .expect("REST answers");
    let status = response.status();
    let body = response.text().await.expect("body");
    let lines = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    (status, lines)
}

#[tokio::test]
async fn rest_clients_see_the_token_payment() {
    testkit::init_test_logging();
    let options = StackOptions {
        lnd_rest: true,
        payment_latency: std::time::Duration::ZERO,
        ..StackOptions::default()
    };
    let price = options.token_price_sat;
    let stack = Stack::start(options).await.expect("the stack starts");
    play(&stack, 250_000).await;
    let token = paid_token_file(&stack);
    let hash = token.payment_hash.as_bytes();

    let invoice_path = format!("/v1/invoice/{}", hex::encode(hash));
    let (status, invoice) = rest_get(&stack.node(PROXY_NODE), &invoice_path).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{invoice:?}");
    assert_eq!(invoice[0]["state"], "SETTLED");
    assert_eq!(invoice[0]["amt_paid_sat"], price.to_string());

    let track = format!(
        "/v2/router/track/{}",
        base64::engine::general_purpose::URL_SAFE.encode(hash)
    );
    let (status, updates) = rest_get(&stack.node(CLIENT_NODE), &track).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{updates:?}");
    let payment = &updates.last().expect("an update")["result"];
    assert_eq!(payment["status"], "SUCCEEDED");
    let preimage = token.preimage.as_ref().expect("paid");
    assert_eq!(
        payment["payment_preimage"],
        hex::encode(preimage.as_bytes())
    );
}

//! lnd's REST API when things go wrong: authentication, bad input, unknown paths and methods,
//! limits, TLS, and a node going offline; errors in grpc-gateway's shape
//! (`{"code": <gRPC code>, "message": …, "details": []}` with the code's HTTP status).

use mock_lnd::MockNetwork;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::rest_support::{field, rest_network, str_field, Answer, Rest};
use crate::support::within;

/// Asserts that `answer` is grpc-gateway's error for gRPC `code` with HTTP `status`.
fn assert_error(answer: &Answer, status: StatusCode, code: i32, message: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.json);
    assert_eq!(
        field(&answer.json, "code"),
        &json!(code),
        "{:?}",
        answer.json
    );
    assert!(
        str_field(&answer.json, "message").contains(message),
        "{:?} should say {message:?}",
        answer.json
    );
    assert_eq!(field(&answer.json, "details"), &json!([]));
    assert_eq!(
        answer.headers.get("content-type").unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn a_missing_or_foreign_macaroon_is_unauthenticated() {
    let net = rest_network(&["a", "b"]).await;
    let a = net.node("a");
    let bare = Rest::with_macaroon(&a, None);
    let answer = bare.get("/v1/getinfo").await;
    assert_error(
        &answer,
        StatusCode::UNAUTHORIZED,
        16,
        "expected 1 macaroon, got 0",
    );
    // grpc-gateway repeats an Unauthenticated message in WWW-Authenticate.
    assert_eq!(
        answer.headers.get("www-authenticate").unwrap(),
        "expected 1 macaroon, got 0"
    );

    let foreign = Rest::with_macaroon(&a, Some(&net.node("b").admin_macaroon_path()));
    let answer = foreign.get("/v1/getinfo").await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, 16, "");

    let garbage = bare
        .send(
            bare.request(Method::GET, "/v1/getinfo")
                .header("Grpc-Metadata-macaroon", "zz"),
        )
        .await;
    assert_error(&garbage, StatusCode::UNAUTHORIZED, 16, "malformed macaroon");

    // Each Grpc-Metadata-macaroon header is one metadata value: two are refused, as on gRPC.
    let admin = Rest::admin(&a);
    let macaroon = hex::encode(std::fs::read(a.admin_macaroon_path()).unwrap());
    let twice = admin
        .send(
            admin
                .request(Method::GET, "/v1/getinfo")
                .header("Grpc-Metadata-macaroon", macaroon),
        )
        .await;
    assert_error(
        &twice,
        StatusCode::UNAUTHORIZED,
        16,
        "expected 1 macaroon, got 2",
    );
}

#[tokio::test]
async fn the_invoice_macaroon_lacks_the_permission_to_pay() {
    let net = rest_network(&["a"]).await;
    let a = net.node("a");
    let invoices = Rest::with_macaroon(&a, Some(&a.invoice_macaroon_path()));

    let answer = invoices.get("/v1/getinfo").await;
    assert_error(&answer, StatusCode::FORBIDDEN, 7, "info:read");
    // What it grants works.
    invoices.post_ok("/v1/invoices", &json!({"value": 1})).await;

    // A stream failing before its first message: the code's HTTP status and one error line.
    let request = invoices
        .request(Method::POST, "/v2/router/send")
        .json(&json!({"payment_request": "lnbcrt1", "timeout_seconds": 30}));
    let (status, lines) = invoices.stream(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let error = field(&lines[0], "error");
    assert_eq!(field(error, "code"), &json!(7));
    assert!(
        str_field(error, "message").contains("offchain:write"),
        "{error}"
    );
}

#[tokio::test]
async fn bad_requests_are_invalid_arguments() {
    let net = rest_network(&["a"]).await;
    let rest = Rest::admin(&net.node("a"));

    let malformed = rest
        .send(
            rest.request(Method::POST, "/v1/invoices")
                .header("content-type", "application/json")
                .body("{\"value\": "),
        )
        .await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, 3, "EOF");

    let not_an_object = rest.post("/v1/invoices", &json!([1, 2])).await;
    assert_error(&not_an_object, StatusCode::BAD_REQUEST, 3, "JSON object");

    let not_a_number = rest.post("/v1/invoices", &json!({"value": "lots"})).await;
    assert_error(&not_a_number, StatusCode::BAD_REQUEST, 3, "");

    // The service's own validation comes through unchanged.
    let both = rest
        .post("/v1/invoices", &json!({"value": 1, "value_msat": 1000}))
        .await;
    assert_error(&both, StatusCode::BAD_REQUEST, 3, "mutually exclusive");

    let bad_hash = rest.get("/v1/invoice/not-hex").await;
    assert_error(
        &bad_hash,
        StatusCode::BAD_REQUEST,
        3,
        "r_hash_str is not hex",
    );

    let bad_base64 = rest
        .send(rest.request(Method::GET, "/v2/router/track/%21%21"))
        .await;
    assert_error(&bad_base64, StatusCode::BAD_REQUEST, 3, "base64");

    let bad_bool = rest
        .send(rest.request(
            Method::GET,
            &format!(
                "/v2/router/track/{}?no_inflight_updates=maybe",
                "A".repeat(44)
            ),
        ))
        .await;
    assert_error(&bad_bool, StatusCode::BAD_REQUEST, 3, "not a boolean");

    // An empty body is the empty message, as in grpc-gateway: AddInvoice of nothing is an
    // open zero-amount invoice.
    let empty = rest.send(rest.request(Method::POST, "/v1/invoices")).await;
    assert_eq!(empty.status, StatusCode::OK, "{:?}", empty.json);
}

#[tokio::test]
async fn unknown_invoice_is_not_found() {
    let net = rest_network(&["a"]).await;
    let rest = Rest::admin(&net.node("a"));
    let answer = rest.get(&format!("/v1/invoice/{}", "00".repeat(32))).await;
    assert_error(&answer, StatusCode::NOT_FOUND, 5, "");
    let answer = rest
        .post(
            "/v2/invoices/cancel",
            &json!({"payment_hash": "AA".repeat(22)}),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, 3, "32 bytes");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_like_grpc_gateway() {
    let net = rest_network(&["a"]).await;
    let rest = Rest::admin(&net.node("a"));
    let answer = rest.get("/v1/nothing-here").await;
    assert_error(&answer, StatusCode::NOT_FOUND, 5, "Not Found");
    assert_eq!(str_field(&answer.json, "message"), "Not Found");

    let answer = rest.post("/v1/getinfo", &json!({})).await;
    assert_error(
        &answer,
        StatusCode::NOT_IMPLEMENTED,
        12,
        "Method Not Allowed",
    );
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused() {
    let net = rest_network(&["a"]).await;
    let rest = Rest::admin(&net.node("a"));
    let memo = "m".repeat(mock_lnd::rest::MAX_BODY_BYTES);
    let answer = rest.post("/v1/invoices", &json!({"memo": memo})).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, 8, "larger than");

    let huge = "h".repeat(mock_lnd::rest::MAX_HEADER_BYTES);
    let response = within(
        rest.request(Method::GET, "/v1/getinfo")
            .header("x-huge", huge)
            .send(),
    )
    .await
    .expect("an HTTP/1.1 answer");
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // The node still serves.
    rest.get_ok("/v1/getinfo").await;
}

#[tokio::test]
async fn plaintext_to_the_tls_listener_fails() {
    let net = rest_network(&["a"]).await;
    let node = net.node("a");
    let url = node.rest_url().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let plain = format!("http://{}/v1/getinfo", node.rest_addr().unwrap());
    let result = within(reqwest::Client::new().get(plain).send()).await;
    assert!(result.is_err(), "{result:?}");
    // And the file next to the node's others says where it is.
    let written = std::fs::read_to_string(node.dir().join("rest.url")).unwrap();
    assert_eq!(written.trim(), url);
}

#[tokio::test]
async fn no_rest_tls_serves_plain_http() {
    let net = MockNetwork::builder()
        .node("a")
        .rest("a")
        .rest_tls(false)
        .start()
        .await
        .unwrap();
    let node = net.node("a");
    let url = node.rest_url().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let rest = Rest::admin(&node);
    assert_eq!(str_field(&rest.get_ok("/v1/getinfo").await, "alias"), "a");
    // gRPC keeps its TLS.
    assert!(node.tls());
}

#[tokio::test]
async fn rest_goes_offline_with_the_node() {
    let net = rest_network(&["a"]).await;
    let node = net.node("a");
    let rest = Rest::admin(&node);
    rest.get_ok("/v1/getinfo").await;
    node.set_offline(true).await;
    let result = within(rest.request(Method::GET, "/v1/getinfo").send()).await;
    assert!(result.is_err(), "{result:?}");
    node.set_offline(false).await;
    rest.get_ok("/v1/getinfo").await;
}

#[tokio::test]
async fn rest_listeners_must_name_a_node_once() {
    let unknown = MockNetwork::builder().node("a").rest("b").start().await;
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown node \"b\""));
    let twice = MockNetwork::builder()
        .node("a")
        .rest("a")
        .rest("a")
        .start()
        .await;
    assert!(twice
        .unwrap_err()
        .to_string()
        .contains("two REST listeners"));
}

#[tokio::test]
async fn rest_tls_needs_no_grpc_tls() {
    let net = MockNetwork::builder()
        .node("a")
        .rest("a")
        .tls(false)
        .start()
        .await
        .unwrap();
    let node = net.node("a");
    assert!(!node.tls());
    assert!(node.rest_url().unwrap().starts_with("https://"));
    // The certificate was made for REST alone, and REST serves with it.
    let rest = Rest::admin(&node);
    assert_eq!(str_field(&rest.get_ok("/v1/getinfo").await, "alias"), "a");
}

#[tokio::test]
async fn a_stale_rest_url_is_removed() {
    let datadir = tempfile::tempdir().unwrap();
    let start = |rest: bool| {
        let mut builder = MockNetwork::builder().datadir(datadir.path()).node("a");
        if rest {
            builder = builder.rest("a");
        }
        builder.start()
    };
    let with_rest = start(true).await.unwrap();
    let file = with_rest.node("a").dir().join("rest.url");
    assert!(file.exists());
    with_rest.shutdown().await;
    drop(with_rest);
    let without = start(false).await.unwrap();
    assert_eq!(without.node("a").rest_url(), None);
    assert!(!file.exists(), "rest.url of the previous run is gone");
}

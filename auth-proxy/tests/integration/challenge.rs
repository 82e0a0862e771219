//! Challenges are byte-exact to docs/PROTOCOL.md, for HTTP and gRPC.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{challenge_of, get, get_with, http_client, unpaid_grpc_call, TestEnv};

/// `LSAT macaroon="<std base64>", invoice="<bolt11>"` (and the same with L402).
fn assert_challenge_value(value: &str, scheme: &str) -> (String, String) {
    let rest = value
        .strip_prefix(&format!("{scheme} macaroon=\""))
        .unwrap_or_else(|| panic!("{value}"));
    let (macaroon, rest) = rest
        .split_once("\", invoice=\"")
        .expect("invoice parameter");
    let invoice = rest.strip_suffix('"').expect("closing quote");
    assert!(
        macaroon.len() % 4 == 0 && !macaroon.contains(['-', '_']),
        "standard padded base64: {macaroon}"
    );
    assert!(invoice.starts_with("lnbcrt"), "regtest invoice: {invoice}");
    (macaroon.to_owned(), invoice.to_owned())
}

#[tokio::test]
async fn http_challenge_is_byte_exact() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;

    // Raw HTTP/1.1 so nothing normalises the answer.
    let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    stream
        .write_all(b"GET /http/data HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("HTTP/1.1 402 Payment Required"));
    let www: Vec<&str> = lines
        .filter_map(|line| line.split_once(": "))
        .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(www.len(), 2, "{head}");
    let (lsat_mac, lsat_invoice) = assert_challenge_value(www[0], "LSAT");
    let (l402_mac, l402_invoice) = assert_challenge_value(www[1], "L402");
    assert_eq!(
        (lsat_mac, lsat_invoice),
        (l402_mac, l402_invoice),
        "both lines carry the same challenge"
    );
    assert_eq!(body, "payment required\n");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{head}"
    );
    assert_eq!(env.http.count(), 0, "never forwarded");

    // The invoice is for the service's price, and the macaroon carries the service's caveats.
    let response = get(&proxy, "/http/data").await;
    let challenge = challenge_of(response.headers());
    assert_eq!(challenge.amount_msat(), Some(10_000));
    let caveats: Vec<String> = challenge
        .macaroon()
        .caveats()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(caveats[0], "services=http:0");
    assert_eq!(caveats[1], "http_capabilities=read");
    assert!(caveats[2].starts_with("http_valid_until="), "{caveats:?}");
    let decision = proxy.last_decision("/http/data");
    assert_eq!(decision.outcome, auth_proxy::Outcome::Challenged);
    assert_eq!(decision.reason.as_deref(), Some("missing"));
}

#[tokio::test]
async fn challengeform_spec_and_both_offer_the_spec_value_and_clients_pay_either() {
    let env = TestEnv::start().await;
    for (form, lines) in [("spec", 1), ("both", 3)] {
        let proxy = env.proxy_with(&format!("challengeform: {form}\n")).await;
        let response = get(&proxy, "/http/data").await;
        assert_eq!(response.status(), 402);
        let www: Vec<String> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(www.len(), lines, "{form}: {www:?}");
        let spec = www.last().unwrap();
        let rest = spec
            .strip_prefix("L402 version=\"0\", token=\"")
            .unwrap_or_else(|| panic!("{spec}"));
        assert!(rest.contains("\", invoice=\"lnbcrt"), "{spec}");
        if form == "both" {
            assert_challenge_value(&www[0], "LSAT");
            assert_challenge_value(&www[1], "L402");
        }
        // Our client parses the form and the paid token is accepted.
        let credential = env.pay_challenge(challenge_of(response.headers())).await;
        let paid = get_with(
            &proxy,
            "/http/data",
            ("authorization", &credential.to_authorization()),
        )
        .await;
        assert_eq!(paid.status(), 200, "{form}");

        let status = unpaid_grpc_call(&proxy).await;
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(
            status.metadata().get_all("www-authenticate").iter().count(),
            lines
        );
    }
    let err = auth_proxy::Config::from_yaml(
        &env.yaml(&env.basedir(), "challengeform: rfc\n"),
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("challengeform"));
}

#[tokio::test]
async fn grpc_challenge_is_trailers_only_with_status_13() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;

    // Raw HTTP/2 (h2c): status 200, grpc-status in the headers, empty body, no trailers.
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Empty<bytes::Bytes>>();
    let request = http::Request::post(proxy.url("/looprpc.SwapServer/LoopOutTerms"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Empty::new())
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["grpc-status"], "13");
    assert_eq!(headers["grpc-message"], "payment required");
    assert_eq!(headers["content-type"], "application/grpc");
    let www: Vec<&str> = headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(www.len(), 2);
    assert_challenge_value(www[0], "LSAT");
    assert_challenge_value(www[1], "L402");
    let collected = response.into_body().collect().await.unwrap();
    assert!(collected.trailers().is_none(), "trailers-only response");
    assert!(collected.to_bytes().is_empty());

    // A tonic client sees INTERNAL "payment required" with both challenges in the metadata.
    let status = unpaid_grpc_call(&proxy).await;
    assert_eq!(status.code(), tonic::Code::Internal);
    assert_eq!(status.message(), "payment required");
    assert_eq!(
        status.metadata().get_all("www-authenticate").iter().count(),
        2
    );
    assert_eq!(env.grpc.count(), 0, "never forwarded");
    let challenge = challenge_of(&status.metadata().clone().into_headers());
    assert_eq!(challenge.amount_msat(), Some(20_000));
}

#[tokio::test]
async fn cors_preflight_is_answered_by_the_proxy() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let response = http_client()
        .request(reqwest::Method::OPTIONS, proxy.url("/http/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        response.headers()["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    assert_eq!(env.http.count(), 0);
}

#[tokio::test]
async fn challenges_are_budgeted_per_client_network() {
    let env = TestEnv::start().await;
    let proxy = env
        .proxy_with("challengelimits:\n  requests: 1\n  per: 1h\n  burst: 3\n")
        .await;
    let invoices = || env.net.node("proxy").invoice_count();
    let before = invoices();
    for _ in 0..3 {
        assert_eq!(get(&proxy, "/http/data").await.status(), 402);
    }
    let refused = get(&proxy, "/http/data").await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 60, "the bucket refills once an hour: {wait}");
    assert_eq!(invoices(), before + 3, "no invoice for the refused request");
    let decision = proxy.last_decision("/http/data");
    assert_eq!(
        (decision.outcome, decision.reason.as_deref()),
        (auth_proxy::Outcome::RateLimited, Some("challenge_budget"))
    );
    // gRPC callers get RESOURCE_EXHAUSTED.
    assert_eq!(
        unpaid_grpc_call(&proxy).await.code(),
        tonic::Code::ResourceExhausted
    );
}

#[tokio::test]
async fn the_challenge_budget_can_be_turned_off_but_not_narrowed_to_a_path() {
    let env = TestEnv::start().await;
    let proxy = env.proxy_with("challengelimits:\n  requests: 0\n").await;
    assert!(proxy.config.challenge_limit.is_none());
    let yaml = env.yaml(
        &env.basedir(),
        "challengelimits:\n  requests: 1\n  per: 1s\n  pathregexp: '^/x'\n",
    );
    let error = auth_proxy::Config::from_yaml(&yaml, &Default::default()).unwrap_err();
    assert!(
        error.to_string().contains("challengelimits.pathregexp"),
        "{error}"
    );
}

#[tokio::test]
async fn unpaid_tokens_are_capped_and_token_invoices_expire() {
    let env = TestEnv::start().await;
    let proxy = env
        .proxy_with("maxunpaidtokens: 2\ninvoiceexpiry: 10m\n")
        .await;
    let first = get(&proxy, "/http/data").await;
    assert_eq!(first.status(), 402);
    let invoice = challenge_of(first.headers()).invoice().clone();
    assert_eq!(invoice.expiry_time(), Duration::from_secs(600));
    assert_eq!(get(&proxy, "/http/data").await.status(), 402);
    let refused = get(&proxy, "/http/data").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let decision = proxy.last_decision("/http/data");
    assert_eq!(decision.reason.as_deref(), Some("unpaid_cap"));
}

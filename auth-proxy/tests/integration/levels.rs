//! Aperture's auth levels and extras: `auth: off`, `freebie N`, `authskipinvoicecreationpaths`, `ratelimits`,
//! `strictverify`.

use auth_proxy::metrics::Metrics;
use auth_proxy::store::Store;
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::ServerLoopOutTermsRequest;

use crate::support::{challenge_of, eventually, forge, get, grpc_request, TestEnv, TestProxy};

fn services(env: &TestEnv) -> String {
    format!(
        r#"
services:
  - name: open
    hostregexp: '.*'
    pathregexp: '^/open/.*$'
    address: "{http}"
    auth: off
  - name: sample
    hostregexp: '.*'
    pathregexp: '^/sample/.*$'
    address: "{http}"
    auth: freebie 2
    authskipinvoicecreationpaths:
      - '^/sample/stream.*$'
  - name: limited
    hostregexp: '.*'
    pathregexp: '^/limited/.*$'
    address: "{http}"
    auth: "false"
    ratelimits:
      - pathregexp: '^/limited/strict.*$'
        requests: 2
        per: 1m
        burst: 2
  - name: loop
    hostregexp: '.*'
    pathregexp: '^/looprpc\..*$'
    address: "{grpc}"
    ratelimits:
      - requests: 1
        per: 1h
"#,
        http = env.http.addr,
        grpc = env.grpc.addr,
    )
}

async fn proxy(env: &TestEnv, extra: &str) -> TestProxy {
    TestProxy::start(&env.yaml_with_services(&env.basedir(), &services(env), extra)).await
}

async fn status(proxy: &TestProxy, path: &str) -> u16 {
    get(proxy, path).await.status().as_u16()
}

#[tokio::test]
async fn auth_off_forwards_without_challenge() {
    let env = TestEnv::start().await;
    let proxy = proxy(&env, "").await;
    assert_eq!(status(&proxy, "/open/x").await, 200);
    assert_eq!(
        proxy.last_decision("/open/x").reason.as_deref(),
        Some("auth_off")
    );
}

#[tokio::test]
async fn freebies_then_challenge_and_no_invoice_paths_answer_401() {
    let env = TestEnv::start().await;
    let proxy = proxy(&env, "").await;
    assert_eq!(status(&proxy, "/sample/a").await, 200);
    assert_eq!(status(&proxy, "/sample/a").await, 200);
    assert_eq!(status(&proxy, "/sample/a").await, 402);
    assert_eq!(status(&proxy, "/sample/stream").await, 401);
    assert_eq!(
        proxy.last_decision("/sample/stream").outcome,
        auth_proxy::Outcome::Unauthorized
    );
    assert_eq!(env.http.count(), 2);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_grpc_resource_exhausted() {
    let env = TestEnv::start().await;
    let proxy = proxy(&env, "").await;
    assert_eq!(status(&proxy, "/limited/strict").await, 200);
    assert_eq!(status(&proxy, "/limited/strict").await, 200);
    let response = get(&proxy, "/limited/strict").await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(
        status(&proxy, "/limited/other").await,
        200,
        "rule applies to its paths only"
    );

    // gRPC: limited per token; a second token has its own bucket.
    let mut client = SwapServerClient::connect(proxy.url("")).await.unwrap();
    let mut credentials = Vec::new();
    for _ in 0..2 {
        let status = client
            .loop_out_terms(ServerLoopOutTermsRequest::default())
            .await
            .unwrap_err();
        credentials.push(
            env.pay_challenge(challenge_of(&status.metadata().clone().into_headers()))
                .await,
        );
    }
    let call = |credential: &l402::Credential| {
        let request = grpc_request(
            ServerLoopOutTermsRequest::default(),
            "authorization",
            &credential.to_authorization(),
        );
        let mut client = client.clone();
        async move { client.loop_out_terms(request).await }
    };
    assert!(call(&credentials[0]).await.is_ok());
    let limited = call(&credentials[0]).await.unwrap_err();
    assert_eq!(limited.code(), tonic::Code::ResourceExhausted);
    assert!(limited.metadata().get("retry-after").is_some());
    assert!(
        call(&credentials[1]).await.is_ok(),
        "another token is not limited"
    );
}

#[tokio::test]
async fn strict_verify_accepts_tokens_settled_at_our_lnd() {
    let env = TestEnv::start().await;
    let proxy = proxy(&env, "strictverify: true\n").await;
    let (mut client, credential) = env.paid_grpc(&proxy).await;
    let request = grpc_request(
        ServerLoopOutTermsRequest::default(),
        "authorization",
        &credential.to_authorization(),
    );
    client
        .loop_out_terms(request)
        .await
        .expect("settled token accepted");
    eventually(
        std::time::Duration::from_secs(10),
        "settlement recorded",
        || async { proxy.tokens().await[0].settled_at.is_some() },
    )
    .await;
}

#[tokio::test]
async fn strict_verify_rejects_a_valid_token_whose_invoice_our_lnd_never_settled() {
    let env = TestEnv::start().await;
    let basedir = env.basedir();
    let yaml = env.yaml_with_services(
        &basedir,
        &services(&env),
        "strictverify: true\nstrictverifytimeout: 200ms\n",
    );
    let strict = TestProxy::start(&yaml).await;

    // A correctly signed token with a matching preimage, written straight into the proxy's database — as a
    // leaked root key or a rogue minter could — but for an invoice our lnd never saw paid.
    let store = Store::connect(&strict.config.database, Metrics::new())
        .await
        .unwrap();
    let credential = forge::stored_token(&store, "loop").await;

    let authorization = credential.to_authorization();
    let mut client = SwapServerClient::connect(strict.url("")).await.unwrap();
    let request = grpc_request(
        ServerLoopOutTermsRequest::default(),
        "authorization",
        &authorization,
    );
    let status = client.loop_out_terms(request).await.unwrap_err();
    assert_eq!(status.message(), "payment required");
    assert_eq!(
        strict
            .last_decision("/looprpc.SwapServer/LoopOutTerms")
            .reason
            .as_deref(),
        Some("invoice_not_settled")
    );
    assert_eq!(env.grpc.count(), 0);

    // Without strictverify the same token passes: the preimage is proof enough.
    strict.stop().await;
    let lenient =
        TestProxy::start(&yaml.replace("strictverify: true", "strictverify: false")).await;
    let request = grpc_request(
        ServerLoopOutTermsRequest::default(),
        "authorization",
        &authorization,
    );
    let mut client = SwapServerClient::connect(lenient.url("")).await.unwrap();
    client
        .loop_out_terms(request)
        .await
        .expect("accepted without strictverify");
}

#[tokio::test]
async fn blocklisted_clients_get_403_before_anything_else() {
    let env = TestEnv::start().await;
    let proxy = proxy(&env, "blocklist:\n  - '127.0.0.1'\n").await;
    assert_eq!(status(&proxy, "/open/x").await, 403);
    let status = crate::support::unpaid_grpc_call(&proxy).await;
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(
        proxy.last_decision("/open/x").outcome,
        auth_proxy::Outcome::Blocked
    );
    assert_eq!(env.http.count() + env.grpc.count(), 0);
}

//! The main listener: TLS with a generated self-signed certificate (HTTP/1.1 and gRPC over h2 on one port),
//! and graceful shutdown.

use std::time::Duration;

use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::ServerLoopOutTermsRequest;

use crate::support::{challenge_of, grpc_request, TestEnv, TestProxy};

#[tokio::test]
async fn tls_listener_serves_http1_and_grpc_with_a_generated_certificate() {
    let env = TestEnv::start().await;
    let basedir = env.basedir();
    let yaml = env
        .yaml(&basedir, "")
        .replace("insecure: true", "insecure: false");
    let proxy = TestProxy::start(&yaml).await;
    let cert =
        std::fs::read(basedir.join("tls.cert")).expect("self-signed cert generated into basedir");

    // HTTP/1.1 and HTTP/2 (ALPN) on the same TLS port.
    for (client, version) in [
        (
            reqwest::Client::builder().http1_only(),
            reqwest::Version::HTTP_11,
        ),
        (reqwest::Client::builder(), reqwest::Version::HTTP_2),
    ] {
        let https = client.danger_accept_invalid_certs(true).build().unwrap();
        let response = https
            .get(format!("https://{}/http/data", proxy.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (response.status().as_u16(), response.version()),
            (402, version)
        );
        challenge_of(response.headers());
    }

    let channel = lnd_client::pinned_tls_channel(&proxy.addr.to_string(), &cert).unwrap();
    let mut client = SwapServerClient::new(channel);
    let status = client
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::Internal, "payment required")
    );
    let credential = env
        .pay_challenge(challenge_of(&status.metadata().clone().into_headers()))
        .await;
    let request = grpc_request(
        ServerLoopOutTermsRequest::default(),
        "macaroon",
        &credential.to_macaroon_metadata().unwrap(),
    );
    let terms = client
        .loop_out_terms(request)
        .await
        .expect("paid call over TLS")
        .into_inner();
    assert_eq!(terms.min_swap_amount, 250_000);
}

#[tokio::test]
async fn plain_http_over_h2c_reaches_an_http1_backend() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = h2c.get(proxy.url("/http/free/h2")).send().await.unwrap();
    assert_eq!(
        (response.status().as_u16(), response.version()),
        (200, reqwest::Version::HTTP_2)
    );
    assert_eq!(
        response.text().await.unwrap(),
        "hello /http/free/h2 (0 bytes)"
    );
    let challenged = h2c.get(proxy.url("/http/data")).send().await.unwrap();
    assert_eq!(challenged.status(), 402);
    challenge_of(challenged.headers());
}

/// A request to the backend's slow path (answered 500 ms after it arrives), once the backend has it; the
/// task ends with the status the client received.
async fn slow_request_in_flight(
    env: &TestEnv,
    proxy: &TestProxy,
) -> tokio::task::JoinHandle<reqwest::Result<u16>> {
    let url = proxy.url("/http/free/slow");
    let in_flight =
        tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) });
    crate::support::eventually(
        Duration::from_secs(10),
        "request in flight at the backend",
        || async { env.http.count() == 1 },
    )
    .await;
    in_flight
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_stops_accepting() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let addr = proxy.addr;
    let in_flight = slow_request_in_flight(&env, &proxy).await;
    proxy.stop().await;
    assert_eq!(
        in_flight
            .await
            .unwrap()
            .expect("in-flight request completed"),
        200
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn requests_still_in_flight_when_the_grace_period_ends_are_dropped() {
    let env = TestEnv::start().await;
    let proxy = env.proxy_with("shutdowngrace: 50ms").await;
    // Answered 500 ms after it reached the backend: after the grace period.
    let in_flight = slow_request_in_flight(&env, &proxy).await;
    proxy.stop().await;
    let outcome = in_flight.await.unwrap();
    assert!(
        outcome.is_err(),
        "the connection was closed with its request unanswered, not {outcome:?}"
    );
}

#[tokio::test]
async fn a_token_is_accepted_on_connections_served_by_every_worker() {
    let env = TestEnv::start().await;
    // The test configuration has two workers; connections open at once are spread over both.
    let proxy = env.proxy().await;
    let credential = env.paid_http(&proxy, "/http/data").await;
    let authorization = credential.to_authorization();
    let clients: Vec<reqwest::Client> = (0..4).map(|_| reqwest::Client::new()).collect();
    let requests = clients.iter().flat_map(|client| {
        (0..3).map(|_| {
            client
                .get(proxy.url("/http/data"))
                .header("authorization", &authorization)
                .send()
        })
    });
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    let (_client, credential) = env.paid_grpc(&proxy).await;
    let authorization = credential.to_authorization();
    let calls = (0..4).map(|_| async {
        SwapServerClient::connect(proxy.url(""))
            .await
            .expect("grpc connect")
            .loop_out_terms(grpc_request(
                ServerLoopOutTermsRequest::default(),
                "authorization",
                &authorization,
            ))
            .await
    });
    for result in futures::future::join_all(calls).await {
        result.expect("a paid gRPC call on any worker's connection");
    }
}

//! The L402 client inside loopd, against the real auth-proxy and mock-lnd.

use std::sync::Arc;
use std::time::Duration;

use l402::Challenge;
use l402_client::{L402Client, L402Config, L402HttpClient, LndPayer, PaymentOutcome, TokenStore};
use mock_lnd::FailureReason;
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::{ServerLoopOutTermsRequest, TermsRequest};

use testkit::stack::Stack;

use crate::support::{loopd_stack, PRICE_SAT};

/// A challenge straight from the proxy (no token attached).
async fn challenge(env: &Stack) -> Challenge {
    let pem = std::fs::read(env.proxy_cert().unwrap()).unwrap();
    let channel = lnd_client::pinned_tls_channel(&env.proxy_addr().to_string(), &pem).unwrap();
    let status = SwapServerClient::new(channel)
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await
        .expect_err("challenged");
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(status.message().contains("payment required"));
    Challenge::from_headers(&status.metadata().clone().into_headers()).unwrap()
}

#[tokio::test]
async fn failed_payment_drops_the_pending_token_and_the_next_call_pays() {
    let env = loopd_stack(1000, true).await;
    env.network()
        .node("client")
        .fail_next_payments(1, FailureReason::NoRoute);
    let (result, _) = env.loop_cli(&["terms"]).await;
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("payment failed") && message.contains("NO_ROUTE"),
        "{message}"
    );
    let store = env.token_store().unwrap();
    assert!(
        store.pending_token().unwrap().is_none(),
        "pending token dropped"
    );
    assert!(store.paid_token().unwrap().is_none());

    env.loop_cli(&["terms"]).await.0.unwrap();
    assert!(store.paid_token().unwrap().is_some());
}

#[tokio::test]
async fn crash_after_the_pending_token_was_written_never_pays_twice() {
    let mut env = loopd_stack(1000, true).await;
    env.stop_loopd().await.expect("loopd ran without error");
    // What a crashed loopd leaves: a pending token whose invoice was paid.
    let challenge = challenge(&env).await;
    let pending = testkit::tokens::leave_pending(&env.token_store().unwrap(), &challenge);
    let lnd = lnd_client::LndClient::connect(&env.network().node("client").lnd_config())
        .await
        .unwrap();
    let outcome = LndPayer::new(&lnd)
        .pay(
            challenge.invoice_str(),
            challenge.payment_hash(),
            10,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, PaymentOutcome::Succeeded(_)));
    assert_eq!(env.client_payments(), 1);

    env.start_loopd().await.expect("loopd starts");
    env.loop_cli(&["terms"]).await.0.unwrap();
    assert_eq!(env.client_payments(), 1, "tracked, not paid again");
    let store = env.token_store().unwrap();
    assert!(store.pending_token().unwrap().is_none());
    assert_eq!(
        store.paid_token().unwrap().unwrap().token_id(),
        pending.token_id()
    );
}

#[tokio::test]
async fn revoked_token_is_evicted_and_replaced_with_one_payment() {
    let env = loopd_stack(1000, true).await;
    let paid_token_id = || {
        let store = env.token_store().unwrap();
        store
            .paid_token()
            .unwrap()
            .expect("a paid token")
            .token_id()
    };
    env.loop_cli(&["terms"]).await.0.unwrap();
    let first = paid_token_id();
    assert!(env.proxy().revoke(&first.to_hex()).await.unwrap());

    env.loop_cli(&["terms"]).await.0.unwrap();
    assert_eq!(env.client_payments(), 2, "one new payment");
    let second = paid_token_id();
    assert_ne!(first, second);

    let (result, out) = env.loop_cli(&["listauth"]).await;
    result.unwrap();
    let tokens: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    let expired: Vec<_> = tokens.iter().filter(|t| t["expired"] == true).collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["id"], first.to_hex().as_str());
}

#[tokio::test]
async fn fifty_concurrent_first_calls_pay_exactly_once() {
    let env = loopd_stack(1000, true).await;
    let client = env.loop_client().await.unwrap();
    let calls = (0..50).map(|_| {
        let mut client = client.clone();
        tokio::spawn(async move { client.loop_out_terms(TermsRequest {}).await })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(env.client_payments(), 1);
    assert_eq!(env.token_store().unwrap().all_tokens().unwrap().len(), 1);
}

#[tokio::test]
async fn fetchl402_gets_a_token_once() {
    let env = loopd_stack(1000, true).await;
    let (result, out) = env.loop_cli(&["fetchl402"]).await;
    result.unwrap();
    assert_eq!(out, "{}\n");
    env.loop_cli(&["fetchl402"]).await.0.unwrap();
    assert_eq!(env.client_payments(), 1);
}

#[tokio::test]
async fn the_http_wrapper_pays_once_through_the_proxy_with_lnd() {
    let env = loopd_stack(1000, true).await;
    let pem = std::fs::read(env.proxy_cert().unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(lnd_client::pinned_client_config(&pem).unwrap())
        .build()
        .unwrap();
    let lnd = lnd_client::LndClient::connect(&env.network().node("client").lnd_config())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let l402 = L402Client::new(
        TokenStore::open(dir.path()).unwrap(),
        Arc::new(LndPayer::new(&lnd)),
        L402Config::default(),
    )
    .unwrap();
    let client = L402HttpClient::new(http, l402.clone());
    let url = format!("https://{}/v1/loop/out/terms", env.proxy_addr());
    for _ in 0..3 {
        let response = client.send(client.inner().get(&url)).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("10000") && body.contains("5000000"), "{body}");
    }
    assert_eq!(env.client_payments(), 1);
    assert_eq!(l402.stats().challenges, 1);
    let token = TokenStore::open(dir.path())
        .unwrap()
        .paid_token()
        .unwrap()
        .unwrap();
    assert_eq!(token.amount_paid_msat, PRICE_SAT * 1000);
}

#[tokio::test]
async fn a_corrupt_pending_token_is_shown_by_listauth_and_blocks_buying() {
    let mut env = loopd_stack(1000, true).await;
    env.stop_loopd().await.unwrap();
    let pending = env.token_store().unwrap().pending_path().to_owned();
    std::fs::write(&pending, b"half a token").unwrap();
    env.start_loopd().await.unwrap();

    let (result, out) = env.loop_cli(&["listauth"]).await;
    result.unwrap();
    let tokens: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{out}");
    let name = tokens[0]["storage_name"].as_str().unwrap();
    assert!(name.contains("l402.token.pending.corrupt-"), "{name}");
    assert_eq!(tokens[0]["expired"], true);

    // Its payment may have been sent: no new token is bought until the operator deletes the backup.
    let (result, _) = env.loop_cli(&["terms"]).await;
    assert!(result.is_err(), "a challenge is not paid");
    assert_eq!(env.client_payments(), 0);
    std::fs::remove_file(name).unwrap();
    env.loop_cli(&["terms"]).await.0.unwrap();
    assert_eq!(env.client_payments(), 1);
}

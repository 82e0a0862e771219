//! The side doors: the admin API (own macaroon) and Prometheus `/metrics`.

use crate::support::{get_with, http_client, TestEnv};

#[tokio::test]
async fn admin_api_lists_and_revokes_tokens_with_its_macaroon() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let credential = env.paid_http(&proxy, "/http/data").await;
    let token_id = credential.token_id().to_hex();

    let admin = |path: &str| format!("http://{}{}", proxy.admin_addr, path);
    let macaroon = hex::encode(std::fs::read(proxy.base_dir().join("admin.macaroon")).unwrap());

    // Without (or with a wrong) macaroon: 401.
    assert_eq!(
        http_client()
            .get(admin("/v1/tokens"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let wrong = http_client()
        .get(admin("/v1/tokens"))
        .header("macaroon", credential.macaroon().to_hex())
        .send();
    assert_eq!(
        wrong.await.unwrap().status(),
        401,
        "an L402 token is not an admin macaroon"
    );

    let list: serde_json::Value = http_client()
        .get(admin("/v1/tokens"))
        .header("Grpc-Metadata-Macaroon", &macaroon)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["tokens"][0]["token_id"], token_id.as_str());
    assert_eq!(list["tokens"][0]["service"], "http");
    assert!(list["tokens"][0]["revoked_at"].is_null());

    let revoke = http_client()
        .post(admin(&format!("/v1/tokens/{token_id}/revoke")))
        .header("macaroon", &macaroon);
    assert_eq!(revoke.send().await.unwrap().status(), 200);
    let again = http_client()
        .delete(admin(&format!("/v1/tokens/{token_id}")))
        .header("macaroon", &macaroon);
    assert_eq!(again.send().await.unwrap().status(), 404, "already revoked");
    let bad = http_client()
        .post(admin("/v1/tokens/xyz/revoke"))
        .header("macaroon", &macaroon);
    assert_eq!(bad.send().await.unwrap().status(), 400);

    let response = get_with(
        &proxy,
        "/http/data",
        ("authorization", &credential.to_authorization()),
    )
    .await;
    assert_eq!(response.status(), 402);
    assert_eq!(proxy.last_decision("/http/data").reason, Some("revoked"));
}

#[tokio::test]
async fn metrics_endpoint_reports_decisions_and_latencies() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let credential = env.paid_http(&proxy, "/http/data").await;
    let authorization = credential.to_authorization();
    let ok = get_with(&proxy, "/http/data", ("authorization", &authorization)).await;
    assert_eq!(ok.status(), 200);

    let response = http_client()
        .get(format!("http://{}/metrics", proxy.metrics_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for expected in [
        "auth_proxy_challenges_minted_total{service=\"http\"} 1",
        "auth_proxy_tokens_accepted_total{service=\"http\"} 1",
        "auth_proxy_requests_total{service=\"http\",decision=\"challenged\"} 1",
        "auth_proxy_requests_total{service=\"http\",decision=\"accepted\"} 1",
        "auth_proxy_upstream_responses_total{service=\"http\",status=\"200\"} 1",
        "auth_proxy_lnd_call_duration_seconds_count{call=\"AddInvoice\",result=\"ok\"} 1",
        "auth_proxy_upstream_duration_seconds_count{service=\"http\"} 1",
        "auth_proxy_root_key_cache_lookups_total{result=\"hit\"} 1",
    ] {
        assert!(text.contains(expected), "missing {expected}:\n{text}");
    }
}

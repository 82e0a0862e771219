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
    assert_eq!(
        proxy.last_decision("/http/data").reason.as_deref(),
        Some("revoked")
    );
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

#[tokio::test]
async fn the_token_list_is_paginated_and_bad_parameters_are_named() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    for path in ["/http/a", "/http/b", "/other/c"] {
        env.paid_http(&proxy, path).await;
    }
    let macaroon = hex::encode(std::fs::read(proxy.base_dir().join("admin.macaroon")).unwrap());
    let list = |query: String| {
        let request = http_client()
            .get(format!("http://{}/v1/tokens{query}", proxy.admin_addr))
            .header("macaroon", &macaroon);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, first) = list("?limit=2".into()).await;
    assert_eq!(status, 200);
    assert_eq!(first["tokens"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().expect("a next cursor").to_owned();
    let (_, second) = list(format!("?limit=2&after={next}")).await;
    assert_eq!(second["tokens"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null(), "the last page");
    let (_, other) = list("?service=other".into()).await;
    assert_eq!(other["tokens"].as_array().unwrap().len(), 1);
    let (_, revoked) = list("?status=revoked".into()).await;
    assert!(revoked["tokens"].as_array().unwrap().is_empty());
    for (query, named) in [
        ("?limit=0", "limit"),
        ("?limit=5000", "limit"),
        ("?status=settled", "status"),
        ("?after=garbage", "cursor"),
        ("?colour=red", "colour"),
    ] {
        let (status, body) = list(query.into()).await;
        assert_eq!(status, 400, "{query}");
        assert!(
            body["error"].as_str().unwrap().contains(named),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn admin_api_streams_every_decision_to_the_operator_only() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let url = format!("http://{}/v1/decisions", proxy.admin_addr);
    let unauthorized = http_client().get(&url).send().await.unwrap();
    assert_eq!(
        unauthorized.status(),
        401,
        "the feed names clients and tokens"
    );

    let macaroon = hex::encode(std::fs::read(proxy.base_dir().join("admin.macaroon")).unwrap());
    let mut decisions = testkit::sse::subscribe::<auth_proxy::Decision>(
        http_client().get(&url).header("macaroon", &macaroon),
    )
    .await;
    let challenged = get_with(&proxy, "/http/data", ("x-test", "no token")).await;
    assert_eq!(challenged.status(), 402);

    let decision = decisions.next_item().await;
    assert_eq!(decision.outcome, auth_proxy::Outcome::Challenged);
    assert_eq!(decision.reason.as_deref(), Some("missing"));
    assert_eq!(decision.path, "/http/data");
    assert_eq!(decision.status, 402);
    assert!(decision.token_id.is_some(), "names the token it minted");
}

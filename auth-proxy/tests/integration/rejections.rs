//! Every way a credential can be bad gets a fresh challenge, is never forwarded, and is logged with its reason.

use l402::{Caveat, Credential, Macaroon, Preimage, RootKey};
use proto::looprpc::ServerLoopOutTermsRequest;

use crate::support::{challenge_of, get_with, grpc_request, TestEnv, TestProxy};

/// Sends `path` with `header: value`; asserts a fresh 402 challenge, nothing forwarded, and the logged reason.
async fn assert_rejected(
    env: &TestEnv,
    proxy: &TestProxy,
    path: &str,
    header: (&str, String),
    reason: &str,
) {
    let before = env.http.count();
    let response = get_with(proxy, path, (header.0, &header.1)).await;
    assert_eq!(response.status(), 402, "{header:?} must be challenged");
    let fresh = challenge_of(response.headers());
    assert_eq!(env.http.count(), before, "{header:?} must not be forwarded");
    let decision = proxy.last_decision(path);
    assert_eq!(decision.outcome, auth_proxy::Outcome::Challenged);
    assert_eq!(
        decision.reason.as_deref(),
        Some(reason),
        "{header:?}: {:?}",
        decision.detail
    );
    assert_eq!(
        decision.token_id.as_deref(),
        Some(fresh.macaroon().token_id().to_hex().as_str()),
        "a fresh token"
    );
}

fn auth(credential: &Credential) -> (&'static str, String) {
    ("authorization", credential.to_authorization())
}

#[tokio::test]
async fn bad_credentials_get_a_fresh_challenge_with_the_reason() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let good = env.paid_http(&proxy, "/http/data").await;
    let mac = good.macaroon().clone();

    // Wrong preimage.
    let wrong = Credential::new(mac.clone(), Preimage::random());
    assert_rejected(
        &env,
        &proxy,
        "/http/data",
        auth(&wrong),
        "preimage_mismatch",
    )
    .await;

    // A caveat changed without re-signing (valid_until pushed one digit later).
    let tampered_bytes = {
        let mut bytes = mac.as_bytes().to_vec();
        let marker = b"http_valid_until=";
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .expect("valid_until caveat")
            + marker.len();
        bytes[at] = if bytes[at] == b'9' {
            b'8'
        } else {
            bytes[at] + 1
        };
        bytes
    };
    let tampered = Credential::new(
        Macaroon::from_bytes(&tampered_bytes).unwrap(),
        good.preimage().clone(),
    );
    assert_rejected(&env, &proxy, "/http/data", auth(&tampered), "bad_signature").await;

    // Same identifier and caveats, signed with another root key.
    let forged_mac = Macaroon::mint(
        &RootKey::random(),
        mac.identifier(),
        &mac.caveats().unwrap(),
    )
    .unwrap();
    let forged = Credential::new(forged_mac, good.preimage().clone());
    assert_rejected(&env, &proxy, "/http/data", auth(&forged), "bad_signature").await;

    // Expired: a legitimately attenuated token whose valid_until has passed.
    let expired_mac = mac
        .with_caveat(&Caveat::valid_until("http", 1_000_000_000).unwrap())
        .unwrap();
    let expired = Credential::new(expired_mac, good.preimage().clone());
    assert_rejected(&env, &proxy, "/http/data", auth(&expired), "expired").await;

    // Another service's path.
    assert_rejected(&env, &proxy, "/other/data", auth(&good), "wrong_service").await;

    // A path that needs a capability the token lacks (it was minted with `read` only).
    assert_rejected(
        &env,
        &proxy,
        "/http/admin/users",
        auth(&good),
        "missing_capability",
    )
    .await;

    // Revoked.
    assert!(proxy
        .handle
        .revoke(&good.token_id().to_hex())
        .await
        .unwrap());
    assert_rejected(&env, &proxy, "/http/data", auth(&good), "revoked").await;
    assert!(
        !proxy
            .handle
            .revoke(&good.token_id().to_hex())
            .await
            .unwrap(),
        "already revoked"
    );

    let metrics = proxy.handle.metrics_text();
    for reason in [
        "preimage_mismatch",
        "bad_signature",
        "expired",
        "wrong_service",
        "missing_capability",
        "revoked",
    ] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "{reason} counted:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn a_token_from_another_proxy_is_unknown_here() {
    let env = TestEnv::start().await;
    let minting = env.proxy().await;
    let other = env.proxy().await; // its own SQLite
    let credential = env.paid_http(&minting, "/http/data").await;
    assert_rejected(
        &env,
        &other,
        "/http/data",
        auth(&credential),
        "unknown_token",
    )
    .await;
}

#[tokio::test]
async fn garbage_in_every_credential_header_is_challenged() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let good = env.paid_http(&proxy, "/http/data").await;
    let b64 = good.macaroon().to_base64();
    let garbage = [
        ("authorization", "L402".to_owned()),
        ("authorization", "L402 ".to_owned()),
        ("authorization", "L402 garbage".to_owned()),
        ("authorization", "LSAT !!!:zz".to_owned()),
        ("authorization", format!("L402 {b64}:abcd")),
        ("authorization", format!("L402 {b64}")),
        (
            "authorization",
            format!("L402 AAAA{b64}:{}", "00".repeat(32)),
        ),
        ("macaroon", "zz".to_owned()),
        ("macaroon", "0201".to_owned()),
        ("macaroon", good.macaroon().to_hex()), // no preimage caveat
        ("grpc-metadata-macaroon", "not hex at all".to_owned()),
        ("grpc-metadata-macaroon", "00".repeat(5000)),
    ];
    for header in garbage {
        assert_rejected(&env, &proxy, "/http/data", header, "malformed_credential").await;
    }
}

#[tokio::test]
async fn grpc_rejections_are_fresh_challenges_too() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let (mut client, credential) = env.paid_grpc(&proxy).await;
    let wrong = Credential::new(credential.macaroon().clone(), Preimage::random());
    for (name, value) in [
        ("macaroon", wrong.to_macaroon_metadata().unwrap()),
        ("authorization", wrong.to_authorization()),
        ("macaroon", "deadbeef".to_owned()),
    ] {
        let request = grpc_request(ServerLoopOutTermsRequest::default(), name, &value);
        let status = client.loop_out_terms(request).await.unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (tonic::Code::Internal, "payment required"),
            "{name}"
        );
        assert_eq!(
            status.metadata().get_all("www-authenticate").iter().count(),
            2
        );
    }
    assert_eq!(env.grpc.count(), 0);
}

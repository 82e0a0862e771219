//! Challenge → pay through mock-lnd → retry with every credential form, for HTTP and gRPC; the backend sees
//! only `Authorization: L402 <b64>:<hex>` with the same token id.

use l402::{AuthScheme, Credential};
use proto::looprpc::{ServerLoopOutQuoteRequest, SubscribeUpdatesRequest};

use crate::support::{get_with, grpc_request, http_client, TestEnv};

/// The credential headers a client may use, as (header name, value).
fn credential_forms(credential: &Credential) -> Vec<(&'static str, String)> {
    let metadata = credential.to_macaroon_metadata().unwrap();
    vec![
        (
            "authorization",
            credential.to_authorization_with(AuthScheme::L402),
        ),
        (
            "authorization",
            credential.to_authorization_with(AuthScheme::Lsat),
        ),
        (
            "authorization",
            credential.to_authorization().replacen("L402", "l402", 1),
        ),
        ("macaroon", metadata.clone()),
        ("grpc-metadata-macaroon", metadata.clone()),
        // The L402 spec's gRPC metadata key.
        ("token", metadata),
    ]
}

/// The token id a backend saw in `Authorization: L402 <b64>:<hex>`.
fn forwarded_token_id(headers: &http::HeaderMap) -> String {
    let values: Vec<&str> = headers
        .get_all("authorization")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        values.len(),
        1,
        "exactly one Authorization header: {values:?}"
    );
    assert!(values[0].starts_with("L402 "), "{}", values[0]);
    for name in ["macaroon", "grpc-metadata-macaroon", "token"] {
        assert!(headers.get(name).is_none(), "{name} is never forwarded");
    }
    Credential::from_authorization(values[0])
        .unwrap()
        .token_id()
        .to_hex()
}

#[tokio::test]
async fn http_pay_then_every_credential_form_is_accepted() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let credential = env.paid_http(&proxy, "/http/data").await;
    let token_id = credential.token_id().to_hex();
    for (i, (name, value)) in credential_forms(&credential).into_iter().enumerate() {
        let response = http_client()
            .post(proxy.url("/http/data"))
            .header(name, value)
            .header("x-forwarded-for", "203.0.113.7")
            .body(vec![7u8; 100_000])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "form {name} #{i}");
        assert_eq!(
            response.text().await.unwrap(),
            "hello /http/data (100000 bytes)"
        );
        let seen = env.http.seen().pop().unwrap();
        assert_eq!(
            (seen.path.as_str(), seen.body_len),
            ("/http/data", 100_000),
            "body streamed through"
        );
        assert_eq!(forwarded_token_id(&seen.headers), token_id, "form {name}");
        assert_eq!(seen.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
        let decision = proxy.last_decision("/http/data");
        assert_eq!(decision.outcome, auth_proxy::Outcome::Accepted);
        assert_eq!(decision.token_id.as_deref(), Some(token_id.as_str()));
    }
    assert_eq!(env.http.count(), credential_forms(&credential).len());
    // The token store recorded the token, and (via SubscribeInvoices) its settlement.
    let tokens = proxy.tokens().await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].token_id, token_id);
    assert_eq!(
        (tokens[0].service.as_str(), tokens[0].price_sat),
        ("http", 10)
    );
}

#[tokio::test]
async fn grpc_pay_then_every_credential_form_is_accepted_including_streams() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let (mut client, credential) = env.paid_grpc(&proxy).await;
    let token_id = credential.token_id().to_hex();
    for (name, value) in credential_forms(&credential) {
        let quote_request = ServerLoopOutQuoteRequest {
            amt: 500_000,
            ..Default::default()
        };
        let request = grpc_request(quote_request, name, &value);
        let quote = client
            .loop_out_quote(request)
            .await
            .unwrap_or_else(|s| panic!("form {name}: {s:?}"))
            .into_inner();
        assert_eq!(quote.swap_fee, 5_000);
        assert_eq!(
            forwarded_token_id(&env.grpc.seen().pop().unwrap().headers),
            token_id,
            "form {name}"
        );
    }

    // A server-streaming call: every message and the final OK status come through.
    let request = grpc_request(
        SubscribeUpdatesRequest::default(),
        "macaroon",
        &credential.to_macaroon_metadata().unwrap(),
    );
    let mut stream = client
        .subscribe_loop_out_updates(request)
        .await
        .unwrap()
        .into_inner();
    let mut states = Vec::new();
    while let Some(update) = stream.message().await.unwrap() {
        states.push(update.state);
    }
    assert_eq!(states, [0, 1, 2]);
    assert_eq!(env.grpc.count(), credential_forms(&credential).len() + 1);
}

#[tokio::test]
async fn a_backend_error_status_comes_through_in_trailers() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let (mut client, credential) = env.paid_grpc(&proxy).await;
    let request = grpc_request(
        proto::looprpc::ServerLoopOutRequest::default(),
        "authorization",
        &credential.to_authorization(),
    );
    let status = client.new_loop_out_swap(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(status.message(), "test backend does not swap");
}

#[tokio::test]
async fn whitelisted_paths_are_free_and_never_see_client_credentials() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let response = http_client()
        .get(proxy.url("/http/free/page"))
        .header("authorization", "L402 not:verified")
        .header("authorization", "Bearer keep-me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = env.http.seen().pop().unwrap();
    let auth: Vec<&str> = seen
        .headers
        .get_all("authorization")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(auth, ["Bearer keep-me"]);
    let decision = proxy.last_decision("/http/free/page");
    assert_eq!(
        (decision.outcome, decision.reason.as_deref()),
        (auth_proxy::Outcome::Free, Some("whitelisted"))
    );
}

#[tokio::test]
async fn extra_macaroons_in_authorization_are_refused_not_skipped() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let credential = env.paid_http(&proxy, "/http/data").await;
    let forwarded = env.http.count();
    let (mac, preimage) = credential
        .to_authorization()
        .strip_prefix("L402 ")
        .and_then(|rest| rest.split_once(':'))
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .unwrap();
    // The paid macaroon first, then a second one: the whole credential is refused.
    let value = format!("L402 {mac},{mac}:{preimage}");
    let response = get_with(&proxy, "/http/data", ("authorization", &value)).await;
    assert_eq!(response.status(), 402);
    assert_eq!(env.http.count(), forwarded, "never forwarded");
    let decision = proxy.last_decision("/http/data");
    assert_eq!(decision.reason.as_deref(), Some("malformed_credential"));
}

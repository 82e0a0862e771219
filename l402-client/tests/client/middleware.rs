//! `L402Middleware` in a `reqwest_middleware::ClientWithMiddleware` against the in-test L402 API.

use l402_client::{HttpError, L402Middleware};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

use crate::support::L402Env;

fn client(env: &L402Env) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(L402Middleware::new(env.l402(1000)))
        .build()
}

#[tokio::test]
async fn a_client_with_middleware_buys_once_and_reuses_the_token() {
    let env = L402Env::http(100).await;
    let client = client(&env);
    let url = format!("http://{}/hello", env.server.addr);

    let mut answers = Vec::new();
    for _ in 0..4 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        answers.push(response.text().await.unwrap());
    }
    assert_eq!(env.gate.challenges(), 1, "one challenge");
    assert_eq!(env.payer.payments(), 1, "one payment");
    let token = env
        .store()
        .paid_token()
        .unwrap()
        .expect("paid token stored");
    let expected = format!("hello {}", token.token_id());
    assert!(answers.iter().all(|a| *a == expected), "{answers:?}");
    let accepted = env.gate.accepted();
    assert_eq!(accepted.len(), 4);
    assert!(accepted.iter().all(|id| *id == token.token_id()));
}

#[tokio::test]
async fn a_challenged_streaming_body_is_not_paid_for_and_fails_as_not_replayable() {
    let env = L402Env::http(100).await;
    let client = client(&env);
    let url = format!("http://{}/hello", env.server.addr);
    let body = http_body_util::Full::new(axum::body::Bytes::from_static(b"stream"));

    let err = client
        .post(&url)
        .body(reqwest::Body::wrap(body))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(HttpError::from(err), HttpError::NotReplayable),
        "the error is the middleware's"
    );
    assert_eq!(env.gate.challenges(), 1);
    assert_eq!(
        env.payer.payments(),
        0,
        "nothing paid for a call that cannot be replayed"
    );
    assert!(env.store().pending_token().unwrap().is_none());
}

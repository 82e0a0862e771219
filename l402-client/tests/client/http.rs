//! The L402 client over HTTP (`L402HttpClient`, the reqwest client with the middleware) against an in-test L402 API.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use l402_client::{HttpError, L402Error, L402HttpClient};

use testkit::tokens::leave_pending;

use crate::support::L402Env;

fn client(env: &L402Env, max_cost_sat: u64) -> L402HttpClient {
    L402HttpClient::new(reqwest::Client::new(), env.l402(max_cost_sat))
}

/// `GET /hello` through `client`; the answer names the token the server accepted.
pub(crate) async fn hello(env: &L402Env, client: &L402HttpClient) -> Result<String, HttpError> {
    let url = format!("http://{}/hello", env.server.addr);
    let response = client.send(client.inner().get(url)).await?;
    assert_eq!(response.status(), 200);
    Ok(response.text().await.unwrap())
}

#[tokio::test]
async fn first_call_pays_once_and_later_calls_reuse_the_token() {
    let env = L402Env::http(100).await;
    let client = client(&env, 1000);

    let first = hello(&env, &client).await.unwrap();
    assert_eq!(env.gate.challenges(), 1);
    assert_eq!(env.payer.payments(), 1);

    let store = env.store();
    let token = store.paid_token().unwrap().expect("paid token stored");
    assert!(
        store.pending_token().unwrap().is_none(),
        "pending token removed"
    );
    assert_eq!(token.amount_paid_msat, 100_000);
    assert_eq!(token.routing_fee_paid_msat, crate::support::FEE_MSAT);
    assert_eq!(first, format!("hello {}", token.token_id()));
    let mode = std::fs::metadata(store.paid_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    for _ in 0..3 {
        assert_eq!(hello(&env, &client).await.unwrap(), first);
    }
    assert_eq!(env.gate.challenges(), 1, "no further challenge");
    assert_eq!(env.payer.payments(), 1, "no further payment");
    let accepted = env.gate.accepted();
    assert_eq!(accepted.len(), 4);
    assert!(accepted.iter().all(|id| *id == token.token_id()));
    assert_eq!(client.l402().stats().payments, 1);
}

#[tokio::test]
async fn a_new_process_reuses_the_stored_token() {
    let env = L402Env::http(100).await;
    let first = hello(&env, &client(&env, 1000)).await.unwrap();
    let second = hello(&env, &client(&env, 1000)).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(env.payer.payments(), 1);
    assert_eq!(env.gate.challenges(), 1);
}

#[tokio::test]
async fn over_priced_token_is_refused_with_exact_amounts() {
    let env = L402Env::http(1500).await;
    let client = client(&env, 1000);
    let err = hello(&env, &client).await.unwrap_err();
    match &err {
        HttpError::L402(L402Error::TooExpensive {
            invoice_msat,
            max_msat,
        }) => {
            assert_eq!((*invoice_msat, *max_msat), (1_500_000, 1_000_000));
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("1500000 msat") && message.contains("1000000 msat"),
        "{message}"
    );
    assert_eq!(env.payer.payments(), 0);
    let store = env.store();
    assert!(store.pending_token().unwrap().is_none());
    assert!(store.paid_token().unwrap().is_none());
}

#[tokio::test]
async fn an_invoice_for_another_network_is_refused_before_anything_is_stored() {
    // The server's invoices are for regtest; our lnd is on testnet.
    let env = L402Env::http(100).await;
    let client = L402HttpClient::new(
        reqwest::Client::new(),
        env.l402_with(l402_client::L402Config {
            network: Some(l402::Network::Testnet),
            ..Default::default()
        }),
    );
    let err = hello(&env, &client).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::L402(L402Error::BadChallenge(m)) if m.contains("regtest") && m.contains("testnet")),
        "{err:?}"
    );
    assert_eq!(env.payer.payments(), 0);
    let store = env.store();
    assert!(store.pending_token().unwrap().is_none());
    assert!(store.paid_token().unwrap().is_none());
}

#[tokio::test]
async fn failed_payment_drops_the_pending_token_and_the_next_call_pays_again() {
    let env = L402Env::http(100).await;
    let client = client(&env, 1000);
    env.payer.fail_next(1);
    let err = hello(&env, &client).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::L402(L402Error::PaymentFailed { reason }) if reason.contains("NO_ROUTE")),
        "{err:?}"
    );
    let store = env.store();
    assert!(
        store.pending_token().unwrap().is_none(),
        "pending token dropped"
    );
    assert!(store.paid_token().unwrap().is_none());

    hello(&env, &client).await.unwrap();
    assert_eq!(env.payer.payments(), 2);
    assert!(store.paid_token().unwrap().is_some());
}

#[tokio::test]
async fn pending_token_left_by_a_crash_is_tracked_and_used_without_paying_again() {
    let env = L402Env::http(100).await;
    // A previous process got a challenge, wrote the pending token, paid, and
    // crashed before writing the paid token.
    let [lsat, _] = env.gate.challenge();
    let challenge: l402::Challenge = lsat.parse().unwrap();
    let pending = leave_pending(&env.store(), &challenge);
    use l402_client::Payer;
    env.payer
        .pay(
            challenge.invoice_str(),
            challenge.payment_hash(),
            10,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(env.payer.payments(), 1);

    let client = client(&env, 1000);
    let answer = hello(&env, &client).await.unwrap();
    assert_eq!(answer, format!("hello {}", pending.token_id()));
    assert_eq!(env.payer.payments(), 1, "never pays twice");
    let store = env.store();
    assert!(store.pending_token().unwrap().is_none());
    assert_eq!(
        store.paid_token().unwrap().unwrap().token_id(),
        pending.token_id()
    );
}

#[tokio::test]
async fn pending_token_whose_payment_never_left_is_dropped_and_the_new_challenge_paid() {
    let env = L402Env::http(100).await;
    let [lsat, _] = env.gate.challenge();
    let challenge: l402::Challenge = lsat.parse().unwrap();
    let pending = leave_pending(&env.store(), &challenge);

    let client = client(&env, 1000);
    let answer = hello(&env, &client).await.unwrap();
    assert_ne!(answer, format!("hello {}", pending.token_id()));
    assert_eq!(env.payer.payments(), 1);
    assert!(env.store().pending_token().unwrap().is_none());
}

#[tokio::test]
async fn revoked_token_is_evicted_and_replaced_with_one_payment() {
    let env = L402Env::http(100).await;
    let client = client(&env, 1000);
    let first = hello(&env, &client).await.unwrap();
    env.gate.revoke_all();

    let second = hello(&env, &client).await.unwrap();
    assert_ne!(first, second, "a new token");
    assert_eq!(env.payer.payments(), 2, "exactly one new payment");
    assert_eq!(client.l402().stats().evictions, 1);

    let tokens = env.store().all_tokens().unwrap();
    let rejected: Vec<_> = tokens.iter().filter(|t| t.rejected).collect();
    assert_eq!(rejected.len(), 1, "the rejected token is kept as a backup");
    assert_eq!(format!("hello {}", rejected[0].token.token_id()), first);
    assert_eq!(hello(&env, &client).await.unwrap(), second);
    assert_eq!(env.payer.payments(), 2);
}

#[tokio::test]
async fn a_token_rejected_right_after_payment_is_reported_without_paying_again() {
    let env = L402Env::http(100).await;
    let client = client(&env, 1000);
    env.gate.reject_all();
    let err = hello(&env, &client).await.unwrap_err();
    assert!(
        matches!(err, HttpError::L402(L402Error::Rejected { .. })),
        "{err:?}"
    );
    assert_eq!(env.payer.payments(), 1, "at most one payment per call");
}

#[tokio::test]
async fn fifty_concurrent_first_calls_pay_exactly_once() {
    let env = L402Env::http(100).await;
    env.payer.set_latency(Duration::from_millis(100));
    let client = client(&env, 1000);
    let calls = (0..50).map(|_| hello(&env, &client));
    let answers = futures::future::join_all(calls).await;
    let answers: Vec<String> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(env.payer.payments(), 1);
    assert!(answers.iter().all(|a| *a == answers[0]));
}

#[tokio::test]
async fn a_payment_still_in_flight_is_kept_pending_and_tracked_by_later_calls() {
    let env = L402Env::http(100).await;
    env.payer.set_latency(Duration::from_millis(300));
    let client = L402HttpClient::new(
        reqwest::Client::new(),
        env.l402_with(l402_client::L402Config {
            payment_timeout: Duration::from_millis(50),
            ..Default::default()
        }),
    );
    let err = hello(&env, &client).await.unwrap_err();
    assert!(
        matches!(err, HttpError::L402(L402Error::PaymentPending { .. })),
        "{err:?}"
    );
    assert!(
        env.store().pending_token().unwrap().is_some(),
        "pending token kept"
    );

    // Later calls track the same payment until it settles; none pays again.
    let (env_ref, client_ref) = (&env, &client);
    let answer = testkit::until(
        "the payment in flight to settle",
        testkit::WAIT,
        move || async move {
            match hello(env_ref, client_ref).await {
                Ok(answer) => Some(answer),
                Err(HttpError::L402(L402Error::PaymentPending { .. })) => None,
                Err(other) => panic!("unexpected error {other:?}"),
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(env.payer.payments(), 1);
    let store = env.store();
    assert!(store.pending_token().unwrap().is_none());
    let token = store.paid_token().unwrap().unwrap();
    assert_eq!(answer, format!("hello {}", token.token_id()));
}

#[tokio::test]
async fn a_corrupt_pending_token_blocks_paying_until_its_backup_is_deleted() {
    let env = L402Env::http(100).await;
    // A pending token whose payment may have been sent, but which no longer decodes.
    std::fs::write(
        env.dir.path().join(l402_client::store::PENDING_FILE),
        b"not a token",
    )
    .unwrap();
    let client = client(&env, 1000);
    let backup = env
        .store()
        .corrupt_pending()
        .unwrap()
        .expect("the corrupt pending token was moved aside");

    for _ in 0..2 {
        let err = hello(&env, &client).await.unwrap_err();
        assert!(
            matches!(&err, HttpError::L402(L402Error::CorruptPending { path }) if *path == backup),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&backup.display().to_string()),
            "the error names the file: {err}"
        );
    }
    assert_eq!(env.gate.challenges(), 2, "each call was challenged");
    assert_eq!(env.payer.payments(), 0, "the payer is never called");
    assert_eq!(client.l402().stats().payments, 0);
    assert!(backup.exists(), "the backup is kept for the operator");
    let store = env.store();
    assert!(store.paid_token().unwrap().is_none());
    assert!(store.pending_token().unwrap().is_none());

    // The operator has checked lnd's payments and deletes the backup.
    std::fs::remove_file(&backup).unwrap();
    let answer = hello(&env, &client).await.unwrap();
    assert_eq!(env.payer.payments(), 1, "the next challenge is paid once");
    let token = env
        .store()
        .paid_token()
        .unwrap()
        .expect("paid token stored");
    assert_eq!(answer, format!("hello {}", token.token_id()));
    assert_eq!(hello(&env, &client).await.unwrap(), answer);
    assert_eq!(env.payer.payments(), 1);
}

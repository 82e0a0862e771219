//! Re-buying a token the server rejected: reuse until rejected, then buy anew — within a back-off and a
//! spend budget over a rolling window ([`L402Config`]'s `rebuy_*`).

use std::time::Duration;

use l402_client::{HttpError, L402Config, L402Error, L402HttpClient};

use crate::http::hello;
use crate::support::L402Env;

const PRICE_SAT: u64 = 100;

fn client(env: &L402Env, config: L402Config) -> L402HttpClient {
    L402HttpClient::new(reqwest::Client::new(), env.l402_with(config))
}

/// No back-off, budget `budget_sat` per `window`.
fn budget(budget_sat: u64, window: Duration) -> L402Config {
    L402Config {
        rebuy_budget_sat: Some(budget_sat),
        rebuy_window: window,
        rebuy_backoff: Duration::ZERO,
        ..L402Config::default()
    }
}

/// The server revokes every token issued so far; the next call meets a challenge.
async fn revoke_and_call(env: &L402Env, client: &L402HttpClient) -> Result<String, HttpError> {
    env.gate.revoke_all();
    hello(env, client).await
}

/// Polls `hello` until the refusal matched by `refused` lifts.
async fn until_allowed(
    env: &L402Env,
    client: &L402HttpClient,
    refused: fn(&L402Error) -> bool,
) -> String {
    testkit::until(
        "the re-purchase to be allowed",
        testkit::WAIT,
        move || async move {
            match hello(env, client).await {
                Ok(answer) => Some(answer),
                Err(HttpError::L402(e)) if refused(&e) => None,
                Err(other) => panic!("unexpected error {other:?}"),
            }
        },
    )
    .await
    .unwrap()
}

fn is_backoff(e: &L402Error) -> bool {
    matches!(e, L402Error::RebuyBackoff { .. })
}

fn is_budget(e: &L402Error) -> bool {
    matches!(e, L402Error::RebuyBudgetExceeded { .. })
}

#[test]
fn the_default_budget_is_ten_tokens_a_day() {
    let config = L402Config::default();
    assert_eq!(config.rebuy_budget_sat(), 10 * config.max_cost_sat);
    assert_eq!(config.rebuy_window, Duration::from_secs(24 * 3600));
    assert_eq!(config.rebuy_backoff, Duration::from_secs(600));
    let cheap = L402Config {
        max_cost_sat: 50,
        ..L402Config::default()
    };
    assert_eq!(cheap.rebuy_budget_sat(), 500);
    let explicit = L402Config {
        rebuy_budget_sat: Some(7),
        ..cheap
    };
    assert_eq!(explicit.rebuy_budget_sat(), 7);
}

#[tokio::test]
async fn a_second_rebuy_within_the_backoff_is_refused_and_the_token_kept() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = client(&env, L402Config::default());
    hello(&env, &client).await.unwrap();
    let second = revoke_and_call(&env, &client).await.unwrap();
    assert_eq!(env.payer.payments(), 2, "the first re-purchase is allowed");
    assert_eq!(client.l402().stats().rebuys, 1);

    for _ in 0..2 {
        let err = revoke_and_call(&env, &client).await.unwrap_err();
        match &err {
            HttpError::L402(L402Error::RebuyBackoff { since, backoff, .. }) => {
                assert!(since < backoff, "{err}");
                assert_eq!(*backoff, Duration::from_secs(600));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("--l402rebuybackoff"), "{err}");
    }
    assert_eq!(env.payer.payments(), 2, "nothing paid");
    let stats = client.l402().stats();
    assert_eq!((stats.rebuys, stats.rebuys_refused), (1, 2));
    // The rejected token was not evicted: it is still the one held.
    let store = env.store();
    let held = store.paid_token().unwrap().expect("still held");
    assert_eq!(second, format!("hello {}", held.token_id()));
    assert_eq!(
        store
            .all_tokens()
            .unwrap()
            .iter()
            .filter(|t| t.rejected)
            .count(),
        1
    );
}

#[tokio::test]
async fn a_rebuy_is_allowed_again_once_the_backoff_is_over() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = client(
        &env,
        L402Config {
            rebuy_backoff: Duration::from_millis(300),
            ..L402Config::default()
        },
    );
    hello(&env, &client).await.unwrap();
    revoke_and_call(&env, &client).await.unwrap();
    let err = revoke_and_call(&env, &client).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::L402(e) if is_backoff(e)),
        "{err:?}"
    );
    until_allowed(&env, &client, is_backoff).await;
    assert_eq!(env.payer.payments(), 3);
    assert_eq!(client.l402().stats().rebuys, 2);
}

#[tokio::test]
async fn rebuys_beyond_the_budget_are_refused_with_exact_amounts() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = client(&env, budget(250, Duration::from_secs(3600)));
    hello(&env, &client).await.unwrap();
    // The first purchase is not a re-purchase; two re-purchases (200 sat) fit in 250 sat.
    revoke_and_call(&env, &client).await.unwrap();
    revoke_and_call(&env, &client).await.unwrap();
    assert_eq!(env.payer.payments(), 3);
    let err = revoke_and_call(&env, &client).await.unwrap_err();
    match &err {
        HttpError::L402(L402Error::RebuyBudgetExceeded {
            spent_msat,
            invoice_msat,
            budget_msat,
            window,
            ..
        }) => {
            assert_eq!(
                (*spent_msat, *invoice_msat, *budget_msat),
                (200_000, 100_000, 250_000)
            );
            assert_eq!(*window, Duration::from_secs(3600));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("--maxl402rebuycost"), "{err}");
    assert_eq!(env.payer.payments(), 3, "nothing paid");
    let stats = client.l402().stats();
    assert_eq!((stats.rebuys, stats.rebuys_refused), (2, 1));
}

#[tokio::test]
async fn the_budget_is_over_a_rolling_window() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = client(&env, budget(PRICE_SAT, Duration::from_millis(300)));
    hello(&env, &client).await.unwrap();
    revoke_and_call(&env, &client).await.unwrap();
    let err = revoke_and_call(&env, &client).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::L402(e) if is_budget(e)),
        "{err:?}"
    );
    // Once the first re-purchase has left the window, the budget allows another.
    until_allowed(&env, &client, is_budget).await;
    assert_eq!(env.payer.payments(), 3);
}

#[tokio::test]
async fn a_failed_rebuy_still_counts_and_the_next_call_is_bounded_too() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = client(&env, budget(PRICE_SAT, Duration::from_secs(3600)));
    hello(&env, &client).await.unwrap();
    env.payer.fail_next(1);
    let err = revoke_and_call(&env, &client).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::L402(L402Error::PaymentFailed { .. })),
        "{err:?}"
    );
    // The rejected token is gone, but the next purchase still replaces it: bounded.
    assert!(env.store().paid_token().unwrap().is_none());
    let err = hello(&env, &client).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::L402(e) if is_budget(e)),
        "{err:?}"
    );
    assert_eq!(
        env.payer.payments(),
        2,
        "the first purchase and the failed re-purchase"
    );
}

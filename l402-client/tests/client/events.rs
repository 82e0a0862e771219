//! The client's event feed: a first call's challenge, pending token and payment, in order; the holder's
//! restriction of its token, and the server's rejection of the restricted token it leads to.

use std::time::Duration;

use l402::Caveat;
use l402_client::{L402Config, L402Event, L402HttpClient};
use tokio::sync::broadcast;

use crate::http::hello;
use crate::support::L402Env;

const PRICE_SAT: u64 = 100;

/// Every event the feed holds now.
fn drain(events: &mut broadcast::Receiver<L402Event>) -> Vec<L402Event> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

#[tokio::test]
async fn a_first_call_reports_the_challenge_the_pending_token_and_the_payment() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = L402HttpClient::new(reqwest::Client::new(), env.l402(1000));
    let mut events = client.l402().subscribe_events();

    hello(&env, &client).await.unwrap();
    let token = env.store().paid_token().unwrap().expect("a paid token");
    let events = drain(&mut events);
    let [L402Event::Challenged { sent, challenges }, pending, paid] = &events[..] else {
        panic!("unexpected events {events:?}");
    };
    assert_eq!(*sent, None);
    assert_eq!(challenges.len(), 2, "the LSAT and the L402 value");
    assert!(
        challenges[1].starts_with("L402 macaroon="),
        "{challenges:?}"
    );
    assert_eq!(
        *pending,
        L402Event::PendingStored {
            token_id: token.token_id(),
            payment_hash: token.payment_hash,
            invoice_msat: PRICE_SAT * 1000,
        }
    );
    assert_eq!(
        *paid,
        L402Event::Paid {
            token_id: token.token_id(),
            amount_paid_msat: token.amount_paid_msat,
            routing_fee_msat: token.routing_fee_paid_msat,
        }
    );

    // Calls that reuse the token report nothing.
    let mut later = client.l402().subscribe_events();
    hello(&env, &client).await.unwrap();
    assert!(drain(&mut later).is_empty());
}

#[tokio::test]
async fn a_token_the_holder_makes_expire_is_rejected_evicted_and_replaced() {
    let env = L402Env::http(PRICE_SAT).await;
    let client = L402HttpClient::new(
        reqwest::Client::new(),
        env.l402_with(L402Config {
            rebuy_backoff: Duration::ZERO,
            ..L402Config::default()
        }),
    );
    hello(&env, &client).await.unwrap();
    let first = env.store().paid_token().unwrap().unwrap().token_id();
    let mut events = client.l402().subscribe_events();

    let an_hour_ago = service_kit::clock::now_unix() as i64 - 3600;
    let restricted = client
        .l402()
        .restrict(&Caveat::valid_until("loop", an_hour_ago).unwrap())
        .await
        .unwrap();
    assert_eq!(*restricted.token_id(), first);
    let stored = env.store().paid_token().unwrap().unwrap();
    assert_eq!(stored.macaroon, restricted.token().macaroon);
    assert!(stored
        .macaroon
        .caveats()
        .unwrap()
        .contains(&Caveat::valid_until("loop", an_hour_ago).unwrap()));

    // The server refuses the expired token: it is evicted and a new one bought.
    let answer = hello(&env, &client).await.unwrap();
    let second = env.store().paid_token().unwrap().unwrap().token_id();
    assert_ne!(second, first);
    assert_eq!(answer, format!("hello {second}"));
    let kinds: Vec<String> = drain(&mut events)
        .iter()
        .map(|event| match event {
            L402Event::Restricted { token_id, caveat } => {
                assert_eq!(*token_id, first);
                assert_eq!(*caveat, format!("loop_valid_until={an_hour_ago}"));
                "restricted".into()
            }
            L402Event::Challenged { sent, .. } => {
                assert_eq!(*sent, Some(first));
                "challenged".into()
            }
            L402Event::Evicted { token_id } => {
                assert_eq!(*token_id, first);
                "evicted".into()
            }
            other => format!("{other:?}").split(' ').next().unwrap().to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "restricted",
            "challenged",
            "evicted",
            "PendingStored",
            "Paid"
        ]
    );
}

#[tokio::test]
async fn restricting_without_a_paid_token_fails() {
    let env = L402Env::http(PRICE_SAT).await;
    let l402 = env.l402(1000);
    let err = l402
        .restrict(&Caveat::valid_until("loop", 0).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no paid token"), "{err}");
}

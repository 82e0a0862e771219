//! The page's event stream and actions over HTTP: every row comes from a program's own feed.

use l402_client::TokenStore;

use crate::support::{assert_succeeded, has_row, of_kind, provoke, Page, SOURCES};

#[tokio::test]
async fn a_first_loop_shows_the_402_and_the_payment_and_a_repeat_loop_neither() {
    let page = Page::start().await;
    let mut events = page.events().await;
    let balances = events.next().await;
    assert_eq!(
        balances["kind"], "balances",
        "the history starts with the balances"
    );
    let client_before = balances["detail"]["client"].as_u64().unwrap();

    assert_eq!(page.act("first-loop").await.0, 202);
    let (status, answer) = page.act("repeat-loop").await;
    assert_eq!(status, 409, "one action at a time");
    assert!(answer["error"].as_str().unwrap().contains("another action"));
    let first = events.until_idle().await;
    assert_succeeded(&first);
    assert!(has_row(&first, "call", "(no token)"), "{first:#?}");
    assert!(has_row(&first, "challenge", "402 Payment Required"));
    assert!(has_row(&first, "invoice", "AddInvoice 100 sat"));
    assert!(has_row(&first, "token", "wrote l402.token.pending"));
    assert!(has_row(&first, "token_payment", "HTLC 100 sat"));
    assert!(has_row(&first, "preimage", "preimage"));
    assert!(has_row(&first, "token", "wrote l402.token"));
    assert!(has_row(&first, "verify", "verified"));
    for source in SOURCES {
        assert!(
            first.iter().any(|e| e["source"] == source),
            "nothing from {source}"
        );
    }
    // A request is dated when it was made: the challenged call comes before its 402.
    let at = |kind: &str| of_kind(&first, kind)[0]["at_ms"].as_f64().unwrap();
    assert!(at("call") <= at("challenge"));

    // What crossed the wire is shown, but never a secret: not the preimage, not the paid macaroon.
    let token = TokenStore::open(&page.token_dir)
        .unwrap()
        .paid_token()
        .unwrap()
        .expect("loopd holds the token");
    let wire = serde_json::to_string(&first).unwrap();
    let preimage = token.preimage.as_ref().unwrap().to_hex();
    assert!(!wire.contains(&preimage), "the preimage reached the page");
    assert!(wire.contains(&token.token_id().to_hex()));
    assert!(wire.contains("sha256(preimage) = payment hash"));
    let balances = of_kind(&first, "balances");
    let client_after = balances.last().unwrap()["detail"]["client"]
        .as_u64()
        .unwrap();
    assert!(client_after < client_before, "the client's balance moved");

    let (status, answer) = page.act("first-loop").await;
    assert_eq!(status, 409);
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("already holds a token"));

    assert_eq!(page.act("repeat-loop").await.0, 202);
    let repeat = events.until_idle().await;
    assert_succeeded(&repeat);
    assert!(of_kind(&repeat, "challenge").is_empty(), "{repeat:#?}");
    assert!(of_kind(&repeat, "token_payment").is_empty(), "{repeat:#?}");
    assert!(!has_row(&repeat, "token", "wrote"), "{repeat:#?}");
    assert!(
        !has_row(&repeat, "call", "(no token)"),
        "every call carries the token"
    );
}

#[tokio::test]
async fn the_unhappy_paths_show_the_proxys_real_answer() {
    let page = Page::start().await;
    let mut events = page.events().await;
    for name in ["repeat-loop", "revoke", "expire"] {
        let (status, answer) = page.act(name).await;
        assert_eq!(status, 409, "{name} without a token");
        assert!(answer["error"].as_str().unwrap().contains("no token"));
    }
    assert_eq!(page.act("no-such-button").await.0, 404);
    assert_eq!(page.act("first-loop").await.0, 202);
    events.until_idle().await;

    // Revoked: the proxy no longer has the root key; loopd buys a new token.
    let revoked = provoke(&page, &mut events, "revoke").await;
    assert_succeeded(&revoked);
    assert!(
        has_row(&revoked, "verify", "failed: revoked"),
        "{revoked:#?}"
    );
    assert!(has_row(&revoked, "challenge", "402"));
    assert!(has_row(&revoked, "token", "evicted"));
    assert!(has_row(&revoked, "token_payment", "HTLC"));

    // Expired: loopd restricted its own token to the past; the proxy's caveat check refuses it.
    let expired = provoke(&page, &mut events, "expire").await;
    assert_succeeded(&expired);
    assert!(
        has_row(&expired, "verify", "failed: expired"),
        "{expired:#?}"
    );
    assert!(has_row(&expired, "token_payment", "HTLC"));

    // The proxy's lnd offline: a valid token still passes (verifying needs no lnd) …
    assert_eq!(page.act("proxy-lnd").await.0, 202);
    let offline = events.until_idle().await;
    assert!(has_row(&offline, "result", "offline"), "{offline:#?}");
    assert_eq!(page.act("repeat-loop").await.0, 202);
    assert_succeeded(&events.until_idle().await);
    // … but a new one cannot be minted: Unavailable (gRPC's 503), and the loop fails with the proxy's message.
    let unminted = provoke(&page, &mut events, "revoke").await;
    assert!(
        has_row(
            &unminted,
            "error",
            "grpc-status 14 challenge_failed: lnd_unavailable"
        ),
        "{unminted:#?}"
    );
    assert!(of_kind(&unminted, "token_payment").is_empty());
    assert!(!has_row(&unminted, "result", "SUCCESS"));
    assert!(
        has_row(&unminted, "error", "lightning node unavailable"),
        "the user sees why: {unminted:#?}"
    );

    assert_eq!(page.act("proxy-lnd").await.0, 202);
    let online = events.until_idle().await;
    assert!(has_row(&online, "result", "online"));
}

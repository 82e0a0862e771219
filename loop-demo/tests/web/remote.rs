//! The page of another deployment (docker compose's `loop-web`): the programs reached only over their
//! control, admin and events listeners, a loopd of the page's own — and the same sequence on the page.

use crate::support::{assert_succeeded, has_row, of_kind, provoke, Page, SOURCES};

#[tokio::test]
async fn a_remote_deployments_events_reach_the_page_and_its_buttons_reach_the_programs() {
    let page = Page::start_remote().await;
    let mut events = page.events().await;
    let balances = events.next().await;
    assert_eq!(balances["kind"], "balances", "read from mock-lnd's /nodes");
    assert!(balances["detail"]["client"].as_u64().unwrap() > 0);

    assert_eq!(page.act("first-loop").await.0, 202);
    let first = events.until_idle().await;
    assert_succeeded(&first);
    assert!(has_row(&first, "challenge", "402 Payment Required"));
    assert!(has_row(&first, "token_payment", "HTLC 100 sat"));
    assert!(has_row(&first, "verify", "verified"));
    for source in SOURCES {
        assert!(
            first.iter().any(|e| e["source"] == source),
            "nothing from {source} over the network"
        );
    }

    assert_eq!(page.act("repeat-loop").await.0, 202);
    let repeat = events.until_idle().await;
    assert_succeeded(&repeat);
    assert!(of_kind(&repeat, "challenge").is_empty(), "{repeat:#?}");
    assert!(of_kind(&repeat, "token_payment").is_empty(), "{repeat:#?}");

    // Revoked through the proxy's admin API: the next call is refused and loopd buys a new token.
    let revoked = provoke(&page, &mut events, "revoke").await;
    assert_succeeded(&revoked);
    assert!(
        has_row(&revoked, "verify", "failed: revoked"),
        "{revoked:#?}"
    );
    assert!(has_row(&revoked, "token_payment", "HTLC"));

    // The proxy's lnd, through mock-lnd's control endpoint.
    assert_eq!(page.act("proxy-lnd").await.0, 202);
    let offline = events.until_idle().await;
    assert!(has_row(&offline, "result", "offline"), "{offline:#?}");
    let status: serde_json::Value = page
        .http
        .get(format!("{}/status", page.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["proxy_lnd_online"], false);
    assert_eq!(page.act("proxy-lnd").await.0, 202);
    assert!(has_row(&events.until_idle().await, "result", "online"));
}

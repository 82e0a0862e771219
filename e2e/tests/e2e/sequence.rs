//! The sequence of docs/FLOW.md in-process: a first loop pays for a token, a repeat
//! loop reuses it.

use std::time::Duration;

use auth_proxy::Outcome;
use swap_server::swap::Hash32;
use testkit::stack::{Stack, StackOptions, CLIENT_NODE, PROXY_NODE, SERVER_NODE};

use crate::support::{decisions, paid_token_file, play};

const PRICE_SAT: u64 = 100;

/// Which L402 token the swap server recorded for a swap (Loop's user identity).
async fn token_seen_by_server(stack: &Stack, swap_id: &str) -> Option<String> {
    let hash: Hash32 = swap_id.parse().expect("a swap hash");
    let status = stack
        .swap_server()
        .status(&hash)
        .await
        .expect("the swap exists");
    status.swap.token_id
}

#[tokio::test]
async fn first_loop_pays_once_and_repeat_loop_reuses_the_token() {
    let stack = Stack::start(StackOptions {
        token_price_sat: PRICE_SAT,
        // A realistic payment time makes the token payment the first loop's
        // visible extra delay, well above the noise of a loaded machine.
        payment_latency: Duration::from_millis(300),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts");
    let total_before = stack.network().total_balance_msat();
    let proxy_before = stack.node(PROXY_NODE).balance_msat();
    let server_before = stack.node(SERVER_NODE).balance_msat();

    // First loop: a 402, one invoice at the proxy's node, one token payment.
    let first = play(&stack, 250_000).await;
    assert!(first.challenged, "the first loop meets a 402");
    assert_eq!(first.token_cost_sat, PRICE_SAT);
    assert_eq!(first.proxy_invoices, 1, "exactly one token invoice");
    assert_eq!(first.swap_state, "SUCCESS");
    assert_eq!(decisions(&stack, Outcome::Challenged), 1);
    assert_eq!(
        stack.l402().stats().payments,
        1,
        "exactly one token payment"
    );
    // The challenged call was retried with the token and forwarded exactly once.
    let all = stack.proxy().decisions();
    let challenged = all
        .iter()
        .find(|d| d.outcome == Outcome::Challenged)
        .expect("a challenge");
    let forwarded_retries = all
        .iter()
        .filter(|d| d.path == challenged.path && d.outcome == Outcome::Accepted)
        .count();
    assert_eq!(forwarded_retries, 1, "{} forwarded once", challenged.path);
    // Token, prepay and swap invoice: three payments from the client's node.
    assert_eq!(stack.node(CLIENT_NODE).payment_count(), 3);
    let token = paid_token_file(&stack);
    assert_eq!(token.token_id().to_string(), first.token_id);
    assert!(
        !stack.loopd_data_dir().join("l402.token.pending").exists(),
        "no pending token is left behind"
    );
    assert_eq!(
        token_seen_by_server(&stack, &first.swap_id).await,
        Some(first.token_id.clone()),
        "the proxy forwarded the token to the swap server"
    );
    // The proxy's node earned the token price; nothing was created or lost.
    assert_eq!(
        stack.node(PROXY_NODE).balance_msat() - proxy_before,
        PRICE_SAT * 1000
    );
    assert!(stack.node(SERVER_NODE).balance_msat() > server_before + 250_000 * 1000);
    assert_eq!(stack.network().total_balance_msat(), total_before);

    // Repeat loop: no 402, no invoice, no token payment, same token.
    let repeat = play(&stack, 100_000).await;
    assert!(!repeat.challenged, "the repeat loop meets no 402");
    assert_eq!(repeat.token_cost_sat, 0);
    assert_eq!(repeat.proxy_invoices, 0, "no new token invoice");
    assert_eq!(repeat.swap_state, "SUCCESS");
    assert_eq!(repeat.token_id, first.token_id);
    assert_eq!(decisions(&stack, Outcome::Challenged), 1);
    assert_eq!(stack.l402().stats().payments, 1, "no new token payment");
    assert_eq!(
        stack.node(CLIENT_NODE).payment_count(),
        5,
        "prepay + swap only"
    );
    assert_eq!(
        token_seen_by_server(&stack, &repeat.swap_id).await,
        Some(first.token_id.clone()),
        "the swap server sees the same token id"
    );
    assert!(
        repeat.forwarded_requests >= 3,
        "terms, quote and the new swap were forwarded"
    );
    assert!(
        repeat.elapsed_ms < first.elapsed_ms,
        "the repeat loop ({} ms) is faster than the first ({} ms)",
        repeat.elapsed_ms,
        first.elapsed_ms
    );
    assert_eq!(stack.network().total_balance_msat(), total_before);
    stack.shutdown().await;
}

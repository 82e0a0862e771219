//! The sequence over the real binaries: mock-lnd, swap-server, auth-proxy and
//! loopd as separate processes, driven by the `loop` CLI as a user would.

use l402::Token;
use testkit::process::ProcessStack;

const PRICE_SAT: u64 = 100;

/// Runs `loop out <amt> --force --json`; returns (success, stdout, stderr).
async fn try_loop_out(stack: &ProcessStack, amt: u64) -> (bool, String, String) {
    stack
        .loop_cli(&["out", &amt.to_string(), "--force", "--json"])
        .await
        .expect("run loop")
}

/// A counter of a node, as mock-lnd's control endpoint reports it.
async fn node_count(stack: &ProcessStack, node: &str, counter: &str) -> u64 {
    let info = stack.node(node).await.expect("mock-lnd control endpoint");
    info[counter]
        .as_u64()
        .unwrap_or_else(|| panic!("{counter} in {info}"))
}

/// Runs `loop out <amt> --force --json` and returns the final swap JSON.
async fn loop_out(stack: &ProcessStack, amt: u64) -> serde_json::Value {
    let (ok, stdout, stderr) = try_loop_out(stack, amt).await;
    assert!(
        ok,
        "loop out failed: {stderr}\nloopd:\n{}\nauth-proxy:\n{}",
        stack.output("loopd"),
        stack.output("auth-proxy")
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("loop out JSON ({e}): {stdout}"))
}

/// The proxy's decisions of one kind, from its structured log lines.
fn proxy_decisions(stack: &ProcessStack, decision: &str) -> usize {
    stack
        .output("auth-proxy")
        .lines()
        .filter(|line| {
            line.contains("request decided") && line.contains(&format!("decision=\"{decision}\""))
        })
        .count()
}

#[tokio::test]
async fn first_and_repeat_loop_over_real_processes() {
    let mut stack = ProcessStack::start(PRICE_SAT)
        .await
        .expect("programs start");

    let first = loop_out(&stack, 250_000).await;
    assert_eq!(first["state"], "SUCCESS", "{first}");
    assert_eq!(
        node_count(&stack, "proxy", "invoice_count").await,
        1,
        "one token invoice"
    );
    // Token, prepay and swap invoice.
    assert_eq!(node_count(&stack, "client", "payment_count").await, 3);
    assert_eq!(
        proxy_decisions(&stack, "challenged"),
        1,
        "one 402; auth-proxy log:\n{}",
        stack.output("auth-proxy")
    );
    let token_file = stack.loopd_data_dir().join("l402.token");
    let token = Token::decode(&std::fs::read(&token_file).expect("l402.token")).expect("a token");
    assert!(token.preimage.is_some(), "the stored token is paid");
    assert_eq!(token.amount_paid_msat, PRICE_SAT * 1000);
    let token_id = token.token_id().to_string();
    assert!(
        stack.output("swap-server").contains(&token_id),
        "the swap server saw token {token_id}"
    );

    // The repeat loop, after restarting loopd: the token comes from its file.
    stack.start_loopd().await.expect("loopd restarts");
    let repeat = loop_out(&stack, 100_000).await;
    assert_eq!(repeat["state"], "SUCCESS", "{repeat}");
    assert_eq!(proxy_decisions(&stack, "challenged"), 1, "no new 402");
    assert_eq!(
        node_count(&stack, "proxy", "invoice_count").await,
        1,
        "no new invoice"
    );
    assert_eq!(
        node_count(&stack, "client", "payment_count").await,
        5,
        "no token payment"
    );
    let again = Token::decode(&std::fs::read(&token_file).expect("l402.token")).expect("a token");
    assert_eq!(again.token_id().to_string(), token_id, "the same token");

    // listauth shows the token with Loop's field names.
    let (ok, listauth, stderr) = stack.loop_cli(&["listauth"]).await.expect("run loop");
    assert!(ok, "{stderr}");
    let listauth: serde_json::Value = serde_json::from_str(&listauth).expect("JSON");
    assert_eq!(listauth[0]["id"], token_id.as_str(), "{listauth}");
}

#[tokio::test]
async fn failures_over_real_processes_are_reported_and_recovered_from() {
    let mut stack = ProcessStack::start(PRICE_SAT)
        .await
        .expect("programs start");

    // The proxy's lnd is down: no invoice can be made, `loop` says so in one line.
    stack
        .set_node_offline("proxy", true)
        .await
        .expect("node offline");
    let (ok, _, stderr) = try_loop_out(&stack, 250_000).await;
    assert!(!ok, "loop out must fail while the proxy's lnd is down");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(stderr.contains("lightning node unavailable"), "{stderr}");
    assert_eq!(node_count(&stack, "client", "payment_count").await, 0);
    stack
        .set_node_offline("proxy", false)
        .await
        .expect("node online");
    assert_eq!(loop_out(&stack, 250_000).await["state"], "SUCCESS");

    // The proxy restarts: the token is still valid (its root key is in SQLite).
    stack.start_proxy().await.expect("proxy restarts");
    assert_eq!(loop_out(&stack, 100_000).await["state"], "SUCCESS");
    assert_eq!(
        proxy_decisions(&stack, "challenged"),
        1,
        "no new 402 after the restart"
    );

    // The swap server is down: the proxy answers Unavailable, `loop` reports it.
    stack.kill("swap-server");
    let (ok, _, stderr) = try_loop_out(&stack, 100_000).await;
    assert!(!ok, "loop out must fail while the swap server is down");
    assert!(stderr.contains("unavailable"), "{stderr}");
    stack
        .start_swap_server()
        .await
        .expect("swap server restarts");
    assert_eq!(loop_out(&stack, 100_000).await["state"], "SUCCESS");

    // One token bought in all: one invoice at the proxy's node.
    assert_eq!(node_count(&stack, "proxy", "invoice_count").await, 1);
}

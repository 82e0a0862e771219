//! The sequence over the real binaries: mock-lnd, swap-server, auth-proxy and
//! loopd as separate processes, driven by the `loop` CLI as a user would.

use l402::Token;
use loop_demo::process::ProcessStack;

const PRICE_SAT: u64 = 100;

/// Runs `loop out <amt> --force --json` and returns the final swap JSON.
async fn loop_out(stack: &ProcessStack, amt: u64) -> serde_json::Value {
    let amt = amt.to_string();
    let (ok, stdout, stderr) = stack
        .loop_cli(&["out", &amt, "--force", "--json"])
        .await
        .expect("run loop");
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
    let again = Token::decode(&std::fs::read(&token_file).expect("l402.token")).expect("a token");
    assert_eq!(again.token_id().to_string(), token_id, "the same token");

    // listauth shows the token with Loop's field names.
    let (ok, listauth, stderr) = stack.loop_cli(&["listauth"]).await.expect("run loop");
    assert!(ok, "{stderr}");
    let listauth: serde_json::Value = serde_json::from_str(&listauth).expect("JSON");
    assert_eq!(listauth[0]["id"], token_id.as_str(), "{listauth}");
}

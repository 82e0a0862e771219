//! What users meet when something is wrong, across the program boundaries:
//! every failure is reported precisely, never pays twice, and the system
//! recovers once the cause is gone.

use testkit::stack::{Stack, StackOptions, CLIENT_NODE, PROXY_NODE};

use crate::support::{loop_out, paid_token_file, play};

async fn stack() -> Stack {
    Stack::start(StackOptions::default())
        .await
        .expect("stack starts")
}

#[tokio::test]
async fn a_token_above_maxl402cost_is_refused_without_paying() {
    let stack = Stack::start(StackOptions {
        token_price_sat: 2_000,
        max_token_cost_sat: 1_000,
        ..StackOptions::default()
    })
    .await
    .expect("stack starts");

    let status = loop_out(&stack, 250_000).await.expect_err("refused");
    let message = status.message();
    assert!(
        message.contains("2000") && message.contains("1000"),
        "the error names the price and the limit: {message}"
    );
    assert_eq!(stack.node(CLIENT_NODE).payment_count(), 0, "nothing paid");
    assert!(!stack.loopd_data_dir().join("l402.token").exists());
    assert!(!stack.loopd_data_dir().join("l402.token.pending").exists());
    stack.shutdown().await;
}

#[tokio::test]
async fn the_token_survives_a_proxy_restart() {
    let mut stack = stack().await;
    let first = play(&stack, 250_000).await;

    stack.restart_proxy().await.expect("proxy restarts");
    let repeat = play(&stack, 100_000).await;
    assert!(
        !repeat.challenged,
        "the restarted proxy still knows the token"
    );
    assert_eq!(repeat.token_id, first.token_id);
    assert_eq!(stack.l402().stats().payments, 1);
    stack.shutdown().await;
}

#[tokio::test]
async fn loopd_reuses_its_token_file_after_a_restart() {
    let mut stack = stack().await;
    let first = play(&stack, 250_000).await;
    let proxy_invoices = stack.node(PROXY_NODE).invoice_count();

    stack.restart_loopd().await.expect("loopd restarts");
    let repeat = play(&stack, 100_000).await;
    assert!(
        !repeat.challenged,
        "the token was read back from l402.token"
    );
    assert_eq!(repeat.token_id, first.token_id);
    assert_eq!(
        stack.l402().stats().payments,
        0,
        "the new loopd paid nothing"
    );
    assert_eq!(stack.node(PROXY_NODE).invoice_count(), proxy_invoices);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_revoked_token_costs_exactly_one_new_payment() {
    let stack = stack().await;
    let first = play(&stack, 250_000).await;
    assert!(stack
        .proxy()
        .revoke(&first.token_id)
        .await
        .expect("revocation"));

    let after = play(&stack, 100_000).await;
    assert!(after.challenged, "the revoked token meets a fresh 402");
    assert_ne!(after.token_id, first.token_id, "a new token was bought");
    assert_eq!(stack.l402().stats().payments, 2, "exactly one new payment");
    assert_eq!(
        paid_token_file(&stack).token_id().to_string(),
        after.token_id
    );
    let backups = std::fs::read_dir(stack.loopd_data_dir())
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("rejected"))
        .count();
    assert_eq!(backups, 1, "the rejected token is kept as a backup file");

    let again = play(&stack, 100_000).await;
    assert!(!again.challenged, "the new token is reused");
    assert_eq!(stack.l402().stats().payments, 2);
    stack.shutdown().await;
}

#[tokio::test]
async fn the_proxys_lnd_down_is_reported_and_recovers() {
    let stack = stack().await;
    stack.node(PROXY_NODE).set_offline(true).await;

    let status = loop_out(&stack, 250_000)
        .await
        .expect_err("no invoice, no swap");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("lightning node unavailable"),
        "the error says the proxy's lnd is down: {}",
        status.message()
    );
    assert_eq!(stack.node(CLIENT_NODE).payment_count(), 0);

    stack.node(PROXY_NODE).set_offline(false).await;
    let report = play(&stack, 250_000).await;
    assert!(report.challenged);
    assert_eq!(report.swap_state, "SUCCESS");
    stack.shutdown().await;
}

#[tokio::test]
async fn the_swap_server_down_is_reported_and_recovers() {
    let mut stack = stack().await;
    let first = play(&stack, 250_000).await;
    stack.stop_swap_server().await.expect("swap-server stops");

    let status = loop_out(&stack, 100_000).await.expect_err("backend down");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(
        stack.l402().stats().payments,
        1,
        "a backend error never pays"
    );

    stack
        .start_swap_server()
        .await
        .expect("swap server restarts");
    let again = play(&stack, 100_000).await;
    assert!(!again.challenged);
    assert_eq!(again.token_id, first.token_id);
    stack.shutdown().await;
}

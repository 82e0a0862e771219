//! The sequence with the proxy's tokens in PostgreSQL.
//!
//! The server comes from `DATABASE_URL`, else from a testcontainers
//! container; without either the test skips and says why — unless
//! `L402_REQUIRE_POSTGRES=1` (set by CI), where skipping fails.

use testkit::stack::{Stack, StackOptions};

use crate::support::play;

#[tokio::test]
async fn first_and_repeat_loop_with_the_proxy_on_postgres() {
    let Some(database) = testkit::fresh_database("e2e").await else {
        return;
    };
    let mut stack = Stack::start(StackOptions {
        proxy_postgres_url: Some(database.url()),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts");

    let first = play(&stack, 250_000).await;
    assert!(first.challenged);
    // The token lives in PostgreSQL: a restarted proxy still accepts it.
    stack.restart_proxy().await.expect("proxy restarts");
    let repeat = play(&stack, 100_000).await;
    assert!(!repeat.challenged);
    assert_eq!(repeat.token_id, first.token_id);
    assert_eq!(stack.l402().stats().payments, 1);
    stack.shutdown().await;
}

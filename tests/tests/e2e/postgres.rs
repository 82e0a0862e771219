//! The sequence with the proxy's tokens in PostgreSQL.
//!
//! The server comes from `DATABASE_URL`, else from a testcontainers
//! container; without either the test skips and says why — unless
//! `L402_REQUIRE_POSTGRES=1` (set by CI), where skipping fails.

use std::time::Duration;

use loop_demo::stack::{Stack, StackOptions};
use sqlx::Executor;
use testcontainers::runners::AsyncRunner;
use testcontainers::ContainerAsync;
use testcontainers_modules::postgres::Postgres;

use crate::support::play;

/// Skips (returns `None`) or, where PostgreSQL is required, fails.
fn unavailable<T>(reason: String) -> Option<T> {
    let required = std::env::var("L402_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(!required, "L402_REQUIRE_POSTGRES=1 but {reason}");
    eprintln!("SKIPPED: PostgreSQL end-to-end test: {reason}");
    None
}

/// A PostgreSQL server URL and the container that serves it, if we started one.
async fn server() -> Option<(String, Option<ContainerAsync<Postgres>>)> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Some((url, None));
    }
    match tokio::time::timeout(Duration::from_secs(60), Postgres::default().start()).await {
        Ok(Ok(container)) => {
            let port = container.get_host_port_ipv4(5432).await.ok()?;
            let url = format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres");
            Some((url, Some(container)))
        }
        Ok(Err(error)) => unavailable(format!("no DATABASE_URL, and testcontainers: {error}")),
        Err(_) => unavailable("no DATABASE_URL, and no container within 60 s".into()),
    }
}

/// A fresh database on `server_url`, so the test shares no tables.
async fn fresh_database(server_url: &str) -> Option<String> {
    let pool = match sqlx::PgPool::connect(server_url).await {
        Ok(pool) => pool,
        Err(error) => return unavailable(format!("cannot connect to PostgreSQL: {error}")),
    };
    let name = format!("e2e_{}", hex::encode(rand::random::<[u8; 6]>()));
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create the test database");
    pool.close().await;
    let mut url = reqwest::Url::parse(server_url).expect("a PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

#[tokio::test]
async fn first_and_repeat_loop_with_the_proxy_on_postgres() {
    let Some((server_url, _container)) = server().await else {
        return;
    };
    let Some(database_url) = fresh_database(&server_url).await else {
        return;
    };
    let mut stack = Stack::start(StackOptions {
        proxy_postgres_url: Some(database_url),
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

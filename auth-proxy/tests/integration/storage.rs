//! Persistence: a restarted proxy on the same SQLite file still verifies old tokens; two proxies on one
//! PostgreSQL share tokens and revocations (within one second); a database that goes away answers 503 (gRPC 14)
//! and the proxy recovers when it is back.

use std::time::{Duration, Instant};

use l402::Credential;

use crate::support::{eventually, get, get_with, unpaid_grpc_call, TestEnv, TestProxy};

async fn status_with(proxy: &TestProxy, credential: &Credential) -> u16 {
    let authorization = credential.to_authorization();
    get_with(proxy, "/http/data", ("authorization", &authorization))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn restart_on_the_same_sqlite_file_keeps_tokens() {
    let env = TestEnv::start().await;
    let basedir = env.dir.path().join("restart");
    let yaml = env.yaml(&basedir, "");
    let first = TestProxy::start(&yaml).await;
    let credential = env.paid_http(&first, "/http/data").await;
    assert_eq!(status_with(&first, &credential).await, 200);
    first.stop().await;
    assert!(
        basedir.join("aperture.db").exists(),
        "SQLite file in the base dir"
    );

    let second = TestProxy::start(&yaml).await;
    assert_eq!(
        status_with(&second, &credential).await,
        200,
        "old token verifies after restart"
    );
    let metrics = second.handle.metrics_text();
    assert!(
        metrics.contains("auth_proxy_root_key_cache_lookups_total{result=\"miss\"} 1"),
        "{metrics}"
    );
    // Verified once from the database, then from the cache only.
    assert_eq!(status_with(&second, &credential).await, 200);
    assert!(second
        .handle
        .metrics_text()
        .contains("auth_proxy_root_key_cache_lookups_total{result=\"hit\"} 1"));
    assert_eq!(second.tokens().await.len(), 1);
}

#[tokio::test]
async fn two_proxies_share_one_postgres() {
    let Some(db) = testkit::fresh_database("auth_proxy_test").await else {
        return;
    };
    let env = TestEnv::start().await;
    let a = TestProxy::start(&env.yaml(&env.dir.path().join("a"), &db.aperture_yaml())).await;
    let b = TestProxy::start(&env.yaml(&env.dir.path().join("b"), &db.aperture_yaml())).await;

    // Minted on A, verified on B.
    let credential = env.paid_http(&a, "/http/data").await;
    assert_eq!(status_with(&b, &credential).await, 200);
    assert_eq!(status_with(&a, &credential).await, 200);
    // Both now hold the root key in their caches.
    assert_eq!(status_with(&a, &credential).await, 200);

    // Revoked on B, rejected on A within one second (no database read on A's hot path before that).
    let revoked_at = Instant::now();
    assert!(b
        .handle
        .revoke(&credential.token_id().to_hex())
        .await
        .unwrap());
    eventually(Duration::from_secs(1), "revocation to reach A", || async {
        status_with(&a, &credential).await == 402
    })
    .await;
    let elapsed = revoked_at.elapsed();
    eprintln!("revocation propagated from B to A in {elapsed:?}");
    assert_eq!(
        a.last_decision("/http/data").reason.as_deref(),
        Some("revoked")
    );
    let tokens = b.tokens().await;
    let record = tokens
        .iter()
        .find(|t| t.token_id == credential.token_id().to_hex())
        .expect("record");
    assert!(record.revoked_at.is_some());
    assert_eq!(
        tokens.len(),
        2,
        "the paid token and the fresh challenge A sent after the revocation"
    );
}

#[tokio::test]
async fn database_down_answers_503_and_recovers() {
    let Some(db) = testkit::fresh_database("auth_proxy_test").await else {
        return;
    };
    let env = TestEnv::start().await;
    let a = TestProxy::start(&env.yaml(&env.dir.path().join("a"), &db.aperture_yaml())).await;
    let b = TestProxy::start(&env.yaml(&env.dir.path().join("b"), &db.aperture_yaml())).await;
    // Paid through A: B has never seen this token, so B must read its root key from the database.
    let credential = env.paid_http(&a, "/http/data").await;
    let http_before = env.http.count();

    db.set_reachable(false).await;

    // An uncached token: nothing can be decided without the database.
    let response = get_with(
        &b,
        "/http/data",
        ("authorization", &credential.to_authorization()),
    )
    .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response.text().await.unwrap(), "token store unavailable\n");
    let decision = b.last_decision("/http/data");
    assert_eq!(
        (decision.outcome, decision.reason.as_deref()),
        (
            auth_proxy::Outcome::StoreUnavailable,
            Some("store_unavailable")
        )
    );
    // No token: a challenge cannot be issued because its root key cannot be stored.
    let response = get(&b, "/http/other").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.text().await.unwrap(),
        "token store unavailable: cannot issue payment challenge\n"
    );
    let status = unpaid_grpc_call(&b).await;
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(
        status.message(),
        "token store unavailable: cannot issue payment challenge"
    );
    assert_eq!(
        env.http.count(),
        http_before,
        "nothing reached the backend while the database was down"
    );

    db.set_reachable(true).await;
    eventually(
        Duration::from_secs(20),
        "B verifies the token again",
        || async { status_with(&b, &credential).await == 200 },
    )
    .await;
    assert_eq!(
        get(&b, "/http/other").await.status(),
        402,
        "challenges again"
    );
}

/// The mode bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn secrets_are_private_whatever_the_umask() {
    let env = TestEnv::start().await;
    let basedir = env.dir.path().join("private");
    let proxy = TestProxy::start(&env.yaml(&basedir, "")).await;
    env.paid_http(&proxy, "/http/data").await;
    assert_eq!(mode(&basedir), 0o700, "the base directory");
    for file in [
        "aperture.db",
        "aperture.db-wal",
        "aperture.db-shm",
        "admin.rootkey",
        "admin.macaroon",
    ] {
        assert_eq!(mode(&basedir.join(file)), 0o600, "{file}");
    }
}

#[tokio::test]
async fn a_reader_holding_a_transaction_does_not_block_challenges() {
    let env = TestEnv::start().await;
    let basedir = env.dir.path().join("wal");
    let proxy = TestProxy::start(&env.yaml(&basedir, "")).await;
    env.paid_http(&proxy, "/http/data").await;

    // Another program reads the database and keeps its transaction open.
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(basedir.join("aperture.db"));
    let mut reader = sqlx::ConnectOptions::connect(&options).await.unwrap();
    sqlx::Executor::execute(&mut reader, "BEGIN").await.unwrap();
    let _: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM auth_proxy_tokens")
        .fetch_one(&mut reader)
        .await
        .unwrap();

    let started = Instant::now();
    let response = get(&proxy, "/http/more").await;
    assert_eq!(response.status(), 402, "the challenge is stored meanwhile");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not held up by the reader: {:?}",
        started.elapsed()
    );
    sqlx::Executor::execute(&mut reader, "COMMIT")
        .await
        .unwrap();
}

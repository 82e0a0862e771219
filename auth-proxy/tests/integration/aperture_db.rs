//! Coming from Aperture: pointed at a database Aperture created (its own migrations, `tests/fixtures/`), the
//! proxy accepts the tokens Aperture minted — root keys read from Aperture's `secrets` table — and leaves
//! Aperture's tables exactly as they were. The token is built with `libmacaroon` directly (not our `l402`
//! crate), the way Aperture lays it out: identifier `version(2, BE) = 0 | payment_hash | token_id`, location
//! `lsat`, caveat `services=<name>:0`.

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use libmacaroon::{Format, Macaroon, MacaroonKey};
use lnd_client::LndClient;
use proto::lnrpc::Invoice;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use crate::support::{get_with, TestEnv, TestProxy};

/// Which of Aperture's backends the database is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A token as Aperture mints one: its macaroon (binary V2) under `root_key` for `service`.
fn aperture_macaroon(root_key: &[u8; 32], identifier: &[u8], service: &str) -> Vec<u8> {
    let mut macaroon =
        Macaroon::create(Some("lsat"), &MacaroonKey::generate(root_key), identifier).unwrap();
    macaroon
        .add_first_party_caveat(format!("services={service}:0").as_str())
        .unwrap();
    // libmacaroon writes V2 as URL-safe base64 of the binary form.
    URL_SAFE
        .decode(macaroon.serialize(Format::V2).unwrap())
        .unwrap()
}

/// `version(2 bytes, big-endian) = 0 | payment_hash(32) | token_id(32)`.
fn identifier(payment_hash: &[u8], token_id: &[u8; 32]) -> Vec<u8> {
    let mut id = vec![0, 0];
    id.extend_from_slice(payment_hash);
    id.extend_from_slice(token_id);
    assert_eq!(id.len(), 66);
    id
}

/// Aperture's tables as they stand: every column (or SQLite object) not ours, the `secrets` rows, and
/// golang-migrate's version.
async fn aperture_state(pool: &AnyPool, backend: Backend) -> Vec<String> {
    let schema = match backend {
        Backend::Sqlite => {
            "SELECT type || ':' || name || ':' || COALESCE(sql, '') FROM sqlite_master \
             WHERE name NOT LIKE 'auth!_proxy%' ESCAPE '!' AND name NOT LIKE '!_auth!_proxy%' ESCAPE '!' \
             AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY type, name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name || ':' || column_name || ':' || data_type AS TEXT) \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name NOT LIKE 'auth!_proxy%' ESCAPE '!' AND table_name <> '_auth_proxy_migrations' \
             ORDER BY table_name, ordinal_position"
        }
    };
    let mut state: Vec<String> = sqlx::query(schema)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
    for query in [
        "SELECT CAST(COUNT(*) AS TEXT) FROM secrets",
        "SELECT CAST(version AS TEXT) || CASE WHEN dirty THEN ' dirty' ELSE ' clean' END FROM schema_migrations",
    ] {
        for row in sqlx::query(query).fetch_all(pool).await.unwrap() {
            state.push(row.get::<String, _>(0));
        }
    }
    state
}

async fn table_exists(pool: &AnyPool, backend: Backend, table: &str) -> bool {
    let query = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let count: i64 = sqlx::query(query)
        .bind(table.to_owned())
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    count > 0
}

/// Creates Aperture's schema in the database at `url`, stores the root key of one token for a settled
/// invoice (created at the proxy's lnd, paid by the client) under `sha256(identifier)`, then runs proxies on
/// that database (`database_yaml`): plain, then with `strictverify`.
async fn aperture_tokens_keep_working(
    env: &TestEnv,
    backend: Backend,
    url: &str,
    database_yaml: &str,
) {
    let pool = service_kit::db::connect_any(url, 2, Duration::from_secs(5))
        .await
        .unwrap();
    let fixture = match backend {
        Backend::Sqlite => include_str!("../fixtures/aperture_sqlite.sql"),
        Backend::Postgres => include_str!("../fixtures/aperture_postgres.sql"),
    };
    sqlx::raw_sql(fixture).execute(&pool).await.unwrap();

    // The invoice Aperture would have created at its lnd, paid.
    let lnd = LndClient::connect(&env.net.node("proxy").lnd_config())
        .await
        .unwrap();
    let invoice = lnd
        .lightning
        .clone()
        .add_invoice(Invoice {
            memo: "L402".into(),
            value: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let preimage = env.pay(&invoice.payment_request).await;

    let root_key: [u8; 32] = rand::random();
    let token_id: [u8; 32] = rand::random();
    let id = identifier(&invoice.r_hash, &token_id);
    sqlx::query(
        "INSERT INTO secrets (hash, secret, created_at) VALUES ($1, $2, '2024-05-01 12:00:00')",
    )
    .bind(Sha256::digest(&id).to_vec())
    .bind(root_key.to_vec())
    .execute(&pool)
    .await
    .unwrap();
    let before = aperture_state(&pool, backend).await;
    assert!(before.contains(&"1".to_owned()), "{before:?}");
    assert!(before.contains(&"9 clean".to_owned()), "{before:?}");

    let authorization = |macaroon: &[u8]| {
        format!(
            "L402 {}:{}",
            STANDARD.encode(macaroon),
            hex::encode(preimage.as_bytes())
        )
    };
    let good = authorization(&aperture_macaroon(&root_key, &id, "http"));
    let wrong_key = authorization(&aperture_macaroon(&rand::random(), &id, "http"));
    let other_id = identifier(&invoice.r_hash, &rand::random());
    let unknown = authorization(&aperture_macaroon(&root_key, &other_id, "http"));

    for extra in ["", "strictverify: true\nstrictverifytimeout: 200ms\n"] {
        let yaml = env.yaml(&env.basedir(), &format!("{database_yaml}{extra}"));
        let proxy = TestProxy::start(&yaml).await;
        let forwarded = env.http.count();
        let response = get_with(&proxy, "/http/data", ("authorization", &good)).await;
        assert_eq!(
            response.status(),
            200,
            "Aperture's token passes ({extra:?})"
        );
        assert_eq!(env.http.count(), forwarded + 1);
        let seen = env.http.seen().pop().unwrap();
        assert_eq!(seen.headers["authorization"], good.as_str());
        // Served from the cache the second time.
        let response = get_with(&proxy, "/http/data", ("authorization", &good)).await;
        assert_eq!(response.status(), 200);

        let response = get_with(&proxy, "/http/data", ("authorization", &wrong_key)).await;
        assert_eq!(
            response.status(),
            402,
            "a token under another root key fails"
        );
        assert_eq!(
            proxy.last_decision("/http/data").reason.as_deref(),
            Some("bad_signature")
        );
        let response = get_with(&proxy, "/http/data", ("authorization", &unknown)).await;
        assert_eq!(response.status(), 402);
        assert_eq!(
            proxy.last_decision("/http/data").reason.as_deref(),
            Some("unknown_token")
        );
        assert_eq!(env.http.count(), forwarded + 2);
        proxy.stop().await;
    }

    // Aperture's tables are untouched (schema, rows, migration version); ours sit next to them.
    assert_eq!(aperture_state(&pool, backend).await, before);
    for ours in [
        "auth_proxy_root_keys",
        "auth_proxy_tokens",
        "_auth_proxy_migrations",
    ] {
        assert!(table_exists(&pool, backend, ours).await, "{ours}");
    }
    pool.close().await;
}

#[tokio::test]
async fn aperture_sqlite_tokens_keep_working() {
    let env = TestEnv::start().await;
    let path = env.dir.path().join("aperture").join("aperture.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let yaml = format!("sqlite:\n  dbfile: '{}'\n", path.display());
    aperture_tokens_keep_working(
        &env,
        Backend::Sqlite,
        &service_kit::db::sqlite_url(&path),
        &yaml,
    )
    .await;
}

#[tokio::test]
async fn aperture_postgres_tokens_keep_working() {
    let Some(db) = testkit::fresh_database("auth_proxy_aperture").await else {
        return;
    };
    let env = TestEnv::start().await;
    aperture_tokens_keep_working(&env, Backend::Postgres, &db.url(), &db.aperture_yaml()).await;
}

/// A token minted by pymacaroons (`tests/fixtures/pymacaroons_token.py` prints these values), a macaroon
/// implementation that shares no code with ours, is accepted from Aperture's `secrets` table: the encoding
/// and the HMAC chain are checked against an outside implementation, not only against libmacaroon.
#[tokio::test]
async fn a_token_minted_by_pymacaroons_is_accepted() {
    const ROOT_KEY: &str = "f0ae5f6606f2a0395c847d22cf5a1ff3364e7fefe8515ea7c719bb21e2916c84";
    const IDENTIFIER_SHA256: &str =
        "78736cb0314f347caa3a5aa27c70b955c39615fa1881b5f87f35cc90e37e6286";
    const MACAROON_BASE64: &str = "AgEEbHNhdAJCAADYZNaRKYf8WYrlGdLH9qAmi3+vPK4pSoElece95c7loSPcNUR4PPNaxA0ZFz3ogQKWSzWezXsFnp4K7erUGbh+AAIPc2VydmljZXM9aHR0cDowAAAGIMmox5tQ6xyiYzNFqBx5unLZOVWjdKXWYyhyLXXGVOpC";
    const PREIMAGE: &str = "bc091d6fec082578f56f40d53806de0fcbfb167a47f2d8c8e2255d62a94b67ec";

    let env = TestEnv::start().await;
    let path = env.dir.path().join("aperture").join("aperture.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let pool = service_kit::db::connect_any(
        &service_kit::db::sqlite_url(&path),
        2,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    sqlx::raw_sql(include_str!("../fixtures/aperture_sqlite.sql"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO secrets (hash, secret, created_at) VALUES ($1, $2, '2024-05-01 12:00:00')",
    )
    .bind(hex::decode(IDENTIFIER_SHA256).unwrap())
    .bind(hex::decode(ROOT_KEY).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let yaml = env.yaml(
        &env.basedir(),
        &format!("sqlite:\n  dbfile: '{}'\n", path.display()),
    );
    let proxy = TestProxy::start(&yaml).await;
    let good = format!("L402 {MACAROON_BASE64}:{PREIMAGE}");
    let response = get_with(&proxy, "/http/data", ("authorization", &good)).await;
    assert_eq!(response.status(), 200, "pymacaroons' token passes");
    assert_eq!(
        env.http.seen().pop().unwrap().headers["authorization"],
        good.as_str()
    );

    // One flipped bit in the signature (the last byte of the macaroon) and it is refused.
    let mut macaroon = STANDARD.decode(MACAROON_BASE64).unwrap();
    *macaroon.last_mut().unwrap() ^= 1;
    let flipped = format!("L402 {}:{PREIMAGE}", STANDARD.encode(&macaroon));
    let response = get_with(&proxy, "/http/data", ("authorization", &flipped)).await;
    assert_eq!(response.status(), 402);
    assert_eq!(
        proxy.last_decision("/http/data").reason.as_deref(),
        Some("bad_signature")
    );
    proxy.stop().await;
}

//! A token table grown large before the rounds: synthetic rows, stored as auth-proxy stores a token it
//! mints (a root key in `auth_proxy_root_keys`, a record in `auth_proxy_tokens` for the HTTP service,
//! unpaid, created now), with random identifier hashes, root keys, token ids and payment hashes (see
//! [`generate`]).
//!
//! The rows are made by the database itself (into a temporary table, then one `INSERT … SELECT` per
//! table, in one transaction): a million take tens of seconds, most of it the two indexes on random
//! values (the identifier hash's and the payment hash's), which every row updates at a random place as in
//! a real table. Each table is filled in the order of its primary key, which turns its other index
//! updates into appends. Only the random values are made per dialect. Afterwards the database is left
//! as a long-running one would be: SQLite's write-ahead log checkpointed into the file, PostgreSQL's
//! tables vacuumed and analysed (else autovacuum would do it during the measurements).

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::Connection;

use crate::setup::{HTTP_SERVICE, PRICE_SAT};

/// Adds `rows` tokens to the auth-proxy database at `url` (`sqlite://…` or `postgres://…`, already
/// migrated by the proxy); returns how long it took.
pub async fn tokens(url: &str, rows: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let postgres = url.starts_with("postgres");
    let pool = service_kit::db::connect_any(url, 1, Duration::from_secs(10))
        .await
        .context("cannot connect to auth-proxy's database")?;
    let mut connection = pool.acquire().await?;
    if !postgres {
        // Room for the tables' and indexes' pages while the transaction is open (KiB, an upper bound),
        // so that they are not spilled to the log and written again.
        sqlx::query("PRAGMA cache_size = -1048576")
            .execute(&mut *connection)
            .await?;
    }
    let now = service_kit::clock::now_unix();
    let statements = [
        ("generating the rows", generate(rows, postgres)),
        (
            "inserting the root keys",
            format!(
                "INSERT INTO auth_proxy_root_keys (identifier_hash, root_key, created_at) \
                 SELECT identifier_hash, root_key, {now} FROM proxy_bench_prefill \
                 ORDER BY identifier_hash"
            ),
        ),
        (
            "inserting the token records",
            format!(
                "INSERT INTO auth_proxy_tokens \
                 (token_id, identifier_hash, payment_hash, service, price_sat, created_at) \
                 SELECT token_id, identifier_hash, payment_hash, '{HTTP_SERVICE}', {PRICE_SAT}, {now} \
                 FROM proxy_bench_prefill ORDER BY token_id"
            ),
        ),
        ("dropping the generated rows", "DROP TABLE proxy_bench_prefill".to_owned()),
    ];
    let mut tx = connection.begin().await?;
    for (what, statement) in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await
            .context(what)?;
    }
    tx.commit().await.context("committing the rows")?;
    if postgres {
        sqlx::query("VACUUM ANALYZE auth_proxy_root_keys, auth_proxy_tokens")
            .execute(&mut *connection)
            .await
            .context("vacuuming the tables")?;
    } else {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *connection)
            .await
            .context("checkpointing the write-ahead log")?;
        anyhow::ensure!(
            busy == 0,
            "the write-ahead log could not be checkpointed: the database was busy"
        );
    }
    drop(connection);
    pool.close().await;
    Ok(started.elapsed())
}

/// The statement making a temporary table of `rows` rows of random values as the proxy writes them:
/// 32-byte identifier hash and root key, hex token id and payment hash. SQLite draws them; PostgreSQL,
/// whose random functions are several times slower, takes them from SHA-512 digests of the row number
/// (unique, and as uniformly spread).
fn generate(rows: u64, postgres: bool) -> String {
    if postgres {
        format!(
            "CREATE TEMPORARY TABLE proxy_bench_prefill AS \
             SELECT substring(a FROM 1 FOR 32) AS identifier_hash, substring(a FROM 33) AS root_key, \
             encode(substring(b FROM 1 FOR 32), 'hex') AS token_id, \
             encode(substring(b FROM 33), 'hex') AS payment_hash \
             FROM (SELECT sha512(int8send(i)) AS a, sha512(int8send(-i)) AS b \
             FROM generate_series(1, {rows}) AS i) AS digests"
        )
    } else {
        format!(
            "CREATE TEMPORARY TABLE proxy_bench_prefill AS \
             WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             SELECT randomblob(32) AS identifier_hash, randomblob(32) AS root_key, \
             lower(hex(randomblob(32))) AS token_id, lower(hex(randomblob(32))) AS payment_hash FROM n"
        )
    }
}

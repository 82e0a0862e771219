//! The same swaps on PostgreSQL: a full loop out and a restart, each on a
//! fresh database of the server at `DATABASE_URL`.
//!
//! Without `DATABASE_URL` these tests pass vacuously, unless
//! `L402_REQUIRE_POSTGRES=1` (as in CI), where they fail instead.

use rand::RngCore;
use sqlx::Connection;

use crate::helpers::Db;

/// A new empty database on the server at `DATABASE_URL`, or `None` to skip.
async fn fresh_database() -> anyhow::Result<Option<Db>> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        if std::env::var("L402_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            anyhow::bail!("L402_REQUIRE_POSTGRES=1 but DATABASE_URL is not set");
        }
        eprintln!("skipping: DATABASE_URL not set");
        return Ok(None);
    };
    let mut suffix = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut suffix);
    let name = format!("swap_server_test_{}", hex::encode(suffix));
    let mut admin = sqlx::PgConnection::connect(&url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let (base, _) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database"))?;
    Ok(Some(Db::Postgres(format!("{base}/{name}"))))
}

#[tokio::test]
async fn loop_out_succeeds_on_postgres() -> anyhow::Result<()> {
    if let Some(db) = fresh_database().await? {
        crate::success::full_loop_out(db).await?;
    }
    Ok(())
}

#[tokio::test]
async fn restart_resumes_on_postgres() -> anyhow::Result<()> {
    if let Some(db) = fresh_database().await? {
        crate::restart::restart_mid_swap(db).await?;
    }
    Ok(())
}

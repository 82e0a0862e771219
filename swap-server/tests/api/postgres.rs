//! The same swaps on PostgreSQL: a full loop out and a restart, each on a
//! fresh database (testkit's: `DATABASE_URL`, else testcontainers, else the
//! test is skipped with the reason — a failure when `L402_REQUIRE_POSTGRES=1`,
//! as in CI).

use crate::helpers::Db;

#[tokio::test]
async fn loop_out_succeeds_on_postgres() -> anyhow::Result<()> {
    if let Some(database) = testkit::fresh_database("swap_server_test").await {
        crate::success::full_loop_out(Db::Postgres(database.url())).await?;
    }
    Ok(())
}

#[tokio::test]
async fn restart_resumes_on_postgres() -> anyhow::Result<()> {
    if let Some(database) = testkit::fresh_database("swap_server_test").await {
        crate::restart::restart_mid_swap(Db::Postgres(database.url())).await?;
    }
    Ok(())
}

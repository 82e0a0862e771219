//! A real PostgreSQL for the multi-proxy tests: `DATABASE_URL` if set, else a testcontainers container, else
//! the test is skipped with the reason printed — unless `L402_REQUIRE_POSTGRES=1`, where skipping fails.
//!
//! Every test gets a fresh database (created on the server, dropped never: they are tiny and named uniquely),
//! so tests do not share tables or migrations with each other or with other crates.

use sqlx::postgres::PgPoolOptions;
use sqlx::Executor;
use testcontainers::runners::AsyncRunner;
use testcontainers::ContainerAsync;
use testcontainers_modules::postgres::Postgres;

/// Connection settings for one fresh database.
pub struct TestDatabase {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub dbname: String,
    /// The server's maintenance URL (the one the database was created through).
    admin_url: String,
    _container: Option<ContainerAsync<Postgres>>,
}

impl TestDatabase {
    /// The `postgres:` YAML section for this database.
    pub fn yaml(&self) -> String {
        format!(
            "dbbackend: postgres\npostgres:\n  host: {}\n  port: {}\n  user: {}\n  password: \"{}\"\n  dbname: {}\n  maxconnections: 5\n",
            self.host, self.port, self.user, self.password, self.dbname
        )
    }

    /// Makes the database refuse every new connection and drops the open ones (`reachable = false`), or
    /// lets connections in again. To the proxy this looks like a database that went down and came back.
    pub async fn set_reachable(&self, reachable: bool) {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.admin_url)
            .await
            .expect("admin connection");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS {reachable}",
                self.dbname
            )))
            .await
            .expect("alter database");
        if !reachable {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&self.dbname)
            .execute(&admin)
            .await
            .expect("terminate connections");
        }
        admin.close().await;
    }
}

/// `postgres://user[:password]@host[:port]/dbname` split into parts (enough for test URLs).
fn parse(url: &str) -> Option<(String, String, String, u16, String)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let (auth, rest) = rest.split_once('@')?;
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let db = db.split('?').next().unwrap_or("postgres");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, 5432),
    };
    Some((
        user.into(),
        password.into(),
        host.into(),
        port,
        if db.is_empty() {
            "postgres".into()
        } else {
            db.into()
        },
    ))
}

fn skip(reason: &str) -> Option<TestDatabase> {
    if std::env::var("L402_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PostgreSQL required (L402_REQUIRE_POSTGRES=1) but unavailable: {reason}");
    }
    eprintln!("SKIPPED: PostgreSQL test: {reason}");
    None
}

/// A fresh database, or `None` (test skipped, reason printed).
pub async fn database() -> Option<TestDatabase> {
    let (url, container) =
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let started = tokio::time::timeout(
                    std::time::Duration::from_secs(60),
                    Postgres::default().start(),
                )
                .await;
                match started {
                    Ok(Ok(container)) => {
                        let host = container
                            .get_host()
                            .await
                            .map(|h| h.to_string())
                            .unwrap_or_else(|_| "127.0.0.1".into());
                        let Ok(port) = container.get_host_port_ipv4(5432).await else {
                            return skip("testcontainers started PostgreSQL but exposed no port");
                        };
                        (
                            format!("postgres://postgres:postgres@{host}:{port}/postgres"),
                            Some(container),
                        )
                    }
                    Ok(Err(error)) => {
                        return skip(&format!(
                            "no DATABASE_URL and testcontainers failed: {error}"
                        ))
                    }
                    Err(_) => return skip(
                        "no DATABASE_URL and testcontainers did not start PostgreSQL within 60 s",
                    ),
                }
            }
        };
    let Some((user, password, host, port, _)) = parse(&url) else {
        return skip("DATABASE_URL is not a postgres:// URL");
    };
    let admin = match PgPoolOptions::new().max_connections(1).connect(&url).await {
        Ok(pool) => pool,
        Err(error) => return skip(&format!("cannot connect to {host}:{port}: {error}")),
    };
    let dbname = format!("auth_proxy_test_{}", super::rand_suffix());
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {dbname}")))
        .await
        .expect("create test database");
    admin.close().await;
    Some(TestDatabase {
        host,
        port,
        user,
        password,
        dbname,
        admin_url: url,
        _container: container,
    })
}

#[test]
fn urls_are_split() {
    assert_eq!(
        parse("postgres://postgres@127.0.0.1:5433/postgres"),
        Some((
            "postgres".into(),
            "".into(),
            "127.0.0.1".into(),
            5433,
            "postgres".into()
        ))
    );
    assert_eq!(
        parse("postgres://u:p@db/x?sslmode=disable"),
        Some(("u".into(), "p".into(), "db".into(), 5432, "x".into()))
    );
}

//! A fresh PostgreSQL database for one test, found or started the same way
//! everywhere:
//!
//! 1. the server at `DATABASE_URL`, if set;
//! 2. else a server started with testcontainers (within 60 s);
//! 3. else the test is skipped, with the reason printed — unless
//!    `L402_REQUIRE_POSTGRES=1` (as in CI), where skipping is a failure.
//!
//! Every call creates a new, uniquely named database on that server, so tests
//! share no tables or migrations with each other or with other crates. The
//! tests' databases are tiny and never dropped; [`TestDatabase::create`] and
//! [`TestDatabase::drop_database`] serve a program given a server's URL (the
//! benchmark), which removes its database when done.

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::Executor;
use testcontainers::runners::AsyncRunner;
use testcontainers::ContainerAsync;
use testcontainers_modules::postgres::Postgres;

/// The variable that turns a skip into a failure.
pub const REQUIRE_VAR: &str = "L402_REQUIRE_POSTGRES";

/// How long a testcontainers PostgreSQL may take to start.
const CONTAINER_TIMEOUT: Duration = Duration::from_secs(60);

/// One fresh database; the container serving it (if one was started) lives
/// as long as this value.
pub struct TestDatabase {
    url: reqwest::Url,
    dbname: String,
    /// The server's maintenance URL (the one the database was created through).
    admin_url: String,
    _container: Option<ContainerAsync<Postgres>>,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("host", &self.host())
            .field("port", &self.port())
            .field("dbname", &self.dbname)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// `postgres://user:password@host:port/dbname` of this database.
    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// The server's host.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("127.0.0.1").to_owned()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(5432)
    }

    /// The user name.
    pub fn user(&self) -> String {
        self.url.username().to_owned()
    }

    /// The password (empty if none).
    pub fn password(&self) -> String {
        self.url.password().unwrap_or("").to_owned()
    }

    /// The database's name.
    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The auth proxy's `dbbackend: postgres` YAML section for this database, with the tests' small pool.
    pub fn aperture_yaml(&self) -> String {
        aperture_yaml(self.url.as_str(), Some(TEST_MAX_CONNECTIONS))
    }

    /// Creates a database named `<prefix>_<random>` on the server at `admin_url` (a `postgres://` URL
    /// of a user allowed to create databases).
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let dbname = format!("{prefix}_{}", hex::encode(rand::random::<[u8; 8]>()));
        let url = with_database(admin_url, &dbname).context("not a postgres:// URL")?;
        let admin = admin_connection(admin_url).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {dbname}")))
            .await
            .with_context(|| format!("cannot create the database {dbname}"))?;
        admin.close().await;
        Ok(TestDatabase {
            url,
            dbname,
            admin_url: admin_url.to_owned(),
            _container: None,
        })
    }

    /// Drops the database, closing the connections still open to it.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = admin_connection(&self.admin_url).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {} WITH (FORCE)",
                self.dbname
            )))
            .await
            .with_context(|| format!("cannot drop the database {}", self.dbname))?;
        admin.close().await;
        Ok(())
    }

    /// Makes the database refuse every new connection and drops the open ones
    /// (`reachable = false`), or lets connections in again. To a program using
    /// it this looks like a database that went down and came back.
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

/// The connection pool the tests' proxies get (many tests share one server).
pub(crate) const TEST_MAX_CONNECTIONS: u32 = 5;

/// The auth proxy's (Aperture's) `dbbackend: postgres` YAML section for a
/// URL such as `postgres://user:pw@host:port/db`, with a pool of at most
/// `max_connections` (`None`: the proxy's default).
pub fn aperture_yaml(url: &str, max_connections: Option<u32>) -> String {
    let url = reqwest::Url::parse(url).expect("a valid PostgreSQL URL");
    let pool = max_connections.map_or(String::new(), |n| format!("  maxconnections: {n}\n"));
    format!(
        "dbbackend: postgres\npostgres:\n  host: {}\n  port: {}\n  user: {}\n  password: \"{}\"\n  dbname: {}\n{pool}  requiressl: false\n",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432),
        url.username(),
        url.password().unwrap_or(""),
        url.path().trim_start_matches('/'),
    )
}

/// One connection to the server's maintenance database.
async fn admin_connection(admin_url: &str) -> anyhow::Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .with_context(|| {
            let url = reqwest::Url::parse(admin_url).ok();
            let host = url
                .as_ref()
                .and_then(|url| url.host_str().map(str::to_owned));
            let port = url.as_ref().and_then(reqwest::Url::port).unwrap_or(5432);
            format!(
                "cannot connect to {}:{port}",
                host.as_deref().unwrap_or("?")
            )
        })
}

/// Whether `L402_REQUIRE_POSTGRES=1`.
fn required() -> bool {
    std::env::var(REQUIRE_VAR).as_deref() == Ok("1")
}

/// Skips (returns `None`, printing why) or, where PostgreSQL is required, panics.
fn skip<T>(reason: &str) -> Option<T> {
    assert!(
        !required(),
        "PostgreSQL required ({REQUIRE_VAR}=1) but unavailable: {reason}"
    );
    eprintln!("SKIPPED: PostgreSQL test: {reason}");
    None
}

/// A server URL and the container serving it, if one was started.
async fn server() -> Result<(String, Option<ContainerAsync<Postgres>>), String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            return Ok((url, None));
        }
    }
    let container = match tokio::time::timeout(CONTAINER_TIMEOUT, Postgres::default().start()).await
    {
        Ok(Ok(container)) => container,
        Ok(Err(error)) => return Err(format!("no DATABASE_URL and testcontainers failed: {error}")),
        Err(_) => {
            return Err(format!(
                "no DATABASE_URL and testcontainers did not start PostgreSQL within {CONTAINER_TIMEOUT:?}"
            ))
        }
    };
    let host = container
        .get_host()
        .await
        .map(|h| h.to_string())
        .unwrap_or_else(|_| "127.0.0.1".into());
    let port = container.get_host_port_ipv4(5432).await.map_err(|error| {
        format!("testcontainers started PostgreSQL but exposed no port: {error}")
    })?;
    Ok((
        format!("postgres://postgres:postgres@{host}:{port}/postgres"),
        Some(container),
    ))
}

/// `url` with its database replaced by `dbname`.
fn with_database(url: &str, dbname: &str) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return None;
    }
    url.set_path(&format!("/{dbname}"));
    Some(url)
}

/// A fresh database named `<prefix>_<random>`, or `None` when the test is to
/// be skipped (the reason is printed). Panics instead of skipping when
/// `L402_REQUIRE_POSTGRES=1`.
pub async fn fresh_database(prefix: &str) -> Option<TestDatabase> {
    let (admin_url, container) = match server().await {
        Ok(server) => server,
        Err(reason) => return skip(&reason),
    };
    match TestDatabase::create(&admin_url, prefix).await {
        Ok(database) => Some(TestDatabase {
            _container: container,
            ..database
        }),
        Err(error) => skip(&format!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split() {
        let url = with_database("postgres://postgres@127.0.0.1:5433/postgres", "t").unwrap();
        assert_eq!(url.username(), "postgres");
        assert_eq!(url.password(), None);
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.port(), Some(5433));
        assert_eq!(url.path(), "/t");
        let url = with_database("postgres://u:p@db/x?sslmode=disable", "t").unwrap();
        assert_eq!(
            (url.username(), url.password(), url.host_str(), url.port()),
            ("u", Some("p"), Some("db"), None)
        );
        assert_eq!(url.query(), Some("sslmode=disable"));
        assert!(with_database("mysql://u@h/x", "t").is_none());
    }
}

//! Storage of root keys and token records (sqlx, SQLite or PostgreSQL), fronted by an in-memory root-key cache.
//!
//! One set of SQL statements serves both backends through sqlx's `Any` driver (the statements use only `$n`
//! placeholders, `BIGINT`, `TEXT` and byte strings, which both understand); the migrations differ only in the
//! byte-string type, and the insert of a minted token is written for each so that it costs one round trip.
//! Migrations are tracked in `_auth_proxy_migrations` so the proxy can share a database with other programs.
//!
//! Our tables are all named `auth_proxy_*`, and the migrations table `_auth_proxy_migrations`: none collides with
//! Aperture's (`secrets`, `onion`, `lnc_sessions`, `l402_transactions`, `services`, `mpp_sessions`,
//! `mpp_session_credits`, `mpp_consumed_charges`, and golang-migrate's `schema_migrations`).
//!
//! **Coming from Aperture.** Pointed at Aperture's own database (its `aperture.db`, or its PostgreSQL
//! database), the proxy finds Aperture's `secrets` table at start-up (`hash` = sha256(identifier), `secret` = the
//! 32-byte root key) and reads root keys from it on a miss in our own table: a **read-through fallback**, not an
//! import. The proxy never writes to, alters or drops any of Aperture's tables, so the operator can switch back
//! to Aperture at any time with both programs' tokens intact; tokens Aperture mints while both run against the
//! same database (a rolling switch-over) keep working too, which a one-time import taken at start-up would miss;
//! and a secret Aperture deleted (its revocation) is not resurrected by a copy. The price is one more indexed
//! lookup on a miss in our table, only until the key is cached. Such a token needs nothing else from us:
//! admission checks the preimage against the payment hash in the identifier, then the signature with the root
//! key; with `strictverify` the settlement is asked from lnd, which holds the invoice Aperture created. It has no
//! token record here, so it is not listed by the admin API and cannot be revoked through it.
//!
//! Hot path: [`Store::root_key`] answers from the root-key cache (`cache`) when it can, so a verified token costs no
//! database round trip. Revocation deletes the root key, marks the record, evicts the cache entry and — on
//! PostgreSQL — tells every other proxy (see the `revocation` module).

/// Where a token row counts as unpaid: neither settled nor revoked. The partial index
/// `auth_proxy_tokens_unpaid` has this condition word for word, so that both databases' planners use it for
/// the statements that repeat it. (A macro, so that `concat!` can build those statements at compile time.)
macro_rules! unpaid {
    () => {
        "settled_at IS NULL AND revoked_at IS NULL"
    };
}

pub(crate) mod cache;
mod listing;
pub(crate) mod revocation;
mod sweep;

pub use listing::{Cursor, TokenPage, TokenQuery, TokenStatus, DEFAULT_PAGE, MAX_PAGE};

use std::future::Future;
use std::sync::Arc;

use l402::{IdentifierHash, PaymentHash, RootKey, TokenId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::AnyPool;
use sqlx::{Executor, Row};

use crate::config::{DatabaseConfig, PostgresConfig};
use crate::metrics::Metrics;
use cache::{Cached, RootKeyCache};

/// A storage failure (the database is unreachable or refused a statement).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database driver reported an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The task doing the database work ended before it finished (a panic, or the runtime shutting down).
    #[error("database work interrupted: {0}")]
    Interrupted(String),
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value has the wrong shape (corrupted row).
    #[error("corrupt row in {table}: {what}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        what: &'static str,
    },
}

/// A token as recorded at mint time, plus what happened to it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Hex token id (what Loop shows as the token `id`).
    pub token_id: String,
    /// Hex payment hash of the invoice.
    pub payment_hash: String,
    /// The service the token was minted for.
    pub service: String,
    /// The invoice amount.
    pub price_sat: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds when our lnd reported the invoice settled, if seen.
    pub settled_at: Option<i64>,
    /// Unix seconds when the token was revoked.
    pub revoked_at: Option<i64>,
}

/// Everything stored for a freshly minted token, and the answer to a root-key lookup: l402-server's.
pub use l402_server::{NewRootKey as NewToken, RootKeyLookup};

/// Which SQL dialect the pool speaks (the migrations and the insert of a minted token differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The token store shared by every request.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    cache: Arc<RootKeyCache>,
    metrics: Metrics,
    /// Aperture's `secrets` table is in this database: root keys we do not hold are looked up there.
    aperture_secrets: bool,
    /// The runtime that opened the store, where the requests' database work runs ([`Store::on_own_runtime`]).
    runtime: tokio::runtime::Handle,
}

/// The PostgreSQL connection URL (contains the password: never log it).
pub(crate) fn postgres_url(pg: &PostgresConfig) -> String {
    let encode = |text: &str| {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "postgres://{}:{}@{}:{}/{}?sslmode={}",
        encode(&pg.user),
        encode(pg.password.expose()),
        pg.host,
        pg.port,
        encode(&pg.dbname),
        if pg.require_ssl { "require" } else { "disable" },
    )
}

/// A minted token on SQLite: both rows in one transaction, sent as one batch (one hop to sqlx's SQLite
/// thread instead of one for each of `BEGIN`, the two inserts and `COMMIT`, which made up most of a mint's
/// cost). The numbered parameters are shared by the statements.
const INSERT_TOKEN_SQLITE: &str = "BEGIN; \
     INSERT INTO auth_proxy_root_keys (identifier_hash, root_key, created_at) VALUES ($1, $2, $6); \
     INSERT INTO auth_proxy_tokens (token_id, identifier_hash, payment_hash, service, price_sat, created_at) \
     VALUES ($3, $1, $4, $5, $7, $6); \
     COMMIT;";

/// A minted token on PostgreSQL: both rows in one statement (a data-modifying `WITH`), which is atomic on
/// its own and costs one round trip instead of four.
const INSERT_TOKEN_POSTGRES: &str = "WITH root_key AS ( \
     INSERT INTO auth_proxy_root_keys (identifier_hash, root_key, created_at) VALUES ($1, $2, $6)) \
     INSERT INTO auth_proxy_tokens (token_id, identifier_hash, payment_hash, service, price_sat, created_at) \
     VALUES ($3, $1, $4, $5, $7, $6)";

/// How long a request waits for a database connection before the store is reported unavailable: short
/// enough that a client gets its 503 within 5 s of asking, the rest of the request included.
const DATABASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl Store {
    /// Connects, migrates (unless told not to) and returns the store. SQLite files are created if missing.
    pub async fn connect(config: &DatabaseConfig, metrics: Metrics) -> Result<Store, StoreError> {
        let (url, backend, max_connections, skip) = match config {
            DatabaseConfig::Sqlite {
                path,
                skip_migrations,
            } => (
                service_kit::db::sqlite_url(path),
                Backend::Sqlite,
                4,
                *skip_migrations,
            ),
            DatabaseConfig::Postgres(pg) => (
                postgres_url(pg),
                Backend::Postgres,
                pg.max_connections,
                pg.skip_migrations,
            ),
        };
        // sqlx retries a refused connection until the acquire timeout: keep it short so a request
        // answers 503 promptly when the database is gone, instead of hanging for sqlx's default 30 s.
        let pool = service_kit::db::connect_any(&url, max_connections, DATABASE_TIMEOUT).await?;
        if !skip {
            // Held until the migrations are applied, so that proxies started together take turns.
            let _turn = service_kit::db::lock_migrations(&url)
                .await
                .map_err(sqlx::Error::from)?;
            let mut migrator = match backend {
                Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
                Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
            };
            migrator.dangerous_set_table_name("_auth_proxy_migrations");
            migrator.run(&pool).await?;
        }
        let aperture_secrets = has_aperture_secrets(&pool, backend).await?;
        if aperture_secrets {
            tracing::info!(
                "Aperture's `secrets` table found: tokens Aperture minted are accepted (read-only)"
            );
        }
        Ok(Store {
            pool,
            backend,
            cache: Arc::new(RootKeyCache::default()),
            metrics,
            aperture_secrets,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Runs `work` in a task of its own on the runtime that opened the store, whichever thread asks. The
    /// serving workers each run a runtime of their own ([`crate::workers`]); a PostgreSQL connection
    /// belongs to the runtime it was opened on, and the pool's connections are shared by all of them. The
    /// task also finishes the work if the request that asked for it goes away.
    async fn on_own_runtime<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.runtime
            .spawn(work)
            .await
            .map_err(|e| StoreError::Interrupted(e.to_string()))?
    }

    /// Whether root keys missing from our table are also looked up in Aperture's `secrets` table.
    pub fn reads_aperture_secrets(&self) -> bool {
        self.aperture_secrets
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn cache(&self) -> &Arc<RootKeyCache> {
        &self.cache
    }

    /// Stores a minted token's root key and record (atomically, in one round trip to the database: see
    /// [`INSERT_TOKEN_SQLITE`] and [`INSERT_TOKEN_POSTGRES`]) and caches the key.
    pub async fn insert(&self, token: &NewToken) -> Result<(), StoreError> {
        let now = service_kit::clock::now_unix() as i64;
        let statement = match self.backend {
            Backend::Sqlite => INSERT_TOKEN_SQLITE,
            Backend::Postgres => INSERT_TOKEN_POSTGRES,
        };
        let query = sqlx::query(statement)
            .bind(token.identifier_hash.as_bytes().to_vec())
            .bind(token.root_key.as_bytes().to_vec())
            .bind(token.token_id.to_hex())
            .bind(token.payment_hash.to_hex())
            .bind(token.service.clone())
            .bind(now)
            .bind(token.price_sat);
        let (pool, backend) = (self.pool.clone(), self.backend);
        // A task of its own, so that a client that goes away cannot stop the batch between its `BEGIN`
        // and its `COMMIT` (that would leave the connection in a transaction, holding SQLite's write lock).
        self.on_own_runtime(async move {
            let mut connection = pool.acquire().await?;
            let result = query.execute(&mut *connection).await;
            // SQLite stops a batch at the failing statement, inside the transaction it began: end it, and
            // if even that fails, do not give the connection back to the pool in that state.
            if result.is_err()
                && backend == Backend::Sqlite
                && connection.execute("ROLLBACK").await.is_err()
            {
                connection.close_on_drop();
            }
            result.map(drop).map_err(StoreError::from)
        })
        .await?;
        self.cache
            .put(token.identifier_hash, Cached::Key(token.root_key.clone()));
        Ok(())
    }

    /// The root key for a token: from the cache when possible, else from the database (then cached).
    pub async fn root_key(
        &self,
        identifier_hash: &IdentifierHash,
    ) -> Result<RootKeyLookup, StoreError> {
        if let Some(cached) = self.cache.get(identifier_hash) {
            self.metrics.cache_lookup(true);
            return Ok(match cached {
                Cached::Key(key) => RootKeyLookup::Found(key),
                Cached::Revoked => RootKeyLookup::Revoked,
            });
        }
        self.metrics.cache_lookup(false);
        let (store, identifier_hash) = (self.clone(), *identifier_hash);
        // Boxed: the database reads' state would otherwise be carried, unused, in the future of every
        // request (they are the rare case), and that future is copied whenever a request starts.
        Box::pin(
            self.on_own_runtime(
                async move { store.root_key_from_database(&identifier_hash).await },
            ),
        )
        .await
    }

    /// [`Store::root_key`] on a cache miss: our table, then revocation records, then Aperture's `secrets`.
    async fn root_key_from_database(
        &self,
        identifier_hash: &IdentifierHash,
    ) -> Result<RootKeyLookup, StoreError> {
        let generation = self.cache.generation();
        let hash = identifier_hash.as_bytes().to_vec();
        let row =
            sqlx::query("SELECT root_key FROM auth_proxy_root_keys WHERE identifier_hash = $1")
                .bind(hash.clone())
                .fetch_optional(&self.pool)
                .await?;
        if let Some(row) = row {
            let bytes: Vec<u8> = row.try_get(0)?;
            let key = RootKey::from_slice(&bytes).map_err(|_| StoreError::Corrupt {
                table: "auth_proxy_root_keys",
                what: "root key length",
            })?;
            // A revocation that arrived while we were reading bumps the generation; then do not cache.
            self.cache
                .put_if_generation(*identifier_hash, Cached::Key(key.clone()), generation);
            return Ok(RootKeyLookup::Found(key));
        }
        let revoked =
            sqlx::query("SELECT revoked_at FROM auth_proxy_tokens WHERE identifier_hash = $1")
                .bind(hash.clone())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get::<Option<i64>, _>(0))
                .transpose()?
                .flatten()
                .is_some();
        if revoked {
            self.cache.put(*identifier_hash, Cached::Revoked);
            return Ok(RootKeyLookup::Revoked);
        }
        if self.aperture_secrets {
            let row = sqlx::query("SELECT secret FROM secrets WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                let bytes: Vec<u8> = row.try_get(0)?;
                let key = RootKey::from_slice(&bytes).map_err(|_| StoreError::Corrupt {
                    table: "secrets",
                    what: "root key length",
                })?;
                self.cache.put_if_generation(
                    *identifier_hash,
                    Cached::Key(key.clone()),
                    generation,
                );
                return Ok(RootKeyLookup::Found(key));
            }
        }
        Ok(RootKeyLookup::Unknown)
    }

    /// Revokes a token: deletes its root key, marks the record and evicts it here. Returns `false` when no
    /// token with this id exists or it was already revoked. Other proxies learn of it through the `revocation` module.
    pub async fn revoke(&self, token_id: &TokenId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE auth_proxy_tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL \
             RETURNING identifier_hash",
        )
        .bind(service_kit::clock::now_unix() as i64)
        .bind(token_id.to_hex())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let bytes: Vec<u8> = row.try_get(0)?;
        let identifier_hash =
            IdentifierHash::from_slice(&bytes).map_err(|_| StoreError::Corrupt {
                table: "auth_proxy_tokens",
                what: "identifier hash length",
            })?;
        sqlx::query("DELETE FROM auth_proxy_root_keys WHERE identifier_hash = $1")
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        if self.backend == Backend::Postgres {
            // Delivered to every listening proxy when (and only if) the transaction commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(revocation::CHANNEL)
                .bind(identifier_hash.to_hex())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.cache.revoke(identifier_hash);
        Ok(true)
    }

    /// Records that our lnd settled the invoice with this payment hash.
    pub async fn mark_settled(
        &self,
        payment_hash: &PaymentHash,
        settle_index: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE auth_proxy_tokens SET settled_at = $1 WHERE payment_hash = $2 AND settled_at IS NULL")
            .bind(service_kit::clock::now_unix() as i64)
            .bind(payment_hash.to_hex())
            .execute(&mut *tx)
            .await?;
        if settle_index > 0 {
            sqlx::query(
                "INSERT INTO auth_proxy_invoice_cursor (id, settle_index) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET settle_index = excluded.settle_index \
                 WHERE auth_proxy_invoice_cursor.settle_index < excluded.settle_index",
            )
            .bind(settle_index as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether any proxy sharing this database recorded the invoice as settled.
    pub async fn is_settled(&self, payment_hash: &PaymentHash) -> Result<bool, StoreError> {
        let query = sqlx::query("SELECT settled_at FROM auth_proxy_tokens WHERE payment_hash = $1 AND settled_at IS NOT NULL")
            .bind(payment_hash.to_hex());
        let pool = self.pool.clone();
        self.on_own_runtime(async move { Ok(query.fetch_optional(&pool).await?.is_some()) })
            .await
    }

    /// The last settle index read from lnd (0 if none), to resume the invoice subscription after a restart.
    pub async fn settle_index(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT settle_index FROM auth_proxy_invoice_cursor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .unwrap_or(0)
            .max(0) as u64)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether Aperture's `secrets` table exists in this database (in PostgreSQL: in the current schema).
async fn has_aperture_secrets(pool: &AnyPool, backend: Backend) -> Result<bool, StoreError> {
    let query = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'secrets'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'secrets'"
        }
    };
    let count: i64 = sqlx::query(query).fetch_one(pool).await?.try_get(0)?;
    Ok(count > 0)
}

fn record(row: &AnyRow) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        token_id: row.try_get(0)?,
        payment_hash: row.try_get(1)?,
        service: row.try_get(2)?,
        price_sat: row.try_get(3)?,
        created_at: row.try_get(4)?,
        settled_at: row.try_get(5)?,
        revoked_at: row.try_get(6)?,
    })
}

/// The proxy's database as l402-server's root-key store (what [`l402_server::issue`] writes to).
impl l402_server::RootKeyStore for Store {
    async fn insert(&self, token: &NewToken) -> Result<(), l402_server::StoreError> {
        Store::insert(self, token)
            .await
            .map_err(l402_server::StoreError::new)
    }

    async fn root_key(
        &self,
        hash: &IdentifierHash,
    ) -> Result<RootKeyLookup, l402_server::StoreError> {
        Store::root_key(self, hash)
            .await
            .map_err(l402_server::StoreError::new)
    }

    async fn revoke(&self, token_id: &TokenId) -> Result<bool, l402_server::StoreError> {
        Store::revoke(self, token_id)
            .await
            .map_err(l402_server::StoreError::new)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn url_components_are_escaped() {
        let pg = PostgresConfig {
            host: "db.example".into(),
            port: 5432,
            user: "us er".into(),
            password: crate::config::Secret::new("p@ss:w/rd"),
            dbname: "db".into(),
            max_connections: 1,
            require_ssl: false,
            skip_migrations: false,
        };
        let url = postgres_url(&pg);
        assert!(
            url.starts_with("postgres://us%20er:p%40ss%3Aw%2Frd@"),
            "{url}"
        );
        assert_eq!(
            service_kit::db::sqlite_url("/tmp/a b/x.db".as_ref()),
            "sqlite:///tmp/a%20b/x.db?mode=rwc"
        );
    }

    /// A store on a fresh SQLite file (kept alive by the returned directory).
    pub(crate) async fn sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let config = DatabaseConfig::Sqlite {
            path: dir.path().join("sub dir/test.db"),
            skip_migrations: false,
        };
        (Store::connect(&config, Metrics::new()).await.unwrap(), dir)
    }

    /// Proxies started together on one fresh SQLite file (the benchmark's `--baseline`, an operator's
    /// second instance) take turns to migrate it: none fails on a migration another has just applied.
    #[tokio::test]
    async fn proxies_starting_together_on_one_sqlite_file_all_migrate_it() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let config = DatabaseConfig::Sqlite {
                path: dir.path().join("shared.db"),
                skip_migrations: false,
            };
            let starts = (0..4).map(|_| Store::connect(&config, Metrics::new()));
            for started in futures::future::join_all(starts).await {
                started.unwrap();
            }
        }
    }

    /// A store on a fresh PostgreSQL database (dropped with the returned guard), or `None` when the
    /// PostgreSQL tests are skipped.
    pub(crate) async fn postgres_store() -> Option<(Store, testkit::TestDatabase)> {
        let db = testkit::fresh_database("auth_proxy_store").await?;
        let config = DatabaseConfig::Postgres(PostgresConfig {
            host: db.host(),
            port: db.port(),
            user: db.user(),
            password: crate::config::Secret::new(db.password()),
            dbname: db.dbname().to_owned(),
            max_connections: 4,
            require_ssl: false,
            skip_migrations: false,
        });
        let store = Store::connect(&config, Metrics::new()).await.unwrap();
        Some((store, db))
    }

    /// Makes the async check `$check(&Store)` two tests, `$check::on_sqlite` on a fresh SQLite file and
    /// `$check::on_postgres` on a fresh PostgreSQL database (skipped without a server, as [`postgres_store`]).
    macro_rules! on_both_databases {
        ($check:ident) => {
            mod $check {
                #[tokio::test]
                async fn on_sqlite() {
                    let (store, _dir) = $crate::store::tests::sqlite_store().await;
                    super::$check(&store).await;
                }

                #[tokio::test]
                async fn on_postgres() {
                    let Some((store, _db)) = $crate::store::tests::postgres_store().await else {
                        return;
                    };
                    super::$check(&store).await;
                }
            }
        };
    }
    pub(crate) use on_both_databases;

    /// Another store on the same database with an empty cache: what it finds comes from the database.
    fn uncached(store: &Store) -> Store {
        Store {
            cache: Arc::new(RootKeyCache::default()),
            ..store.clone()
        }
    }

    fn token(n: u8) -> NewToken {
        NewToken {
            identifier_hash: IdentifierHash::from_bytes([n; 32]),
            root_key: RootKey::from_bytes([n + 100; 32]),
            token_id: TokenId::from_bytes([n; 32]),
            payment_hash: PaymentHash::from_bytes([n + 50; 32]),
            service: "svc".into(),
            price_sat: 21,
        }
    }

    /// A failed insert stores no half of a token and leaves every pooled connection usable.
    async fn a_failed_insert_leaves_nothing_behind(store: &Store) {
        store.insert(&token(1)).await.unwrap();
        // A new identifier hash but the same token id: the root key's row goes in, the record's fails.
        let clash = NewToken {
            identifier_hash: IdentifierHash::from_bytes([7; 32]),
            ..token(1)
        };
        // More failures than the pool has connections: each one must have been cleaned up.
        for _ in 0..8 {
            assert!(store.insert(&clash).await.is_err());
        }
        let fresh = uncached(store);
        assert!(
            matches!(
                fresh.root_key(&clash.identifier_hash).await.unwrap(),
                RootKeyLookup::Unknown
            ),
            "the root key of a token whose record failed was kept"
        );
        for n in 2..10 {
            store.insert(&token(n)).await.unwrap();
        }
        let records = store.tokens(&TokenQuery::default()).await.unwrap().tokens;
        assert_eq!(records.len(), 9);
    }

    #[tokio::test]
    async fn an_insert_whose_request_goes_away_is_still_written_whole() {
        let (store, _dir) = sqlite_store().await;
        let first = token(1);
        let mut cancelled = Box::pin(store.insert(&first));
        // Started (the batch is on its way to the database), then dropped, as when a client disconnects.
        assert!(futures::poll!(cancelled.as_mut()).is_pending());
        drop(cancelled);
        // No connection was left inside the batch's transaction: every later insert works.
        for n in 2..10 {
            store.insert(&token(n)).await.unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let fresh = uncached(&store);
        loop {
            let records = store.tokens(&TokenQuery::default()).await.unwrap().tokens;
            if records.len() == 9 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the cancelled token never arrived: {records:?}"
            );
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            fresh.root_key(&first.identifier_hash).await.unwrap(),
            RootKeyLookup::Found(_)
        ));
    }

    on_both_databases!(a_failed_insert_leaves_nothing_behind);

    #[tokio::test]
    async fn tokens_round_trip_and_revocation_removes_the_root_key() {
        let (store, _dir) = sqlite_store().await;
        let t = token(1);
        store.insert(&t).await.unwrap();
        // A second store on the same file has an empty cache: the key comes from the database.
        let fresh = uncached(&store);
        assert!(
            matches!(fresh.root_key(&t.identifier_hash).await.unwrap(), RootKeyLookup::Found(k) if k == t.root_key)
        );
        assert!(matches!(
            store
                .root_key(&IdentifierHash::from_bytes([9; 32]))
                .await
                .unwrap(),
            RootKeyLookup::Unknown
        ));
        let records = store.tokens(&TokenQuery::default()).await.unwrap().tokens;
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].token_id.as_str(), records[0].price_sat),
            (t.token_id.to_hex().as_str(), 21)
        );

        assert!(store.revoke(&t.token_id).await.unwrap());
        assert!(
            !store.revoke(&t.token_id).await.unwrap(),
            "second revocation is a no-op"
        );
        assert!(matches!(
            store.root_key(&t.identifier_hash).await.unwrap(),
            RootKeyLookup::Revoked
        ));
        let fresh = uncached(&store);
        assert!(matches!(
            fresh.root_key(&t.identifier_hash).await.unwrap(),
            RootKeyLookup::Revoked
        ));
        assert!(
            store.tokens(&TokenQuery::default()).await.unwrap().tokens[0]
                .revoked_at
                .is_some()
        );
    }

    #[tokio::test]
    async fn settlements_and_the_settle_index_are_recorded() {
        let (store, _dir) = sqlite_store().await;
        let t = token(2);
        store.insert(&t).await.unwrap();
        assert!(!store.is_settled(&t.payment_hash).await.unwrap());
        assert_eq!(store.settle_index().await.unwrap(), 0);
        store.mark_settled(&t.payment_hash, 7).await.unwrap();
        store
            .mark_settled(&PaymentHash::from_bytes([0; 32]), 5)
            .await
            .unwrap();
        assert!(store.is_settled(&t.payment_hash).await.unwrap());
        assert_eq!(
            store.settle_index().await.unwrap(),
            7,
            "the index never goes back"
        );
        assert!(
            store.tokens(&TokenQuery::default()).await.unwrap().tokens[0]
                .settled_at
                .is_some()
        );
    }
}

//! Database pools as every program of the workspace opens them.
//!
//! A URL is `postgres://…`, `sqlite://<path>` / `sqlite:<path>`, `sqlite::memory:`, or a bare path (a
//! SQLite file). SQLite files are private (0600 in a 0700 directory, created before SQLite first opens
//! them, so its `-wal` and `-shm` files inherit the mode) and run in WAL mode with
//! `synchronous=NORMAL` and a busy timeout: readers never block the writer, and a writer waits for
//! another instead of failing at once.
//!
//! Programs that migrate a database take turns ([`lock_migrations`]): sqlx serialises migrations with an
//! advisory lock on PostgreSQL, but not on SQLite, where two processes migrating one file at once both find
//! a migration pending and the second fails on the first's row in the migrations table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::files;

/// How long SQLite waits for another writer's lock before an insert fails.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pragmas every SQLite connection runs first.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;";

/// A URL sqlx accepts: a bare path becomes a SQLite file, and SQLite files are created when missing.
pub fn normalize_url(url: &str) -> String {
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && url.contains("://") {
        return url.to_owned();
    }
    let url = if is_sqlite {
        url.to_owned()
    } else {
        format!("sqlite://{url}")
    };
    if url.contains(":memory:") || url.contains("mode=") {
        url
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The file of a SQLite URL (percent-decoded, as sqlx reads it); `None` for an in-memory or non-SQLite
/// database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    Some(PathBuf::from(decoded.as_ref()))
}

/// The `sqlite://` URL of the file at `path`, percent-encoded as sqlx decodes it.
pub fn sqlite_url(path: &Path) -> String {
    const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let path = path.to_string_lossy();
    let encoded = percent_encoding::utf8_percent_encode(&path, PATH_SEGMENT);
    format!("sqlite://{encoded}?mode=rwc")
}

/// Creates a SQLite database file privately (0600, directory 0700) if it is missing, and warns when an
/// existing one is readable by others.
pub fn prepare_sqlite_file(path: &Path) -> Result<(), files::FileError> {
    files::touch_private(path)?;
    files::warn_if_exposed(path);
    Ok(())
}

impl From<files::FileError> for sqlx::Error {
    /// An I/O error whose message keeps the file's name: "permission denied" alone does not say where.
    fn from(error: files::FileError) -> Self {
        sqlx::Error::Io(std::io::Error::new(error.source.kind(), error.to_string()))
    }
}

/// A pool for `url` (see [`normalize_url`]) of at most `max_connections`, whose callers wait at most
/// `acquire_timeout` for a connection. An in-memory SQLite database gets exactly one connection, since
/// every connection to `:memory:` is a database of its own.
pub async fn connect_any(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let url = normalize_url(url);
    if let Some(path) = sqlite_file(&url) {
        let path = path.as_path();
        prepare_sqlite_file(path)?;
    }
    let options: AnyConnectOptions = url.parse()?;
    let mut pool = AnyPoolOptions::new().acquire_timeout(acquire_timeout);
    if url.starts_with("sqlite:") {
        // A SQLite connection is a file opened in this process: it cannot go stale the way a network
        // connection can, so the check before each use (a hop to sqlx's SQLite thread and back) is skipped.
        pool = pool
            .test_before_acquire(false)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            });
    }
    pool = if url.contains(":memory:") {
        pool.max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        pool.max_connections(max_connections)
    };
    pool.connect_with(options).await
}

/// The right to migrate a SQLite database, held until dropped (see [`lock_migrations`]).
#[derive(Debug)]
pub struct MigrationTurn {
    _lock: std::fs::File,
}

/// Waits for this process's turn to migrate the database at `url`, and holds it until the returned value is
/// dropped. For a SQLite file this is an exclusive lock on `<file>.migrate-lock`, a file created 0600 beside
/// the database and left there (removing it would let a waiting process lock a file a newcomer no longer
/// sees); `None` for PostgreSQL, whose migrations sqlx already serialises, and for an in-memory database.
pub async fn lock_migrations(url: &str) -> Result<Option<MigrationTurn>, files::FileError> {
    let Some(database) = sqlite_file(&normalize_url(url)) else {
        return Ok(None);
    };
    let mut name = database.into_os_string();
    name.push(".migrate-lock");
    let path = PathBuf::from(name);
    let lock = files::open_private(&path)?;
    // Blocks until the process migrating now is done: off the runtime's threads.
    let locked = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .unwrap_or_else(|joined| Err(std::io::Error::other(joined.to_string())));
    let lock = locked.map_err(files::FileError::at(&path))?;
    Ok(Some(MigrationTurn { _lock: lock }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(normalize_url("swaps.db"), "sqlite://swaps.db?mode=rwc");
        assert_eq!(
            normalize_url("sqlite://a.db?x=1"),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(
            normalize_url("sqlite:///tmp/x.db"),
            "sqlite:///tmp/x.db?mode=rwc"
        );
        assert_eq!(
            normalize_url("sqlite://x.db?mode=ro"),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(normalize_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(normalize_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            sqlite_file("sqlite://dir/a.db?mode=rwc"),
            Some("dir/a.db".into())
        );
        let spaced = Path::new("/tmp/my dir/ä.db");
        assert_eq!(sqlite_file(&sqlite_url(spaced)).as_deref(), Some(spaced));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[tokio::test]
    async fn a_sqlite_file_is_migrated_by_one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir.path().join("store.db"));
        let turn = lock_migrations(&url).await.unwrap();
        assert!(turn.is_some());
        let lock_file = dir.path().join("store.db.migrate-lock");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&lock_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another process (another open file) cannot take the turn until it is given back.
        let other = std::fs::File::open(&lock_file).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(turn);
        other.try_lock().unwrap();
        // Nothing to take turns on for PostgreSQL (sqlx locks it) or an in-memory database.
        assert!(lock_migrations("postgres://u@h/db")
            .await
            .unwrap()
            .is_none());
        assert!(lock_migrations("sqlite::memory:").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn sqlite_files_are_private_and_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/store.db");
        let pool = connect_any(&path.to_string_lossy(), 2, Duration::from_secs(5))
            .await
            .unwrap();
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in ["store.db", "store.db-wal", "store.db-shm"] {
                let path = dir.path().join("data").join(file);
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{file}");
            }
            let dir_mode = std::fs::metadata(dir.path().join("data"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        pool.close().await;
    }
}

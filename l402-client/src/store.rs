//! The token store: Loop's `l402.token` / `l402.token.pending` files.
//!
//! Layout and names are Loop's (see PROTOCOL.md, "Client token store"), so a
//! data directory can be shared with Loop in both directions:
//! - `l402.token` holds the paid token, `l402.token.pending` a token whose
//!   payment is (or was) in flight (preimage all zero);
//! - Loop's older `lsat.token[.pending]` files are renamed on open, as Loop does.
//!
//! What we do differently (fixes of Loop's known flaws):
//! - every write is atomic: temporary file, `fsync`, `rename`, `fsync` of the
//!   directory, with mode 0600 from creation — a crash never leaves half a token;
//! - a paid token the server rejects can be evicted: it is renamed to
//!   `l402.token.rejected-<unix nanos>` (kept for the user, listed by
//!   `loop listauth` as expired) instead of blocking every later call.
//!
//! The store does no locking of its own: the [`L402Client`](crate::L402Client)
//! serialises every write behind its acquisition lock; reads are safe at any
//! time because files are only ever replaced by `rename`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use l402::Token;

/// File name of the paid token (Loop's).
pub const TOKEN_FILE: &str = "l402.token";
/// File name of the pending token (Loop's).
pub const PENDING_FILE: &str = "l402.token.pending";
/// Prefix of evicted (rejected) tokens kept as backups.
pub const REJECTED_PREFIX: &str = "l402.token.rejected-";

/// Loop's legacy names, renamed on open.
const LEGACY_RENAMES: [(&str, &str); 2] = [
    ("lsat.token", TOKEN_FILE),
    ("lsat.token.pending", PENDING_FILE),
];

/// Why the store could not read or write a token.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("token store: {action} {path}: {source}")]
    Io {
        /// What was being done ("write", "read", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A token file exists but does not hold a token in Loop's layout.
    #[error("token store: {path} is not a valid token file: {reason}")]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A paid token was stored as pending or the other way round.
    #[error("token store: {0}")]
    WrongKind(&'static str),
}

/// One token file and what it holds.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// The file the token was read from.
    pub path: PathBuf,
    /// The token.
    pub token: Token,
    /// `true` for a token the server rejected and we evicted.
    pub rejected: bool,
}

/// Loop's token files in one directory.
#[derive(Debug, Clone)]
pub struct TokenStore {
    dir: PathBuf,
    paid: PathBuf,
    pending: PathBuf,
}

impl TokenStore {
    /// Opens (creating with mode 0700 if needed) the store in `dir`, renaming
    /// Loop's legacy `lsat.token*` files as Loop does.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io("create directory", &dir))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .map_err(io("set permissions of", &dir))?;
        }
        for (old, new) in LEGACY_RENAMES {
            let (old, new) = (dir.join(old), dir.join(new));
            if old.exists() && !new.exists() {
                fs::rename(&old, &new).map_err(io("rename", &old))?;
            }
        }
        Ok(Self {
            paid: dir.join(TOKEN_FILE),
            pending: dir.join(PENDING_FILE),
            dir,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of `l402.token`.
    pub fn paid_path(&self) -> &Path {
        &self.paid
    }

    /// Path of `l402.token.pending`.
    pub fn pending_path(&self) -> &Path {
        &self.pending
    }

    /// The paid token, if there is one.
    pub fn paid_token(&self) -> Result<Option<Token>, StoreError> {
        read_token(&self.paid)
    }

    /// The pending token, if there is one.
    pub fn pending_token(&self) -> Result<Option<Token>, StoreError> {
        read_token(&self.pending)
    }

    /// Writes `token` (which must not hold a preimage yet) as the pending token.
    pub fn store_pending(&self, token: &Token) -> Result<(), StoreError> {
        if token.preimage.is_some() {
            return Err(StoreError::WrongKind(
                "a paid token cannot be stored as pending",
            ));
        }
        write_atomic(&self.dir, &self.pending, &token.encode())
    }

    /// Writes `token` (which must hold its preimage) as the paid token, then
    /// removes the pending token of the same payment, if any.
    pub fn store_paid(&self, token: &Token) -> Result<(), StoreError> {
        if token.preimage.is_none() {
            return Err(StoreError::WrongKind(
                "a token without preimage cannot be stored as paid",
            ));
        }
        write_atomic(&self.dir, &self.paid, &token.encode())?;
        if let Some(pending) = self.pending_token()? {
            if pending.payment_hash == token.payment_hash {
                self.remove_pending()?;
            }
        }
        Ok(())
    }

    /// Removes the pending token (no error if there is none).
    pub fn remove_pending(&self) -> Result<(), StoreError> {
        remove_file(&self.pending)?;
        sync_dir(&self.dir)
    }

    /// Moves the paid token aside as `l402.token.rejected-<unix nanos>` and
    /// returns that path (`None` if there was no paid token).
    pub fn evict_paid(&self) -> Result<Option<PathBuf>, StoreError> {
        if !self.paid.exists() {
            return Ok(None);
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let backup = self.dir.join(format!("{REJECTED_PREFIX}{nanos}"));
        fs::rename(&self.paid, &backup).map_err(io("rename", &self.paid))?;
        sync_dir(&self.dir)?;
        Ok(Some(backup))
    }

    /// Every token file in the directory (`l402.token*`, as Loop lists them),
    /// sorted by file name.
    pub fn all_tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(io("list", &self.dir))?;
        let mut tokens = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("list", &self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(TOKEN_FILE) {
                continue;
            }
            let path = entry.path();
            if let Some(token) = read_token(&path)? {
                tokens.push(StoredToken {
                    rejected: name.starts_with(REJECTED_PREFIX),
                    path,
                    token,
                });
            }
        }
        tokens.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(tokens)
    }
}

/// Reads and decodes a token file; `None` if it does not exist.
fn read_token(path: &Path) -> Result<Option<Token>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    Token::decode(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Replaces `path` with `bytes` atomically: a crash leaves the old or the new
/// content, never a mix, and the file is never readable by others.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("token");
    // A leading dot keeps the temporary file out of `l402.token*` listings.
    let tmp = dir.join(format!(".{name}.tmp-{:016x}", rand::random::<u64>()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io("create", &tmp))?;
        file.write_all(bytes).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io("rename", &tmp))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn remove_file(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("remove", path)(e)),
    }
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync", dir))
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

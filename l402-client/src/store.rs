//! The token store: Loop's `l402.token` / `l402.token.pending` files.
//!
//! Layout and names are Loop's (see docs/PROTOCOL.md, section 8, "The client's token files"), so a
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
//!   `loop listauth` as expired) instead of blocking every later call;
//! - a token file that does not decode is moved aside as
//!   `<name>.corrupt-<unix nanos>` and logged once, instead of stopping loopd
//!   at start or failing every call. A corrupt *pending* token may stand for a
//!   payment already sent whose hash can no longer be read, so while its backup
//!   is there [`TokenStore::corrupt_pending`] names it and the client buys no
//!   new token: the operator checks lnd's payments and deletes the file.
//!
//! The store does no locking of its own: the [`L402Client`](crate::L402Client)
//! serialises every write behind its acquisition lock; reads are safe at any
//! time because files are only ever replaced by `rename`.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use l402::Token;
use tracing::warn;

/// File name of the paid token (Loop's).
pub const TOKEN_FILE: &str = "l402.token";
/// File name of the pending token (Loop's).
pub const PENDING_FILE: &str = "l402.token.pending";
/// Prefix of evicted (rejected) tokens kept as backups.
pub const REJECTED_PREFIX: &str = "l402.token.rejected-";
/// What is appended to a token file's name when it is moved aside as corrupt.
pub const CORRUPT_INFIX: &str = ".corrupt-";

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
        let store = Self {
            paid: dir.join(TOKEN_FILE),
            pending: dir.join(PENDING_FILE),
            dir,
        };
        service_kit::files::warn_if_exposed(&store.dir);
        for file in [&store.paid, &store.pending] {
            service_kit::files::warn_if_exposed(file);
        }
        store.paid_token()?;
        store.pending_token()?;
        Ok(store)
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

    /// The paid token, if there is one; a corrupt file is moved aside and reads as none.
    pub fn paid_token(&self) -> Result<Option<Token>, StoreError> {
        self.read_or_quarantine(&self.paid)
    }

    /// The pending token, if there is one; a corrupt file is moved aside and reads as none
    /// (see [`TokenStore::corrupt_pending`]).
    pub fn pending_token(&self) -> Result<Option<Token>, StoreError> {
        self.read_or_quarantine(&self.pending)
    }

    /// The backup of a corrupt pending token, if one is there: its payment may have been sent, so no
    /// new token may be bought until the operator has checked and deleted it.
    pub fn corrupt_pending(&self) -> Result<Option<PathBuf>, StoreError> {
        let prefix = format!("{PENDING_FILE}{CORRUPT_INFIX}");
        Ok(self
            .file_names()?
            .into_iter()
            .filter(|name| name.starts_with(&prefix))
            .min()
            .map(|name| self.dir.join(name)))
    }

    /// The backups of every token file found corrupt, sorted by name.
    pub fn corrupt_files(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut names: Vec<String> = self
            .file_names()?
            .into_iter()
            .filter(|name| name.contains(CORRUPT_INFIX))
            .collect();
        names.sort();
        Ok(names.into_iter().map(|name| self.dir.join(name)).collect())
    }

    /// Reads a token file; one that does not decode is renamed `<name>.corrupt-<nanos>`, logged, and
    /// reads as absent.
    fn read_or_quarantine(&self, path: &Path) -> Result<Option<Token>, StoreError> {
        match read_token(path) {
            Err(StoreError::Corrupt { reason, .. }) => {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(TOKEN_FILE);
                let backup = self.dir.join(format!(
                    "{name}{CORRUPT_INFIX}{}",
                    service_kit::clock::now_unix_nanos()
                ));
                fs::rename(path, &backup).map_err(io("rename", path))?;
                sync_dir(&self.dir)?;
                warn!(
                    file = %path.display(),
                    moved_to = %backup.display(),
                    %reason,
                    "token file is corrupt; moved aside"
                );
                Ok(None)
            }
            other => other,
        }
    }

    /// The names of the files in the store's directory that are Loop token files (`l402.token*`).
    fn file_names(&self) -> Result<Vec<String>, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(io("list", &self.dir))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("list", &self.dir))?;
            if let Some(name) = entry.file_name().to_str() {
                if name.starts_with(TOKEN_FILE) {
                    names.push(name.to_owned());
                }
            }
        }
        Ok(names)
    }

    /// Writes `token` (which must not hold a preimage yet) as the pending token.
    pub fn store_pending(&self, token: &Token) -> Result<(), StoreError> {
        if token.preimage.is_some() {
            return Err(StoreError::WrongKind(
                "a paid token cannot be stored as pending",
            ));
        }
        write_atomic(&self.pending, &token.encode())
    }

    /// Writes `token` (which must hold its preimage) as the paid token, then
    /// removes the pending token of the same payment, if any.
    pub fn store_paid(&self, token: &Token) -> Result<(), StoreError> {
        if token.preimage.is_none() {
            return Err(StoreError::WrongKind(
                "a token without preimage cannot be stored as paid",
            ));
        }
        write_atomic(&self.paid, &token.encode())?;
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
        let backup = self.dir.join(format!(
            "{REJECTED_PREFIX}{}",
            service_kit::clock::now_unix_nanos()
        ));
        fs::rename(&self.paid, &backup).map_err(io("rename", &self.paid))?;
        sync_dir(&self.dir)?;
        Ok(Some(backup))
    }

    /// Every token file in the directory (`l402.token*`, as Loop lists them),
    /// sorted by file name.
    /// Corrupt files moved aside are not tokens: see [`TokenStore::corrupt_files`].
    pub fn all_tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let mut tokens = Vec::new();
        for name in self.file_names()? {
            if name.contains(CORRUPT_INFIX) {
                continue;
            }
            let path = self.dir.join(&name);
            if let Some(token) = self.read_or_quarantine(&path)? {
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

/// Replaces `path` with `bytes` atomically, mode 0600 from creation (see [`service_kit::files`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    service_kit::files::write_private(path, bytes).map_err(|e| StoreError::Io {
        action: "write",
        path: e.path,
        source: e.source,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupt(dir: &Path, name: &str) {
        fs::write(dir.join(name), b"not a token").unwrap();
    }

    #[test]
    fn a_corrupt_paid_token_is_moved_aside_and_the_store_opens() {
        let dir = tempfile::tempdir().unwrap();
        corrupt(dir.path(), TOKEN_FILE);
        let store = TokenStore::open(dir.path()).expect("opens despite the corrupt file");
        assert!(store.paid_token().unwrap().is_none());
        assert!(!store.paid_path().exists());
        let moved = store.corrupt_files().unwrap();
        assert_eq!(moved.len(), 1, "{moved:?}");
        let name = moved[0].file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("l402.token.corrupt-"), "{name}");
        assert_eq!(fs::read(&moved[0]).unwrap(), b"not a token");
        // Listing skips the backup instead of failing on it; a paid token does not block buying.
        assert!(store.all_tokens().unwrap().is_empty());
        assert_eq!(store.corrupt_pending().unwrap(), None);
    }

    #[test]
    fn a_corrupt_pending_token_blocks_buying_until_its_backup_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        // Corrupted while loopd runs: found on the next read.
        corrupt(dir.path(), PENDING_FILE);
        assert!(store.pending_token().unwrap().is_none());
        let backup = store
            .corrupt_pending()
            .unwrap()
            .expect("the backup is named");
        let name = backup.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("l402.token.pending.corrupt-"), "{name}");
        fs::remove_file(&backup).unwrap();
        assert_eq!(store.corrupt_pending().unwrap(), None);
    }
}

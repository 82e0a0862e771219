//! Files only their owner may read: keys, macaroons, tokens and databases.
//!
//! Every secret a program writes is created mode 0600 in a directory created 0700, whatever the process
//! umask, and replaced atomically (a temporary file in the same directory, fsync, rename), so a crash
//! leaves the old or the new content and never a file another user could read. [`warn_if_exposed`]
//! reports an existing file or directory that others can read, for the start-up log.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reading or writing one of a program's own files failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

impl FileError {
    /// A closure mapping an I/O error on `path` to a [`FileError`], for `map_err`.
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError {
            path: path.to_owned(),
            source,
        }
    }
}

/// Creates `dir` and its missing parents; the directories created are mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(FileError::at(dir))
}

/// Replaces `path` with `contents` atomically; the file is mode 0600 and its directory is created 0700.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let dir = parent_of(path);
    create_private_dir(dir)?;
    // tempfile creates its files 0600 with O_EXCL, so the content is never readable by others.
    let mut file = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(FileError::at(dir))?;
    file.write_all(contents).map_err(FileError::at(path))?;
    file.as_file().sync_all().map_err(FileError::at(path))?;
    file.persist(path).map_err(|e| FileError {
        path: path.to_owned(),
        source: e.error,
    })?;
    sync_dir(dir)
}

/// Writes `contents` to `path` for everyone to read (mode 0644): certificates, never secrets.
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let dir = parent_of(path);
    create_private_dir(dir)?;
    fs::write(path, contents).map_err(FileError::at(path))
}

/// Creates an empty file mode 0600 if `path` does not exist (so a database file is private from its
/// first byte); an existing file is left as it is.
pub fn touch_private(path: &Path) -> Result<(), FileError> {
    open_private(path).map(drop)
}

/// Opens `path` for writing without truncating it, creating it empty and mode 0600 (its directory 0700) if
/// it does not exist.
pub fn open_private(path: &Path) -> Result<fs::File, FileError> {
    create_private_dir(parent_of(path))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(FileError::at(path))
}

/// Logs a warning when `path` exists and its group or others have any permission on it.
pub fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "other users can access this private file; chmod go-rwx it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(FileError::at(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_files_and_dirs_ignore_a_permissive_umask() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        let file = dir.join("root.key");
        write_private(&file, b"first").unwrap();
        write_private(&file, b"second").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"second");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

        let db = dir.join("store.db");
        touch_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        fs::write(&db, b"kept").unwrap();
        touch_private(&db).unwrap();
        assert_eq!(fs::read(&db).unwrap(), b"kept");

        let cert = dir.join("tls.cert");
        write_public(&cert, b"cert").unwrap();
        assert_eq!(fs::read(&cert).unwrap(), b"cert");
    }
}

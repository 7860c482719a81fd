//! The data directory: the `LOCK` file (an exclusive `flock` held for the
//! life of the store), listing numbered data files, and fsyncing the
//! directory after files are created, renamed or removed.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::format::parse_data_file_name;

/// Holds the directory's `LOCK` file locked until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Creates `dir` (owner-only) if needed and takes its exclusive lock.
///
/// # Errors
/// `Error::Locked` if another process or handle holds it; `Error::Io` otherwise.
pub fn lock(dir: &Path) -> Result<DirLock> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    // flock locks belong to the open file description, so a second open in
    // this same process conflicts too.
    // SAFETY: flock on a valid, owned descriptor has no memory effects.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
            });
        }
        return Err(Error::io(&path, err));
    }
    Ok(DirLock { _file: file })
}

/// Ids of the data files in `dir`, ascending.
pub fn data_file_ids(dir: &Path) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(id) = entry.file_name().to_str().and_then(parse_data_file_name) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Makes creations, renames and removals in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Path of a file inside the directory.
pub fn path_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

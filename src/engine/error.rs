//! The engine's one error type. Every failure carries the context an
//! operator needs (path, file id, offset); the server maps these to Redis
//! error replies in `server/error.rs`, never here.

use std::path::PathBuf;

/// Result alias used across the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong inside the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O call failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A record failed its checksum or had impossible lengths.
    #[error("corrupt record in data file {file} at offset {offset}: {reason}")]
    Corrupt {
        /// Data file id.
        file: u32,
        /// Byte offset of the record inside the file.
        offset: u64,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// Another process (or another handle in this one) holds the directory.
    #[error("data directory {dir} is locked by another Slowpoke process or handle")]
    Locked {
        /// The directory that is locked.
        dir: PathBuf,
    },
    /// A key or value exceeds the size the format allows.
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// "key" or "value" or "batch".
        what: &'static str,
        /// The offending length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A data file does not start with the Slowpoke header.
    #[error("{path} is not a Slowpoke data file (bad magic or unsupported version {version})")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The version found, if the magic matched.
        version: u16,
    },
    /// A previous write or fsync failed; the engine refuses writes until it
    /// is reopened, because the on-disk state past that point is unknown.
    #[error("the store refuses writes after an earlier failed write or fsync: {0}")]
    Poisoned(String),
    /// The engine was closed.
    #[error("the store is closed")]
    Closed,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the error means the disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC))
    }
}

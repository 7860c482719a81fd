//! One numbered data file: create with its header, append at the end,
//! read a record at an offset with one positioned read, sync. Record bytes
//! come from `record.rs`; when to sync is decided in `durability.rs`.
//! Bytes below the file's committed length never change; compaction
//! replaces a whole file by renaming a new one over it (written front to
//! back, buffered, by `NewFile`, which hint files use too).
//!
//! A file has two numbers: its `order` (the number in its name: recovery
//! applies files in this order, and compaction keeps it) and a `handle`
//! (unique for the life of the process; the index refers to files by
//! handle, so a compacted file can stand beside the one it replaces).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::error::{Error, Result};
use super::format::*;

/// Buffer of a `NewFile`.
const WRITE_BUFFER: usize = 1 << 20;

/// Counts positioned reads, so tests and INFO can check "one read per hit".
pub static READS: AtomicU64 = AtomicU64::new(0);

/// Cleared once the filesystem answers RWF_NOWAIT with EOPNOTSUPP.
static NOWAIT_WORKS: AtomicBool = AtomicBool::new(true);

/// An open data file.
#[derive(Debug)]
pub struct DataFile {
    /// Process-unique handle (what `Location::file` holds).
    pub handle: u32,
    /// The number in the file name; recovery order.
    pub order: u32,
    /// Compaction generation from the header (0 = never compacted).
    pub generation: u32,
    /// Full path.
    pub path: PathBuf,
    file: File,
}

/// The 16-byte header of a data file with this generation.
pub fn header_bytes(generation: u32) -> [u8; FILE_HEADER_LEN] {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[..FILE_MAGIC.len()].copy_from_slice(&FILE_MAGIC);
    header[FILE_VERSION_AT..FILE_VERSION_AT + 2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[FILE_GENERATION_AT..FILE_GENERATION_AT + 4].copy_from_slice(&generation.to_le_bytes());
    header
}

impl DataFile {
    /// Creates a new data file `order` with its header (fails if it exists).
    pub fn create(dir: &Path, order: u32, handle: u32) -> Result<DataFile> {
        let path = dir.join(data_file_name(order));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        if let Err(e) = file.write_all_at(&header_bytes(0), 0) {
            // Leave no headerless file behind (a full disk): the next
            // rotation attempt must be able to create it again.
            let _ = std::fs::remove_file(&path);
            return Err(Error::io(&path, e));
        }
        Ok(DataFile {
            handle,
            order,
            generation: 0,
            path,
            file,
        })
    }

    /// Opens an existing data file.
    pub fn open(dir: &Path, order: u32, handle: u32, generation: u32) -> Result<DataFile> {
        let path = dir.join(data_file_name(order));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(DataFile {
            handle,
            order,
            generation,
            path,
            file,
        })
    }

    /// Opens the file at `at` (a compaction's output under its temporary
    /// name) as data file `order` of `dir`, the name it is about to be
    /// renamed to: opened before the rename, so that nothing after it can
    /// fail (see `compaction.rs`).
    pub fn open_renamed(
        at: &Path,
        dir: &Path,
        order: u32,
        handle: u32,
        generation: u32,
    ) -> Result<DataFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(at)
            .map_err(|e| Error::io(at, e))?;
        Ok(DataFile {
            handle,
            order,
            generation,
            path: dir.join(data_file_name(order)),
            file,
        })
    }

    /// Checks the file header given the file's first bytes; returns the
    /// compaction generation.
    pub fn check_header(path: &Path, bytes: &[u8]) -> Result<u32> {
        let bad = |version| Error::BadHeader {
            path: path.to_path_buf(),
            version,
        };
        if bytes.len() < FILE_HEADER_LEN || bytes[..FILE_MAGIC.len()] != FILE_MAGIC {
            return Err(bad(0));
        }
        let version = u16::from_le_bytes([bytes[FILE_VERSION_AT], bytes[FILE_VERSION_AT + 1]]);
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(bad(version));
        }
        let mut g = [0u8; 4];
        g.copy_from_slice(&bytes[FILE_GENERATION_AT..FILE_GENERATION_AT + 4]);
        Ok(u32::from_le_bytes(g))
    }

    /// Writes `bytes` at `offset` (the caller tracks the end of the file).
    pub fn write_at(&self, bytes: &[u8], offset: u64) -> Result<()> {
        super::fault::on_write()
            .and_then(|()| self.file.write_all_at(bytes, offset))
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Reads exactly `buf.len()` bytes at `offset` with one `pread` (a
    /// regular file only returns short at end of file, which is corruption).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        READS.fetch_add(1, Ordering::Relaxed);
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => {
                    return Err(Error::Corrupt {
                        file: self.order,
                        offset,
                        reason: "record runs past the end of the file",
                    })
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.path, e)),
            }
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset` only from the page cache
    /// (`preadv2` with `RWF_NOWAIT`): returns how many bytes it got without
    /// waiting for the disk (all of them for a cached record: one syscall).
    pub fn read_cached(&self, buf: &mut [u8], offset: u64) -> usize {
        if !NOWAIT_WORKS.load(Ordering::Relaxed) || buf.is_empty() {
            return 0;
        }
        READS.fetch_add(1, Ordering::Relaxed);
        let iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: one iovec over a live, exclusively borrowed buffer, on a
        // descriptor this struct owns.
        let n = unsafe {
            libc::preadv2(
                self.file.as_raw_fd(),
                &iov,
                1,
                offset as libc::off_t,
                libc::RWF_NOWAIT,
            )
        };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EOPNOTSUPP) {
                NOWAIT_WORKS.store(false, Ordering::Relaxed);
            }
            return 0;
        }
        n as usize
    }

    /// Flushes written bytes to stable storage (fdatasync).
    pub fn sync(&self) -> Result<()> {
        super::fault::on_sync()
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Cuts the file back to `len` bytes (used to drop a torn tail or a
    /// partially written batch).
    pub fn truncate(&self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(|e| Error::io(&self.path, e))
    }

    /// Current size on disk.
    pub fn size(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// A new file (mode 0600, replacing any file at its path) written front to
/// back through a buffer, then fsynced: compaction output and hints, so
/// that writing them holds a buffer, not the file.
#[derive(Debug)]
pub struct NewFile {
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
}

impl NewFile {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> Result<NewFile> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(NewFile {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            len: 0,
        })
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrites bytes already written at `offset` (a header field known
    /// only at the end).
    pub fn patch(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        self.out
            .get_ref()
            .write_all_at(bytes, offset)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes out the buffer and fsyncs the file.
    pub fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io(&self.path, e))
    }
}

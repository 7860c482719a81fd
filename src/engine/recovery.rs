//! Rebuilding the keydir on open, and the offline check. Files are applied
//! in order; a sealed file with a matching hint is read from the hint (keys
//! only), any other from its records, walked by `scan.rs` (which owns the
//! damage rules and reads a window at a time). Damaged bytes are reported with file and offset and
//! skipped; damage that runs to the end of the newest file is a torn tail
//! and is truncated away. Expired records are applied as deletions, so
//! never loaded.

use std::path::Path;

use super::data_file::DataFile;
use super::error::{Error, Result};
use super::format::*;
use super::hint;
use super::keydir::{Keydir, RecordRef};
use super::scan;

/// One damaged stretch found while opening or checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Data file number (as in its name).
    pub file: u32,
    /// Offset of the first bad byte.
    pub offset: u64,
    /// Bytes skipped or truncated.
    pub len: u64,
    /// What was wrong.
    pub reason: &'static str,
    /// True when this was the newest file's tail and was truncated.
    pub truncated: bool,
}

/// What opening found.
#[derive(Debug, Default, Clone)]
pub struct RecoveryReport {
    /// Data files read.
    pub files: usize,
    /// Files loaded from their hint instead of their records.
    pub from_hints: usize,
    /// Good records (or hint entries) applied.
    pub records: u64,
    /// Damaged stretches, in file order.
    pub damage: Vec<Damage>,
}

/// How a file is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Opening the newest file: a torn tail is truncated.
    NewestFile,
    /// Opening an older file: damage is skipped.
    OlderFile,
    /// The offline check of an older file: nothing is changed.
    CheckOnly,
    /// The offline check of the newest file (it may end in a torn write).
    CheckNewest,
}

/// The result of reading one data file.
#[derive(Debug, Clone, Copy)]
pub struct FileRead {
    /// Length after recovery (where appends continue).
    pub len: u64,
    /// The compaction generation in its header.
    pub generation: u32,
    /// The format version in its header (appends go only to a file of
    /// the current version: an older newest file is sealed on open).
    pub version: u16,
}

/// Reads one data file (or its hint) into `keydir` under `handle`.
pub fn recover_file(
    dir: &Path,
    order: u32,
    handle: u32,
    mode: Mode,
    keydir: &mut Keydir,
    report: &mut RecoveryReport,
    now_ms: u64,
) -> Result<FileRead> {
    let path = dir.join(data_file_name(order));
    if mode == Mode::OlderFile {
        if let Some(read) = recover_from_hint(dir, order, handle, keydir, report, now_ms)? {
            return Ok(read);
        }
    }
    let (mut src, len) = scan::FileSource::open(&path)?;
    if len < FILE_HEADER_LEN as u64 && mode == Mode::NewestFile {
        // A crash right after creating the file: rewrite an empty one.
        tracing::warn!(file = %path.display(), "newest data file has a torn header; recreating it");
        drop(src);
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        DataFile::create(dir, order, handle)?.sync()?;
        return Ok(FileRead {
            len: FILE_HEADER_LEN as u64,
            generation: 0,
            version: FORMAT_VERSION,
        });
    }
    let mut head = [0u8; FILE_HEADER_LEN];
    let head = &mut head[..len.min(FILE_HEADER_LEN as u64) as usize];
    scan::Source::read_at(&mut src, head, 0)?;
    let generation = DataFile::check_header(&path, head)?;
    let version = u16::from_le_bytes([head[FILE_VERSION_AT], head[FILE_VERSION_AT + 1]]);
    report.files += 1;
    let newest = matches!(mode, Mode::NewestFile | Mode::CheckNewest);
    // Streamed through a window: memory does not grow with the file.
    let mut walk = scan::Walker::new(src, len, FILE_HEADER_LEN as u64, newest, scan::WINDOW);
    while let Some(item) = walk.next()? {
        match item {
            scan::Item::Record(at, rec) => {
                let r = RecordRef {
                    flags: rec.header.flags,
                    expires_at: rec.header.expires_at,
                    key: rec.key,
                    value_len: rec.header.value_len,
                };
                keydir.apply(&r, handle, at as u32, now_ms);
                report.records += 1;
            }
            scan::Item::Damage {
                offset,
                len,
                reason,
                tail,
            } => {
                let truncated = tail && mode == Mode::NewestFile;
                if truncated {
                    tracing::warn!(file = %path.display(), offset, bytes = len, reason,
                        "truncating torn tail of the newest data file");
                    let f = DataFile::open(dir, order, handle, generation)?;
                    f.truncate(offset)?;
                    f.sync()?;
                } else if !matches!(mode, Mode::CheckOnly | Mode::CheckNewest) {
                    tracing::error!(file = %path.display(), offset, bytes = len, reason,
                        "skipping damaged bytes in a data file");
                }
                report.damage.push(Damage {
                    file: order,
                    offset,
                    len,
                    reason,
                    truncated,
                });
                if truncated {
                    return Ok(FileRead {
                        len: offset,
                        generation,
                        version,
                    });
                }
            }
        }
    }
    Ok(FileRead {
        len,
        generation,
        version,
    })
}

/// Applies a sealed file's hint if there is one that matches the file.
fn recover_from_hint(
    dir: &Path,
    order: u32,
    handle: u32,
    keydir: &mut Keydir,
    report: &mut RecoveryReport,
    now_ms: u64,
) -> Result<Option<FileRead>> {
    let hint_path = dir.join(hint_file_name(order));
    let Ok(hint_bytes) = std::fs::read(&hint_path) else {
        return Ok(None);
    };
    let path = dir.join(data_file_name(order));
    let mut head = [0u8; FILE_HEADER_LEN];
    let data_len = {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let len = f.metadata().map_err(|e| Error::io(&path, e))?.len();
        if f.read_exact_at(&mut head, 0).is_err() {
            return Ok(None);
        }
        len
    };
    let Ok(generation) = DataFile::check_header(&path, &head) else {
        return Ok(None);
    };
    let Some(entries) = hint::parse(&hint_bytes, generation, data_len) else {
        tracing::warn!(hint = %hint_path.display(), "hint file does not match its data file; reading the data file");
        return Ok(None);
    };
    for e in &entries {
        let r = RecordRef {
            flags: e.flags,
            expires_at: e.expires_at,
            key: e.key,
            value_len: e.value_len,
        };
        keydir.apply(&r, handle, e.offset, now_ms);
    }
    report.files += 1;
    report.from_hints += 1;
    report.records += entries.len() as u64;
    Ok(Some(FileRead {
        len: data_len,
        generation,
        version: FORMAT_VERSION,
    }))
}

/// What `check_dir` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Data files read.
    pub files: usize,
    /// Good records.
    pub records: u64,
    /// Live keys after applying every file.
    pub keys: usize,
    /// Damaged stretches in data files.
    pub damage: Vec<Damage>,
    /// Hint files that do not match or are damaged (file numbers).
    pub bad_hints: Vec<u32>,
    /// Hint files checked and good.
    pub good_hints: usize,
}

/// Verifies every record CRC and every hint of a directory without
/// changing anything (the `check` subcommand). Does not take the lock, so
/// it can inspect a directory a running server holds.
pub fn check_dir(dir: &Path, now_ms: u64) -> Result<CheckReport> {
    let ids = super::dir::data_file_ids(dir)?;
    let mut keydir = Keydir::default();
    let mut report = RecoveryReport::default();
    let mut out = CheckReport::default();
    for (handle, &order) in ids.iter().enumerate() {
        let read = recover_file(
            dir,
            order,
            handle as u32,
            if handle + 1 == ids.len() {
                Mode::CheckNewest
            } else {
                Mode::CheckOnly
            },
            &mut keydir,
            &mut report,
            now_ms,
        )?;
        let hint_path = dir.join(hint_file_name(order));
        if let Ok(bytes) = std::fs::read(&hint_path) {
            if hint::parse(&bytes, read.generation, read.len).is_some() {
                out.good_hints += 1;
            } else {
                out.bad_hints.push(order);
            }
        }
    }
    out.files = report.files;
    out.records = report.records;
    out.damage = report.damage;
    out.keys = keydir.index.len();
    Ok(out)
}

//! Rebuilding the index on open by reading every data file in id order.
//! Rules (docs/FORMAT.md, "Recovery"): a damaged record is reported with
//! file and offset and skipped; the scan resynchronises on the next record
//! whose checksum holds. Damage that runs to the end of the newest file is a
//! torn tail and is truncated away; at the end of an older file the rest of
//! that file is skipped with an error logged. Expired records are applied
//! as deletions, so they are never loaded.

use std::path::Path;

use super::data_file::DataFile;
use super::error::{Error, Result};
use super::format::*;
use super::index::{Index, Location};
use super::record::{self, DecodeError, DecodedRecord};

/// One damaged stretch found while opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Data file id.
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
    /// Good records applied.
    pub records: u64,
    /// Damaged stretches, in file order.
    pub damage: Vec<Damage>,
}

/// Applies one good record to the index, exactly as a live write would.
pub fn apply(index: &mut Index, rec: &DecodedRecord<'_>, file: u32, offset: u32, now_ms: u64) {
    let h = &rec.header;
    if h.flags & FLAG_CLEAR_ALL != 0 {
        index.clear();
    } else if h.flags & FLAG_TOMBSTONE != 0 || (h.expires_at != 0 && h.expires_at <= now_ms) {
        index.remove(rec.key);
    } else {
        index.insert(
            rec.key,
            Location {
                file,
                offset,
                value_len: h.value_len,
                expires_at: h.expires_at,
            },
        );
    }
}

/// Offset of the next decodable record after a bad one at `from`, if any.
fn resync(buf: &[u8], from: usize) -> Option<usize> {
    (from + 1..buf.len().saturating_sub(REC_HEADER_LEN - 1))
        .find(|&at| record::decode(&buf[at..]).is_ok())
}

/// Reads one data file into `index`. `newest` enables tail truncation.
/// Returns the file's length after recovery (where appends continue).
pub fn recover_file(
    dir: &Path,
    id: u32,
    newest: bool,
    index: &mut Index,
    report: &mut RecoveryReport,
    now_ms: u64,
) -> Result<u64> {
    let path = dir.join(data_file_name(id));
    let buf = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    if buf.len() < FILE_HEADER_LEN && newest {
        // A crash right after creating the file: rewrite an empty one.
        tracing::warn!(file = %path.display(), "newest data file has a torn header; recreating it");
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        DataFile::create(dir, id)?.sync()?;
        return Ok(FILE_HEADER_LEN as u64);
    }
    DataFile::check_header(&path, &buf)?;
    report.files += 1;
    let mut at = FILE_HEADER_LEN;
    while at < buf.len() {
        match record::decode(&buf[at..]) {
            Ok(rec) => {
                apply(index, &rec, id, at as u32, now_ms);
                report.records += 1;
                at += rec.header.record_len() as usize;
            }
            Err(err) => {
                let next = resync(&buf, at);
                let end = next.unwrap_or(buf.len());
                let tail = next.is_none();
                let truncated = tail && newest;
                let damage = Damage {
                    file: id,
                    offset: at as u64,
                    len: (end - at) as u64,
                    reason: if err == DecodeError::Truncated && tail {
                        "torn record at the end of the file"
                    } else {
                        err.reason()
                    },
                    truncated,
                };
                if truncated {
                    tracing::warn!(file = %path.display(), offset = at, bytes = damage.len,
                        reason = damage.reason, "truncating torn tail of the newest data file");
                    let f = DataFile::open(dir, id)?;
                    f.truncate(at as u64)?;
                    f.sync()?;
                } else if tail {
                    tracing::error!(file = %path.display(), offset = at, bytes = damage.len,
                        reason = damage.reason, "skipping the rest of a damaged data file");
                } else {
                    tracing::error!(file = %path.display(), offset = at, bytes = damage.len,
                        reason = damage.reason, "skipping a damaged record");
                }
                report.damage.push(damage);
                if tail {
                    return Ok(if truncated {
                        at as u64
                    } else {
                        buf.len() as u64
                    });
                }
                at = end;
            }
        }
    }
    Ok(buf.len() as u64)
}

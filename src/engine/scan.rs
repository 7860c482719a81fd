//! Walking the records of a data file held in memory, with the damage
//! rules of docs/FORMAT.md ("Recovery"), shared by recovery, compaction and
//! hint writing so all three agree on what a file contains:
//!
//! - a record whose header is sane but whose checksum fails is skipped by
//!   its own length when that length ends at the end of the file or where
//!   good records follow (so bytes inside its value are never read as
//!   records);
//! - in the newest file, a record whose header is sane but which runs past
//!   the end of the file is a torn write: nothing after it is read (a value
//!   that happens to hold record bytes can never be mistaken for records);
//! - otherwise (an impossible header, or lengths that do not lead to a good
//!   record: the lengths themselves are damaged) the walk resynchronises on
//!   the first later offset where a run of good records starts that
//!   reaches the end of the file or is at least `RESYNC_RUN` records long
//!   (random damage cannot fake that; only a value crafted to hold such
//!   records, damaged at just that spot, could);
//! - with no such offset the rest of the file is the tail.

use super::format::*;
use super::record::{self, DecodeError, DecodedRecord, RecordHeader};

/// Good records that must follow a resync point.
const RESYNC_RUN: usize = 3;

/// One step of a walk.
#[derive(Debug)]
pub enum Item<'a> {
    /// A good record at this offset.
    Record(usize, DecodedRecord<'a>),
    /// Damaged bytes: offset, length, reason, and whether they run to the
    /// end of the file (a tail, truncated in the newest file).
    Damage {
        /// First bad byte.
        offset: usize,
        /// Bytes skipped.
        len: usize,
        /// What was wrong.
        reason: &'static str,
        /// True when nothing good follows.
        tail: bool,
    },
}

/// Iterator over the records of `buf` from `start`.
pub struct Records<'a> {
    buf: &'a [u8],
    at: usize,
    newest: bool,
}

/// Walks `buf` (a whole data file) from `start`; `newest` says the file
/// may end in a torn write (it was being appended to).
pub fn records(buf: &[u8], start: usize, newest: bool) -> Records<'_> {
    Records {
        buf,
        at: start,
        newest,
    }
}

/// True when good records start at `at` and run to the end of the file or
/// for at least `RESYNC_RUN` records.
fn good_run(buf: &[u8], mut at: usize) -> bool {
    for _ in 0..RESYNC_RUN {
        match record::decode(&buf[at..]) {
            Ok(r) => at += r.header.record_len() as usize,
            Err(_) => return false,
        }
        if at == buf.len() {
            return true;
        }
    }
    true
}

impl<'a> Iterator for Records<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let buf = self.buf;
        let at = self.at;
        if at >= buf.len() {
            return None;
        }
        let err = match record::decode(&buf[at..]) {
            Ok(rec) => {
                self.at = at + rec.header.record_len() as usize;
                return Some(Item::Record(at, rec));
            }
            Err(e) => e,
        };
        let header = RecordHeader::decode(&buf[at..]).filter(RecordHeader::is_sane);
        let tail = |reason| {
            Some(Item::Damage {
                offset: at,
                len: buf.len() - at,
                reason,
                tail: true,
            })
        };
        if let Some(h) = header {
            let end = at as u64 + h.record_len();
            let fits = end <= buf.len() as u64;
            if fits && (end == buf.len() as u64 || good_run(buf, end as usize)) {
                // Only the contents are damaged: skip exactly this record.
                self.at = end as usize;
                return Some(Item::Damage {
                    offset: at,
                    len: h.record_len() as usize,
                    reason: err.reason(),
                    tail: self.at == buf.len(),
                });
            }
            if !fits && self.newest {
                self.at = buf.len();
                return tail("torn record at the end of the file");
            }
        } else if err == DecodeError::Truncated && self.newest {
            self.at = buf.len();
            return tail("torn record at the end of the file");
        }
        let next = (at + 1..buf.len().saturating_sub(REC_HEADER_LEN - 1))
            .find(|&p| record::decode(&buf[p..]).is_ok() && good_run(buf, p));
        match next {
            Some(p) => {
                self.at = p;
                Some(Item::Damage {
                    offset: at,
                    len: p - at,
                    reason: err.reason(),
                    tail: false,
                })
            }
            None => {
                self.at = buf.len();
                tail(err.reason())
            }
        }
    }
}

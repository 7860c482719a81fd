//! Walking the records of a data file, with the damage rules of
//! docs/FORMAT.md ("Recovery"), shared by recovery, compaction, hint
//! writing and the offline check so all of them agree on what a file
//! contains:
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
//!
//! Batches (docs/FORMAT.md, "Batches"): a `FLAG_BATCH` record is checked
//! like any other (one checksum over all its members), then its member
//! records are yielded one by one at their own offsets, so every consumer
//! sees ordinary records and a batch is all there or all damage. A member
//! record met outside a batch (its batch header destroyed) is damage, and
//! never a place to resynchronise on.
//!
//! The walk streams, so memory does not grow with the file: it reads
//! through a window (`WINDOW` bytes, by positioned reads from a `Source`),
//! and bytes it already holds are not read again when the window moves. A
//! record larger than the window is read whole into a buffer of exactly its
//! size (its checksum covers all of it, and the caller gets it whole); the
//! window size comes back after it. The lookahead after damage (is a good
//! run starting here?) checksums such records chunk by chunk instead of
//! holding them. Items borrow the window, so the walker is a lending
//! iterator: `while let Some(item) = walk.next()? { .. }`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::format::*;
use super::record::{self, DecodeError, DecodedRecord, RecordHeader};

/// Good records that must follow a resync point.
const RESYNC_RUN: usize = 3;

/// Bytes a walk reads at a time.
pub const WINDOW: usize = 1 << 20;

/// Where a walk reads its bytes from.
pub trait Source {
    /// Fills `buf` with the bytes at `offset` (which lie inside the length
    /// the walk was given).
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> Result<()>;
}

/// A file, read with positioned reads.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    path: PathBuf,
}

impl FileSource {
    /// Opens `path` for reading; returns it with the file's length.
    pub fn open(path: &Path) -> Result<(FileSource, u64)> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let path = path.to_path_buf();
        Ok((FileSource { file, path }, len))
    }
}

impl Source for FileSource {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Bytes already in memory (tests; a file held whole).
impl Source for &[u8] {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> Result<()> {
        let bytes = usize::try_from(offset)
            .ok()
            .and_then(|at| self.get(at..at.checked_add(buf.len())?));
        match bytes {
            Some(b) => {
                buf.copy_from_slice(b);
                Ok(())
            }
            None => Err(Error::io(
                "<memory>",
                std::io::ErrorKind::UnexpectedEof.into(),
            )),
        }
    }
}

/// One step of a walk.
#[derive(Debug)]
pub enum Item<'a> {
    /// A good record at this offset.
    Record(u64, DecodedRecord<'a>),
    /// Damaged bytes: offset, length, reason, and whether they run to the
    /// end of the file (a tail, truncated in the newest file).
    Damage {
        /// First bad byte.
        offset: u64,
        /// Bytes skipped.
        len: u64,
        /// What was wrong.
        reason: &'static str,
        /// True when nothing good follows.
        tail: bool,
    },
}

/// A walk over the records of one data file.
pub struct Walker<S> {
    src: S,
    /// The file's length (bytes past it are never read).
    len: u64,
    /// Where the next item starts.
    at: u64,
    newest: bool,
    window: usize,
    /// File bytes from `buf_at` on.
    buf: Vec<u8>,
    buf_at: u64,
    /// Chunks of records larger than the window, when only their checksum
    /// is needed.
    scratch: Vec<u8>,
    /// The members of the batch being yielded, if any.
    batch: Option<BatchCursor>,
    /// The highest offset a sync mark read so far claims was synced.
    synced_to: u64,
}

/// Where the walk is inside a batch already checked and held in `buf`.
#[derive(Debug, Clone, Copy)]
struct BatchCursor {
    /// Start of the next member in `buf`.
    pos: usize,
    /// End of the batch's value in `buf`.
    end: usize,
    /// File offset of the next member.
    offset: u64,
}

impl<S: Source> Walker<S> {
    /// Walks the `len` bytes of `src` (a whole data file) from `start`,
    /// reading `window` bytes at a time (`WINDOW` outside tests); `newest`
    /// says the file may end in a torn write (it was being appended to).
    pub fn new(src: S, len: u64, start: u64, newest: bool, window: usize) -> Self {
        Walker {
            src,
            len,
            at: start,
            newest,
            window: window.max(REC_HEADER_LEN),
            buf: Vec::new(),
            buf_at: 0,
            scratch: Vec::new(),
            batch: None,
            synced_to: 0,
        }
    }

    /// The next item, or None at the end of the file.
    ///
    /// # Errors
    /// Only read errors: damage is an item, not an error.
    // Not `Iterator::next`: an item borrows the walker's window.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Item<'_>>> {
        if let Some(mut b) = self.batch {
            // Checked whole when the batch was met: decode without a
            // second checksum.
            let member = &self.buf[b.pos..b.end];
            let h = RecordHeader::decode(member).expect("batch members were checked");
            let len = h.record_len() as usize;
            let offset = b.offset;
            b.pos += len;
            b.offset += len as u64;
            self.batch = (b.pos < b.end).then_some(b);
            let rec = record::parts(h, &self.buf[b.pos - len..b.pos]);
            return Ok(Some(Item::Record(offset, rec)));
        }
        // Sync marks are not items: remember what they claim.
        while self.at < self.len {
            match self.mark_at(self.at)? {
                Some((len, synced)) => {
                    self.synced_to = self.synced_to.max(synced);
                    self.at += len;
                }
                None => break,
            }
        }
        let at = self.at;
        if at >= self.len {
            return Ok(None);
        }
        let rest = self.len - at;
        let header = self.header_at(at)?;
        // What `record::decode` needs to see: the whole record when its
        // header is sane and it fits, else only what proves it is not.
        let need = match header {
            Some(h) if h.is_sane() && h.record_len() <= rest => h.record_len() as usize,
            _ => rest.min(REC_HEADER_LEN as u64) as usize,
        };
        let s = self.load(at, need)?;
        let err = match record::decode(&self.buf[s..s + need]).map(|r| r.header) {
            Ok(h) if h.flags & FLAG_IN_BATCH != 0 => {
                // A batch member with no batch around it: its batch's
                // header is gone, so the batch cannot be known whole.
                self.at = at + need as u64;
                return Ok(Some(Item::Damage {
                    offset: at,
                    len: need as u64,
                    reason: "batch member outside a batch",
                    tail: self.at == self.len,
                }));
            }
            Ok(h) if h.flags & FLAG_BATCH != 0 => {
                self.at = at + need as u64;
                let members = s + REC_HEADER_LEN..s + need;
                if !members_are_whole(&self.buf[members.clone()]) {
                    return Ok(Some(Item::Damage {
                        offset: at,
                        len: need as u64,
                        reason: "malformed batch",
                        tail: self.at == self.len,
                    }));
                }
                self.batch = Some(BatchCursor {
                    pos: members.start,
                    end: members.end,
                    offset: at + REC_HEADER_LEN as u64,
                });
                return self.next();
            }
            Ok(h) => {
                self.at = at + need as u64;
                let rec = record::parts(h, &self.buf[s..s + need]);
                return Ok(Some(Item::Record(at, rec)));
            }
            Err(e) => e,
        };
        if let Some(h) = header.filter(RecordHeader::is_sane) {
            let end = at + h.record_len();
            let fits = end <= self.len;
            if fits && (end == self.len || self.good_run(end)?) {
                // Only the contents are damaged: skip exactly this record.
                self.at = end;
                return Ok(Some(Item::Damage {
                    offset: at,
                    len: h.record_len(),
                    reason: err.reason(),
                    tail: end == self.len,
                }));
            }
            if !fits && self.newest {
                return Ok(Some(self.tail(at, "torn record at the end of the file")));
            }
        } else if err == DecodeError::Truncated && self.newest {
            return Ok(Some(self.tail(at, "torn record at the end of the file")));
        }
        // The first later offset where a whole header fits and a good run
        // starts (`good_run` checks the record there first).
        let last = self.len.saturating_sub(REC_HEADER_LEN as u64 - 1);
        for p in at + 1..last {
            if self.good_run(p)? {
                self.at = p;
                return Ok(Some(Item::Damage {
                    offset: at,
                    len: p - at,
                    reason: err.reason(),
                    tail: false,
                }));
            }
        }
        Ok(Some(self.tail(at, err.reason())))
    }

    /// The length and claim of a good sync mark at `at`, if there is one.
    fn mark_at(&mut self, at: u64) -> Result<Option<(u64, u64)>> {
        let Some(h) = self.header_at(at)? else {
            return Ok(None);
        };
        if h.flags != FLAG_SYNC_MARK || !h.is_sane() || h.record_len() > self.len - at {
            return Ok(None);
        }
        let len = h.record_len() as usize;
        let s = self.load(at, len)?;
        let Ok(rec) = record::decode(&self.buf[s..s + len]) else {
            return Ok(None);
        };
        let mut claim = [0u8; 8];
        claim.copy_from_slice(rec.value);
        Ok(Some((len as u64, u64::from_le_bytes(claim))))
    }

    /// Ends the walk with everything from `at` as the tail.
    fn tail(&mut self, at: u64, reason: &'static str) -> Item<'static> {
        self.at = self.len;
        Item::Damage {
            offset: at,
            len: self.len - at,
            reason,
            tail: true,
        }
    }

    /// True when good records start at `at` and run to the end of the file
    /// or for at least `RESYNC_RUN` records.
    fn good_run(&mut self, mut at: u64) -> Result<bool> {
        for _ in 0..RESYNC_RUN {
            match self.probe(at)? {
                Some(len) => at += len,
                None => return Ok(false),
            }
            if at == self.len {
                return Ok(true);
            }
        }
        Ok(true)
    }

    /// The length of the record at `at` if `record::decode` would accept
    /// it. A record larger than the window is checksummed chunk by chunk,
    /// never held: this is lookahead, and a damaged length could claim
    /// most of the file.
    fn probe(&mut self, at: u64) -> Result<Option<u64>> {
        let Some(h) = self
            .header_at(at)?
            .filter(|h| h.is_sane() && h.flags & FLAG_IN_BATCH == 0)
        else {
            return Ok(None);
        };
        let len = h.record_len();
        if len > self.len - at {
            return Ok(None);
        }
        let crc = if len <= self.window as u64 {
            let s = self.load(at, len as usize)?;
            crc32c::crc32c(&self.buf[s + REC_FLAGS_AT..s + len as usize])
        } else {
            self.stream_crc(at + REC_FLAGS_AT as u64, at + len)?
        };
        Ok((crc == h.crc).then_some(len))
    }

    /// CRC-32C of the file bytes `from..to`, from the window as far as it
    /// holds them, then read chunk by chunk without moving the window.
    fn stream_crc(&mut self, mut from: u64, to: u64) -> Result<u32> {
        let mut crc = 0;
        let held_end = self.buf_at + self.buf.len() as u64;
        if from >= self.buf_at && from < held_end {
            let end = held_end.min(to);
            let held = &self.buf[(from - self.buf_at) as usize..(end - self.buf_at) as usize];
            crc = crc32c::crc32c_append(crc, held);
            from = end;
        }
        if from < to && self.scratch.len() < self.window {
            self.scratch = vec![0; self.window];
        }
        while from < to {
            let n = (to - from).min(self.window as u64) as usize;
            self.src.read_at(&mut self.scratch[..n], from)?;
            crc = crc32c::crc32c_append(crc, &self.scratch[..n]);
            from += n as u64;
        }
        Ok(crc)
    }

    /// The record header at `at`, if a whole one lies inside the file.
    fn header_at(&mut self, at: u64) -> Result<Option<RecordHeader>> {
        if self.len.saturating_sub(at) < REC_HEADER_LEN as u64 {
            return Ok(None);
        }
        let s = self.load(at, REC_HEADER_LEN)?;
        Ok(RecordHeader::decode(&self.buf[s..]))
    }

    /// Makes the buffer hold the file bytes `at..at + need` (which lie
    /// inside the file) and returns where they start in it. When they are
    /// not all held yet, the window moves to `at`, keeping the bytes it
    /// already holds from there and reading the rest: a window's worth, or
    /// exactly `need` bytes into a buffer of that size when more.
    fn load(&mut self, at: u64, need: usize) -> Result<usize> {
        let held_end = self.buf_at + self.buf.len() as u64;
        if at >= self.buf_at && at + need as u64 <= held_end {
            return Ok((at - self.buf_at) as usize);
        }
        let want = (need.max(self.window) as u64).min(self.len - at) as usize;
        let keep = if at >= self.buf_at && at < held_end {
            (held_end - at) as usize
        } else {
            0
        };
        let from = self.buf.len() - keep;
        let capacity = want.max(self.window);
        if self.buf.capacity() < want || self.buf.capacity() > capacity {
            let mut next = Vec::with_capacity(capacity);
            next.extend_from_slice(&self.buf[from..]);
            self.buf = next;
        } else {
            self.buf.copy_within(from.., 0);
            self.buf.truncate(keep);
        }
        self.buf.resize(want, 0);
        self.buf_at = at;
        if let Err(e) = self.src.read_at(&mut self.buf[keep..], at + keep as u64) {
            self.buf.clear();
            return Err(e);
        }
        Ok(0)
    }
}

/// True when `value` (a batch record's value) is one or more whole member
/// records back to back: each decodes with its checksum, carries
/// `FLAG_IN_BATCH` and is not itself a batch.
fn members_are_whole(mut value: &[u8]) -> bool {
    if value.is_empty() {
        return false;
    }
    while !value.is_empty() {
        match record::decode(value) {
            Ok(r) if r.header.flags & FLAG_IN_BATCH != 0 && r.header.flags & FLAG_BATCH == 0 => {
                value = &value[r.bytes.len()..];
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data_file::header_bytes;
    use proptest::prelude::*;

    /// An item with its bytes copied out, to compare walks.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Record(u64, RecordHeader, Vec<u8>, Vec<u8>),
        Damage(u64, u64, &'static str, bool),
    }

    fn owned(item: &Item<'_>) -> Owned {
        match item {
            Item::Record(at, r) => {
                assert_eq!(r.bytes.len() as u64, r.header.record_len());
                assert_eq!(
                    &r.bytes[REC_HEADER_LEN..REC_HEADER_LEN + r.key.len()],
                    r.key
                );
                Owned::Record(*at, r.header, r.key.to_vec(), r.value.to_vec())
            }
            Item::Damage {
                offset,
                len,
                reason,
                tail,
            } => Owned::Damage(*offset, *len, reason, *tail),
        }
    }

    /// Walks `bytes` through a window of `window` bytes, checking after
    /// every item that the walker holds no more than a window, or a buffer
    /// the size of the largest good record or of a record a damaged header
    /// claimed (`next` reads one whole to check it, as decoding does; the
    /// buffer stays while the walk is inside it).
    fn walk(bytes: &[u8], newest: bool, window: usize) -> Vec<Owned> {
        let largest = reference(bytes, newest)
            .iter()
            .map(|i| match i {
                Owned::Record(_, h, _, _) => h.record_len() as usize,
                Owned::Damage(..) => 0,
            })
            .max()
            .unwrap_or(0);
        let start = FILE_HEADER_LEN as u64;
        let mut w = Walker::new(bytes, bytes.len() as u64, start, newest, window);
        let mut out = Vec::new();
        let mut claimed = 0;
        loop {
            let item = w.next().expect("in-memory reads cannot fail");
            let Some(item) = item else { break };
            out.push(owned(&item));
            if let Some(Owned::Damage(at, ..)) = out.last() {
                let claim = RecordHeader::decode(&bytes[*at as usize..])
                    .filter(RecordHeader::is_sane)
                    .map_or(0, |h| h.record_len() as usize);
                claimed = claimed.max(claim);
            }
            let bound = window.max(REC_HEADER_LEN).max(largest).max(claimed);
            assert!(
                w.buf.capacity() <= bound,
                "window of {window} grew to {}",
                w.buf.capacity()
            );
            assert!(w.scratch.capacity() <= window.max(REC_HEADER_LEN));
        }
        out
    }

    /// The walk as it was when it held the whole file in memory (before
    /// streaming): the rules the streaming walk must reproduce exactly.
    fn reference(buf: &[u8], newest: bool) -> Vec<Owned> {
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
        let mut out = Vec::new();
        let mut at = FILE_HEADER_LEN;
        while at < buf.len() {
            let err = match record::decode(&buf[at..]) {
                Ok(rec) => {
                    out.push(Owned::Record(
                        at as u64,
                        rec.header,
                        rec.key.to_vec(),
                        rec.value.to_vec(),
                    ));
                    at += rec.header.record_len() as usize;
                    continue;
                }
                Err(e) => e,
            };
            let tail = |reason| Owned::Damage(at as u64, (buf.len() - at) as u64, reason, true);
            let header = RecordHeader::decode(&buf[at..]).filter(RecordHeader::is_sane);
            if let Some(h) = header {
                let end = at as u64 + h.record_len();
                let fits = end <= buf.len() as u64;
                if fits && (end == buf.len() as u64 || good_run(buf, end as usize)) {
                    out.push(Owned::Damage(
                        at as u64,
                        h.record_len(),
                        err.reason(),
                        end == buf.len() as u64,
                    ));
                    at = end as usize;
                    continue;
                }
                if !fits && newest {
                    out.push(tail("torn record at the end of the file"));
                    break;
                }
            } else if err == DecodeError::Truncated && newest {
                out.push(tail("torn record at the end of the file"));
                break;
            }
            let next = (at + 1..buf.len().saturating_sub(REC_HEADER_LEN - 1))
                .find(|&p| record::decode(&buf[p..]).is_ok() && good_run(buf, p));
            match next {
                Some(p) => {
                    out.push(Owned::Damage(
                        at as u64,
                        (p - at) as u64,
                        err.reason(),
                        false,
                    ));
                    at = p;
                }
                None => {
                    out.push(tail(err.reason()));
                    break;
                }
            }
        }
        out
    }

    /// Every window size gives the reference's items.
    fn check_all_windows(bytes: &[u8], newest: bool) {
        let want = reference(bytes, newest);
        for window in [1, 21, 22, 64, 100, 333, 4096, bytes.len() + 1] {
            assert_eq!(
                walk(bytes, newest, window),
                want,
                "window {window}, newest {newest}"
            );
        }
    }

    fn file(records: &[(u8, &[u8], &[u8])]) -> Vec<u8> {
        let mut out = header_bytes(0).to_vec();
        for &(flags, key, value) in records {
            record::encode_into(&mut out, flags, 0, key, value);
        }
        out
    }

    #[test]
    fn clean_file_with_records_larger_than_the_window() {
        let big = vec![7u8; 300];
        let bytes = file(&[
            (0, b"a", b"1"),
            (0, b"big", &big),
            (FLAG_TOMBSTONE, b"a", b""),
            (0, b"b", &big[..65]),
            (FLAG_CLEAR_ALL, b"", b""),
        ]);
        let items = walk(&bytes, false, 64);
        assert_eq!(items.len(), 5);
        assert!(matches!(&items[1], Owned::Record(_, _, k, v) if k == b"big" && v == &big));
        check_all_windows(&bytes, false);
        check_all_windows(&bytes, true);
    }

    #[test]
    fn a_large_record_gets_a_buffer_of_its_size_then_the_window_returns() {
        let big = vec![1u8; 1000];
        let bytes = file(&[(0, b"k", b"v"), (0, b"big", &big), (0, b"z", b"v")]);
        let mut w = Walker::new(&bytes[..], bytes.len() as u64, 16, false, 64);
        let mut caps = Vec::new();
        while w.next().expect("reads").is_some() {
            caps.push(w.buf.capacity());
        }
        assert_eq!(caps, [64, REC_HEADER_LEN + 3 + 1000, 64]);
    }

    #[test]
    fn damage_in_and_around_large_records() {
        let big = vec![9u8; 500];
        let clean = file(&[
            (0, b"k1", b"v1"),
            (0, b"big1", &big),
            (0, b"k2", b"v2"),
            (0, b"big2", &big),
            (0, b"k3", b"v3"),
            (0, b"k4", b"v4"),
            (0, b"k5", b"v5"),
        ]);
        for i in FILE_HEADER_LEN..clean.len() {
            for bit in [0, 3, 7] {
                let mut bytes = clean.clone();
                bytes[i] ^= 1 << bit;
                check_all_windows(&bytes, false);
                check_all_windows(&bytes, true);
            }
        }
        for cut in FILE_HEADER_LEN..clean.len() {
            check_all_windows(&clean[..cut], true);
            check_all_windows(&clean[..cut], false);
        }
    }

    #[test]
    fn record_bytes_embedded_in_values_are_never_records() {
        let inner = file(&[(FLAG_CLEAR_ALL, b"", b""), (0, b"x", b"y"), (0, b"p", b"q")]);
        let inner = &inner[FILE_HEADER_LEN..];
        let bytes = file(&[(0, b"a", inner), (0, b"b", inner), (0, b"c", b"3")]);
        let items = walk(&bytes, true, 32);
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|i| matches!(i, Owned::Record(..))));
        // A torn last record whose value holds records: a torn tail.
        let torn = &bytes[..bytes.len() - 30];
        check_all_windows(torn, true);
        check_all_windows(torn, false);
        // A flip in the first value: skipped by its own length.
        let mut flipped = bytes.clone();
        flipped[FILE_HEADER_LEN + REC_HEADER_LEN + 4] ^= 1;
        check_all_windows(&flipped, true);
        let items = walk(&flipped, true, 32);
        assert!(matches!(
            items[0],
            Owned::Damage(16, _, "checksum mismatch", false)
        ));
        assert_eq!(items.len(), 3);
    }

    /// A value for a generated record.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..24),
            1 => proptest::collection::vec(any::<u8>(), 60..400),
            // Record bytes inside a value.
            2 => proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..4), proptest::collection::vec(any::<u8>(), 0..30), any::<bool>()),
                1..4,
            )
            .prop_map(|recs| {
                let mut out = Vec::new();
                for (k, v, clear) in recs {
                    if clear {
                        record::encode_into(&mut out, FLAG_CLEAR_ALL, 0, b"", b"");
                    } else {
                        record::encode_into(&mut out, 0, 0, &k, &v);
                    }
                }
                out
            }),
        ]
    }

    /// One piece of damage: (kind, where as a share of the file, a byte).
    fn damage() -> impl Strategy<Value = (u8, f64, u8)> {
        (0u8..4, 0.0f64..1.0, any::<u8>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Walking through a tiny window (and every other size) gives
        /// exactly the items of the in-memory walk, over files with bit
        /// flips, overwritten stretches, torn tails, records larger than
        /// the window and record bytes inside values.
        #[test]
        fn any_window_gives_the_same_items(
            records in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..6), value(), 0u8..8), 0..12),
            damages in proptest::collection::vec(damage(), 0..4),
            cut in proptest::option::of(0.0f64..1.0),
            newest in any::<bool>(),
        ) {
            let mut bytes = header_bytes(0).to_vec();
            for (key, value, kind) in &records {
                match kind {
                    0 => record::encode_into(&mut bytes, FLAG_TOMBSTONE, 0, key, b""),
                    1 => record::encode_into(&mut bytes, 0, 12345, key, value),
                    _ => record::encode_into(&mut bytes, 0, 0, key, value),
                }
            }
            let body = bytes.len() - FILE_HEADER_LEN;
            for &(kind, at, byte) in &damages {
                if body == 0 {
                    break;
                }
                let i = FILE_HEADER_LEN + ((at * body as f64) as usize).min(body - 1);
                match kind {
                    // A bit flip.
                    0 | 1 => bytes[i] ^= 1 << (byte % 8),
                    // A stretch overwritten with one byte.
                    2 => {
                        let end = (i + 1 + byte as usize % 40).min(bytes.len());
                        bytes[i..end].fill(byte);
                    }
                    // Garbage inserted (shifts everything after it).
                    _ => {
                        let n = 1 + byte as usize % 7;
                        bytes.splice(i..i, std::iter::repeat_n(byte, n));
                    }
                }
            }
            if let Some(cut) = cut {
                let keep = FILE_HEADER_LEN + (cut * (bytes.len() - FILE_HEADER_LEN) as f64) as usize;
                bytes.truncate(keep);
            }
            let want = reference(&bytes, newest);
            for window in [21, 64, 200, bytes.len() + 1] {
                prop_assert_eq!(&walk(&bytes, newest, window), &want, "window {}", window);
            }
        }
    }
}

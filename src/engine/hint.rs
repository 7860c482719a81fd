//! Hint files: for a sealed data file, every record's key and location
//! without its value, so that opening reads keys only. A hint names the
//! generation and length of the data file it describes and is used only
//! when both match and its checksum holds; otherwise (or on any malformed
//! entry) the whole hint is ignored and the data file is read instead.
//! Entries are varint-packed to keep hints small next to small values.
//! Layout in docs/FORMAT.md. `HintWriter` writes one front to back, an
//! entry at a time, so writing a hint holds a buffer, not every entry.

use std::path::Path;

use super::data_file::NewFile;
use super::error::Result;
use super::format::*;
use super::record::RecordHeader;

/// Hint-entry flag bit: an 8-byte expiry follows (record flags use the
/// low bits; this one never appears in a data file).
const HAS_EXPIRY: u8 = 0x80;

/// One hint entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintEntry<'a> {
    /// Record flags.
    pub flags: u8,
    /// Absolute expiry, 0 = none.
    pub expires_at: u64,
    /// The key.
    pub key: &'a [u8],
    /// Length of the record's value.
    pub value_len: u32,
    /// Offset of the record in the data file.
    pub offset: u32,
}

/// Where the header holds the length of the data file.
const DATA_LEN_AT: usize = 16;

/// The header of a hint for a data file of this generation and length.
pub fn header(generation: u32, data_len: u64) -> [u8; HINT_HEADER_LEN] {
    let mut h = [0u8; HINT_HEADER_LEN];
    h[..8].copy_from_slice(&HINT_MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&generation.to_le_bytes());
    h[DATA_LEN_AT..DATA_LEN_AT + 8].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// A hint file being written: the same bytes as `header`, `push_entry`
/// for each record and `finish`, streamed to disk.
#[derive(Debug)]
pub struct HintWriter {
    out: NewFile,
    /// CRC-32C of the entries so far (the trailer).
    crc: u32,
    entry: Vec<u8>,
}

impl HintWriter {
    /// Creates (or truncates) the hint at `path` for a data file of this
    /// generation; its length is given to `finish`.
    pub fn create(path: &Path, generation: u32) -> Result<HintWriter> {
        let mut out = NewFile::create(path)?;
        out.write(&header(generation, 0))?;
        Ok(HintWriter {
            out,
            crc: 0,
            entry: Vec::new(),
        })
    }

    /// Appends the entry for a record at `offset` with `rec` and `key`.
    pub fn push(&mut self, rec: &RecordHeader, key: &[u8], offset: u32) -> Result<()> {
        self.entry.clear();
        push_entry(&mut self.entry, rec, key, offset);
        self.crc = crc32c::crc32c_append(self.crc, &self.entry);
        self.out.write(&self.entry)
    }

    /// Writes the trailer and the data file's length, and fsyncs.
    pub fn finish(mut self, data_len: u64) -> Result<()> {
        self.out.write(&self.crc.to_le_bytes())?;
        self.out
            .patch(DATA_LEN_AT as u64, &data_len.to_le_bytes())?;
        self.out.finish()
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Appends the entry for a record at `offset` with `header` and `key`.
pub fn push_entry(out: &mut Vec<u8>, rec: &RecordHeader, key: &[u8], offset: u32) {
    let has_expiry = rec.expires_at != 0;
    out.push(rec.flags | if has_expiry { HAS_EXPIRY } else { 0 });
    if has_expiry {
        out.extend_from_slice(&rec.expires_at.to_le_bytes());
    }
    put_varint(out, key.len() as u64);
    put_varint(out, u64::from(rec.value_len));
    put_varint(out, u64::from(offset));
    out.extend_from_slice(key);
}

/// Appends the trailer (CRC-32C of every entry byte); call once, last.
pub fn finish(out: &mut Vec<u8>) {
    let crc = crc32c::crc32c(&out[HINT_HEADER_LEN.min(out.len())..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Validates a whole hint file against the data file it should describe
/// and returns its entries, or None if it does not match or is damaged.
pub fn parse(buf: &[u8], generation: u32, data_len: u64) -> Option<Vec<HintEntry<'_>>> {
    if buf.len() < HINT_HEADER_LEN + 4 || buf[..8] != HINT_MAGIC {
        return None;
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&buf[DATA_LEN_AT..DATA_LEN_AT + 8]);
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&u16::from_le_bytes([buf[8], buf[9]]))
        || u32_at(buf, 12) != generation
        || u64::from_le_bytes(len8) != data_len
    {
        return None;
    }
    let end = buf.len() - 4;
    if crc32c::crc32c(&buf[HINT_HEADER_LEN..end]) != u32_at(buf, end) {
        return None;
    }
    let body = &buf[..end];
    let mut out = Vec::new();
    let mut at = HINT_HEADER_LEN;
    while at < body.len() {
        let tag = body[at];
        at += 1;
        let expires_at = if tag & HAS_EXPIRY != 0 {
            let b = body.get(at..at + 8)?;
            at += 8;
            let mut e = [0u8; 8];
            e.copy_from_slice(b);
            u64::from_le_bytes(e)
        } else {
            0
        };
        let key_len = usize::try_from(get_varint(body, &mut at)?).ok()?;
        let value_len = u32::try_from(get_varint(body, &mut at)?).ok()?;
        let offset = u32::try_from(get_varint(body, &mut at)?).ok()?;
        let key = body.get(at..at.checked_add(key_len)?)?;
        at += key_len;
        let flags = tag & !HAS_EXPIRY;
        let record_end =
            u64::from(offset) + (REC_HEADER_LEN + key_len) as u64 + u64::from(value_len);
        if flags & !KNOWN_FLAGS != 0 || key_len > MAX_KEY_LEN || record_end > data_len {
            return None;
        }
        out.push(HintEntry {
            flags,
            expires_at,
            key,
            value_len,
            offset,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_any_flip_rejects() {
        let rec = |exp| RecordHeader {
            crc: 0,
            flags: 0,
            expires_at: exp,
            key_len: 3,
            value_len: 5,
        };
        let mut buf = header(2, 1000).to_vec();
        push_entry(&mut buf, &rec(99), b"abc", 16);
        push_entry(&mut buf, &rec(0), b"xyz", 45);
        finish(&mut buf);
        let entries = parse(&buf, 2, 1000).expect("valid");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].expires_at, 99);
        assert_eq!(entries[1].key, b"xyz");
        assert_eq!(entries[1].offset, 45);
        assert_eq!(entries[1].expires_at, 0);
        assert!(parse(&buf, 3, 1000).is_none(), "generation must match");
        assert!(parse(&buf, 2, 999).is_none(), "data length must match");
        for i in HINT_HEADER_LEN..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert!(parse(&bad, 2, 1000).is_none(), "flip at {i} accepted");
        }
        assert!(parse(&buf[..buf.len() - 1], 2, 1000).is_none());
    }

    #[test]
    fn writer_streams_the_same_bytes() {
        let rec = |flags, exp, value_len| RecordHeader {
            crc: 0,
            flags,
            expires_at: exp,
            key_len: 3,
            value_len,
        };
        let entries = [
            (rec(0, 99, 5), &b"abc"[..], 16),
            (rec(FLAG_TOMBSTONE, 0, 0), b"xyz", 45),
            (rec(0, 0, 1 << 20), &[0xff; 300][..], 66),
        ];
        let mut want = header(7, 1 << 21).to_vec();
        for (h, key, at) in &entries {
            push_entry(&mut want, h, key, *at);
        }
        finish(&mut want);
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("h");
        let mut w = HintWriter::create(&path, 7).expect("create");
        for (h, key, at) in &entries {
            w.push(h, key, *at).expect("push");
        }
        w.finish(1 << 21).expect("finish");
        let got = std::fs::read(&path).expect("read");
        assert_eq!(got, want);
        assert_eq!(parse(&got, 7, 1 << 21).expect("valid").len(), 3);
    }
}

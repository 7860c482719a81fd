//! Hint files: for a sealed data file, every record's key and location
//! without its value, so that opening reads keys only. A hint names the
//! generation and length of the data file it describes and is used only
//! when both match; any damaged entry makes the whole hint ignored (the
//! data file is read instead). Layout in docs/FORMAT.md.

use super::format::*;
use super::record::RecordHeader;

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

/// The header of a hint for a data file of this generation and length.
pub fn header(generation: u32, data_len: u64) -> [u8; HINT_HEADER_LEN] {
    let mut h = [0u8; HINT_HEADER_LEN];
    h[..8].copy_from_slice(&HINT_MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&generation.to_le_bytes());
    h[16..24].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// Appends the entry for a record at `offset` with `header` and `key`.
pub fn push_entry(out: &mut Vec<u8>, rec: &RecordHeader, key: &[u8], offset: u32) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    out.push(rec.flags);
    out.extend_from_slice(&rec.expires_at.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&rec.value_len.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(key);
    let crc = crc32c::crc32c(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Validates a whole hint file against the data file it should describe
/// and returns its entries, or None if it does not match or is damaged.
pub fn parse(buf: &[u8], generation: u32, data_len: u64) -> Option<Vec<HintEntry<'_>>> {
    if buf.len() < HINT_HEADER_LEN || buf[..8] != HINT_MAGIC {
        return None;
    }
    if u16::from_le_bytes([buf[8], buf[9]]) != FORMAT_VERSION
        || u32_at(buf, 12) != generation
        || u64_at(buf, 16) != data_len
    {
        return None;
    }
    let mut out = Vec::new();
    let mut at = HINT_HEADER_LEN;
    while at < buf.len() {
        let rest = &buf[at..];
        if rest.len() < HINT_ENTRY_HEADER_LEN {
            return None;
        }
        let key_len = u32_at(rest, 13) as usize;
        let len = HINT_ENTRY_HEADER_LEN.checked_add(key_len)?;
        if key_len > MAX_KEY_LEN || len > rest.len() {
            return None;
        }
        if crc32c::crc32c(&rest[4..len]) != u32_at(rest, 0) {
            return None;
        }
        let entry = HintEntry {
            flags: rest[4],
            expires_at: u64_at(rest, 5),
            key: &rest[HINT_ENTRY_HEADER_LEN..len],
            value_len: u32_at(rest, 17),
            offset: u32_at(rest, 21),
        };
        let record_end = u64::from(entry.offset)
            + (REC_HEADER_LEN + key_len) as u64
            + u64::from(entry.value_len);
        if entry.flags & !KNOWN_FLAGS != 0 || record_end > data_len {
            return None;
        }
        out.push(entry);
        at += len;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_any_flip_rejects() {
        let rec = RecordHeader {
            crc: 0,
            flags: 0,
            expires_at: 99,
            key_len: 3,
            value_len: 5,
        };
        let mut buf = header(2, 1000).to_vec();
        push_entry(&mut buf, &rec, b"abc", 16);
        push_entry(&mut buf, &rec, b"xyz", 45);
        let entries = parse(&buf, 2, 1000).expect("valid");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].key, b"xyz");
        assert_eq!(entries[1].offset, 45);
        assert!(parse(&buf, 3, 1000).is_none(), "generation must match");
        assert!(parse(&buf, 2, 999).is_none(), "data length must match");
        for i in HINT_HEADER_LEN..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert!(parse(&bad, 2, 1000).is_none(), "flip at {i} accepted");
        }
        assert!(parse(&buf[..buf.len() - 1], 2, 1000).is_none());
    }
}

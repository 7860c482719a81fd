//! Encoding and decoding of one record (header, key, value, CRC-32C), with
//! no I/O. Layout constants live in `format.rs`; the prose is docs/FORMAT.md.

use super::format::*;

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Stored CRC-32C.
    pub crc: u32,
    /// Flags byte.
    pub flags: u8,
    /// Absolute expiry in ms since the epoch, 0 = none.
    pub expires_at: u64,
    /// Key length in bytes.
    pub key_len: u32,
    /// Value length in bytes.
    pub value_len: u32,
}

impl RecordHeader {
    /// Decodes the fixed header from the first `REC_HEADER_LEN` bytes.
    /// Returns `None` if `buf` is too short.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        if buf.len() < REC_HEADER_LEN {
            return None;
        }
        let u32_at =
            |at: usize| u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&buf[REC_EXPIRES_AT..REC_EXPIRES_AT + 8]);
        Some(RecordHeader {
            crc: u32_at(REC_CRC_AT),
            flags: buf[REC_FLAGS_AT],
            expires_at: u64::from_le_bytes(exp),
            key_len: u32_at(REC_KEY_LEN_AT),
            value_len: u32_at(REC_VALUE_LEN_AT),
        })
    }

    /// Total record length: header, key and value.
    pub fn record_len(&self) -> u64 {
        REC_HEADER_LEN as u64 + self.key_len as u64 + self.value_len as u64
    }

    /// Whether the lengths and flags could belong to a record written by
    /// this version (used to tell damage from data before trusting lengths).
    pub fn is_sane(&self) -> bool {
        let batch = self.flags & FLAG_BATCH != 0;
        let max_value = if batch { MAX_BATCH_LEN } else { MAX_VALUE_LEN };
        self.key_len as usize <= MAX_KEY_LEN
            && self.value_len as usize <= max_value
            && self.flags & !KNOWN_FLAGS == 0
            && self.flags & FLAG_COMPRESSED == 0
            && (self.flags & (FLAG_TOMBSTONE | FLAG_CLEAR_ALL) == 0 || self.value_len == 0)
            // A batch is only a container: no other flag, no key, no expiry.
            && (!batch || (self.flags == FLAG_BATCH && self.key_len == 0 && self.expires_at == 0))
            && (self.flags & FLAG_SYNC_MARK == 0
                || (self.flags == FLAG_SYNC_MARK
                    && self.key_len == 0
                    && self.expires_at == 0
                    && self.value_len == SYNC_MARK_VALUE_LEN))
    }
}

/// Appends one encoded record to `out`. Lengths must already be checked
/// against `MAX_KEY_LEN` / `MAX_VALUE_LEN` by the caller.
pub fn encode_into(out: &mut Vec<u8>, flags: u8, expires_at: u64, key: &[u8], value: &[u8]) {
    let start = out.len();
    encode_unsealed(out, flags, expires_at, key, value);
    seal(&mut out[start..]);
}

/// Computes and stores the checksum of the one whole record in `rec`.
pub fn seal(rec: &mut [u8]) {
    let crc = crc32c::crc32c(&rec[REC_FLAGS_AT..]);
    rec[REC_CRC_AT..REC_CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Appends one record to `out` with a zero checksum, for `seal` to fix.
pub fn encode_unsealed(out: &mut Vec<u8>, flags: u8, expires_at: u64, key: &[u8], value: &[u8]) {
    out.reserve(REC_HEADER_LEN + key.len() + value.len());
    out.extend_from_slice(&[0u8; 4]);
    out.push(flags);
    out.extend_from_slice(&expires_at.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

/// Checks the CRC of a whole record held in `buf` (header, key, value).
pub fn crc_matches(header: &RecordHeader, buf: &[u8]) -> bool {
    crc32c::crc32c(&buf[REC_FLAGS_AT..]) == header.crc
}

/// A record decoded from a buffer that holds at least one whole record.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodedRecord<'a> {
    /// The header.
    pub header: RecordHeader,
    /// The key bytes.
    pub key: &'a [u8],
    /// The value bytes.
    pub value: &'a [u8],
    /// The whole record as stored: header, key and value.
    pub bytes: &'a [u8],
}

/// Why a record at some offset could not be decoded.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum DecodeError {
    /// Fewer bytes remain than the header or the lengths need.
    Truncated,
    /// Lengths or flags are impossible.
    BadHeader,
    /// The checksum does not match.
    BadCrc,
}

impl DecodeError {
    /// A short phrase for logs and `Error::Corrupt`.
    pub fn reason(self) -> &'static str {
        match self {
            DecodeError::Truncated => "record runs past the end of the file",
            DecodeError::BadHeader => "impossible lengths or flags",
            DecodeError::BadCrc => "checksum mismatch",
        }
    }
}

/// Decodes and verifies the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Result<DecodedRecord<'_>, DecodeError> {
    let header = RecordHeader::decode(buf).ok_or(DecodeError::Truncated)?;
    if !header.is_sane() {
        return Err(DecodeError::BadHeader);
    }
    let len = header.record_len();
    if len > buf.len() as u64 {
        return Err(DecodeError::Truncated);
    }
    let rec = &buf[..len as usize];
    if !crc_matches(&header, rec) {
        return Err(DecodeError::BadCrc);
    }
    Ok(parts(header, rec))
}

/// Splits a record that `decode` already accepted into its parts without
/// checking it again: `rec` is exactly the record's bytes and `header` was
/// decoded from them.
pub(crate) fn parts(header: RecordHeader, rec: &[u8]) -> DecodedRecord<'_> {
    let key_end = REC_HEADER_LEN + header.key_len as usize;
    DecodedRecord {
        header,
        key: &rec[REC_HEADER_LEN..key_end],
        value: &rec[key_end..],
        bytes: rec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 0, 1234, b"k\x00\xff", b"value\r\n");
        let rec = decode(&buf).expect("decodes");
        assert_eq!(rec.key, b"k\x00\xff");
        assert_eq!(rec.value, b"value\r\n");
        assert_eq!(rec.header.expires_at, 1234);
        assert_eq!(rec.header.record_len() as usize, buf.len());
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 0, 7, b"key", b"val");
        for i in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(decode(&bad).is_err(), "flip of bit {i} went unnoticed");
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 0, 0, b"key", b"value");
        for cut in 0..buf.len() {
            assert_eq!(decode(&buf[..cut]).err(), Some(DecodeError::Truncated));
        }
    }

    /// The example record in docs/FORMAT.md, byte for byte.
    #[test]
    fn format_md_example_record() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 0, 0, b"hi", b"yo");
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        let doc = include_str!("../../docs/FORMAT.md");
        let line = doc
            .lines()
            .find(|l| l.starts_with("example-record-hex:"))
            .expect("FORMAT.md has an example-record-hex line");
        assert_eq!(line.trim_start_matches("example-record-hex:").trim(), hex);
    }
}

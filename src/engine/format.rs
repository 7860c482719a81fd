//! The byte layout of data files, as constants. docs/FORMAT.md is the prose
//! description; each offset here builds on the previous one so the two
//! cannot silently drift apart (a test in `record.rs` decodes FORMAT.md's
//! example record byte for byte).

/// First eight bytes of every data file.
pub const FILE_MAGIC: [u8; 8] = *b"SLOWPOKE";
/// Format version written in the file header (2: batch records).
pub const FORMAT_VERSION: u16 = 2;
/// Oldest format version this build reads (version-1 files hold no batch
/// records, so they read as they are).
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// File header: magic (8), version (2), compaction generation (4), reserved zero (2).
pub const FILE_HEADER_LEN: usize = 16;
/// Offset of the version inside the file header.
pub const FILE_VERSION_AT: usize = FILE_MAGIC.len();
/// Offset of the compaction generation inside the file header.
pub const FILE_GENERATION_AT: usize = FILE_VERSION_AT + 2;

/// First eight bytes of every hint file.
pub const HINT_MAGIC: [u8; 8] = *b"SLOWHINT";
/// Hint header: magic (8), version (2), reserved (2), data generation (4),
/// data file length (8).
pub const HINT_HEADER_LEN: usize = 24;
// Hint entries are varint-packed; their layout is in `hint.rs` and
// docs/FORMAT.md.

/// Record: CRC-32C of every following byte of the record.
pub const REC_CRC_AT: usize = 0;
/// Record: flags byte (see `FLAG_*`).
pub const REC_FLAGS_AT: usize = REC_CRC_AT + 4;
/// Record: absolute expiry, ms since the Unix epoch, 0 = none.
pub const REC_EXPIRES_AT: usize = REC_FLAGS_AT + 1;
/// Record: key length.
pub const REC_KEY_LEN_AT: usize = REC_EXPIRES_AT + 8;
/// Record: value length.
pub const REC_VALUE_LEN_AT: usize = REC_KEY_LEN_AT + 4;
/// Record header length; the key starts here, the value follows the key.
pub const REC_HEADER_LEN: usize = REC_VALUE_LEN_AT + 4;

/// Flag: the record deletes its key (value length is 0).
pub const FLAG_TOMBSTONE: u8 = 0x01;
/// Flag: reserved for compressed values; never written by version 1.
pub const FLAG_COMPRESSED: u8 = 0x02;
/// Flag: the record deletes every key written before it (FLUSHALL);
/// key and value are empty.
pub const FLAG_CLEAR_ALL: u8 = 0x04;
/// Flag (version 2): the record is a batch. Its key is empty, its
/// expiry 0, and its value holds the member records of one multi-record
/// write back to back, so the batch is covered by one checksum and is
/// recovered whole or not at all.
pub const FLAG_BATCH: u8 = 0x08;
/// Flag (version 2): the record is a member of a batch. It is valid only
/// inside the value of a `FLAG_BATCH` record; met anywhere else it is
/// damage (a batch whose own header was destroyed), never applied.
pub const FLAG_IN_BATCH: u8 = 0x10;
/// Flag (version 2): a sync mark. Key empty, expiry 0, value the 8-byte
/// offset S such that every byte of this file before S was on stable
/// storage when the mark was written. Recovery uses the highest mark to
/// tell damage in synced data (skipped) from a power cut's torn tail
/// (truncated); marks are not keys.
pub const FLAG_SYNC_MARK: u8 = 0x20;
/// Value length of a sync mark.
pub const SYNC_MARK_VALUE_LEN: u32 = 8;
/// Flags this version understands.
pub const KNOWN_FLAGS: u8 =
    FLAG_TOMBSTONE | FLAG_COMPRESSED | FLAG_CLEAR_ALL | FLAG_BATCH | FLAG_IN_BATCH | FLAG_SYNC_MARK;

/// Largest key or value, as in Redis (512 MiB).
pub const MAX_KEY_LEN: usize = 512 * 1024 * 1024;
/// Largest value (512 MiB).
pub const MAX_VALUE_LEN: usize = 512 * 1024 * 1024;
/// Largest batch: the value of a `FLAG_BATCH` record, i.e. every member
/// record of one write (1 GiB). A larger write is refused before anything
/// is applied.
pub const MAX_BATCH_LEN: usize = 1024 * 1024 * 1024;

/// Data file name for a file id: ten decimal digits and `.data`.
pub fn data_file_name(id: u32) -> String {
    format!("{id:010}.data")
}

/// Hint file name for a data file order.
pub fn hint_file_name(id: u32) -> String {
    format!("{id:010}.hint")
}

/// Parses a data file name back into its id.
pub fn parse_data_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".data")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

//! The keydir: the ordered index plus per-file space accounting (total
//! and dead bytes), changed together under one lock so that the figures
//! compaction decides on always match the index. `apply` is the single
//! rule for what a record does, used by live writes, recovery from data
//! files and recovery from hint files alike.

use std::collections::HashMap;

use super::format::*;
use super::index::{Index, Location};

/// Space used by one data file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileUsage {
    /// Bytes of records in the file (header excluded).
    pub total: u64,
    /// Bytes of records that no longer hold a live version.
    pub dead: u64,
    /// Dead bytes compaction must keep (deletion markers that mask older
    /// files); not counted as reclaimable.
    pub pinned: u64,
}

impl FileUsage {
    /// Dead bytes compaction could reclaim.
    pub fn reclaimable(&self) -> u64 {
        self.dead.saturating_sub(self.pinned)
    }
}

/// A record as far as the keydir cares (no value bytes).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Flags byte.
    pub flags: u8,
    /// Absolute expiry, 0 = none.
    pub expires_at: u64,
    /// The key.
    pub key: &'a [u8],
    /// Value length.
    pub value_len: u32,
}

impl RecordRef<'_> {
    /// Bytes the record takes in its data file.
    pub fn len(&self) -> u64 {
        (REC_HEADER_LEN + self.key.len()) as u64 + u64::from(self.value_len)
    }

    /// True for a record with no key and value (never: every record has a
    /// header), kept for clippy's len/is_empty pairing.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Length on disk of the record a location points at.
pub fn record_len(key: &[u8], loc: &Location) -> u64 {
    (REC_HEADER_LEN + key.len()) as u64 + u64::from(loc.value_len)
}

/// Index plus accounting.
#[derive(Debug, Default)]
pub struct Keydir {
    /// key -> location.
    pub index: Index,
    /// file handle -> usage.
    pub usage: HashMap<u32, FileUsage>,
}

impl Keydir {
    fn dead(&mut self, file: u32, bytes: u64) {
        let u = self.usage.entry(file).or_default();
        u.dead = (u.dead + bytes).min(u.total);
    }

    /// Marks the record a removed location pointed at as dead.
    pub fn mark_dead(&mut self, key: &[u8], old: &Location) {
        self.dead(old.file, record_len(key, old));
    }

    /// Applies one good record found at (`file`, `offset`), exactly as a
    /// live write would: put, tombstone, clear-all; an expired put is a
    /// tombstone.
    pub fn apply(&mut self, rec: &RecordRef<'_>, file: u32, offset: u32, now_ms: u64) {
        let len = rec.len();
        self.usage.entry(file).or_default().total += len;
        if rec.flags & FLAG_CLEAR_ALL != 0 {
            self.index.clear();
            for u in self.usage.values_mut() {
                u.dead = u.total;
            }
        } else if rec.flags & FLAG_TOMBSTONE != 0
            || (rec.expires_at != 0 && rec.expires_at <= now_ms)
        {
            if let Some(old) = self.index.remove(rec.key) {
                self.mark_dead(rec.key, &old);
            }
            self.dead(file, len);
        } else {
            let loc = Location {
                file,
                offset,
                value_len: rec.value_len,
                expires_at: rec.expires_at,
            };
            if let Some(old) = self.index.insert(rec.key, loc) {
                self.mark_dead(rec.key, &old);
            }
        }
    }

    /// Removes `key` if it still points at `expected`; accounts the space.
    pub fn remove_if(&mut self, key: &[u8], expected: &Location) -> bool {
        if self.index.remove_if(key, expected) {
            self.mark_dead(key, expected);
            return true;
        }
        false
    }

    /// Total and dead bytes over all files.
    pub fn totals(&self) -> (u64, u64) {
        self.usage
            .values()
            .fold((0, 0), |(t, d), u| (t + u.total, d + u.dead))
    }
}

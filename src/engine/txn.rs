//! Transactions: `Txn` collects the records of one write into a `Batch`
//! while the writer lock is held, and answers reads (get, meta, contains)
//! from the store plus its own pending writes. `Engine::transaction` runs
//! it and commits the batch (mod.rs); the framing is batch.rs.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::batch::Batch;
use super::error::Result;
use super::format::*;
use super::index::Location;
use super::{check_lengths, expiry, read_lock, Shared};

/// What a transaction has written but not yet committed, per key.
#[derive(Debug, Clone, Copy)]
enum Pending {
    /// A put whose record starts at this offset of the batch.
    Put {
        at: usize,
        value_len: u32,
        expires_at: u64,
    },
    Deleted,
}

/// An open transaction: reads see the store plus the transaction's own
/// writes; writes are encoded into one batch appended at commit.
#[derive(Debug)]
pub struct Txn<'a> {
    shared: &'a Shared,
    now: u64,
    batch: Batch,
    overlay: BTreeMap<Vec<u8>, Pending>,
    cleared: bool,
    written: Vec<Vec<u8>>,
}

impl<'a> Txn<'a> {
    pub(super) fn new(shared: &'a Shared, now: u64) -> Self {
        Txn {
            shared,
            now,
            batch: Batch::default(),
            overlay: BTreeMap::new(),
            cleared: false,
            written: Vec::new(),
        }
    }

    /// The records written so far, for the commit.
    pub(super) fn batch_mut(&mut self) -> &mut Batch {
        &mut self.batch
    }

    /// "Now" for this transaction (one instant for all its commands).
    pub fn now_ms(&self) -> u64 {
        self.now
    }

    /// The live location of `key` as this transaction sees it (for a key
    /// written in this transaction, `file` is `u32::MAX`).
    pub fn meta(&self, key: &[u8]) -> Option<Location> {
        match self.overlay.get(key) {
            Some(Pending::Deleted) => None,
            Some(&Pending::Put {
                at,
                value_len,
                expires_at,
            }) => (expires_at == 0 || expires_at > self.now).then_some(Location {
                file: u32::MAX,
                offset: at as u32,
                value_len,
                expires_at,
            }),
            None if self.cleared => None,
            None => {
                let loc = read_lock(&self.shared.keydir).index.get(key)?;
                (!expiry::is_expired(&loc, self.now)).then_some(loc)
            }
        }
    }

    /// The value of `key` as this transaction sees it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.get_with_meta(key)?.map(|(v, _)| v))
    }

    /// The value and location of `key` as this transaction sees it.
    pub fn get_with_meta(&self, key: &[u8]) -> Result<Option<(Bytes, Location)>> {
        let Some(loc) = self.meta(key) else {
            return Ok(None);
        };
        if loc.file == u32::MAX {
            let start = loc.offset as usize + REC_HEADER_LEN + key.len();
            let value =
                Bytes::copy_from_slice(&self.batch.bytes()[start..start + loc.value_len as usize]);
            return Ok(Some((value, loc)));
        }
        self.shared.read_value(key, &loc, self.now)
    }

    /// True when `key` is live.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.meta(key).is_some()
    }

    /// Stores `value` under `key` (see `Engine::put`).
    pub fn put(&mut self, key: &[u8], value: &[u8], expires_at: Option<u64>) -> Result<()> {
        check_lengths(key, value)?;
        let expires_at = expires_at.unwrap_or(0).max(u64::from(expires_at.is_some()));
        let at = self.batch.push(0, expires_at, key, value);
        let pending = if expires_at != 0 && expires_at <= self.now {
            Pending::Deleted
        } else {
            Pending::Put {
                at,
                value_len: value.len() as u32,
                expires_at,
            }
        };
        self.overlay.insert(key.to_vec(), pending);
        self.written.push(key.to_vec());
        Ok(())
    }

    /// Deletes `key`; true if it was live. Writes a tombstone only then.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        check_lengths(key, b"")?;
        let live = self.contains(key);
        // A key that exists in the index but has expired still gets a
        // tombstone, so no older version can come back on recovery.
        let in_index = !self.cleared && read_lock(&self.shared.keydir).index.get(key).is_some();
        if live || in_index || self.overlay.contains_key(key) {
            self.batch.push(FLAG_TOMBSTONE, 0, key, b"");
            self.overlay.insert(key.to_vec(), Pending::Deleted);
            self.written.push(key.to_vec());
        }
        Ok(live)
    }

    /// Sets or clears the expiry of a live key; false if absent.
    pub fn set_expiry(&mut self, key: &[u8], expires_at: Option<u64>) -> Result<bool> {
        let Some(value) = self.get(key)? else {
            return Ok(false);
        };
        if expires_at.is_some_and(|e| e <= self.now) {
            self.delete(key)?;
        } else {
            self.put(key, &value, expires_at)?;
        }
        Ok(true)
    }

    /// Deletes every key (FLUSHALL inside MULTI). Disk space comes back at
    /// the next compaction; `Engine::clear` frees it at once.
    pub fn clear_all(&mut self) {
        self.batch.push(FLAG_CLEAR_ALL, 0, b"", b"");
        self.overlay.clear();
        self.cleared = true;
    }

    /// Keys this transaction wrote, in order (with repeats).
    pub fn written_keys(&self) -> &[Vec<u8>] {
        &self.written
    }
}

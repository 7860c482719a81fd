//! `Db`: the server's view of the engine. Commands see keys through the
//! `Keyspace` trait, implemented by `ReadView` (plain reads, no locks beyond
//! the engine's) and the engine's `Txn` (writes, and reads inside them).
//! Every committed write bumps a WATCH version bucket for its keys, inside
//! the engine's write lock, so EXEC can tell whether a watched key changed.

use std::hash::{Hash, Hasher};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::engine::{self, Engine, Location, SyncTicket, Txn};

/// Number of WATCH version buckets (a key maps to one by hash; a
/// collision can only abort an EXEC spuriously, never miss a change).
const WATCH_BUCKETS: usize = 1 << 16;

/// How commands reach keys.
pub trait Keyspace {
    /// "Now" in ms since the epoch (fixed for a transaction).
    fn now_ms(&self) -> u64;
    /// Live key metadata, no I/O.
    fn meta(&self, key: &[u8]) -> Option<Location>;
    /// Value of a live key.
    fn get(&self, key: &[u8]) -> engine::Result<Option<Bytes>>;
    /// Value and metadata of a live key.
    fn get_with_meta(&self, key: &[u8]) -> engine::Result<Option<(Bytes, Location)>>;
    /// Stores a value (absolute expiry in ms, None = persistent).
    fn put(&mut self, key: &[u8], value: &[u8], expires_at: Option<u64>) -> engine::Result<()>;
    /// Deletes a key; true if it was live.
    fn delete(&mut self, key: &[u8]) -> engine::Result<bool>;
    /// Changes the expiry of a live key; false if absent.
    fn set_expiry(&mut self, key: &[u8], expires_at: Option<u64>) -> engine::Result<bool>;
    /// The engine, for whole-keyspace operations (len, range walks).
    fn engine(&self) -> &Engine;
    /// Removes every key (FLUSHALL/FLUSHDB). Outside a transaction this is
    /// `Engine::clear` (takes the writer lock, frees disk at once); inside
    /// one it goes through the transaction (atomic with the rest of EXEC;
    /// disk comes back at compaction).
    fn clear_all(&mut self) -> engine::Result<()>;
    /// Number of keys as this view sees them (DBSIZE): like `Engine::len`,
    /// keys that expired but were not yet removed still count.
    fn key_count(&self) -> usize {
        self.engine().len()
    }
    /// Keys written by this view's uncommitted transaction (with repeats),
    /// None outside one. Walks over `engine()` see only committed keys, so
    /// they check each key with `meta` and merge these in (SCAN, KEYS).
    fn pending_writes(&self) -> Option<&[Vec<u8>]> {
        None
    }
}

/// Read-only access outside a transaction. Writes are routed through
/// `Db::write` by the dispatcher, so they never reach this type; if one
/// did, it still runs as its own atomic engine transaction.
pub struct ReadView<'a>(pub &'a Engine);

impl Keyspace for ReadView<'_> {
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
    fn meta(&self, key: &[u8]) -> Option<Location> {
        self.0.meta(key)
    }
    fn get(&self, key: &[u8]) -> engine::Result<Option<Bytes>> {
        self.0.get(key)
    }
    fn get_with_meta(&self, key: &[u8]) -> engine::Result<Option<(Bytes, Location)>> {
        self.0.get_with_meta(key)
    }
    fn put(&mut self, key: &[u8], value: &[u8], expires_at: Option<u64>) -> engine::Result<()> {
        self.0.put(key, value, expires_at)
    }
    fn delete(&mut self, key: &[u8]) -> engine::Result<bool> {
        self.0.delete(key)
    }
    fn set_expiry(&mut self, key: &[u8], expires_at: Option<u64>) -> engine::Result<bool> {
        self.0.set_expiry(key, expires_at)
    }
    fn engine(&self) -> &Engine {
        self.0
    }
    fn clear_all(&mut self) -> engine::Result<()> {
        self.0.clear()
    }
}

/// A transaction plus the engine it belongs to.
pub struct TxnView<'a, 'b> {
    /// The engine transaction.
    pub txn: &'a mut Txn<'b>,
    /// The engine.
    pub engine: &'a Engine,
    /// `clear_all` ran in this transaction (its keys count from zero).
    pub cleared: bool,
}

impl Keyspace for TxnView<'_, '_> {
    fn now_ms(&self) -> u64 {
        self.txn.now_ms()
    }
    fn meta(&self, key: &[u8]) -> Option<Location> {
        self.txn.meta(key)
    }
    fn get(&self, key: &[u8]) -> engine::Result<Option<Bytes>> {
        self.txn.get(key)
    }
    fn get_with_meta(&self, key: &[u8]) -> engine::Result<Option<(Bytes, Location)>> {
        self.txn.get_with_meta(key)
    }
    fn put(&mut self, key: &[u8], value: &[u8], expires_at: Option<u64>) -> engine::Result<()> {
        self.txn.put(key, value, expires_at)
    }
    fn delete(&mut self, key: &[u8]) -> engine::Result<bool> {
        self.txn.delete(key)
    }
    fn set_expiry(&mut self, key: &[u8], expires_at: Option<u64>) -> engine::Result<bool> {
        self.txn.set_expiry(key, expires_at)
    }
    fn engine(&self) -> &Engine {
        self.engine
    }
    fn pending_writes(&self) -> Option<&[Vec<u8>]> {
        Some(self.txn.written_keys())
    }
    fn clear_all(&mut self) -> engine::Result<()> {
        self.txn.clear_all();
        self.cleared = true;
        Ok(())
    }
    fn key_count(&self) -> usize {
        // The committed count, corrected by what this transaction changed:
        // each written key counts if it is live now, minus whether the
        // index held it before (expired-but-present entries included, as
        // `Engine::len` counts them).
        let mut seen = std::collections::HashSet::new();
        let mut count = if self.cleared {
            0
        } else {
            self.engine.len() as i64
        };
        for key in self.txn.written_keys() {
            if !seen.insert(key.as_slice()) {
                continue;
            }
            count += i64::from(self.txn.meta(key).is_some());
            if !self.cleared {
                let k = key.as_slice();
                let in_index = self
                    .engine
                    .walk_page(Bound::Included(k), Bound::Included(k), false, 1, |_, _| {
                        true
                    })
                    .is_some();
                count -= i64::from(in_index);
            }
        }
        count.max(0) as usize
    }
}

/// The engine plus WATCH bookkeeping.
pub struct Db {
    /// The storage engine.
    pub engine: Engine,
    versions: Box<[AtomicU64]>,
    /// Bumped by FLUSHDB/FLUSHALL: every watch is invalidated.
    flush_epoch: AtomicU64,
}

/// A snapshot of one watched key's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchMark {
    bucket: usize,
    version: u64,
    epoch: u64,
    /// The key was live when watched: if it is gone at EXEC without a
    /// write (it expired), EXEC aborts too, as in Redis.
    pub existed: bool,
}

fn bucket_of(key: &[u8]) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % WATCH_BUCKETS
}

impl Db {
    /// Wraps an open engine.
    pub fn new(engine: Engine) -> Self {
        Db {
            engine,
            versions: (0..WATCH_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            flush_epoch: AtomicU64::new(0),
        }
    }

    /// Records the current version of `key` for WATCH.
    pub fn watch_mark(&self, key: &[u8]) -> WatchMark {
        let bucket = bucket_of(key);
        WatchMark {
            bucket,
            version: self.versions[bucket].load(Ordering::Acquire),
            epoch: self.flush_epoch.load(Ordering::Acquire),
            existed: false,
        }
    }

    /// True if the key behind `mark` may have changed since it was taken.
    pub fn watch_broken(&self, mark: &WatchMark) -> bool {
        self.versions[mark.bucket].load(Ordering::Acquire) != mark.version
            || self.flush_epoch.load(Ordering::Acquire) != mark.epoch
    }

    /// Invalidates every WATCH (FLUSHDB/FLUSHALL).
    pub fn touch_all(&self) {
        self.flush_epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Runs `f` as one engine transaction and bumps the WATCH versions of
    /// every key it wrote, before the transaction commits.
    /// Under `always` the returned ticket must be waited for (with
    /// `Engine::wait_durable`) before the reply goes out.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut TxnView<'_, '_>) -> R,
    ) -> engine::Result<(R, SyncTicket)> {
        self.engine.transaction_nowait(|txn| {
            let mut view = TxnView {
                txn,
                engine: &self.engine,
                cleared: false,
            };
            let out = f(&mut view);
            for key in view.txn.written_keys() {
                self.versions[bucket_of(key)].fetch_add(1, Ordering::AcqRel);
            }
            Ok(out)
        })
    }
}

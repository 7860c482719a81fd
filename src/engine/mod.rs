//! The storage engine: a Bitcask-style log of numbered data files with an
//! ordered in-RAM index of keys. Values live only on disk (the OS page cache
//! is the cache): a hit is one positioned read, a miss or an expired key no
//! I/O at all. The engine knows nothing of tokio, RESP or Redis.
//!
//! Concurrency: readers take the index read lock just long enough to copy a
//! `Location`, then read the file without any lock. Writers serialise on
//! the write lock, append their records with one `pwrite`, take the index
//! write lock only to apply them, and wait for fsync (if the policy asks)
//! after releasing everything, sharing one fsync between them.

pub mod batch;
pub mod compaction;
pub mod data_file;
pub mod dir;
pub mod durability;
pub mod error;
pub mod expiry;
pub mod fault;
pub mod format;
pub mod hint;
pub mod index;
pub mod keydir;
pub mod record;
pub mod recovery;
pub mod scan;
mod txn;

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use batch::Batch;
use bytes::Bytes;

pub use compaction::{Outcome as CompactionOutcome, Step as CompactionStep};
use data_file::DataFile;
pub use durability::FsyncPolicy;
use durability::{PolicyCell, SyncState};
pub use error::{Error, Result};
pub use expiry::{Clock, ManualClock, SystemClock};
use format::*;
pub use index::Location;
pub use keydir::FileUsage;
use keydir::{Keydir, RecordRef};
pub use recovery::{check_dir, CheckReport, Damage, RecoveryReport};
pub use txn::Txn;

/// How to open a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// The active file rotates once it would grow past this size
    /// (default 128 MiB; at most 4 GiB so offsets fit in 32 bits).
    pub max_file_size: u64,
    /// When appended records are fsynced.
    pub fsync: FsyncPolicy,
    /// How often the expiry cycle runs.
    pub expiry_interval: Duration,
    /// The clock used for expiry.
    pub clock: Arc<dyn Clock>,
    /// A sealed file is compacted once this share of it is reclaimable.
    pub compaction_threshold: f64,
    /// Compaction I/O limit in bytes per second (0 = unlimited).
    pub compaction_rate: u64,
    /// How often background compaction looks for work (None = never;
    /// `compact` and `request_compaction` still work on demand).
    pub compaction_interval: Option<Duration>,
    /// Tests: make this step of compaction fail, once.
    pub compaction_failpoint: Option<CompactionStep>,
    /// Runs a read that must wait for the disk (the record is not in the
    /// page cache). The server passes tokio's `block_in_place` so a slow
    /// disk never stalls other clients; None runs it inline.
    pub blocking_read: Option<BlockingHook>,
    /// Benchmarks only: every read that is not served by the page-cache
    /// probe is delayed this long, and the probe is skipped, to simulate a
    /// slow disk (an HDD seek is ~8-10 ms).
    pub simulated_read_latency: Duration,
}

/// See `Options::blocking_read`.
#[derive(Clone)]
pub struct BlockingHook(pub Arc<BlockingFn>);

/// Runs the read it is given (possibly after moving other work away).
pub type BlockingFn = dyn Fn(&mut dyn FnMut()) + Send + Sync;

impl std::fmt::Debug for BlockingHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingHook")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_file_size: 128 * 1024 * 1024,
            fsync: FsyncPolicy::EverySec,
            expiry_interval: Duration::from_millis(100),
            clock: Arc::new(SystemClock),
            compaction_threshold: 0.5,
            compaction_rate: 64 * 1024 * 1024,
            compaction_interval: Some(Duration::from_secs(1)),
            compaction_failpoint: None,
            blocking_read: None,
            simulated_read_latency: Duration::ZERO,
        }
    }
}

/// Figures for INFO and tests.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Live keys (including expired keys the cycle has not removed yet).
    pub keys: usize,
    /// Keys with an expiry.
    pub keys_with_expiry: usize,
    /// Number of data files.
    pub data_files: usize,
    /// Total bytes appended since open.
    pub bytes_written: u64,
    /// Number of fsyncs since open.
    pub fsyncs: u64,
    /// Keys removed by the expiry cycle since open.
    pub expired_keys: u64,
    /// Estimated average remaining TTL of the keys with an expiry, in ms
    /// (INFO's `avg_ttl`; Redis's running estimate from the expiry cycle).
    pub avg_ttl_ms: u64,
    /// The error that stopped writes, if any.
    pub write_failure: Option<String>,
    /// Number (order) of the active file.
    pub active_file: u32,
    /// Bytes of records on disk.
    pub disk_bytes: u64,
    /// Of which no longer live.
    pub dead_bytes: u64,
    /// Compactions completed since open.
    pub compactions: u64,
    /// Bytes reclaimed by compaction since open.
    pub reclaimed_bytes: u64,
    /// A compaction was requested or is running.
    pub compaction_running: bool,
}

#[derive(Debug)]
struct Writer {
    active: Arc<DataFile>,
    /// Where the next record goes in the active file.
    len: u64,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    max_file_size: u64,
    clock: Arc<dyn Clock>,
    policy: PolicyCell,
    /// Held from open until close (or drop).
    lock: Mutex<Option<dir::DirLock>>,
    /// Index and per-file accounting. Lock order: writer, then keydir,
    /// then files; never hold one while taking an earlier one.
    keydir: RwLock<Keydir>,
    /// Open data files by handle.
    files: RwLock<HashMap<u32, Arc<DataFile>>>,
    next_handle: AtomicU32,
    /// Number of the active file, for `stats` (which must not wait for the
    /// writer: INFO runs inside EXEC, whose transaction holds it).
    active_order: AtomicU32,
    writer: Mutex<Writer>,
    sync: SyncState,
    closed: AtomicBool,
    expired_keys: AtomicU64,
    avg_ttl_ms: AtomicU64,
    compaction_threshold: f64,
    compaction_rate: u64,
    /// Taken when it fires.
    failpoint: Mutex<Option<CompactionStep>>,
    /// Held by compaction, hint writing and `clear`.
    compact_lock: Mutex<()>,
    /// Sealed files that still need a hint.
    needs_hint: Mutex<Vec<u32>>,
    /// Files replaced by compaction, closed after a grace period.
    retired: Mutex<Vec<(Instant, u32)>>,
    compact_requested: AtomicBool,
    compaction_running: AtomicBool,
    compactions: AtomicU64,
    reclaimed: AtomicU64,
    last_compaction_tick: Mutex<Instant>,
    blocking_read: Option<BlockingHook>,
    simulated_read_latency: Duration,
}

/// What a write must wait for before it is acknowledged (see
/// `Engine::transaction_nowait`). Tickets merge: waiting for the later of
/// two covers both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct SyncTicket(Option<u64>);

impl SyncTicket {
    /// True when nothing needs to be waited for.
    pub fn is_done(&self) -> bool {
        self.0.is_none()
    }
    /// The ticket covering both.
    pub fn merge(self, other: SyncTicket) -> SyncTicket {
        SyncTicket(self.0.max(other.0))
    }
}

/// An open store. `Send + Sync`: share it with `Arc`.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    background: Mutex<Option<Background>>,
    report: RecoveryReport,
    open_time: Duration,
}

fn read_lock<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}
fn write_lock<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}
fn mutex<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn check_lengths(key: &[u8], value: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::TooLarge {
            what: "key",
            len: key.len() as u64,
            max: MAX_KEY_LEN as u64,
        });
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::TooLarge {
            what: "value",
            len: value.len() as u64,
            max: MAX_VALUE_LEN as u64,
        });
    }
    Ok(())
}

/// The end of a prefix range: the smallest key greater than every key
/// that starts with `prefix` (None when there is none, e.g. all 0xFF).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Engine {
    /// Opens (creating if needed) the store in `dir`, rebuilding the index
    /// from its data files.
    ///
    /// # Errors
    /// `Error::Locked` if another handle holds the directory; `Error::Io`
    /// or `Error::BadHeader` when files cannot be read. Damaged records
    /// never stop an open: they are reported in `recovery_report`.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Engine> {
        let started = Instant::now();
        let dir = dir.as_ref().to_path_buf();
        let lock = dir::lock(&dir)?;
        let max_file_size = options
            .max_file_size
            .clamp(FILE_HEADER_LEN as u64 + 1, u64::from(u32::MAX));
        let now = options.clock.now_ms();
        Shared::remove_leftovers(&dir)?;
        let ids = dir::data_file_ids(&dir)?;
        let mut keydir = Keydir::default();
        let mut report = RecoveryReport::default();
        let mut files = HashMap::new();
        let mut needs_hint = Vec::new();
        let mut last = None;
        let mut last_progress = Instant::now();
        for (i, &order) in ids.iter().enumerate() {
            let handle = i as u32 + 1;
            let newest = i + 1 == ids.len();
            let mode = if newest {
                recovery::Mode::NewestFile
            } else {
                recovery::Mode::OlderFile
            };
            let hints_before = report.from_hints;
            let damage_before = report.damage.len();
            let read =
                recovery::recover_file(&dir, order, handle, mode, &mut keydir, &mut report, now)?;
            if !newest && report.from_hints == hints_before && report.damage.len() == damage_before
            {
                needs_hint.push(handle);
            }
            files.insert(
                handle,
                Arc::new(DataFile::open(&dir, order, handle, read.generation)?),
            );
            last = Some((handle, read.len, read.version));
            if last_progress.elapsed() >= Duration::from_secs(1) {
                tracing::info!(
                    files = i + 1,
                    of = ids.len(),
                    keys = keydir.index.len(),
                    "loading data files"
                );
                last_progress = Instant::now();
            }
        }
        let mut next_handle = ids.len() as u32 + 1;
        let (active, active_len) = match last {
            // A newest file already at its size limit, or written by an
            // older format version, is sealed and a new one started.
            Some((h, len, version)) if len < max_file_size && version == FORMAT_VERSION => {
                (files.get(&h).cloned(), len)
            }
            Some((h, _, _)) => {
                needs_hint.push(h);
                (None, 0)
            }
            None => (None, 0),
        };
        let (active, active_len) = match active {
            Some(f) => (f, active_len),
            None => {
                let order = ids.last().map_or(1, |&id| id + 1);
                let f = Arc::new(DataFile::create(&dir, order, next_handle)?);
                next_handle += 1;
                f.sync()?;
                dir::sync_dir(&dir)?;
                files.insert(f.handle, Arc::clone(&f));
                (f, FILE_HEADER_LEN as u64)
            }
        };
        let shared = Arc::new(Shared {
            dir,
            max_file_size,
            clock: options.clock,
            policy: PolicyCell::new(options.fsync),
            lock: Mutex::new(Some(lock)),
            keydir: RwLock::new(keydir),
            files: RwLock::new(files),
            next_handle: AtomicU32::new(next_handle),
            sync: SyncState::new(Arc::clone(&active)),
            active_order: AtomicU32::new(active.order),
            writer: Mutex::new(Writer {
                active,
                len: active_len,
            }),
            closed: AtomicBool::new(false),
            expired_keys: AtomicU64::new(0),
            avg_ttl_ms: AtomicU64::new(0),
            compaction_threshold: options.compaction_threshold,
            compaction_rate: options.compaction_rate,
            failpoint: Mutex::new(options.compaction_failpoint),
            compact_lock: Mutex::new(()),
            needs_hint: Mutex::new(needs_hint),
            retired: Mutex::new(Vec::new()),
            compact_requested: AtomicBool::new(false),
            compaction_running: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
            last_compaction_tick: Mutex::new(Instant::now()),
            blocking_read: options.blocking_read.clone(),
            simulated_read_latency: options.simulated_read_latency,
        });
        let background = start_background(
            &shared,
            options.expiry_interval,
            options.compaction_interval,
        )?;
        Ok(Engine {
            shared,
            background: Mutex::new(Some(background)),
            report,
            open_time: started.elapsed(),
        })
    }

    /// What the open found (files read, damaged records).
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// How long `open` took.
    pub fn open_time(&self) -> Duration {
        self.open_time
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Milliseconds since the epoch by the store's clock.
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    /// The current fsync policy.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.shared.policy.get()
    }

    /// Changes the fsync policy from now on.
    pub fn set_fsync_policy(&self, p: FsyncPolicy) {
        self.shared.policy.set(p);
    }

    /// The location of a live (present, unexpired) key; no I/O.
    /// An expired key found here is removed from the index at once (as
    /// Redis expires keys on access), so DBSIZE stops counting it.
    pub fn meta(&self, key: &[u8]) -> Option<Location> {
        let loc = read_lock(&self.shared.keydir).index.get(key)?;
        if expiry::is_expired(&loc, self.now_ms()) {
            if write_lock(&self.shared.keydir).remove_if(key, &loc) {
                self.shared.expired_keys.fetch_add(1, Ordering::Relaxed);
            }
            return None;
        }
        Some(loc)
    }

    /// True when `key` is live; no I/O.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.meta(key).is_some()
    }

    /// The value of `key`: one positioned read for a hit, none for a miss.
    ///
    /// # Errors
    /// `Error::Io` if the read fails, `Error::Corrupt` if the record on disk
    /// fails its checksum.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        match self.meta(key) {
            Some(loc) => Ok(self
                .shared
                .read_value(key, &loc, self.now_ms())?
                .map(|(v, _)| v)),
            None => Ok(None),
        }
    }

    /// The value and its location (expiry) in one call.
    pub fn get_with_meta(&self, key: &[u8]) -> Result<Option<(Bytes, Location)>> {
        match self.meta(key) {
            Some(loc) => self.shared.read_value(key, &loc, self.now_ms()),
            None => Ok(None),
        }
    }

    /// Stores `value` under `key`, with an absolute expiry in ms (None =
    /// persistent). An expiry in the past deletes the key.
    pub fn put(&self, key: &[u8], value: &[u8], expires_at: Option<u64>) -> Result<()> {
        self.transaction(|t| t.put(key, value, expires_at))
    }

    /// Deletes `key`; true if it was live.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.transaction(|t| t.delete(key))
    }

    /// Sets or clears the expiry of a live key (rewrites its record, so
    /// the new expiry survives a restart); false if the key is absent.
    pub fn set_expiry(&self, key: &[u8], expires_at: Option<u64>) -> Result<bool> {
        self.transaction(|t| t.set_expiry(key, expires_at))
    }

    /// Runs `f` atomically: no other write interleaves, and readers see
    /// either none or all of its writes, which reach the log in one append.
    /// If `f` returns an error nothing is written. Under `always` this
    /// returns only once the writes are on stable storage.
    pub fn transaction<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<R>) -> Result<R> {
        let (out, ticket) = self.transaction_nowait(f)?;
        self.wait_durable(ticket)?;
        Ok(out)
    }

    /// Like `transaction`, but never waits for fsync: under `always` the
    /// returned ticket must be passed to `wait_durable` before the write is
    /// acknowledged. Lets an async caller wait on a blocking thread, and
    /// lets many writers share one fsync.
    pub fn transaction_nowait<R>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> Result<R>,
    ) -> Result<(R, SyncTicket)> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let writer = mutex(&self.shared.writer);
        let mut txn = Txn::new(&self.shared, self.now_ms());
        let out = f(&mut txn)?;
        let seq = self.shared.commit(writer, txn.batch_mut())?;
        let ticket = match seq {
            Some(seq) if self.shared.policy.get() == FsyncPolicy::Always => SyncTicket(Some(seq)),
            _ => SyncTicket(None),
        };
        Ok((out, ticket))
    }

    /// Blocks until the writes behind `ticket` are on stable storage (a
    /// no-op for tickets from `everysec`/`no` writes).
    pub fn wait_durable(&self, ticket: SyncTicket) -> Result<()> {
        match ticket.0 {
            Some(seq) => self.shared.sync.sync_to(seq),
            None => Ok(()),
        }
    }

    /// A ticket for every write appended so far, under `always` (empty
    /// when they are all durable, or under `everysec` and `no`). Waiting
    /// for it before showing a client anything read from the store means
    /// the client can never see a write whose fsync then fails: writes
    /// are visible in the index before they are durable.
    pub fn pending_ticket(&self) -> SyncTicket {
        if self.shared.policy.get() != FsyncPolicy::Always {
            return SyncTicket(None);
        }
        SyncTicket(self.shared.sync.pending())
    }

    /// Live keys within the bounds, in order (or reverse order), at most
    /// `limit`, with their locations. Resume a walk by passing the last key
    /// returned as an excluded bound. Holds the index lock only for this
    /// one page.
    pub fn range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Vec<(Vec<u8>, Location)> {
        let now = self.now_ms();
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        read_lock(&self.shared.keydir)
            .index
            .walk(start, end, reverse, |k, loc| {
                if !expiry::is_expired(&loc, now) {
                    out.push((k.to_vec(), loc));
                }
                out.len() < limit
            });
        out
    }

    /// Like `range` but also visits expired entries and reports how many
    /// entries were examined; for cursors that must make progress.
    pub fn walk_page(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        max_visited: usize,
        mut f: impl FnMut(&[u8], &Location) -> bool,
    ) -> Option<Vec<u8>> {
        let mut visited = 0;
        let mut last = None;
        read_lock(&self.shared.keydir)
            .index
            .walk(start, end, reverse, |k, loc| {
                visited += 1;
                let go_on = f(k, &loc);
                if visited >= max_visited || !go_on {
                    last = Some(k.to_vec());
                    return false;
                }
                true
            });
        last
    }

    /// Live keys starting with `prefix`, after `after` if given, at most `limit`.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Location)> {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        let end = prefix_end(prefix);
        let end_bound = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.range(start, end_bound, false, limit)
    }

    /// Deletes every key starting with `prefix`; returns how many.
    pub fn delete_prefix(&self, prefix: &[u8]) -> Result<usize> {
        let mut total = 0;
        loop {
            let page = self.scan_prefix(prefix, None, 1000);
            if page.is_empty() {
                return Ok(total);
            }
            total += self.transaction(|t| {
                let mut n = 0;
                for (k, _) in &page {
                    n += usize::from(t.delete(k)?);
                }
                Ok(n)
            })?;
        }
    }

    /// Removes every key, durably: a clear-all record goes to a fresh file,
    /// then older files are deleted, so their space comes back at once.
    pub fn clear(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let _compaction = mutex(&self.shared.compact_lock);
        let mut writer = mutex(&self.shared.writer);
        self.shared.rotate(&mut writer)?;
        let mut batch = Batch::default();
        batch.push(FLAG_CLEAR_ALL, 0, b"", b"");
        let active_order = writer.active.order;
        let seq = self.shared.commit(writer, &mut batch)?;
        if let Some(seq) = seq {
            self.shared.sync.sync_to(seq)?;
        }
        let old: Vec<Arc<DataFile>> = {
            let mut files = write_lock(&self.shared.files);
            let handles: Vec<u32> = files
                .values()
                .filter(|f| f.order < active_order)
                .map(|f| f.handle)
                .collect();
            handles.iter().filter_map(|h| files.remove(h)).collect()
        };
        {
            let mut kd = write_lock(&self.shared.keydir);
            for f in &old {
                kd.usage.remove(&f.handle);
            }
        }
        mutex(&self.shared.needs_hint).clear();
        mutex(&self.shared.retired).clear();
        for f in old {
            // Readers that still hold the file keep reading it: unlinking
            // an open file leaves its data readable until the last close.
            if let Err(e) = std::fs::remove_file(&f.path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(Error::io(&f.path, e));
                }
            }
            let hint = self.shared.dir.join(hint_file_name(f.order));
            let _ = std::fs::remove_file(hint);
        }
        dir::sync_dir(&self.shared.dir)
    }

    /// Number of keys in the index (expired keys count until the expiry
    /// cycle removes them, as in Redis's DBSIZE).
    pub fn len(&self) -> usize {
        read_lock(&self.shared.keydir).index.len()
    }

    /// True when the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Figures for INFO.
    pub fn stats(&self) -> Stats {
        let (keys, keys_with_expiry, disk_bytes, dead_bytes) = {
            let kd = read_lock(&self.shared.keydir);
            let (total, dead) = kd.totals();
            (kd.index.len(), kd.index.with_expiry(), total, dead)
        };
        // One lock at a time, each released before the next (a guard
        // taken inside the struct literal below would live to the end of
        // the function and could invert the lock order), and never the
        // writer: INFO runs inside EXEC, whose transaction holds it.
        let data_files = read_lock(&self.shared.files).len();
        let active_file = self.shared.active_order.load(Ordering::Relaxed);
        Stats {
            keys,
            keys_with_expiry,
            data_files,
            bytes_written: self.shared.sync.written(),
            fsyncs: self.shared.sync.fsyncs.load(Ordering::Relaxed),
            expired_keys: self.shared.expired_keys.load(Ordering::Relaxed),
            avg_ttl_ms: self.shared.avg_ttl_ms.load(Ordering::Relaxed),
            write_failure: self.shared.sync.failure(),
            active_file,
            disk_bytes,
            dead_bytes,
            compactions: self.shared.compactions.load(Ordering::Relaxed),
            reclaimed_bytes: self.shared.reclaimed.load(Ordering::Relaxed),
            compaction_running: self.shared.compaction_running.load(Ordering::Relaxed),
        }
    }

    /// Runs one expiry pass over the whole index now (tests; the background
    /// cycle does the same in slices).
    pub fn expire_now(&self) -> usize {
        let mut cursor: Option<Vec<u8>> = None;
        let mut removed = 0;
        loop {
            let (n, next) = self.shared.expire_slice(cursor.as_deref());
            removed += n;
            match next {
                Some(c) => cursor = Some(c),
                None => return removed,
            }
        }
    }

    /// Per-file space use, by file number (order).
    pub fn file_usage(&self) -> Vec<(u32, FileUsage)> {
        let kd = read_lock(&self.shared.keydir);
        let files = read_lock(&self.shared.files);
        let mut out: Vec<(u32, FileUsage)> = kd
            .usage
            .iter()
            .filter_map(|(h, u)| files.get(h).map(|f| (f.order, *u)))
            .collect();
        out.sort_by_key(|(o, _)| *o);
        out
    }

    /// Asks the background thread to seal the active file and compact
    /// every file with reclaimable space (BGREWRITEAOF). Returns false if
    /// one is already pending.
    pub fn request_compaction(&self) -> bool {
        self.shared
            .compaction_running
            .store(true, Ordering::Release);
        !self.shared.compact_requested.swap(true, Ordering::AcqRel)
    }

    /// Seals the active file and compacts every file with reclaimable
    /// space, now, on this thread. Returns bytes reclaimed.
    ///
    /// # Errors
    /// I/O errors, or an injected failure in tests; `Error::Poisoned`
    /// once writes are refused (a poisoned store rewrites nothing).
    pub fn compact(&self) -> Result<u64> {
        if let Some(why) = self.shared.sync.failure() {
            return Err(Error::Poisoned(why));
        }
        {
            let mut w = mutex(&self.shared.writer);
            if w.len > FILE_HEADER_LEN as u64 {
                self.shared.rotate(&mut w)?;
            }
        }
        let mut total = 0;
        for h in self.shared.compaction_candidates(0.0) {
            if let CompactionOutcome::Compacted(n) = self.shared.compact_file(h)? {
                total += n;
            }
        }
        for h in std::mem::take(&mut *mutex(&self.shared.needs_hint)) {
            self.shared.write_hint(h)?;
        }
        self.shared.drop_retired(true);
        Ok(total)
    }

    /// Tests: the injected compaction failure, until it has fired.
    pub fn compaction_failpoint(&self) -> Option<CompactionStep> {
        *mutex(&self.shared.failpoint)
    }

    /// Forces every written record to stable storage.
    pub fn sync(&self) -> Result<()> {
        self.shared.sync.sync_all()
    }

    /// Stops background work and syncs. Dropping the engine does the same
    /// but cannot report errors.
    pub fn close(&self) -> Result<()> {
        let first = !self.shared.closed.swap(true, Ordering::AcqRel);
        if let Some((stop, handles)) = mutex(&self.background).take() {
            drop(stop);
            for h in handles {
                let _ = h.join();
            }
        }
        if !first {
            return Ok(());
        }
        // Take the write lock so no transaction is half-way through.
        let _writer = mutex(&self.shared.writer);
        let synced = self.shared.sync.sync_all();
        // The directory may be opened again at once, even while this
        // handle (now refusing writes) is still alive.
        mutex(&self.shared.lock).take();
        synced
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "sync on close failed");
        }
    }
}

/// The stop signals (dropping a sender stops its thread) and the threads.
type Background = (Vec<mpsc::Sender<()>>, Vec<JoinHandle<()>>);

fn start_background(
    shared: &Arc<Shared>,
    expiry_interval: Duration,
    compaction_interval: Option<Duration>,
) -> Result<Background> {
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let mut handles = Vec::new();
    // The everysec fsync and the expiry cycle share a tick; compaction has
    // its own thread so a long rewrite never delays an fsync.
    let weak = Arc::downgrade(shared);
    let handle = std::thread::Builder::new()
        .name("slowpoke-bg".into())
        .spawn(move || {
            let mut last_sync = Instant::now();
            let mut cursor: Option<Vec<u8>> = None;
            loop {
                match stop_rx.recv_timeout(expiry_interval.min(Duration::from_millis(100))) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let Some(shared) = weak.upgrade() else { return };
                if shared.policy.get() == FsyncPolicy::EverySec
                    && last_sync.elapsed() >= Duration::from_secs(1)
                    && shared.sync.dirty()
                {
                    last_sync = Instant::now();
                    let _ = shared.sync.sync_all();
                }
                if read_lock(&shared.keydir).index.with_expiry() > 0 {
                    let (_, next) = shared.expire_slice(cursor.as_deref());
                    cursor = next;
                } else {
                    // As in Redis, no key with an expiry: no estimate.
                    shared.avg_ttl_ms.store(0, Ordering::Relaxed);
                }
            }
        })
        .map_err(|e| Error::io(&shared.dir, e))?;
    handles.push(handle);
    let weak = Arc::downgrade(shared);
    let tick = compaction_interval.unwrap_or(Duration::from_millis(200));
    let (compact_stop_tx, compact_stop) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("slowpoke-compact".into())
        .spawn(move || loop {
            match compact_stop.recv_timeout(tick.min(Duration::from_millis(200))) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let Some(shared) = weak.upgrade() else { return };
            if shared.closed.load(Ordering::Acquire) {
                return;
            }
            let due = compaction_interval.is_some_and(|i| {
                let mut last = mutex(&shared.last_compaction_tick);
                if last.elapsed() >= i {
                    *last = Instant::now();
                    true
                } else {
                    false
                }
            });
            if due || shared.compact_requested.load(Ordering::Acquire) {
                shared.compaction_tick();
            }
        })
        .map_err(|e| Error::io(&shared.dir, e))?;
    handles.push(handle);
    Ok((vec![stop_tx, compact_stop_tx], handles))
}

impl Shared {
    /// The value at `loc`, which `key` had in the index a moment ago; None
    /// if the key has gone since. Where its file is no longer open (FLUSHALL
    /// deleted it, or compaction replaced it and closed it), the key is
    /// looked up again: gone or expired is None, moved is read at its new
    /// place (expiry judged at `now`). With the location it was read at.
    fn read_value(
        &self,
        key: &[u8],
        loc: &Location,
        now: u64,
    ) -> Result<Option<(Bytes, Location)>> {
        let found = read_lock(&self.files).get(&loc.file).cloned();
        let (file, loc) = match found {
            Some(f) => (f, *loc),
            None => {
                // Look again under the index lock, so the file cannot go
                // meanwhile: an index entry only names an open file.
                let kd = read_lock(&self.keydir);
                let Some(fresh) = kd.index.get(key) else {
                    return Ok(None);
                };
                if expiry::is_expired(&fresh, now) {
                    return Ok(None);
                }
                let f = read_lock(&self.files)
                    .get(&fresh.file)
                    .cloned()
                    .ok_or(Error::Corrupt {
                        file: fresh.file,
                        offset: u64::from(fresh.offset),
                        reason: "index points at a missing data file",
                    })?;
                (f, fresh)
            }
        };
        let value_start = REC_HEADER_LEN + key.len();
        let mut buf = vec![0u8; value_start + loc.value_len as usize];
        self.read_record(&file, &mut buf, u64::from(loc.offset))?;
        let corrupt = |reason| Error::Corrupt {
            file: file.order,
            offset: u64::from(loc.offset),
            reason,
        };
        let rec = record::decode(&buf).map_err(|e| corrupt(e.reason()))?;
        if rec.key != key {
            return Err(corrupt("record holds a different key than the index"));
        }
        Ok(Some((Bytes::from(buf).slice(value_start..), loc)))
    }

    /// Reads a whole record: first from the page cache without blocking
    /// (one syscall for a cached hit), then, for what is missing, a real
    /// read through the blocking hook so async callers are not stalled.
    fn read_record(&self, file: &DataFile, buf: &mut [u8], offset: u64) -> Result<()> {
        fault::on_read().map_err(|e| Error::io(&file.path, e))?;
        let slow = !self.simulated_read_latency.is_zero();
        let got = if slow {
            0
        } else {
            file.read_cached(buf, offset)
        };
        if got == buf.len() {
            return Ok(());
        }
        let mut result = Ok(());
        let mut read = || {
            if slow {
                std::thread::sleep(self.simulated_read_latency);
            }
            result = file.read_at(&mut buf[got..], offset + got as u64);
        };
        match &self.blocking_read {
            Some(hook) => (hook.0)(&mut read),
            None => read(),
        }
        result
    }

    /// Frames `batch` (docs/FORMAT.md, "Batches"), appends it and applies
    /// it to the index. Returns the sequence number to sync to, or None
    /// when there was nothing to write. A batch too large for the format
    /// is refused before anything is written or applied.
    fn commit(&self, mut writer: MutexGuard<'_, Writer>, batch: &mut Batch) -> Result<Option<u64>> {
        if batch.is_empty() {
            return Ok(None);
        }
        if let Some(why) = self.sync.failure() {
            return Err(Error::Poisoned(why));
        }
        let bytes = batch.frame()?;
        let len = bytes.len() as u64;
        if len > u64::from(u32::MAX) - FILE_HEADER_LEN as u64 {
            return Err(Error::TooLarge {
                what: "batch",
                len,
                max: u64::from(u32::MAX) - FILE_HEADER_LEN as u64,
            });
        }
        let has_records = writer.len > FILE_HEADER_LEN as u64;
        if has_records
            && (writer.len + len > self.max_file_size || writer.len + len > u64::from(u32::MAX))
        {
            self.rotate(&mut writer)?;
        }
        let base = writer.len;
        if let Err(e) = writer.active.write_at(bytes, base) {
            // Cut a partial append so the log stays clean; if even that
            // fails the file's tail is unknown and writes must stop.
            if let Err(t) = writer.active.truncate(base) {
                self.sync
                    .poison(format!("could not undo a failed write: {t}"));
            }
            return Err(e);
        }
        // Counted before the index shows the records, so a reader that
        // sees them also finds them in `Engine::pending_ticket`.
        let seq = self.sync.appended(len);
        {
            let mut keydir = write_lock(&self.keydir);
            let now = self.clock.now_ms();
            // The batch was encoded by this process a moment ago: read the
            // headers back without checking the CRC a second time.
            for (at, h, key) in batch.members() {
                let r = RecordRef {
                    flags: h.flags,
                    expires_at: h.expires_at,
                    key,
                    value_len: h.value_len,
                };
                keydir.apply(&r, writer.active.handle, (base + at as u64) as u32, now);
            }
        }
        writer.len = base + len;
        Ok(Some(seq))
    }

    /// Seals the active file (fsync) and starts the next one.
    fn rotate(&self, writer: &mut Writer) -> Result<()> {
        if let Err(e) = writer.active.sync() {
            self.sync.poison(e.to_string());
            return Err(e);
        }
        let order = writer.active.order + 1;
        let handle = self.next_handle.fetch_add(1, Ordering::Relaxed);
        let file = Arc::new(DataFile::create(&self.dir, order, handle)?);
        dir::sync_dir(&self.dir)?;
        write_lock(&self.files).insert(handle, Arc::clone(&file));
        mutex(&self.needs_hint).push(writer.active.handle);
        self.sync.rotated(Arc::clone(&file));
        writer.active = file;
        writer.len = FILE_HEADER_LEN as u64;
        self.active_order.store(order, Ordering::Relaxed);
        Ok(())
    }

    /// Removes the expired keys of one slice of the index; returns how many
    /// and where to resume.
    fn expire_slice(&self, cursor: Option<&[u8]>) -> (usize, Option<Vec<u8>>) {
        let now = self.clock.now_ms();
        let (expired, ttl, next) =
            expiry::collect_expired(&read_lock(&self.keydir).index, cursor, now);
        let avg = ttl.update_average(self.avg_ttl_ms.load(Ordering::Relaxed));
        self.avg_ttl_ms.store(avg, Ordering::Relaxed);
        let mut removed = 0;
        if !expired.is_empty() {
            let mut keydir = write_lock(&self.keydir);
            for (key, loc) in &expired {
                removed += usize::from(keydir.remove_if(key, loc));
            }
        }
        self.expired_keys
            .fetch_add(removed as u64, Ordering::Relaxed);
        (removed, next)
    }
}

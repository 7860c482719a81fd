//! Background compaction and hint writing. A sealed data file whose
//! reclaimable fraction passes the threshold is rewritten *in place*: its
//! live records (and the deletion markers that still mask older files) are
//! streamed to `NNNN.data.compact` and a hint to `NNNN.hint.compact` as
//! the old file is walked (through `scan.rs`'s window: memory holds a few
//! buffers and the keys that moved, never the file), both fsynced, then
//! renamed over the originals. The file keeps its number, so
//! recovery applies it at the same position and a stale copy can never
//! override a newer write; a crash at any step leaves either the old or the
//! new file, both complete (leftover `.compact` files are removed on open).
//! In a process that goes on, the data file's rename is the point of no
//! return: everything that can fail (syncs, opening the new file) comes
//! before it and abandons the compaction; after it the index always moves
//! to the new file. A failed hint rename only costs the hint (written
//! again later); a failed directory fsync poisons the store.
//!
//! The index moves keys to the new file only where they still point at the
//! record that was copied (a write during compaction wins), in short
//! batches, under the index lock; readers never stall for the whole file.
//! The old file stays open until a grace period has passed, so a reader
//! that fetched an old location still reads valid bytes. I/O is throttled
//! to a configured rate.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::data_file::{header_bytes, DataFile, NewFile};
use super::error::{Error, Result};
use super::format::*;
use super::hint::HintWriter;
use super::index::Location;
use super::keydir::FileUsage;
use super::record::{self, RecordHeader};
use super::{dir, mutex, read_lock, scan, write_lock, Shared};

/// A compaction step a test can make fail (`Options::compaction_failpoint`):
/// the operation named fails once, with an injected I/O error, and
/// compaction handles the failure as it would a real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Syncing the new data file.
    DataSync,
    /// Finishing (syncing) the new hint.
    HintSync,
    /// Opening the new data file (as when out of descriptors).
    Open,
    /// Renaming the new data file over the old one.
    Rename,
    /// Renaming the new hint over the old one.
    HintRename,
    /// Removing a data file left with nothing to keep.
    Remove,
    /// Syncing the directory after a rename or a removal.
    DirSync,
}

/// Keys moved per index-lock hold.
const MOVE_BATCH: usize = 4096;
/// Above this share of reclaimable bytes overall, compaction also takes
/// files below the per-file threshold (keeps disk use under ~1.5x live).
const MAX_RECLAIMABLE_SHARE: f64 = 0.25;
/// How long a replaced file stays open for readers.
const RETIRE_AFTER: Duration = Duration::from_secs(5);

/// Paces I/O to `rate` bytes per second (0 = unlimited). Shared by the
/// reads and the writes of one compaction, hence `&self`.
pub struct Throttle {
    rate: u64,
    start: Instant,
    bytes: Cell<u64>,
}

impl Throttle {
    /// A throttle at `rate` bytes per second.
    pub fn new(rate: u64) -> Self {
        Throttle {
            rate,
            start: Instant::now(),
            bytes: Cell::new(0),
        }
    }

    /// Accounts `n` bytes and sleeps as long as needed to keep the rate.
    pub fn consume(&self, n: u64) {
        if self.rate == 0 {
            return;
        }
        let bytes = self.bytes.get() + n;
        self.bytes.set(bytes);
        let due = Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

/// A data file read through a throttle.
struct Throttled<'t> {
    file: scan::FileSource,
    throttle: &'t Throttle,
}

impl scan::Source for Throttled<'_> {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file.read_at(buf, offset)?;
        self.throttle.consume(buf.len() as u64);
        Ok(())
    }
}

/// Walks the sealed file at `path` through the throttle.
fn walk_throttled<'t>(
    path: &Path,
    throttle: &'t Throttle,
) -> Result<(scan::Walker<Throttled<'t>>, u64)> {
    let (file, len) = scan::FileSource::open(path)?;
    let src = Throttled { file, throttle };
    let start = FILE_HEADER_LEN as u64;
    Ok((scan::Walker::new(src, len, start, false, scan::WINDOW), len))
}

/// Removes files a compaction will not use (best effort: whatever is left
/// is removed on the next open).
fn discard(paths: &[&Path]) {
    for p in paths {
        if let Err(e) = std::fs::remove_file(p) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %p.display(), error = %e, "could not remove an unused compaction file");
            }
        }
    }
}

fn injected(step: Step) -> Error {
    Error::io(
        "compaction",
        std::io::Error::other(format!("injected failure {step:?}")),
    )
}

/// Pushes an entry for every record of the walk; false (and stops) at the
/// first damage.
fn hint_entries<S: scan::Source>(
    walk: &mut scan::Walker<S>,
    hint: &mut HintWriter,
) -> Result<bool> {
    while let Some(item) = walk.next()? {
        match item {
            scan::Item::Record(at, rec) => hint.push(&rec.header, rec.key, at as u32)?,
            scan::Item::Damage { .. } => return Ok(false),
        }
    }
    Ok(true)
}

/// A record copied to the new file: its key's length (the key follows the
/// previous one in `Moved::keys`), its old and new offsets and its length
/// (a record is at most 1 GiB and change, so 16 bytes in all).
struct MovedRecord {
    key_len: u32,
    old: u32,
    new: u32,
    len: u32,
}

/// The records copied to the new file, their keys packed in one buffer:
/// memory in proportion to the live keys of the file, not to its size.
#[derive(Default)]
struct Moved {
    keys: Vec<u8>,
    records: Vec<MovedRecord>,
}

impl Moved {
    fn push(&mut self, key: &[u8], old: u32, new: u32, len: u32) {
        self.keys.extend_from_slice(key);
        self.records.push(MovedRecord {
            key_len: key.len() as u32,
            old,
            new,
            len,
        });
    }

    /// Every record with its key, in the order pushed.
    fn iter(&self) -> impl Iterator<Item = (&[u8], &MovedRecord)> {
        let mut key_start = 0;
        self.records.iter().map(move |m| {
            let key_end = key_start + m.key_len as usize;
            let key = &self.keys[key_start..key_end];
            key_start = key_end;
            (key, m)
        })
    }
}

/// The new files of a compaction, streamed but not yet synced.
struct Written {
    data: NewFile,
    hint: HintWriter,
    /// The records copied.
    moved: Moved,
    /// Bytes of deletion markers kept.
    pinned: u64,
    /// The old file's length.
    old_len: u64,
}

/// Outcome of one compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was rewritten; bytes reclaimed.
    Compacted(u64),
    /// Too little to reclaim; the markers were pinned.
    NotWorthIt,
    /// The file is gone or active.
    Skipped,
}

impl Shared {
    /// Removes `.compact` leftovers of a compaction that did not finish.
    pub(super) fn remove_leftovers(dir_path: &Path) -> Result<()> {
        for entry in std::fs::read_dir(dir_path).map_err(|e| Error::io(dir_path, e))? {
            let entry = entry.map_err(|e| Error::io(dir_path, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".compact") || name.ends_with(".hint.tmp") {
                let p = entry.path();
                tracing::info!(file = %p.display(), "removing leftover of an unfinished compaction");
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(())
    }

    /// True when some file ordered before `order` still exists, so a
    /// deletion marker in `order` may still mask an older version.
    fn older_file_exists(&self, order: u32) -> bool {
        read_lock(&self.files).values().any(|f| f.order < order)
    }

    /// Rewrites one sealed file, keeping only what is still needed.
    pub(super) fn compact_file(&self, handle: u32) -> Result<Outcome> {
        let _guard = mutex(&self.compact_lock);
        if mutex(&self.retired).iter().any(|&(_, h)| h == handle) {
            // Already replaced by a compaction that ran while this one
            // waited for the lock; its path now names the new file.
            return Ok(Outcome::Skipped);
        }
        let Some(old) = read_lock(&self.files).get(&handle).cloned() else {
            return Ok(Outcome::Skipped);
        };
        if old.handle == mutex(&self.writer).active.handle {
            return Ok(Outcome::Skipped);
        }
        let throttle = Throttle::new(self.compaction_rate);
        let generation = old.generation.wrapping_add(1);
        let data_tmp = self
            .dir
            .join(format!("{}.compact", data_file_name(old.order)));
        let hint_tmp = self
            .dir
            .join(format!("{}.compact", hint_file_name(old.order)));
        let copied = self.write_compacted(&old, generation, &data_tmp, &hint_tmp, &throttle);
        let Written {
            data,
            hint,
            moved,
            pinned,
            old_len,
        } = match copied {
            Ok(Some(written)) => written,
            Ok(None) => {
                discard(&[&data_tmp, &hint_tmp]);
                // Nothing worth rewriting: remember that what is left is needed.
                if let Some(u) = write_lock(&self.keydir).usage.get_mut(&handle) {
                    u.pinned = u.dead;
                }
                return Ok(Outcome::NotWorthIt);
            }
            Err(e) => {
                discard(&[&data_tmp, &hint_tmp]);
                return Err(e);
            }
        };
        let new_len = data.len();
        if new_len == FILE_HEADER_LEN as u64 {
            drop((data, hint));
            discard(&[&data_tmp, &hint_tmp]);
            return self.remove_empty(&old);
        }
        let data_path = self.dir.join(data_file_name(old.order));
        let hint_path = self.dir.join(hint_file_name(old.order));
        let new_handle = self.next_handle.fetch_add(1, Ordering::Relaxed);
        // Whatever can fail comes before the data file's rename, the point
        // of no return: the new file is even opened under its temporary
        // name, so that once it has replaced the old one the index always
        // follows it (a failure after that would leave the index on offsets
        // of a replaced file, and the next attempt would walk the new file
        // as if it were the old one).
        let prepared = self
            .fail_at(Step::DataSync)
            .and_then(|()| data.finish())
            .and_then(|()| self.fail_at(Step::HintSync))
            .and_then(|()| hint.finish(new_len))
            .and_then(|()| self.fail_at(Step::Open))
            .and_then(|()| {
                DataFile::open_renamed(&data_tmp, &self.dir, old.order, new_handle, generation)
            })
            .and_then(|f| {
                self.fail_at(Step::Rename)?;
                std::fs::rename(&data_tmp, &data_path).map_err(|e| Error::io(&data_path, e))?;
                Ok(f)
            });
        let new_file = match prepared {
            Ok(f) => Arc::new(f),
            Err(e) => {
                discard(&[&data_tmp, &hint_tmp]);
                return Err(e);
            }
        };
        // The hint is optional: without it the stale one is rejected on
        // open (its generation is the old file's) and a new one is written
        // later.
        let hinted = self.fail_at(Step::HintRename).and_then(|()| {
            std::fs::rename(&hint_tmp, &hint_path).map_err(|e| Error::io(&hint_path, e))
        });
        if let Err(e) = &hinted {
            tracing::warn!(error = %e, "could not install a compacted file's hint; will write it again");
            discard(&[&hint_tmp]);
        }
        let synced = self.sync_dir_or_poison();

        write_lock(&self.files).insert(new_handle, new_file);
        write_lock(&self.keydir).usage.insert(
            new_handle,
            FileUsage {
                total: new_len - FILE_HEADER_LEN as u64,
                dead: pinned,
                pinned,
            },
        );
        let mut records = moved.iter().peekable();
        while records.peek().is_some() {
            let mut kd = write_lock(&self.keydir);
            for (key, m) in records.by_ref().take(MOVE_BATCH) {
                match kd.index.get(key) {
                    Some(l) if l.file == handle && l.offset == m.old => {
                        kd.index.insert(
                            key,
                            Location {
                                file: new_handle,
                                offset: m.new,
                                ..l
                            },
                        );
                    }
                    // Overwritten or deleted meanwhile: the copy is dead.
                    _ => {
                        if let Some(u) = kd.usage.get_mut(&new_handle) {
                            u.dead += u64::from(m.len);
                        }
                    }
                }
            }
        }
        write_lock(&self.keydir).usage.remove(&handle);
        mutex(&self.retired).push((Instant::now(), handle));
        if hinted.is_err() {
            mutex(&self.needs_hint).push(new_handle);
        }
        self.compactions.fetch_add(1, Ordering::Relaxed);
        let reclaimed = old_len.saturating_sub(new_len);
        self.reclaimed.fetch_add(reclaimed, Ordering::Relaxed);
        tracing::info!(file = %old.path.display(), before = old_len, after = new_len, "compacted data file");
        synced.map(|()| Outcome::Compacted(reclaimed))
    }

    /// Walks `old` and streams what is still needed to the new data file
    /// and hint at `data_tmp` and `hint_tmp` (left unsynced for the
    /// caller). None (and stops at once) when the new file reaches 95% of
    /// the old one: it only grows, so it will not be worth it.
    fn write_compacted(
        &self,
        old: &DataFile,
        generation: u32,
        data_tmp: &Path,
        hint_tmp: &Path,
        throttle: &Throttle,
    ) -> Result<Option<Written>> {
        let (mut walk, old_len) = walk_throttled(&old.path, throttle)?;
        let worth_it = |new_len: u64| new_len * 100 < old_len * 95;
        let keep_markers = self.older_file_exists(old.order);
        let mut data = NewFile::create(data_tmp)?;
        data.write(&header_bytes(generation))?;
        let mut hint = HintWriter::create(hint_tmp, generation)?;
        let mut moved = Moved::default();
        let mut pinned = 0u64;
        let mut marker = Vec::new();
        let now = self.clock.now_ms();
        // Damaged bytes were reported on open; they are left behind.
        while let Some(item) = walk.next()? {
            let scan::Item::Record(at, rec) = item else {
                continue;
            };
            let h = rec.header;
            let current = read_lock(&self.keydir).index.get(rec.key);
            let live = current.is_some_and(|l| l.file == old.handle && u64::from(l.offset) == at);
            let is_marker = h.flags & (FLAG_TOMBSTONE | FLAG_CLEAR_ALL) != 0
                || (h.expires_at != 0 && h.expires_at <= now);
            let new_at = data.len() as u32;
            if live && h.flags & FLAG_IN_BATCH != 0 {
                // A batch member copied alone is a record of its own:
                // without the flag (and so with a new checksum), or the
                // next walk would take it for a batch that lost its header.
                marker.clear();
                marker.extend_from_slice(rec.bytes);
                marker[REC_FLAGS_AT] &= !FLAG_IN_BATCH;
                record::seal(&mut marker);
                data.write(&marker)?;
                let alone = RecordHeader {
                    flags: h.flags & !FLAG_IN_BATCH,
                    ..h
                };
                hint.push(&alone, rec.key, new_at)?;
                moved.push(rec.key, at as u32, new_at, h.record_len() as u32);
                throttle.consume(h.record_len());
            } else if live {
                data.write(rec.bytes)?;
                hint.push(&h, rec.key, new_at)?;
                moved.push(rec.key, at as u32, new_at, h.record_len() as u32);
                throttle.consume(h.record_len());
            } else if is_marker
                && keep_markers
                && (current.is_none() || h.flags & FLAG_CLEAR_ALL != 0)
            {
                // Still masks an older version: keep it, as a bare
                // tombstone (an expired put needs no value).
                let flags = if h.flags & FLAG_CLEAR_ALL != 0 {
                    FLAG_CLEAR_ALL
                } else {
                    FLAG_TOMBSTONE
                };
                marker.clear();
                record::encode_into(&mut marker, flags, 0, rec.key, b"");
                data.write(&marker)?;
                let header = RecordHeader {
                    crc: 0,
                    flags,
                    expires_at: 0,
                    key_len: rec.key.len() as u32,
                    value_len: 0,
                };
                hint.push(&header, rec.key, new_at)?;
                pinned += marker.len() as u64;
                throttle.consume(marker.len() as u64);
            }
            if !worth_it(data.len()) {
                return Ok(None);
            }
        }
        if !worth_it(data.len()) {
            return Ok(None);
        }
        Ok(Some(Written {
            data,
            hint,
            moved,
            pinned,
            old_len,
        }))
    }

    /// Deletes a file that holds nothing still needed. Safe at any
    /// instant: none of its records matters to recovery any more.
    fn remove_empty(&self, old: &DataFile) -> Result<Outcome> {
        let hint_path = self.dir.join(hint_file_name(old.order));
        match std::fs::remove_file(&hint_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&hint_path, e))
            }
            _ => {}
        }
        self.fail_at(Step::Remove)
            .and_then(|()| std::fs::remove_file(&old.path).map_err(|e| Error::io(&old.path, e)))?;
        // Gone from the directory: the accounting follows whatever fails
        // next, or the file would stay a candidate that cannot be opened.
        write_lock(&self.keydir).usage.remove(&old.handle);
        mutex(&self.retired).push((Instant::now(), old.handle));
        self.compactions.fetch_add(1, Ordering::Relaxed);
        let reclaimed = old.size().unwrap_or(0);
        self.reclaimed.fetch_add(reclaimed, Ordering::Relaxed);
        tracing::info!(file = %old.path.display(), "removed a data file with nothing live left");
        self.sync_dir_or_poison()
            .map(|()| Outcome::Compacted(reclaimed))
    }

    /// Syncs the directory after a compaction changed it. A failure
    /// poisons the store (writes refused until it is reopened): the
    /// change may not be durable, and an fsync that failed is not retried
    /// because the kernel may have dropped what it could not write and
    /// report the next one clean. A removed file that came back after a
    /// crash could revive keys whose tombstones later compactions dropped
    /// (they keep markers only while an older file exists).
    fn sync_dir_or_poison(&self) -> Result<()> {
        let synced = self
            .fail_at(Step::DirSync)
            .and_then(|()| dir::sync_dir(&self.dir));
        if let Err(e) = &synced {
            self.sync.poison(format!(
                "could not sync the directory after a compaction: {e}"
            ));
        }
        synced
    }

    /// The injected failure of `step`, the first time it is reached.
    fn fail_at(&self, step: Step) -> Result<()> {
        let mut failpoint = mutex(&self.failpoint);
        if *failpoint == Some(step) {
            *failpoint = None;
            return Err(injected(step));
        }
        Ok(())
    }

    /// Writes the hint of a sealed file that has none.
    pub(super) fn write_hint(&self, handle: u32) -> Result<()> {
        let _guard = mutex(&self.compact_lock);
        if mutex(&self.retired).iter().any(|&(_, h)| h == handle) {
            return Ok(()); // replaced by compaction, which wrote its hint
        }
        let Some(file) = read_lock(&self.files).get(&handle).cloned() else {
            return Ok(());
        };
        // Streamed: the walk holds a window of the file, the hint writer a
        // buffer, whatever the size of the file.
        let throttle = Throttle::new(self.compaction_rate);
        let (mut walk, len) = walk_throttled(&file.path, &throttle)?;
        if len < FILE_HEADER_LEN as u64 {
            return Ok(()); // not even a header: nothing to describe
        }
        let tmp = self.dir.join(format!("{}.tmp", hint_file_name(file.order)));
        let path = self.dir.join(hint_file_name(file.order));
        let mut hint = HintWriter::create(&tmp, file.generation)?;
        match hint_entries(&mut walk, &mut hint) {
            Ok(true) => {}
            // A damaged file gets no hint: opening keeps reporting it.
            Ok(false) => {
                drop(hint);
                discard(&[&tmp]);
                return Ok(());
            }
            Err(e) => {
                drop(hint);
                discard(&[&tmp]);
                return Err(e);
            }
        }
        if let Err(e) = hint.finish(len) {
            discard(&[&tmp]);
            return Err(e);
        }
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        dir::sync_dir(&self.dir)
    }

    /// Closes files replaced by compaction once no reader can still be
    /// using a location that points into them.
    pub(super) fn drop_retired(&self, force: bool) {
        let mut retired = mutex(&self.retired);
        let due: Vec<u32> = retired
            .iter()
            .filter(|(at, _)| force || at.elapsed() >= RETIRE_AFTER)
            .map(|&(_, h)| h)
            .collect();
        if due.is_empty() {
            return;
        }
        retired.retain(|(_, h)| !due.contains(h));
        let mut files = write_lock(&self.files);
        for h in due {
            files.remove(&h);
        }
    }

    /// Sealed files whose reclaimable share passes `threshold` (or any
    /// reclaimable bytes when `threshold` is 0), most reclaimable first.
    pub(super) fn compaction_candidates(&self, threshold: f64) -> Vec<u32> {
        let active = mutex(&self.writer).active.handle;
        let retired: Vec<u32> = mutex(&self.retired).iter().map(|&(_, h)| h).collect();
        let kd = read_lock(&self.keydir);
        let mut c: Vec<(f64, u32)> = kd
            .usage
            .iter()
            .filter(|(h, _)| **h != active && !retired.contains(h))
            .filter(|(_, u)| u.total > 0 && u.reclaimable() > 0)
            .map(|(&h, u)| (u.reclaimable() as f64 / u.total as f64, h))
            .filter(|&(f, _)| f >= threshold)
            .collect();
        c.sort_by(|a, b| b.0.total_cmp(&a.0));
        c.into_iter().map(|(_, h)| h).collect()
    }

    /// Reclaimable bytes over all bytes of sealed and active files.
    fn reclaimable_share(&self) -> f64 {
        let kd = read_lock(&self.keydir);
        let (total, reclaimable) = kd
            .usage
            .values()
            .fold((0u64, 0u64), |(t, r), u| (t + u.total, r + u.reclaimable()));
        if total == 0 {
            0.0
        } else {
            reclaimable as f64 / total as f64
        }
    }

    /// One background tick: retire, write missing hints, compact.
    pub(super) fn compaction_tick(&self) {
        self.drop_retired(false);
        if self.sync.failure().is_some() {
            // A poisoned store rewrites nothing until it is reopened.
            self.compact_requested.store(false, Ordering::Release);
            self.compaction_running.store(false, Ordering::Release);
            return;
        }
        let pending: Vec<u32> = std::mem::take(&mut *mutex(&self.needs_hint));
        for h in pending {
            if let Err(e) = self.write_hint(h) {
                tracing::warn!(error = %e, "could not write a hint file");
            }
        }
        let forced = self.compact_requested.swap(false, Ordering::AcqRel);
        if forced {
            let mut w = mutex(&self.writer);
            if w.len > FILE_HEADER_LEN as u64 {
                if let Err(e) = self.rotate(&mut w) {
                    tracing::error!(error = %e, "could not seal the active file for compaction");
                }
            }
        }
        let threshold = if forced {
            0.0
        } else {
            self.compaction_threshold
        };
        for h in self.compaction_candidates(threshold) {
            if let Err(e) = self.compact_file(h) {
                tracing::error!(error = %e, "compaction failed; will retry later");
                break;
            }
        }
        // Files just under the threshold add up: whenever a third of all
        // bytes are reclaimable (disk > 1.5x live data), compact the
        // deadest files, whatever their share, until it is no longer so.
        while self.reclaimable_share() > MAX_RECLAIMABLE_SHARE {
            let Some(&h) = self.compaction_candidates(0.0).first() else {
                break;
            };
            match self.compact_file(h) {
                Ok(Outcome::Compacted(_)) => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "compaction failed; will retry later");
                    break;
                }
            }
        }
        self.compaction_running.store(false, Ordering::Release);
    }
}

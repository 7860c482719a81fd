//! When written records reach stable storage. `FsyncPolicy` mirrors
//! Redis's `appendfsync`; `SyncState` implements group commit: the first
//! waiter whose bytes are not yet synced becomes the leader and fsyncs once
//! for everyone who wrote before it started, the others wait on a condvar.
//! Writers never hold the write lock while they wait, and readers never
//! touch this module. A failed fsync poisons the store.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::data_file::DataFile;
use super::error::{Error, Result};

/// Redis's `appendfsync` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every write is on stable storage before it is acknowledged.
    Always,
    /// A background fsync runs about once a second.
    EverySec,
    /// The OS decides; files are synced only on rotation and close.
    No,
}

impl FsyncPolicy {
    /// Redis's name for the policy.
    pub fn name(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }

    /// Parses Redis's names (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        self as u8
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        }
    }
}

/// A policy that can be changed at runtime (CONFIG SET appendfsync).
#[derive(Debug)]
pub struct PolicyCell(AtomicU8);

impl PolicyCell {
    /// A cell holding `p`.
    pub fn new(p: FsyncPolicy) -> Self {
        PolicyCell(AtomicU8::new(p.to_u8()))
    }
    /// The current policy.
    pub fn get(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.0.load(Ordering::Relaxed))
    }
    /// Changes the policy.
    pub fn set(&self, p: FsyncPolicy) {
        self.0.store(p.to_u8(), Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct State {
    /// Every byte with sequence number below this is on stable storage.
    synced: u64,
    /// A leader is inside fsync.
    syncing: bool,
    /// The file that receives appends now.
    active: Arc<DataFile>,
    /// Set once an fsync failed; writes are refused from then on.
    failed: Option<String>,
}

/// Group-commit bookkeeping shared by writers and the background syncer.
#[derive(Debug)]
pub struct SyncState {
    /// Total bytes ever appended (a sequence number, not a file offset).
    written: AtomicU64,
    /// `State::synced`, readable without the lock (`pending`).
    synced: AtomicU64,
    state: Mutex<State>,
    done: Condvar,
    /// Number of fsyncs performed (for INFO and benchmarks).
    pub fsyncs: AtomicU64,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SyncState {
    /// State for a store whose active file is `active`, fully synced.
    pub fn new(active: Arc<DataFile>) -> Self {
        SyncState {
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            state: Mutex::new(State {
                synced: 0,
                syncing: false,
                active,
                failed: None,
            }),
            done: Condvar::new(),
            fsyncs: AtomicU64::new(0),
        }
    }

    /// Records that `n` more bytes were appended; returns the new sequence
    /// number, which `sync_to` takes. Called with the write lock held,
    /// before the records are applied to the index: whoever can see them
    /// there also sees them counted in `pending`.
    pub fn appended(&self, n: u64) -> u64 {
        self.written.fetch_add(n, Ordering::AcqRel) + n
    }

    /// Bytes appended so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// The sequence number to sync to so that everything appended so far
    /// is durable, or None when it already is. Lock-free.
    pub fn pending(&self) -> Option<u64> {
        let written = self.written();
        (self.synced.load(Ordering::Acquire) < written).then_some(written)
    }

    /// The error that poisoned the store, if any.
    pub fn failure(&self) -> Option<String> {
        lock(&self.state).failed.clone()
    }

    /// Marks the store as failed.
    pub fn poison(&self, why: String) {
        let mut st = lock(&self.state);
        if st.failed.is_none() {
            st.failed = Some(why);
        }
        self.done.notify_all();
    }

    /// Switches to a new active file after the old one was synced in full.
    /// Called with the write lock held, before anything is written to `new`.
    pub fn rotated(&self, new: Arc<DataFile>) {
        let mut st = lock(&self.state);
        st.synced = st.synced.max(self.written());
        self.synced.store(st.synced, Ordering::Release);
        st.active = new;
    }

    /// Returns once every byte up to `seq` is on stable storage, doing the
    /// fsync itself if no other thread is already doing it.
    ///
    /// # Errors
    /// `Error::Poisoned` if this or an earlier fsync failed.
    pub fn sync_to(&self, seq: u64) -> Result<()> {
        let mut st = lock(&self.state);
        loop {
            if let Some(why) = &st.failed {
                return Err(Error::Poisoned(why.clone()));
            }
            if st.synced >= seq {
                return Ok(());
            }
            if st.syncing {
                st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            st.syncing = true;
            let target = self.written();
            let file = Arc::clone(&st.active);
            drop(st);
            let result = file.sync();
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            st = lock(&self.state);
            st.syncing = false;
            match result {
                Ok(()) => {
                    st.synced = st.synced.max(target);
                    self.synced.store(st.synced, Ordering::Release);
                }
                Err(e) => {
                    tracing::error!(error = %e, "fsync failed; refusing further writes");
                    st.failed = Some(e.to_string());
                }
            }
            self.done.notify_all();
        }
    }

    /// Syncs everything written so far.
    pub fn sync_all(&self) -> Result<()> {
        self.sync_to(self.written())
    }

    /// True when some written bytes are not yet synced.
    pub fn dirty(&self) -> bool {
        lock(&self.state).synced < self.written()
    }
}

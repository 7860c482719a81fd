//! Fault injection for tests: make the next N writes, fsyncs or reads of
//! data files fail as a full or broken disk would, or hold fsyncs until the
//! test lets them finish (to order a test's steps around an fsync in
//! flight without sleeping). Process-wide (tests that use them run in their
//! own test binary); zero cost beyond one relaxed atomic load when unused.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

static FAIL_WRITES: AtomicU32 = AtomicU32::new(0);
static FAIL_SYNCS: AtomicU32 = AtomicU32::new(0);
static FAIL_READS: AtomicU32 = AtomicU32::new(0);

/// The next `n` data-file writes fail with ENOSPC ("No space left on device").
pub fn fail_next_writes(n: u32) {
    FAIL_WRITES.store(n, Ordering::SeqCst);
}

/// The next `n` fsyncs fail with EIO.
pub fn fail_next_syncs(n: u32) {
    FAIL_SYNCS.store(n, Ordering::SeqCst);
}

/// The next `n` positioned reads fail with EIO.
pub fn fail_next_reads(n: u32) {
    FAIL_READS.store(n, Ordering::SeqCst);
}

static HOLD_SYNCS: AtomicBool = AtomicBool::new(false);
static HELD: Mutex<Held> = Mutex::new(Held {
    holding: false,
    waiting: 0,
    fail: false,
});
static RELEASED: Condvar = Condvar::new();

#[derive(Debug)]
struct Held {
    holding: bool,
    /// Fsyncs blocked now.
    waiting: u32,
    /// How the held fsyncs end.
    fail: bool,
}

fn held() -> MutexGuard<'static, Held> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// From now on every fsync blocks (before touching the disk) until
/// `release_syncs`.
pub fn hold_syncs() {
    held().holding = true;
    HOLD_SYNCS.store(true, Ordering::SeqCst);
}

/// Number of fsyncs blocked by `hold_syncs` right now.
pub fn held_syncs() -> u32 {
    held().waiting
}

/// Lets the held fsyncs go on: they fail with EIO when `fail`, else they
/// run normally. Later fsyncs are not held.
pub fn release_syncs(fail: bool) {
    let mut h = held();
    h.holding = false;
    h.fail = fail;
    HOLD_SYNCS.store(false, Ordering::SeqCst);
    RELEASED.notify_all();
}

fn hold() -> std::io::Result<()> {
    if !HOLD_SYNCS.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut h = held();
    if !h.holding {
        return Ok(());
    }
    h.waiting += 1;
    while h.holding {
        h = RELEASED.wait(h).unwrap_or_else(|p| p.into_inner());
    }
    h.waiting -= 1;
    if h.fail {
        return Err(std::io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(())
}

fn take(counter: &AtomicU32, errno: i32) -> std::io::Result<()> {
    if counter.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    match counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
        Ok(_) => Err(std::io::Error::from_raw_os_error(errno)),
        Err(_) => Ok(()),
    }
}

pub(crate) fn on_write() -> std::io::Result<()> {
    take(&FAIL_WRITES, libc::ENOSPC)
}

pub(crate) fn on_sync() -> std::io::Result<()> {
    hold()?;
    take(&FAIL_SYNCS, libc::EIO)
}

pub(crate) fn on_read() -> std::io::Result<()> {
    take(&FAIL_READS, libc::EIO)
}

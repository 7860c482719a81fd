//! Fault injection for tests: make the next N writes, fsyncs or reads of
//! data files fail as a full or broken disk would. Process-wide counters
//! (tests that use them run in their own test binary); zero cost beyond
//! one relaxed atomic load when unused.

use std::sync::atomic::{AtomicU32, Ordering};

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
    take(&FAIL_SYNCS, libc::EIO)
}

pub(crate) fn on_read() -> std::io::Result<()> {
    take(&FAIL_READS, libc::EIO)
}

//! Time and the background expiry cycle. Reads already treat expired keys
//! as absent; this cycle removes them from the index so that memory does
//! not fill with dead keys. It walks the index incrementally (a bounded
//! number of entries per tick, resuming after the last key seen), so it
//! never holds the index lock for a whole walk, and removes a key only if
//! its location is unchanged (a concurrent SET wins). No tombstone is
//! needed: an expired record is dropped again on recovery by its expiry.

use std::fmt::Debug;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::index::{Index, Location};

/// A source of "now" in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `ms`.
    pub fn new(ms: u64) -> Self {
        ManualClock(AtomicU64::new(ms))
    }
    /// Moves the clock forward.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// True when a location's expiry has passed.
pub fn is_expired(loc: &Location, now_ms: u64) -> bool {
    loc.expires_at != 0 && loc.expires_at <= now_ms
}

/// Expired keys found in one slice, with the locations they had.
pub type ExpiredKeys = Vec<(Vec<u8>, Location)>;

/// Remaining time to live of the unexpired keys with an expiry seen in one
/// slice (the sample INFO's `avg_ttl` is estimated from, as in Redis).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TtlSample {
    /// Sum of the remaining TTLs, in ms.
    pub sum_ms: u64,
    /// Keys sampled.
    pub count: u64,
}

impl TtlSample {
    /// Redis's running estimate (`activeExpireCycle`): the first sample is
    /// taken as is; later ones move the estimate by 1/50 of the way.
    pub fn update_average(self, previous_ms: u64) -> u64 {
        if self.count == 0 {
            return previous_ms;
        }
        let sample = self.sum_ms / self.count;
        let base = if previous_ms == 0 {
            sample
        } else {
            previous_ms
        };
        (base / 50) * 49 + sample / 50
    }
}

/// Entries examined per tick.
pub const ENTRIES_PER_TICK: usize = 20_000;

/// Collects up to `ENTRIES_PER_TICK` entries' worth of expired keys after
/// `cursor`; returns them, the TTL sample of the others, and the cursor to
/// resume from (None = wrapped).
pub fn collect_expired(
    index: &Index,
    cursor: Option<&[u8]>,
    now_ms: u64,
) -> (ExpiredKeys, TtlSample, Option<Vec<u8>>) {
    let mut expired = Vec::new();
    let mut ttl = TtlSample::default();
    let mut seen = 0;
    let mut last: Option<Vec<u8>> = None;
    let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
    index.walk(start, Bound::Unbounded, false, |key, loc| {
        seen += 1;
        if is_expired(&loc, now_ms) {
            expired.push((key.to_vec(), loc));
        } else if loc.expires_at != 0 {
            ttl.sum_ms = ttl.sum_ms.saturating_add(loc.expires_at - now_ms);
            ttl.count += 1;
        }
        if seen >= ENTRIES_PER_TICK {
            last = Some(key.to_vec());
            return false;
        }
        true
    });
    (expired, ttl, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_is_taken_whole_then_the_estimate_moves_by_a_fiftieth() {
        let sample = TtlSample {
            sum_ms: 3_000_000,
            count: 3,
        };
        // 1,000,000 ms on average: as Redis computes it, (a/50)*49 + a/50.
        assert_eq!(sample.update_average(0), 1_000_000);
        let later = TtlSample {
            sum_ms: 500_000,
            count: 1,
        };
        assert_eq!(later.update_average(1_000_000), 980_000 + 10_000);
        // No sampled key leaves the estimate as it was.
        assert_eq!(TtlSample::default().update_average(1234), 1234);
    }
}

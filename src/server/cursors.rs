//! The cursor store behind SCAN (and any later per-collection scan): a
//! cursor id handed to a client maps to an opaque resume position (bytes
//! the command family chose, e.g. the last key visited). This file owns
//! the ids and the memory bounds; what a position means belongs to the
//! command that issued it.
//!
//! Invariants:
//! - Ids are nonzero, below 2^53 (exact in a JavaScript number) and never
//!   reused within a process: a counter pushed through a keyed bijection
//!   of the 53-bit space, so they are hard to guess and an id from an
//!   earlier process is very unlikely to name a live position.
//! - A cursor belongs to the connection it was issued on, but any
//!   connection may use it (pooled clients), as often as it likes (a
//!   retry returns the same page): using a cursor never removes it.
//! - Each open connection has its own quota (`Limits::per_conn_*`); a
//!   connection over it forgets its own oldest cursors, never another's.
//! - When a connection closes its cursors move, oldest first, to a shared
//!   FIFO of orphans under `Limits::orphan_*`, so a pooled client whose
//!   connection went away can still continue on another.
//! - Within each FIFO the newest cursor is always kept, whatever its size,
//!   so a cursor just handed out is valid.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// Cursor ids stay below 2^53 so that clients that parse them as a
/// JavaScript number or a signed 64-bit integer keep them exact.
pub const CURSOR_MASK: u64 = (1 << 53) - 1;

/// How much the store remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cursors one open connection keeps.
    pub per_conn_cursors: usize,
    /// Position bytes one open connection keeps (beyond its newest cursor).
    pub per_conn_bytes: usize,
    /// Cursors of closed connections kept, all connections together.
    pub orphan_cursors: usize,
    /// Position bytes of closed connections kept (beyond the newest).
    pub orphan_bytes: usize,
}

impl Limits {
    /// The server's limits: with the default `maxclients` 10,000 the open
    /// connections hold at most 1,280,000 cursors and 640 MiB of key bytes
    /// (plus each connection's newest key), the orphans 100,000 cursors and
    /// 64 MiB. A connection that never scans costs nothing.
    pub const DEFAULT: Limits = Limits {
        per_conn_cursors: 128,
        per_conn_bytes: 64 << 10,
        orphan_cursors: 100_000,
        orphan_bytes: 64 << 20,
    };
}

/// Cursor ids in issue order, with the bytes of their positions.
#[derive(Debug, Default)]
struct Fifo {
    ids: VecDeque<u64>,
    bytes: usize,
}

#[derive(Debug)]
struct Table {
    positions: HashMap<u64, Box<[u8]>>,
    /// Open connections' cursors, by connection id.
    live: HashMap<u64, Fifo>,
    /// Closed connections' cursors.
    orphans: Fifo,
    counter: u64,
    salt: u64,
    limits: Limits,
}

/// Forgets the oldest cursors of `fifo` until it is within `max_n` and
/// `max_bytes`, always keeping the newest.
fn trim(fifo: &mut Fifo, positions: &mut HashMap<u64, Box<[u8]>>, max_n: usize, max_bytes: usize) {
    while fifo.ids.len() > max_n.max(1) || (fifo.bytes > max_bytes && fifo.ids.len() > 1) {
        let Some(old) = fifo.ids.pop_front() else {
            break;
        };
        if let Some(p) = positions.remove(&old) {
            fifo.bytes -= p.len();
        }
    }
}

impl Table {
    /// A bijection of 0..2^53 (xor, odd multiplications and xor-shifts,
    /// all invertible modulo 2^53).
    fn scramble(&self, x: u64) -> u64 {
        let mut x = (x ^ self.salt) & CURSOR_MASK;
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15) & CURSOR_MASK;
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) & CURSOR_MASK;
        x ^= x >> 31;
        x
    }

    fn fresh_id(&mut self) -> u64 {
        loop {
            self.counter += 1;
            let id = self.scramble(self.counter);
            if id != 0 {
                return id;
            }
        }
    }
}

/// Server-wide cursor store (one per `ServerState`).
#[derive(Debug)]
pub struct CursorStore {
    table: Mutex<Table>,
}

impl CursorStore {
    /// An empty store; `salt` keys the id bijection.
    pub fn new(salt: u64, limits: Limits) -> Self {
        CursorStore {
            table: Mutex::new(Table {
                positions: HashMap::new(),
                live: HashMap::new(),
                orphans: Fifo::default(),
                counter: 0,
                salt,
                limits,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers `position` under a fresh id owned by connection `owner`;
    /// `owner`'s oldest cursors go if it is over its quota.
    pub fn issue(&self, owner: u64, position: Vec<u8>) -> u64 {
        let mut guard = self.lock();
        let t = &mut *guard;
        let id = t.fresh_id();
        let fifo = t.live.entry(owner).or_default();
        fifo.bytes += position.len();
        fifo.ids.push_back(id);
        t.positions.insert(id, position.into_boxed_slice());
        trim(
            fifo,
            &mut t.positions,
            t.limits.per_conn_cursors,
            t.limits.per_conn_bytes,
        );
        id
    }

    /// The position `id` stands for, if the store still has it. Any
    /// connection may ask; the cursor stays valid.
    pub fn get(&self, id: u64) -> Option<Vec<u8>> {
        self.lock().positions.get(&id).map(|p| p.to_vec())
    }

    /// Connection `owner` closed: its cursors join the orphans.
    pub fn release(&self, owner: u64) {
        let mut guard = self.lock();
        let t = &mut *guard;
        let Some(fifo) = t.live.remove(&owner) else {
            return;
        };
        t.orphans.ids.extend(fifo.ids);
        t.orphans.bytes += fifo.bytes;
        trim(
            &mut t.orphans,
            &mut t.positions,
            t.limits.orphan_cursors,
            t.limits.orphan_bytes,
        );
    }

    /// Cursors remembered in all.
    pub fn len(&self) -> usize {
        self.lock().positions.len()
    }

    /// Cursors remembered and the bytes of their positions (INFO).
    pub fn usage(&self) -> (usize, usize) {
        let t = self.lock();
        let bytes = t.orphans.bytes + t.live.values().map(|f| f.bytes).sum::<usize>();
        (t.positions.len(), bytes)
    }

    /// True when no cursor is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        per_conn_cursors: 4,
        per_conn_bytes: 1000,
        orphan_cursors: 6,
        orphan_bytes: 1000,
    };

    fn pos(n: usize) -> Vec<u8> {
        n.to_be_bytes().to_vec()
    }

    #[test]
    fn ids_are_unique_nonzero_and_below_2_pow_53() {
        let s = CursorStore::new(0x1234_5678_9abc_def0, Limits::DEFAULT);
        let mut seen = std::collections::HashSet::new();
        for n in 0..50_000 {
            let id = s.issue(n as u64 % 7, pos(n));
            assert!(id != 0 && id <= CURSOR_MASK);
            assert!(seen.insert(id), "id reused");
        }
        // Consecutive ids are not consecutive numbers.
        let a = s.issue(1, b"a".to_vec());
        let b = s.issue(1, b"b".to_vec());
        assert!(a.abs_diff(b) > 1);
    }

    #[test]
    fn a_connection_over_its_quota_forgets_only_its_own_oldest() {
        let s = CursorStore::new(7, SMALL);
        let other = s.issue(2, b"other".to_vec());
        let mine: Vec<u64> = (0..4).map(|n| s.issue(1, pos(n))).collect();
        assert!(mine.iter().all(|&id| s.get(id).is_some()));
        for n in 0..100_000 {
            s.issue(1, pos(n));
        }
        assert!(mine.iter().all(|&id| s.get(id).is_none()));
        assert_eq!(s.get(other).as_deref(), Some(&b"other"[..]));
        assert_eq!(s.len(), 4 + 1);
        // Oldest first: one more cursor drops exactly the oldest of the four.
        let kept: Vec<u64> = (0..4).map(|n| s.issue(1, pos(n))).collect();
        s.issue(1, pos(9));
        assert_eq!(s.get(kept[0]), None);
        assert!(kept[1..].iter().all(|&id| s.get(id).is_some()));
    }

    #[test]
    fn bytes_are_bounded_per_connection_but_the_newest_is_kept() {
        let s = CursorStore::new(7, SMALL);
        let a = s.issue(1, vec![0; 600]);
        let b = s.issue(1, vec![1; 600]);
        assert_eq!(s.get(a), None);
        assert!(s.get(b).is_some());
        let huge = s.issue(1, vec![2; 5000]);
        assert!(s.get(huge).is_some());
        assert_eq!(s.get(b), None);
        let other = s.issue(2, vec![3; 600]);
        assert!(s.get(huge).is_some() && s.get(other).is_some());
    }

    #[test]
    fn a_closed_connections_cursors_outlive_it_under_a_shared_bound() {
        let s = CursorStore::new(7, SMALL);
        let a: Vec<u64> = (0..3).map(|n| s.issue(1, pos(n))).collect();
        s.release(1);
        assert_eq!(
            s.get(a[2]),
            Some(pos(2)),
            "still valid on another connection"
        );
        // Live connections' churn does not touch the orphans.
        for n in 0..1000 {
            s.issue(3, pos(n));
        }
        assert!(a.iter().all(|&id| s.get(id).is_some()));
        // More closed connections push the oldest orphans out.
        let b: Vec<u64> = (0..4).map(|n| s.issue(2, pos(n))).collect();
        s.release(2);
        assert_eq!(s.get(a[0]), None);
        assert!(s.get(a[1]).is_some() && b.iter().all(|&id| s.get(id).is_some()));
        // Releasing a connection that never scanned changes nothing.
        s.release(99);
        assert_eq!(s.len(), 6 + 4);
        assert_eq!(s.usage(), (10, 10 * 8));
    }
}

//! Keyspace iteration in key order: SCAN, KEYS, RANDOMKEY, and KEYRANGE
//! (the ordered range query Redis lacks). Matching is `glob`'s port of
//! Redis's matcher; walking is `Engine::walk_page` over the ordered index.
//! This file owns the command table, the bounded walks every command uses,
//! SCAN and KEYS; `random` owns RANDOMKEY's sampler
//! and `keyrange` KEYRANGE's parsing.
//!
//! Invariants:
//! - The index lock is held for at most `SLICE` entries at a time; every
//!   longer walk (KEYS, a big COUNT, KEYRANGE) resumes after the last key
//!   it saw, so writers interleave between slices.
//! - A SCAN cursor is a decimal integer naming the last index entry the
//!   previous call visited (kept in `ServerState::cursors`, a quota per
//!   connection, see `server::cursors`), so a walk resumes by key, not by
//!   position: every key present for a whole iteration is returned exactly
//!   once, in byte order, however the keyspace changes around it.
//! - A pattern with a literal prefix (`user:42:*`) seeks to that prefix and
//!   stops at `prefix_end`; the other keys are never visited.
//! - Expired keys never appear. Inside MULTI/EXEC the walk sees the
//!   transaction's own writes (`Keyspace::pending_writes`).

use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;

use super::args::{is, parse_i64};
use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::engine::{prefix_end, Location};
use crate::server::db::Keyspace;
use crate::server::error::CommandError;
use crate::server::glob;
use crate::server::reply::Reply;

mod keyrange;
mod random;

use keyrange::keyrange;
use random::randomkey;

const READ_SLOW: &[&str] = &["@keyspace", "@read", "@slow"];

/// The iteration commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: READONLY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: READ_SLOW,
        summary: "Incrementally iterate the keys space",
        since: "2.8.0",
        group: "generic",
        subcommands: &[],
        handler: scan,
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: READONLY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@read", "@slow", "@dangerous"],
        summary: "Find all keys matching the given pattern",
        since: "1.0.0",
        group: "generic",
        subcommands: &[],
        handler: keys,
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: READONLY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: READ_SLOW,
        summary: "Return a random key from the keyspace",
        since: "1.0.0",
        group: "generic",
        subcommands: &[],
        handler: randomkey,
    },
    CommandSpec {
        name: "keyrange",
        arity: -3,
        flags: READONLY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: READ_SLOW,
        summary: "Return the keys (and values) between two keys, in byte order (Slowpoke)",
        since: "0.1.0",
        group: "generic",
        subcommands: &[],
        handler: keyrange,
    },
];

// ---------------------------------------------------------------------
// Bounded walks
// ---------------------------------------------------------------------

/// Index entries visited per hold of the index lock.
const SLICE: usize = 1024;

/// What one bounded walk found.
#[derive(Debug, Default)]
pub struct Page {
    /// Live keys that passed the filter, in walk order.
    pub keys: Vec<Bytes>,
    /// When the walk stopped before the end of its range: the last index
    /// entry it visited (resume after it). None when the range is done.
    pub resume: Option<Vec<u8>>,
    /// Index entries visited: live, expired and filtered-out alike.
    pub visited: usize,
}

fn borrowed(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

fn owned(b: Bound<&[u8]>) -> Bound<Vec<u8>> {
    b.map(<[u8]>::to_vec)
}

fn expired(loc: &Location, now: u64) -> bool {
    loc.expires_at != 0 && loc.expires_at <= now
}

fn above_lo(k: &[u8], lo: Bound<&[u8]>) -> bool {
    match lo {
        Bound::Included(b) => k >= b,
        Bound::Excluded(b) => k > b,
        Bound::Unbounded => true,
    }
}

fn below_hi(k: &[u8], hi: Bound<&[u8]>) -> bool {
    match hi {
        Bound::Included(b) => k <= b,
        Bound::Excluded(b) => k < b,
        Bound::Unbounded => true,
    }
}

/// Walks the keys within `lo..hi` in order (or reverse order), visiting at
/// most `max_visited` index entries (at least one per call, so a walk
/// always makes progress) and keeping the live keys for which `keep` says
/// yes. `keep` runs under the index lock, so it must be cheap and pure.
pub fn walk(
    ks: &dyn Keyspace,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
    reverse: bool,
    max_visited: usize,
    keep: &mut dyn FnMut(&[u8]) -> bool,
) -> Page {
    let now = ks.now_ms();
    let pending = ks.pending_writes();
    let max_visited = max_visited.max(1);
    let mut page = Page::default();
    let (mut from, mut to) = (owned(lo), owned(hi));
    let mut found: Vec<Vec<u8>> = Vec::new();
    loop {
        let want = (max_visited - page.visited).min(SLICE);
        let mut visited = 0;
        let last =
            ks.engine()
                .walk_page(borrowed(&from), borrowed(&to), reverse, want, |k, loc| {
                    visited += 1;
                    // Inside a transaction liveness comes from `meta` (which
                    // sees the transaction's writes), checked after the lock.
                    if (pending.is_some() || !expired(loc, now)) && keep(k) {
                        found.push(k.to_vec());
                    }
                    true
                });
        page.visited += visited;
        match last {
            Some(last) if page.visited >= max_visited => {
                page.resume = Some(last);
                break;
            }
            Some(last) if reverse => to = Bound::Excluded(last),
            Some(last) => from = Bound::Excluded(last),
            None => break,
        }
    }
    let Some(written) = pending else {
        page.keys = found.into_iter().map(Bytes::from).collect();
        return page;
    };
    // The span this call covered: committed keys outside it were not
    // looked at, so neither are the transaction's own keys outside it.
    let span_lo = match (&page.resume, reverse) {
        (Some(r), true) => Bound::Included(r.as_slice()),
        _ => lo,
    };
    let span_hi = match (&page.resume, reverse) {
        (Some(r), false) => Bound::Included(r.as_slice()),
        _ => hi,
    };
    let mut live: BTreeSet<Vec<u8>> = found.into_iter().filter(|k| ks.meta(k).is_some()).collect();
    for k in written {
        if above_lo(k, span_lo)
            && below_hi(k, span_hi)
            && !live.contains(k)
            && ks.meta(k).is_some()
            && keep(k)
        {
            live.insert(k.clone());
        }
    }
    page.keys = if reverse {
        live.into_iter().rev().map(Bytes::from).collect()
    } else {
        live.into_iter().map(Bytes::from).collect()
    };
    page
}

/// The key range a (case-sensitive) glob can match: from its literal
/// prefix to `prefix_end` of it, or everything.
fn pattern_range(pattern: Option<&[u8]>) -> (Vec<u8>, Option<Vec<u8>>) {
    let prefix = pattern.map(glob::literal_prefix).unwrap_or_default();
    let end = if prefix.is_empty() {
        None
    } else {
        prefix_end(&prefix)
    };
    (prefix, end)
}

/// One SCAN step: visits at most `count` index entries after `after`
/// (from the start when None), within the literal prefix of `pattern`
/// (None = every key), and keeps the live keys that match it.
pub fn scan_page(
    ks: &dyn Keyspace,
    after: Option<&[u8]>,
    pattern: Option<&[u8]>,
    count: usize,
) -> Page {
    let (prefix, end) = pattern_range(pattern);
    let lo = match after {
        Some(a) if a >= prefix.as_slice() => Bound::Excluded(a),
        _ if prefix.is_empty() => Bound::Unbounded,
        _ => Bound::Included(prefix.as_slice()),
    };
    let hi = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    if let (Bound::Excluded(a), Some(e)) = (lo, &end) {
        if a >= e.as_slice() {
            return Page::default();
        }
    }
    let mut keep = |k: &[u8]| pattern.is_none_or(|p| glob::matches(p, k, false));
    walk(ks, lo, hi, false, count, &mut keep)
}

// ---------------------------------------------------------------------
// SCAN
// ---------------------------------------------------------------------

/// Parses a cursor as Redis does (`strtoul` of a C string: optional sign,
/// decimal digits, nothing else up to the first NUL; the empty string is 0).
fn parse_cursor(arg: &[u8]) -> Result<u64, CommandError> {
    let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CommandError::InvalidCursor);
    }
    let v: u64 = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(CommandError::InvalidCursor)?;
    // A negative cursor wraps in Redis; it can never be one we issued.
    Ok(if negative && v != 0 { u64::MAX } else { v })
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Cursor 0 starts; any other cursor must be one this server issued and
/// still remembers (`ServerState::cursors`, on any connection), else
/// `ERR invalid cursor` (Redis's text for a malformed cursor): an unknown
/// cursor never silently restarts or skips. The cursor returned belongs to
/// this connection's quota.
/// COUNT (default 10) bounds the index entries visited by this call, so a
/// sparse MATCH returns fewer keys but always advances.
fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let cursor = parse_cursor(&args[1])?;
    let mut pattern: Option<Bytes> = None;
    let mut count: usize = 10;
    let mut type_string = true;
    let mut i = 2;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is(&args[i], "count") && has_value {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(CommandError::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(&args[i], "match") && has_value {
            let p = &args[i + 1];
            pattern = (!glob::is_match_all(p)).then(|| p.clone());
        } else if is(&args[i], "type") && has_value {
            type_string = is(&args[i + 1], "string");
        } else {
            return Err(CommandError::Syntax);
        }
        i += 2;
    }
    let after = match cursor {
        0 => None,
        id => Some(
            ctx.server
                .cursors
                .get(id)
                .ok_or(CommandError::InvalidCursor)?,
        ),
    };
    // Every key is a string: another TYPE can match nothing, ever.
    if !type_string {
        return Ok(scan_reply(0, Vec::new()));
    }
    let page = scan_page(&*ctx.ks, after.as_deref(), pattern.as_deref(), count);
    let owner = ctx.conn.info.id;
    let next = page
        .resume
        .map_or(0, |last| ctx.server.cursors.issue(owner, last));
    Ok(scan_reply(next, page.keys))
}

fn scan_reply(cursor: u64, keys: Vec<Bytes>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::bulks(keys)])
}

/// `KEYS pattern`: every live key matching `pattern`, in byte order. A
/// literal prefix limits the walk to that prefix.
fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let pattern = (!glob::is_match_all(&args[1])).then(|| args[1].as_ref());
    let page = scan_page(&*ctx.ks, None, pattern, usize::MAX);
    Ok(Reply::bulks(page.keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, ManualClock, Options};
    use crate::server::db::ReadView;
    use std::sync::Arc;
    use std::time::Duration;

    const T0: u64 = 1_700_000_000_000;

    /// An engine on a manual clock whose expiry cycle never runs during a
    /// test, so expired keys stay in the index.
    fn engine(clock: &Arc<ManualClock>) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(
            dir.path(),
            Options {
                clock: Arc::clone(clock) as Arc<dyn crate::engine::Clock>,
                expiry_interval: Duration::from_secs(3600),
                ..Options::default()
            },
        )
        .expect("open");
        (dir, engine)
    }

    fn load(engine: &Engine, keys: impl IntoIterator<Item = (String, Option<u64>)>) {
        engine
            .transaction(|t| {
                for (k, exp) in keys {
                    t.put(k.as_bytes(), b"v", exp)?;
                }
                Ok(())
            })
            .expect("load");
    }

    fn all_pages(view: &ReadView<'_>, pattern: Option<&[u8]>, count: usize) -> (Vec<Bytes>, usize) {
        let (mut keys, mut visited, mut after) = (Vec::new(), 0, None::<Vec<u8>>);
        loop {
            let page = scan_page(view, after.as_deref(), pattern, count);
            visited += page.visited;
            keys.extend(page.keys);
            match page.resume {
                Some(last) => after = Some(last),
                None => return (keys, visited),
            }
        }
    }

    #[test]
    fn a_literal_prefix_visits_only_the_keys_under_it() {
        let clock = Arc::new(ManualClock::new(T0));
        let (_dir, engine) = engine(&clock);
        load(
            &engine,
            (0..2000).flat_map(|u| (0..5).map(move |f| (format!("user:{u}:f{f}"), None))),
        );
        let view = ReadView(&engine);
        let (keys, visited) = all_pages(&view, Some(b"user:42:*"), 1000);
        assert_eq!(keys.len(), 5);
        assert_eq!(visited, 5, "walked outside the prefix");
        let (keys, visited) = all_pages(&view, Some(b"user:42:f[0-2]"), 2);
        assert_eq!(keys.len(), 3);
        assert_eq!(visited, 5);
        // No literal prefix: every entry is visited.
        let (keys, visited) = all_pages(&view, Some(b"*:42:*"), 1000);
        assert_eq!(keys.len(), 5);
        assert_eq!(visited, 10_000);
        // A cursor from before the prefix (MATCH changed mid-iteration)
        // jumps to it; one past the prefix ends at once.
        let page = scan_page(&view, Some(b"a"), Some(b"user:7:*"), 100);
        assert_eq!(page.keys.len(), 5);
        let page = scan_page(&view, Some(b"user:8"), Some(b"user:7:*"), 100);
        assert!(page.keys.is_empty() && page.resume.is_none() && page.visited == 0);
    }

    #[test]
    fn count_bounds_entries_visited_per_call() {
        let clock = Arc::new(ManualClock::new(T0));
        let (_dir, engine) = engine(&clock);
        load(&engine, (0..5000).map(|i| (format!("k{i:05}"), None)));
        let view = ReadView(&engine);
        let page = scan_page(&view, None, Some(b"*99"), 700);
        assert_eq!(page.visited, 700);
        assert_eq!(page.keys.len(), 7, "k00099, k00199, ..., k00699");
        assert_eq!(page.resume.as_deref(), Some(&b"k00699"[..]));
        // A sparse match still advances: no key in these 700 entries.
        let page = scan_page(&view, page.resume.as_deref(), Some(b"*x"), 700);
        assert_eq!(page.visited, 700);
        assert!(page.keys.is_empty());
        assert_eq!(page.resume.as_deref(), Some(&b"k01399"[..]));
        // COUNT larger than a slice still visits exactly COUNT entries.
        let page = scan_page(&view, None, None, 2500);
        assert_eq!(page.visited, 2500);
        assert_eq!(page.keys.len(), 2500);
    }

    #[test]
    fn expired_entries_are_visited_but_never_returned() {
        let clock = Arc::new(ManualClock::new(T0));
        let (_dir, engine) = engine(&clock);
        load(
            &engine,
            (0..100).map(|i| (format!("k{i:03}"), (i % 2 == 0).then_some(T0 + 10))),
        );
        clock.advance(10);
        assert_eq!(engine.len(), 100, "the expired keys are still indexed");
        let view = ReadView(&engine);
        let (keys, visited) = all_pages(&view, None, 7);
        assert_eq!(visited, 100);
        assert_eq!(keys.len(), 50);
        assert!(keys.iter().all(|k| k.ends_with(b"1")
            || k.ends_with(b"3")
            || k.ends_with(b"5")
            || k.ends_with(b"7")
            || k.ends_with(b"9")));
        let page = walk(
            &view,
            Bound::Unbounded,
            Bound::Unbounded,
            true,
            3,
            &mut |_| true,
        );
        assert_eq!(page.visited, 3);
        assert_eq!(
            page.keys,
            vec![Bytes::from_static(b"k099"), Bytes::from_static(b"k097")]
        );
        assert_eq!(page.resume.as_deref(), Some(&b"k097"[..]));
    }

    #[test]
    fn pivots_cut_the_index_every_step_entries() {
        let clock = Arc::new(ManualClock::new(T0));
        let (_dir, engine) = engine(&clock);
        load(&engine, (0..5000).map(|i| (format!("k{i:05}"), None)));
        let (pivots, count) = random::build_pivots(&engine);
        assert_eq!(count, 5000);
        assert_eq!(pivots.len(), 5000usize.div_ceil(random::PIVOT_STEP));
        assert_eq!(
            pivots[1],
            format!("k{:05}", random::PIVOT_STEP).into_bytes()
        );
    }

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"-0").ok(), Some(0));
        assert_eq!(parse_cursor(b"+12").ok(), Some(12));
        assert_eq!(parse_cursor(b"007").ok(), Some(7));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        for bad in [
            &b"x"[..],
            b" 1",
            b"1 ",
            b"+",
            b"0x1",
            b"18446744073709551616",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}

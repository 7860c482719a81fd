//! Keyspace iteration in key order: SCAN, KEYS, RANDOMKEY, and KEYRANGE
//! (the ordered range query Redis lacks). Matching is `glob`'s port of
//! Redis's matcher; walking is `Engine::walk_page` over the ordered index.
//!
//! Invariants:
//! - The index lock is held for at most `SLICE` entries at a time; every
//!   longer walk (KEYS, a big COUNT, KEYRANGE) resumes after the last key
//!   it saw, so writers interleave between slices.
//! - A SCAN cursor is a decimal integer naming the last index entry the
//!   previous call visited (kept in a bounded, process-wide table), so a
//!   walk resumes by key, not by position: every key present for a whole
//!   iteration is returned exactly once, in byte order, however the
//!   keyspace changes around it.
//! - A pattern with a literal prefix (`user:42:*`) seeks to that prefix and
//!   stops at `prefix_end`; the other keys are never visited.
//! - Expired keys never appear. Inside MULTI/EXEC the walk sees the
//!   transaction's own writes (`Keyspace::pending_writes`).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;

use super::args::{is, parse_i64};
use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::engine::{prefix_end, Engine, Location};
use crate::server::db::Keyspace;
use crate::server::error::CommandError;
use crate::server::glob;
use crate::server::reply::Reply;
use crate::server::state::ServerState;

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
// SCAN cursors
// ---------------------------------------------------------------------

/// Cursors remembered at most (the oldest is forgotten first).
const MAX_CURSORS: usize = 100_000;
/// Key bytes remembered at most across all cursors.
const MAX_CURSOR_BYTES: usize = 64 << 20;
/// Cursor ids stay below 2^53 so that clients that parse them as a
/// JavaScript number or a signed 64-bit integer keep them exact.
const CURSOR_MASK: u64 = (1 << 53) - 1;

/// Server-wide table: cursor id -> last index entry visited. Ids come from
/// a counter pushed through a keyed bijection of the 53-bit space, so they
/// are never reused within a process, hard to guess, and an id from an
/// earlier process is very unlikely to name a live entry.
struct Cursors {
    last: HashMap<u64, Box<[u8]>>,
    order: VecDeque<u64>,
    bytes: usize,
    counter: u64,
    salt: u64,
}

impl Cursors {
    fn new(salt: u64) -> Self {
        Cursors {
            last: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            counter: 0,
            salt,
        }
    }

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

    /// Remembers `last` under a fresh nonzero id.
    fn issue(&mut self, last: Vec<u8>) -> u64 {
        let id = loop {
            self.counter += 1;
            let id = self.scramble(self.counter);
            if id != 0 {
                break id;
            }
        };
        self.bytes += last.len();
        self.last.insert(id, last.into_boxed_slice());
        self.order.push_back(id);
        while self.order.len() > MAX_CURSORS
            || (self.bytes > MAX_CURSOR_BYTES && self.order.len() > 1)
        {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(k) = self.last.remove(&old) {
                self.bytes -= k.len();
            }
        }
        id
    }

    fn get(&self, id: u64) -> Option<Vec<u8>> {
        self.last.get(&id).map(|k| k.to_vec())
    }
}

fn cursors() -> MutexGuard<'static, Cursors> {
    static TABLE: OnceLock<Mutex<Cursors>> = OnceLock::new();
    TABLE
        .get_or_init(|| Mutex::new(Cursors::new(rand::random())))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn invalid_cursor() -> CommandError {
    CommandError::text("ERR invalid cursor")
}

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
        return Err(invalid_cursor());
    }
    let v: u64 = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid_cursor)?;
    // A negative cursor wraps in Redis; it can never be one we issued.
    Ok(if negative && v != 0 { u64::MAX } else { v })
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Cursor 0 starts; any other cursor must be one this server issued and
/// still remembers, else `ERR invalid cursor` (Redis's text for a
/// malformed cursor): an unknown cursor never silently restarts or skips.
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
        id => Some(cursors().get(id).ok_or_else(invalid_cursor)?),
    };
    // Every key is a string: another TYPE can match nothing, ever.
    if !type_string {
        return Ok(scan_reply(0, Vec::new()));
    }
    let page = scan_page(&*ctx.ks, after.as_deref(), pattern.as_deref(), count);
    let next = page.resume.map_or(0, |last| cursors().issue(last));
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

// ---------------------------------------------------------------------
// RANDOMKEY
// ---------------------------------------------------------------------

/// One pivot per this many index entries.
const PIVOT_STEP: usize = 512;
/// Entries an interval may hold and still be sampled uniformly.
const INTERVAL_CAP: usize = 2 * PIVOT_STEP;
/// Up to this many index entries, RANDOMKEY walks them all (exact).
const SMALL_DB: usize = INTERVAL_CAP;
/// Up to this many entries the first pivot build runs in the command
/// (a few milliseconds); above it, in a background thread.
const SYNC_BUILD_MAX: usize = 131_072;
/// Rejection-sampling attempts before the fallback.
const ATTEMPTS: usize = 16;

/// Pivots for RANDOMKEY: every `PIVOT_STEP`-th key of the index in order,
/// as of the last build. Consecutive pivots cut the keyspace into
/// intervals of about `PIVOT_STEP` entries each (the first interval is
/// open below, the last open above, so together they cover every key).
#[derive(Default)]
struct Sampler {
    pivots: Option<Arc<Vec<Vec<u8>>>>,
    built_len: usize,
    building: bool,
    /// An interval was seen holding more than `INTERVAL_CAP` entries.
    overfull: bool,
    not_before: Option<Instant>,
}

fn sampler() -> MutexGuard<'static, Sampler> {
    static SAMPLER: OnceLock<Mutex<Sampler>> = OnceLock::new();
    SAMPLER
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Walks the whole index in slices (never holding its lock for more than
/// one) and returns every `PIVOT_STEP`-th key and the number of entries.
fn build_pivots(engine: &Engine) -> (Vec<Vec<u8>>, usize) {
    let mut pivots = Vec::new();
    let mut count = 0usize;
    let mut from: Bound<Vec<u8>> = Bound::Unbounded;
    loop {
        let last = engine.walk_page(
            borrowed(&from),
            Bound::Unbounded,
            false,
            4 * SLICE,
            |k, _| {
                if count.is_multiple_of(PIVOT_STEP) {
                    pivots.push(k.to_vec());
                }
                count += 1;
                true
            },
        );
        match last {
            Some(last) => from = Bound::Excluded(last),
            None => return (pivots, count),
        }
    }
}

fn install(pivots: Vec<Vec<u8>>, count: usize, took: Duration) {
    let mut s = sampler();
    s.pivots = Some(Arc::new(pivots));
    s.built_len = count;
    s.building = false;
    s.overfull = false;
    // A rebuild costs a whole walk: never spend more than ~10% of the
    // time on them, and at most one per second.
    s.not_before = Some(Instant::now() + (took * 10).max(Duration::from_secs(1)));
}

/// The current pivots, starting a (re)build when there are none or they
/// have drifted: the index halved or doubled since, or an interval
/// overflowed. The first build of a small index runs here; any other runs
/// in the background while the old pivots (or the fallback) serve.
fn current_pivots(server: &Arc<ServerState>, len: usize) -> Option<Arc<Vec<Vec<u8>>>> {
    let mut s = sampler();
    let drifted = s.overfull || len < s.built_len / 2 || len > s.built_len.saturating_mul(2);
    let due = s.not_before.is_none_or(|t| Instant::now() >= t);
    if (s.pivots.is_none() || drifted) && !s.building && due {
        s.building = true;
        if s.pivots.is_none() && len <= SYNC_BUILD_MAX {
            drop(s);
            let started = Instant::now();
            let (pivots, count) = build_pivots(&server.db.engine);
            install(pivots, count, started.elapsed());
            s = sampler();
        } else {
            let server = Arc::clone(server);
            let spawned = std::thread::Builder::new()
                .name("slowpoke-randomkey".into())
                .spawn(move || {
                    let started = Instant::now();
                    let (pivots, count) = build_pivots(&server.db.engine);
                    install(pivots, count, started.elapsed());
                });
            if spawned.is_err() {
                s.building = false;
            }
        }
    }
    s.pivots.clone()
}

fn live(ks: &dyn Keyspace, key: &[u8], loc: &Location) -> bool {
    if ks.pending_writes().is_some() {
        ks.meta(key).is_some()
    } else {
        !expired(loc, ks.now_ms())
    }
}

/// One rejection-sampling attempt: a uniformly chosen interval, a uniform
/// position in `0..INTERVAL_CAP`; the key there if the interval is that
/// long and the key is live. Every live key in an interval of at most
/// `INTERVAL_CAP` entries has the same chance per attempt.
fn sample_once(ks: &dyn Keyspace, pivots: &[Vec<u8>]) -> Option<Bytes> {
    let mut rng = rand::thread_rng();
    let i = rng.gen_range(0..pivots.len());
    let j = rng.gen_range(0..INTERVAL_CAP);
    let lo = if i == 0 {
        Bound::Unbounded
    } else {
        Bound::Included(pivots[i].as_slice())
    };
    let hi = pivots
        .get(i + 1)
        .map_or(Bound::Unbounded, |p| Bound::Excluded(p.as_slice()));
    let mut seen = 0usize;
    let mut chosen = None;
    ks.engine()
        .walk_page(lo, hi, false, INTERVAL_CAP + 1, |k, loc| {
            if seen == j {
                chosen = Some((k.to_vec(), *loc));
            }
            seen += 1;
            true
        });
    if seen > INTERVAL_CAP {
        sampler().overfull = true;
    }
    let (key, loc) = chosen?;
    live(ks, &key, &loc).then(|| Bytes::from(key))
}

/// The first live key at or after `from` (wrapping around to the start),
/// walking in slices. Only the fallback and a keyspace full of expired
/// keys ever walk far.
fn first_live_from(ks: &dyn Keyspace, from: &[u8]) -> Option<Bytes> {
    let ranges = [
        (Bound::Included(from), Bound::Unbounded),
        (Bound::Unbounded, Bound::Excluded(from)),
    ];
    for (lo, hi) in ranges {
        let mut lo = owned(lo);
        loop {
            let page = walk(ks, borrowed(&lo), hi, false, SLICE, &mut |_| true);
            if let Some(k) = page.keys.into_iter().next() {
                return Some(k);
            }
            match page.resume {
                Some(last) => lo = Bound::Excluded(last),
                None => break,
            }
        }
    }
    None
}

/// A random byte string between the first and the last key: their common
/// prefix, then a random byte between theirs, then random bytes.
fn random_probe(ks: &dyn Keyspace) -> Vec<u8> {
    let edge = |reverse| {
        let mut key = Vec::new();
        ks.engine()
            .walk_page(Bound::Unbounded, Bound::Unbounded, reverse, 1, |k, _| {
                key = k.to_vec();
                false
            });
        key
    };
    let (first, last) = (edge(false), edge(true));
    let common = first.iter().zip(&last).take_while(|(a, b)| a == b).count();
    let mut rng = rand::thread_rng();
    let mut probe = first[..common].to_vec();
    let lo = first.get(common).copied().unwrap_or(0);
    let hi = last.get(common).copied().unwrap_or(0xff).max(lo);
    probe.push(rng.gen_range(lo..=hi));
    probe.extend((0..7).map(|_| rng.gen::<u8>()));
    probe
}

/// `RANDOMKEY`: a random live key, nil when there is none; never walks the
/// whole index (except to find one live key among expired ones).
///
/// How: up to `SMALL_DB` index entries, walk them all and pick uniformly
/// (exact). Above that, sample with pivots (see `Sampler`): pick an
/// interval uniformly and a position uniformly in `0..INTERVAL_CAP`, and
/// retry when the interval is shorter or the key there has expired. While
/// every interval holds at most `INTERVAL_CAP` entries this is exactly
/// uniform over the live keys (each attempt costs at most
/// `INTERVAL_CAP + 1` entries, and about half of the attempts succeed).
///
/// Where it is biased, honestly:
/// - Pivots are rebuilt only when the index halves or doubles or an
///   overfull interval is noticed. Until then, keys past position
///   `INTERVAL_CAP` of an interval that grew by a burst of inserts cannot
///   be picked (the first sample that walks such an interval schedules a
///   rebuild). Shrunken intervals (deletes, expiry) bias nothing; they
///   only make more attempts miss.
/// - After `ATTEMPTS` rejections in a row (a keyspace that is mostly
///   expired keys, or pivots that drifted badly), and before the first
///   build of a large index finishes, it falls back to the first live key
///   at or after a random byte string between the first and last keys.
///   That favours keys after large gaps in the byte space: with keys
///   `user:1`..`user:999999`, `user:10` after the gap before it would
///   come up thousands of times more often than its share.
/// - Inside MULTI, keys the transaction itself created are only found by
///   the fallback.
fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    let ks = &*ctx.ks;
    let len = ks.engine().len();
    if len <= SMALL_DB {
        let page = walk(
            ks,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            usize::MAX,
            &mut |_| true,
        );
        if page.keys.is_empty() {
            return Ok(Reply::Null);
        }
        let i = rand::thread_rng().gen_range(0..page.keys.len());
        return Ok(Reply::Bulk(page.keys[i].clone()));
    }
    if let Some(pivots) = current_pivots(ctx.server, len) {
        for _ in 0..ATTEMPTS {
            if let Some(key) = sample_once(ks, &pivots) {
                return Ok(Reply::Bulk(key));
            }
        }
    }
    let probe = random_probe(ks);
    Ok(first_live_from(ks, &probe).map_or(Reply::Null, Reply::Bulk))
}

// ---------------------------------------------------------------------
// KEYRANGE
// ---------------------------------------------------------------------

/// One end of a ZRANGEBYLEX-style range.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    /// `-`
    Min,
    /// `+`
    Max,
    /// `[key`
    Incl(Bytes),
    /// `(key`
    Excl(Bytes),
}

fn parse_lex(arg: &Bytes) -> Result<Lex, CommandError> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Ok(Lex::Min),
        Some(b'+') if arg.len() == 1 => Ok(Lex::Max),
        Some(b'[') => Ok(Lex::Incl(arg.slice(1..))),
        Some(b'(') => Ok(Lex::Excl(arg.slice(1..))),
        _ => Err(CommandError::text(
            "ERR min or max not valid string range item",
        )),
    }
}

/// The range as walk bounds, or None when it holds nothing (min is `+`,
/// max is `-`, min above max, or equal ends with one excluded).
fn lex_bounds(min: &Lex, max: &Lex) -> Option<(Bound<Bytes>, Bound<Bytes>)> {
    let lo = match min {
        Lex::Min => Bound::Unbounded,
        Lex::Max => return None,
        Lex::Incl(k) => Bound::Included(k.clone()),
        Lex::Excl(k) => Bound::Excluded(k.clone()),
    };
    let hi = match max {
        Lex::Max => Bound::Unbounded,
        Lex::Min => return None,
        Lex::Incl(k) => Bound::Included(k.clone()),
        Lex::Excl(k) => Bound::Excluded(k.clone()),
    };
    let (a, b) = match (&lo, &hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            (a, b)
        }
        _ => return Some((lo, hi)),
    };
    let both_inclusive = matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_)));
    if a > b || (a == b && !both_inclusive) {
        return None;
    }
    Some((lo, hi))
}

/// `KEYRANGE min max [REV] [LIMIT offset count] [WITHVALUES]`
///
/// The live keys from `min` to `max` (ZRANGEBYLEX notation: `-`, `+`,
/// `[key` inclusive, `(key` exclusive), in byte order; REV reverses the
/// reply (min still comes first). LIMIT skips `offset` keys of the reply
/// and returns at most `count` (negative = all; a negative offset gives an
/// empty reply), as ZRANGEBYLEX does. WITHVALUES makes the reply a flat
/// `key, value, ...` array, one positioned read per value; a key deleted
/// between the walk and its read is left out.
fn keyrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut reverse = false;
    let mut with_values = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "rev") {
            reverse = true;
            i += 1;
        } else if is(&args[i], "withvalues") {
            with_values = true;
            i += 1;
        } else if is(&args[i], "limit") && i + 2 < args.len() {
            offset = parse_i64(&args[i + 1])?;
            limit = parse_i64(&args[i + 2])?;
            i += 3;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let (min, max) = (parse_lex(&args[1])?, parse_lex(&args[2])?);
    let Some((lo, hi)) = lex_bounds(&min, &max) else {
        return Ok(Reply::Array(Vec::new()));
    };
    if offset < 0 || limit == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let mut skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let want = usize::try_from(limit).unwrap_or(usize::MAX);
    let ks = &*ctx.ks;
    let mut keys: Vec<Bytes> = Vec::new();
    let (mut from, mut to) = (
        lo.as_ref().map(|b| b.to_vec()),
        hi.as_ref().map(|b| b.to_vec()),
    );
    'walk: loop {
        let page = walk(
            ks,
            borrowed(&from),
            borrowed(&to),
            reverse,
            SLICE,
            &mut |_| true,
        );
        for k in page.keys {
            if skip > 0 {
                skip -= 1;
            } else {
                keys.push(k);
                if keys.len() >= want {
                    break 'walk;
                }
            }
        }
        match page.resume {
            Some(last) if reverse => to = Bound::Excluded(last),
            Some(last) => from = Bound::Excluded(last),
            None => break,
        }
    }
    if !with_values {
        return Ok(Reply::bulks(keys));
    }
    let mut out = Vec::with_capacity(keys.len() * 2);
    for k in keys {
        if let Some(v) = ks.get(&k)? {
            out.push(Reply::Bulk(k));
            out.push(Reply::Bulk(v));
        }
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ManualClock, Options};
    use crate::server::db::ReadView;

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
        let (pivots, count) = build_pivots(&engine);
        assert_eq!(count, 5000);
        assert_eq!(pivots.len(), 5000usize.div_ceil(PIVOT_STEP));
        assert_eq!(pivots[1], format!("k{PIVOT_STEP:05}").into_bytes());
    }

    #[test]
    fn cursor_ids_are_unique_nonzero_and_below_2_pow_53() {
        let mut t = Cursors::new(0x1234_5678_9abc_def0);
        let mut seen = std::collections::HashSet::new();
        for n in 0..50_000u32 {
            let id = t.issue(n.to_be_bytes().to_vec());
            assert!(id != 0 && id <= CURSOR_MASK);
            assert!(seen.insert(id), "id reused");
        }
        // Consecutive ids are not consecutive numbers.
        let a = t.issue(b"a".to_vec());
        let b = t.issue(b"b".to_vec());
        assert!(a.abs_diff(b) > 1);
    }

    #[test]
    fn cursor_table_forgets_the_oldest_first() {
        let mut t = Cursors::new(7);
        let first = t.issue(b"first".to_vec());
        assert_eq!(t.get(first).as_deref(), Some(&b"first"[..]));
        for n in 0..MAX_CURSORS {
            t.issue(n.to_be_bytes().to_vec());
        }
        assert_eq!(t.get(first), None);
        assert_eq!(t.last.len(), MAX_CURSORS);
        assert_eq!(t.order.len(), MAX_CURSORS);
    }

    #[test]
    fn cursor_table_bounds_bytes_but_keeps_the_newest() {
        let mut t = Cursors::new(7);
        let a = t.issue(vec![0; MAX_CURSOR_BYTES / 2 + 1]);
        let b = t.issue(vec![1; MAX_CURSOR_BYTES / 2 + 1]);
        assert_eq!(t.get(a), None);
        assert!(t.get(b).is_some());
        let huge = t.issue(vec![2; MAX_CURSOR_BYTES + 1]);
        assert!(t.get(huge).is_some());
        assert_eq!(t.bytes, MAX_CURSOR_BYTES + 1);
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

    #[test]
    fn lex_ranges_follow_zrangebylex() {
        let b = |s: &str| Bytes::from(s.to_owned());
        assert!(parse_lex(&b("a")).is_err());
        assert!(parse_lex(&b("+a")).is_err());
        assert!(parse_lex(&b("")).is_err());
        assert_eq!(parse_lex(&b("[")).ok(), Some(Lex::Incl(b(""))));
        assert_eq!(parse_lex(&b("(")).ok(), Some(Lex::Excl(b(""))));
        assert!(lex_bounds(&Lex::Max, &Lex::Max).is_none());
        assert!(lex_bounds(&Lex::Min, &Lex::Min).is_none());
        assert!(lex_bounds(&Lex::Incl(b("b")), &Lex::Incl(b("a"))).is_none());
        assert!(lex_bounds(&Lex::Incl(b("b")), &Lex::Excl(b("b"))).is_none());
        assert!(lex_bounds(&Lex::Excl(b("b")), &Lex::Incl(b("b"))).is_none());
        assert!(lex_bounds(&Lex::Incl(b("b")), &Lex::Incl(b("b"))).is_some());
        assert_eq!(
            lex_bounds(&Lex::Min, &Lex::Max),
            Some((Bound::Unbounded, Bound::Unbounded))
        );
    }
}

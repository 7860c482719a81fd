//! RANDOMKEY: a uniform pick over an ordered index without positions.
//! Pivots (every `PIVOT_STEP`-th key) cut the keyspace into intervals of
//! about equal size; a pick chooses an interval, then a key inside it,
//! rejecting to stay uniform. Small keyspaces are walked whole.

use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;

use super::{borrowed, expired, owned, walk, SLICE};
use crate::engine::{Engine, Location};
use crate::server::cmd::Ctx;
use crate::server::db::Keyspace;
use crate::server::error::CommandError;
use crate::server::reply::Reply;
use crate::server::state::ServerState;

/// One pivot per this many index entries.
pub(super) const PIVOT_STEP: usize = 512;
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
pub(super) fn build_pivots(engine: &Engine) -> (Vec<Vec<u8>>, usize) {
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
pub(super) fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
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

//! Reads: GET, MGET, STRLEN, GETRANGE/SUBSTR, and GETDEL. MGET answers
//! with the values of one instant even outside a transaction (a concurrent
//! MSET is seen whole or not at all), without making readers wait for
//! writers in the common case.

use bytes::Bytes;

use super::{count_lookup, Ctx};
use crate::engine::{self, Location};
use crate::server::cmd::args::parse_i64;
use crate::server::db::Keyspace;
use crate::server::error::CommandError;
use crate::server::reply::Reply;

/// How many lock-free MGET attempts run before it reads under the writer
/// lock instead.
const OPTIMISTIC_TRIES: usize = 3;

/// A bulk reply for a present value, a null for a missing one.
fn bulk_or_null(v: Option<Bytes>) -> Reply {
    v.map_or(Reply::Null, Reply::Bulk)
}

/// `GET key`
pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let value = ctx.ks.get(&args[1])?;
    count_lookup(ctx, value.is_some());
    Ok(bulk_or_null(value))
}

/// `GETDEL key`
pub fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let value = ctx.ks.get(&args[1])?;
    count_lookup(ctx, value.is_some());
    if value.is_some() {
        ctx.ks.delete(&args[1])?;
    }
    Ok(bulk_or_null(value))
}

/// `STRLEN key`, from the index: no disk read.
pub fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let meta = ctx.ks.meta(&args[1]);
    count_lookup(ctx, meta.is_some());
    Ok(Reply::Int(meta.map_or(0, |l| i64::from(l.value_len))))
}

/// `GETRANGE key start end` (and SUBSTR). A missing key is an empty string.
pub fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let value = ctx.ks.get(&args[1])?;
    count_lookup(ctx, value.is_some());
    let value = value.unwrap_or_default();
    Ok(Reply::Bulk(match byte_range(value.len(), start, end) {
        Some((from, to)) => value.slice(from..to),
        None => Bytes::new(),
    }))
}

/// The byte range GETRANGE returns from a string of `len` bytes: negative
/// indexes count from the end, both ends are inclusive and clamped, as in
/// Redis's `getrangeCommand`. None for an empty result.
fn byte_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    (len > 0 && start <= end).then(|| (start as usize, end as usize + 1))
}

/// `MGET key [key ...]`
pub fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let keys = &args[1..];
    // Inside a transaction (a write or EXEC) no other writer can run.
    let in_transaction = ctx.ks.pending_writes().is_some();
    let found = if keys.len() == 1 || in_transaction {
        read_all(&*ctx.ks, keys)?
    } else {
        consistent_read(ctx, keys)?
    };
    let mut replies = Vec::with_capacity(found.len());
    for entry in found {
        count_lookup(ctx, entry.is_some());
        replies.push(bulk_or_null(entry.map(|(v, _)| v)));
    }
    Ok(Reply::Array(replies))
}

type Found = Vec<Option<(Bytes, Location)>>;

/// Each key's value with the location it was read from.
fn read_all(ks: &dyn Keyspace, keys: &[Bytes]) -> engine::Result<Found> {
    keys.iter().map(|k| ks.get_with_meta(k)).collect()
}

/// Reads `keys` as they all were at one instant, outside a transaction.
///
/// Optimistic: take the keys' WATCH marks, read every value with its
/// location, then check that every location is unchanged and no mark
/// moved. A location is never reused, so an unchanged one means the key
/// held that record throughout. Writers bump a key's mark before they
/// publish the new index entries, so at most one transaction (the one
/// already past its bump when the marks were taken) can publish unseen;
/// it publishes all its keys at once, and any key of it read on both
/// sides of that moment shows a changed location. Hence a pass that
/// validates saw one state. After a few failed passes (a hot key), read
/// under the writer lock, which cannot fail.
fn consistent_read(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<Found, CommandError> {
    let db = &ctx.server.db;
    for _ in 0..OPTIMISTIC_TRIES {
        let marks: Vec<_> = keys.iter().map(|k| db.watch_mark(k)).collect();
        let found = read_all(&*ctx.ks, keys)?;
        let same_places = keys.iter().zip(&found).all(|(k, f)| {
            let now = ctx.ks.meta(k).map(|l| (l.file, l.offset));
            now == f.as_ref().map(|(_, l)| (l.file, l.offset))
        });
        if same_places && !marks.iter().any(|m| db.watch_broken(m)) {
            return Ok(found);
        }
    }
    let (found, ticket) = db.write(|txn| read_all(&*txn, keys))?;
    ctx.conn.pending_sync = ctx.conn.pending_sync.merge(ticket);
    Ok(found?)
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    /// Cases checked against Redis 7.0 on "hello world" (11 bytes).
    #[test]
    fn getrange_bounds_match_redis() {
        let cases = [
            ((0, -1), Some((0, 11))),
            ((0, 4), Some((0, 5))),
            ((-5, -1), Some((6, 11))),
            ((-1, -5), None),
            ((5, 3), None),
            ((100, 200), None),
            ((-100, 2), Some((0, 3))),
            ((3, 100), Some((3, 11))),
            ((0, i64::MAX), Some((0, 11))),
            ((i64::MIN, -1), Some((0, 11))),
            ((-1, -1), Some((10, 11))),
            ((0, -100), Some((0, 1))),
        ];
        for ((start, end), want) in cases {
            assert_eq!(byte_range(11, start, end), want, "{start} {end}");
        }
        assert_eq!(byte_range(0, 0, -1), None);
        assert_eq!(byte_range(0, 0, 0), None);
        assert_eq!(byte_range(0, -1, -1), None);
    }
}

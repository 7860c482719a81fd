//! The keyspace commands (Redis's `generic` group plus DBSIZE and the
//! flushes): DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, COPY, TOUCH,
//! DBSIZE, FLUSHDB, FLUSHALL, the EXPIRE family, TTL, PTTL, PERSIST,
//! EXPIRETIME and PEXPIRETIME, with Redis 7.0's replies and error texts.
//!
//! Values are read and written only through `Keyspace`; atomicity comes
//! from the dispatcher (WRITE commands run in one engine transaction).
//! Slowpoke has one database and one type, so TYPE answers `string` or
//! `none`, and COPY's `DB` accepts only 0. Expiry times are absolute
//! milliseconds since the epoch, `0` meaning none (`Location::expires_at`);
//! "now" is always `ks.now_ms()`.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::{is, name_of, parse_i64};
use super::flags::*;
use super::{CommandSpec, Ctx, Handler};
use crate::engine::Location;
use crate::server::error::CommandError;
use crate::server::reply::Reply;

const KW_FAST: &[&str] = &["@keyspace", "@write", "@fast"];
const KW_SLOW: &[&str] = &["@keyspace", "@write", "@slow"];
const KR_FAST: &[&str] = &["@keyspace", "@read", "@fast"];
const FLUSH_ACL: &[&str] = &["@keyspace", "@write", "@slow", "@dangerous"];

/// One table line; the fields follow `CommandSpec`.
#[allow(clippy::too_many_arguments)]
const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    summary: &'static str,
    since: &'static str,
    group: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        acl,
        summary,
        since,
        group,
        subcommands: &[],
        handler,
    }
}

const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);
const TWO: (i32, i32, i32) = (1, 2, 1);
const NONE: (i32, i32, i32) = (0, 0, 0);
const G: &str = "generic";

/// FLUSHALL and FLUSHDB are deliberately not flagged WRITE (Redis flags
/// them `write`). A WRITE command runs inside `Db::write`, which holds the
/// engine's writer lock, and `Engine::clear` takes that same lock, so it
/// would deadlock there; clearing through the transaction instead would
/// leave every old data file on disk until compaction. Without WRITE the
/// handler gets a `ReadView` and `Keyspace::clear_all` calls
/// `Engine::clear` (its own atomic, fsynced step that deletes the old files
/// at once). Inside MULTI/EXEC the same handler gets the EXEC transaction,
/// whose `clear_all` clears through the transaction, atomically with the
/// other queued commands.
const FLUSH_FLAGS: u32 = 0;

/// The keyspace commands.
pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "del",
        -2,
        WRITE,
        ALL,
        KW_SLOW,
        "Delete a key",
        "1.0.0",
        G,
        del,
    ),
    spec(
        "unlink",
        -2,
        WRITE | FAST,
        ALL,
        KW_FAST,
        concat!(
            "Delete a key asynchronously in another thread. ",
            "Otherwise it is just as DEL, but non blocking."
        ),
        "4.0.0",
        G,
        del,
    ),
    spec(
        "exists",
        -2,
        READONLY | FAST,
        ALL,
        KR_FAST,
        "Determine if a key exists",
        "1.0.0",
        G,
        exists,
    ),
    spec(
        "type",
        2,
        READONLY | FAST,
        ONE,
        KR_FAST,
        "Determine the type stored at key",
        "1.0.0",
        G,
        type_,
    ),
    spec(
        "rename",
        3,
        WRITE,
        TWO,
        KW_SLOW,
        "Rename a key",
        "1.0.0",
        G,
        rename,
    ),
    spec(
        "renamenx",
        3,
        WRITE | FAST,
        TWO,
        KW_FAST,
        "Rename a key, only if the new key does not exist",
        "1.0.0",
        G,
        renamenx,
    ),
    spec(
        "copy",
        -3,
        WRITE | DENYOOM,
        TWO,
        KW_SLOW,
        "Copy a key",
        "6.2.0",
        G,
        copy,
    ),
    spec(
        "touch",
        -2,
        READONLY | FAST,
        ALL,
        KR_FAST,
        concat!(
            "Alters the last access time of a key(s). ",
            "Returns the number of existing keys specified."
        ),
        "3.2.1",
        G,
        exists,
    ),
    spec(
        "dbsize",
        1,
        READONLY | FAST,
        NONE,
        KR_FAST,
        "Return the number of keys in the selected database",
        "1.0.0",
        "server",
        dbsize,
    ),
    spec(
        "flushdb",
        -1,
        FLUSH_FLAGS,
        NONE,
        FLUSH_ACL,
        "Remove all keys from the current database",
        "1.0.0",
        "server",
        flush,
    ),
    spec(
        "flushall",
        -1,
        FLUSH_FLAGS,
        NONE,
        FLUSH_ACL,
        "Remove all keys from all databases",
        "1.0.0",
        "server",
        flush,
    ),
    spec(
        "expire",
        -3,
        WRITE | FAST,
        ONE,
        KW_FAST,
        "Set a key's time to live in seconds",
        "1.0.0",
        G,
        expire,
    ),
    spec(
        "pexpire",
        -3,
        WRITE | FAST,
        ONE,
        KW_FAST,
        "Set a key's time to live in milliseconds",
        "2.6.0",
        G,
        pexpire,
    ),
    spec(
        "expireat",
        -3,
        WRITE | FAST,
        ONE,
        KW_FAST,
        "Set the expiration for a key as a UNIX timestamp",
        "1.2.0",
        G,
        expireat,
    ),
    spec(
        "pexpireat",
        -3,
        WRITE | FAST,
        ONE,
        KW_FAST,
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        "2.6.0",
        G,
        pexpireat,
    ),
    spec(
        "ttl",
        2,
        READONLY | FAST,
        ONE,
        KR_FAST,
        "Get the time to live for a key in seconds",
        "1.0.0",
        G,
        ttl,
    ),
    spec(
        "pttl",
        2,
        READONLY | FAST,
        ONE,
        KR_FAST,
        "Get the time to live for a key in milliseconds",
        "2.6.0",
        G,
        pttl,
    ),
    spec(
        "persist",
        2,
        WRITE | FAST,
        ONE,
        KW_FAST,
        "Remove the expiration from a key",
        "2.2.0",
        G,
        persist,
    ),
    spec(
        "expiretime",
        2,
        READONLY | FAST,
        ONE,
        KR_FAST,
        "Get the expiration Unix timestamp for a key",
        "7.0.0",
        G,
        expiretime,
    ),
    spec(
        "pexpiretime",
        2,
        READONLY | FAST,
        ONE,
        KR_FAST,
        "Get the expiration Unix timestamp for a key in milliseconds",
        "7.0.0",
        G,
        pexpiretime,
    ),
];

/// Counts a keyspace hit or miss (INFO stats), as Redis's
/// `lookupKeyRead` does for the reading commands here.
fn count_lookup(ctx: &Ctx<'_>, hit: bool) {
    let stats = &ctx.server.stats;
    let counter = if hit { &stats.hits } else { &stats.misses };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Looks a key up for reading, counting the hit or miss.
fn lookup_read(ctx: &mut Ctx<'_>, key: &[u8]) -> Option<Location> {
    let meta = ctx.ks.meta(key);
    count_lookup(ctx, meta.is_some());
    meta
}

/// The expiry to store again when a value moves (RENAME, COPY).
fn expiry_of(loc: &Location) -> Option<u64> {
    (loc.expires_at != 0).then_some(loc.expires_at)
}

/// `DEL key [key ...]`, `UNLINK key [key ...]`: number of keys removed
/// (a key named twice counts once).
fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut n = 0;
    for key in &args[1..] {
        n += i64::from(ctx.ks.delete(key)?);
    }
    Ok(Reply::Int(n))
}

/// `EXISTS key [key ...]`, `TOUCH key [key ...]`: number of arguments
/// that name a live key (a key named twice counts twice). TOUCH has no
/// access time to update here: Slowpoke keeps no LRU clock.
fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut n = 0;
    for key in &args[1..] {
        n += i64::from(lookup_read(ctx, key).is_some());
    }
    Ok(Reply::Int(n))
}

/// `TYPE key`: `string`, or `none` when absent.
fn type_(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let found = lookup_read(ctx, &args[1]).is_some();
    Ok(Reply::simple(if found { "string" } else { "none" }))
}

/// `RENAME key newkey`: OK; the TTL moves with the value.
fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    rename_generic(ctx, args, false)
}

/// `RENAMENX key newkey`: 1, or 0 when `newkey` exists.
fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    rename_generic(ctx, args, true)
}

fn rename_generic(ctx: &mut Ctx<'_>, args: &[Bytes], nx: bool) -> Result<Reply, CommandError> {
    let (src, dst) = (&args[1], &args[2]);
    let Some((value, loc)) = ctx.ks.get_with_meta(src)? else {
        return Err(CommandError::text("ERR no such key"));
    };
    // RENAME k k succeeds without writing; RENAMENX k k answers 0.
    if src == dst || nx && ctx.ks.meta(dst).is_some() {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    ctx.ks.put(dst, &value, expiry_of(&loc))?;
    ctx.ks.delete(src)?;
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

/// `COPY source destination [DB destination-db] [REPLACE]`: 1 if copied,
/// 0 if the source is missing or the destination exists without REPLACE.
/// The TTL is copied too. Only database 0 exists.
fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let (src, dst) = (&args[1], &args[2]);
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "replace") {
            replace = true;
        } else if is(&args[j], "db") && j + 1 < args.len() {
            let db = parse_i64(&args[j + 1])?;
            if i32::try_from(db).is_err() {
                return Err(CommandError::NotInt32);
            }
            if db != 0 {
                return Err(CommandError::DbIndexOutOfRange);
            }
            j += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    if src == dst {
        return Err(CommandError::text(
            "ERR source and destination objects are the same",
        ));
    }
    let found = ctx.ks.get_with_meta(src)?;
    count_lookup(ctx, found.is_some());
    let Some((value, loc)) = found else {
        return Ok(Reply::Int(0));
    };
    if !replace && ctx.ks.meta(dst).is_some() {
        return Ok(Reply::Int(0));
    }
    ctx.ks.put(dst, &value, expiry_of(&loc))?;
    Ok(Reply::Int(1))
}

/// `DBSIZE`: number of keys (keys that expired but were not yet removed
/// by the expiry cycle still count, as in Redis).
fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(Reply::Int(ctx.ks.key_count() as i64))
}

/// `FLUSHALL [ASYNC | SYNC]`, `FLUSHDB [ASYNC | SYNC]`: removes every key
/// (one database, so both do the same). ASYNC is accepted and done
/// synchronously: the old files are unlinked at once either way. See
/// `FLUSH_FLAGS` for why these run outside a write transaction.
fn flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    match args.get(1) {
        None => {}
        Some(mode) if args.len() == 2 && (is(mode, "sync") || is(mode, "async")) => {}
        Some(_) => return Err(CommandError::Syntax),
    }
    // Break WATCHes both before (a WATCH racing the clear) and after (so
    // no EXEC that saw the old keys can commit on top of the new state).
    ctx.server.db.touch_all();
    ctx.ks.clear_all()?;
    ctx.server.db.touch_all();
    Ok(Reply::Ok)
}

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireFlags {
    /// Parses the options after the time, as Redis 7 does (before the time
    /// itself is parsed, so an unknown option wins over a bad number).
    fn parse(opts: &[Bytes]) -> Result<ExpireFlags, CommandError> {
        let mut f = ExpireFlags::default();
        for opt in opts {
            if is(opt, "nx") {
                f.nx = true;
            } else if is(opt, "xx") {
                f.xx = true;
            } else if is(opt, "gt") {
                f.gt = true;
            } else if is(opt, "lt") {
                f.lt = true;
            } else {
                return Err(CommandError::UnsupportedOption(opt.to_vec()));
            }
        }
        if f.nx && (f.xx || f.gt || f.lt) {
            return Err(CommandError::text(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if f.gt && f.lt {
            return Err(CommandError::text(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(f)
    }

    /// True when a new expiry `when` may replace `current` (-1 = none).
    fn allow(&self, current: i64, when: i64) -> bool {
        // No expiry counts as an infinite TTL: GT never beats it, LT always does.
        !(self.nx && current != -1
            || self.xx && current == -1
            || self.gt && (current == -1 || when <= current)
            || self.lt && current != -1 && when >= current)
    }
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`.
fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, 1000, false)
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`.
fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, 1, false)
}

/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`.
fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, 1000, true)
}

/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`.
fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, 1, true)
}

/// The EXPIRE family: 1 if the expiry was set (or the key deleted because
/// the time is not in the future), 0 if the key is missing or a condition
/// failed. `unit` is ms per unit; `absolute` = a Unix time, else relative.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    unit: i64,
    absolute: bool,
) -> Result<Reply, CommandError> {
    let key = &args[1];
    let flags = ExpireFlags::parse(&args[3..])?;
    let now = ctx.ks.now_ms() as i64;
    let base = if absolute { 0 } else { now };
    // Redis allows negative times but rejects any that overflow.
    let when = parse_i64(&args[2])?
        .checked_mul(unit)
        .and_then(|w| w.checked_add(base))
        .ok_or_else(|| CommandError::InvalidExpire(name_of(args)))?;
    let Some(loc) = ctx.ks.meta(key) else {
        return Ok(Reply::Int(0));
    };
    let current = match expiry_of(&loc) {
        Some(at) => i64::try_from(at).unwrap_or(i64::MAX),
        None => -1,
    };
    if !flags.allow(current, when) {
        return Ok(Reply::Int(0));
    }
    if when <= now {
        ctx.ks.delete(key)?;
    } else {
        ctx.ks.set_expiry(key, Some(when as u64))?;
    }
    Ok(Reply::Int(1))
}

/// The expiry of a key for the read commands: None when the key is
/// missing, Some(None) when it has no expiry.
fn read_expiry(ctx: &mut Ctx<'_>, key: &[u8]) -> Option<Option<i64>> {
    let loc = lookup_read(ctx, key)?;
    Some(expiry_of(&loc).map(|at| i64::try_from(at).unwrap_or(i64::MAX)))
}

/// Shared by TTL and PTTL: -2 missing, -1 no expiry, else the time left
/// (seconds rounded to nearest, as Redis's `(ttl+500)/1000`).
fn ttl_generic(ctx: &mut Ctx<'_>, args: &[Bytes], ms: bool) -> Result<Reply, CommandError> {
    let now = ctx.ks.now_ms() as i64;
    Ok(Reply::Int(match read_expiry(ctx, &args[1]) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let left = at.saturating_sub(now).max(0);
            if ms {
                left
            } else {
                left.saturating_add(500) / 1000
            }
        }
    }))
}

/// `TTL key`.
fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, false)
}

/// `PTTL key`.
fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, true)
}

/// Shared by EXPIRETIME and PEXPIRETIME: -2 missing, -1 no expiry, else
/// the absolute expiry (seconds rounded to nearest, as Redis does).
fn expiretime_generic(ctx: &mut Ctx<'_>, args: &[Bytes], ms: bool) -> Result<Reply, CommandError> {
    Ok(Reply::Int(match read_expiry(ctx, &args[1]) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) if ms => at,
        Some(Some(at)) => at.saturating_add(500) / 1000,
    }))
}

/// `EXPIRETIME key`.
fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    expiretime_generic(ctx, args, false)
}

/// `PEXPIRETIME key`.
fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    expiretime_generic(ctx, args, true)
}

/// `PERSIST key`: 1 if an expiry was removed, 0 if the key is missing or
/// had none.
fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    match ctx.ks.meta(&args[1]) {
        Some(loc) if loc.expires_at != 0 => {
            ctx.ks.set_expiry(&args[1], None)?;
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_conditions_follow_redis() {
        let f = |o: &[&str]| {
            let opts: Vec<Bytes> = o.iter().map(|s| Bytes::from(s.to_string())).collect();
            ExpireFlags::parse(&opts).map_err(|e| e.to_string())
        };
        assert!(f(&["nx"]).is_ok_and(|x| x.allow(-1, 5) && !x.allow(3, 5)));
        assert!(f(&["XX"]).is_ok_and(|x| !x.allow(-1, 5) && x.allow(3, 5)));
        assert!(f(&["gt"]).is_ok_and(|x| !x.allow(-1, 5) && x.allow(3, 5) && !x.allow(5, 5)));
        assert!(f(&["lt"]).is_ok_and(|x| x.allow(-1, 5) && x.allow(6, 5) && !x.allow(5, 5)));
        assert!(f(&["xx", "gt"]).is_ok_and(|x| x.allow(3, 5) && !x.allow(-1, 5)));
        assert_eq!(
            f(&["nx", "lt"]).err().as_deref(),
            Some("ERR NX and XX, GT or LT options at the same time are not compatible")
        );
        assert_eq!(
            f(&["xx", "gt", "lt"]).err().as_deref(),
            Some("ERR GT and LT options at the same time are not compatible")
        );
        assert_eq!(
            f(&["gt", "bad"]).err().as_deref(),
            Some("ERR Unsupported option bad")
        );
    }

    #[test]
    fn table_has_unique_lowercase_names() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        assert!(names.iter().all(|n| *n == n.to_lowercase()));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }
}

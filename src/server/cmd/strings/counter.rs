//! Counters: INCR, DECR, INCRBY, DECRBY (one `IncrBy` with a delta) and
//! INCRBYFLOAT (extended precision, see `long_double.rs`). A missing key
//! counts from 0; the key keeps its TTL. Atomic per key because the
//! commands are flagged WRITE (one engine transaction each).

use bytes::Bytes;

use super::long_double::{self, LongDouble};
use super::{ttl_of, Ctx};
use crate::server::cmd::args::parse_i64;
use crate::server::error::CommandError;
use crate::server::reply::Reply;

/// Longest text Redis reads as a 64-bit integer (`-9223372036854775808`).
const MAX_INT_TEXT: u32 = 20;
/// Redis refuses float texts this long or longer.
const MAX_FLOAT_TEXT: u32 = 5 * 1024;

/// `INCRBY key delta`; INCR, DECR and DECRBY are this with a fixed or
/// negated delta.
struct IncrBy {
    key: Bytes,
    delta: i64,
}

impl IncrBy {
    /// Redis's `incrDecrCommand`.
    fn execute(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        // A value too long to be an integer fails without a disk read.
        let meta = ctx.ks.meta(&self.key);
        if meta.is_some_and(|l| l.value_len > MAX_INT_TEXT) {
            return Err(CommandError::NotInteger);
        }
        let current = match meta {
            Some(_) => ctx.ks.get_with_meta(&self.key)?,
            None => None,
        };
        let (old, ttl) = match current {
            Some((v, loc)) => (parse_i64(&v)?, ttl_of(&loc)),
            None => (0, None),
        };
        let new = old.checked_add(self.delta).ok_or(CommandError::Overflow)?;
        ctx.ks.put(&self.key, new.to_string().as_bytes(), ttl)?;
        Ok(Reply::Int(new))
    }
}

/// `INCR key`
pub fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let key = args[1].clone();
    IncrBy { key, delta: 1 }.execute(ctx)
}

/// `DECR key`
pub fn decr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let key = args[1].clone();
    IncrBy { key, delta: -1 }.execute(ctx)
}

/// `INCRBY key increment`
pub fn incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let delta = parse_i64(&args[2])?;
    let key = args[1].clone();
    IncrBy { key, delta }.execute(ctx)
}

/// `DECRBY key decrement`
pub fn decrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let decrement = parse_i64(&args[2])?;
    // -i64::MIN does not exist; Redis has a text of its own for it.
    let delta = decrement
        .checked_neg()
        .ok_or_else(|| CommandError::text("ERR decrement would overflow"))?;
    let key = args[1].clone();
    IncrBy { key, delta }.execute(ctx)
}

/// `INCRBYFLOAT key increment`: the new value as a bulk string (in RESP3
/// too, as Redis 7 replies), stored as the same text.
pub fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let key = &args[1];
    let meta = ctx.ks.meta(key);
    if meta.is_some_and(|l| l.value_len >= MAX_FLOAT_TEXT) {
        return Err(CommandError::NotFloat);
    }
    // Redis reads the stored value before the increment.
    let current = match meta {
        Some(_) => ctx.ks.get_with_meta(key)?,
        None => None,
    };
    let (old, ttl) = match current {
        Some((v, loc)) => (float(&v)?, ttl_of(&loc)),
        None => (float(b"0")?, None),
    };
    let increment = float(&args[2])?;
    let sum = long_double::add(old, increment)
        .ok_or_else(|| CommandError::text("ERR increment would produce NaN or Infinity"))?;
    let text = Bytes::from(sum.to_human());
    ctx.ks.put(key, &text, ttl)?;
    Ok(Reply::Bulk(text))
}

fn float(s: &[u8]) -> Result<LongDouble, CommandError> {
    long_double::parse(s).ok_or(CommandError::NotFloat)
}

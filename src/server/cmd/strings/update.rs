//! APPEND and SETRANGE: edits of an existing value that keep its TTL. The
//! engine stores whole values, so an edit reads the value and writes it
//! back whole; the size limit is checked from the index first, so an edit
//! that would be refused never reads the value.

use bytes::Bytes;

use super::{max_string_len, ttl_of, Ctx};
use crate::server::cmd::args::parse_i64;
use crate::server::error::CommandError;
use crate::server::reply::Reply;

/// `Err(StringTooLong)` when a string of `offset + len` bytes is over
/// `proto-max-bulk-len` (Redis's `checkStringLength`).
fn check_length(ctx: &Ctx<'_>, offset: u64, len: usize) -> Result<(), CommandError> {
    match offset.checked_add(len as u64) {
        Some(total) if total <= max_string_len(ctx) => Ok(()),
        _ => Err(CommandError::StringTooLong),
    }
}

/// `APPEND key value`: the new length. Creates the key if missing.
pub fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let (key, tail) = (&args[1], &args[2]);
    let Some(loc) = ctx.ks.meta(key) else {
        ctx.ks.put(key, tail, None)?;
        return Ok(Reply::Int(tail.len() as i64));
    };
    check_length(ctx, u64::from(loc.value_len), tail.len())?;
    let (old, loc) = ctx
        .ks
        .get_with_meta(key)?
        .unwrap_or_else(|| (Bytes::new(), loc));
    let mut value = Vec::with_capacity(old.len() + tail.len());
    value.extend_from_slice(&old);
    value.extend_from_slice(tail);
    ctx.ks.put(key, &value, ttl_of(&loc))?;
    Ok(Reply::Int(value.len() as i64))
}

/// `SETRANGE key offset value`: the new length. Zero bytes pad a string
/// that was shorter than `offset`; an empty value changes nothing.
pub fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let (key, patch) = (&args[1], &args[3]);
    let offset = parse_i64(&args[2])?;
    let Ok(offset) = u64::try_from(offset) else {
        return Err(CommandError::text("ERR offset is out of range"));
    };
    let meta = ctx.ks.meta(key);
    if patch.is_empty() {
        return Ok(Reply::Int(meta.map_or(0, |l| i64::from(l.value_len))));
    }
    check_length(ctx, offset, patch.len())?;
    let (old, ttl) = match meta {
        Some(loc) => match ctx.ks.get_with_meta(key)? {
            Some((v, loc)) => (v, ttl_of(&loc)),
            None => (Bytes::new(), ttl_of(&loc)),
        },
        None => (Bytes::new(), None),
    };
    // Bounded by check_length above.
    let offset = offset as usize;
    let mut value = old.to_vec();
    if value.len() < offset + patch.len() {
        value.resize(offset + patch.len(), 0);
    }
    value[offset..offset + patch.len()].copy_from_slice(patch);
    ctx.ks.put(key, &value, ttl)?;
    Ok(Reply::Int(value.len() as i64))
}

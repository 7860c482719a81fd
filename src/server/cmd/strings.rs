//! The string commands, Redis 7.0 semantics: reads (`get.rs`), SET and its
//! variants with expiry options (`set.rs`), in-place edits APPEND and
//! SETRANGE (`update.rs`), counters (`counter.rs`, with the `long double`
//! arithmetic of INCRBYFLOAT in `long_double.rs`). This file holds the
//! command table and the helpers they share.
//!
//! Invariants: write commands are flagged WRITE, so each runs inside one
//! engine transaction and a read-modify-write (INCR, APPEND) is atomic per
//! key; "now" is always `ks.now_ms()`; a value is rewritten with the TTL
//! Redis would keep (APPEND, SETRANGE, INCR*) or clear (SET without
//! KEEPTTL, GETSET, MSET). Lookups that Redis counts as keyspace hits or
//! misses are counted in `stats.hits`/`stats.misses`.

mod counter;
mod get;
mod long_double;
mod set;
mod update;

use std::sync::atomic::Ordering;

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::engine::Location;

const READ_FAST: &[&str] = &["@read", "@string", "@fast"];
const READ_SLOW: &[&str] = &["@read", "@string", "@slow"];
const WRITE_FAST: &[&str] = &["@write", "@string", "@fast"];
const WRITE_SLOW: &[&str] = &["@write", "@string", "@slow"];

/// One table line: name, arity, flags, keys (first, last, step), ACL
/// categories, summary, since, handler.
macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, ($first:expr, $last:expr, $step:expr),
     $acl:expr, $summary:literal, $since:literal, $handler:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            acl: $acl,
            summary: $summary,
            since: $since,
            group: "string",
            subcommands: &[],
            handler: $handler,
        }
    };
}

/// The string commands (flags, key positions and ACL categories as Redis
/// 7.0's COMMAND INFO reports them).
#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    spec!("get", 2, READONLY | FAST, (1, 1, 1), READ_FAST,
        "Get the value of a key", "1.0.0", get::get),
    spec!("mget", -2, READONLY | FAST, (1, -1, 1), READ_FAST,
        "Get the values of all the given keys", "1.0.0", get::mget),
    spec!("strlen", 2, READONLY | FAST, (1, 1, 1), READ_FAST,
        "Get the length of the value stored in a key", "2.2.0", get::strlen),
    spec!("getrange", 4, READONLY, (1, 1, 1), READ_SLOW,
        "Get a substring of the string stored at a key", "2.4.0", get::getrange),
    spec!("substr", 4, READONLY, (1, 1, 1), READ_SLOW,
        "Get a substring of the string stored at a key", "1.0.0", get::getrange),
    spec!("getdel", 2, WRITE | FAST, (1, 1, 1), WRITE_FAST,
        "Get the value of a key and delete the key", "6.2.0", get::getdel),
    spec!("set", -3, WRITE | DENYOOM, (1, 1, 1), WRITE_SLOW,
        "Set the string value of a key", "1.0.0", set::set),
    spec!("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Set the value of a key, only if the key does not exist", "1.0.0", set::setnx),
    spec!("setex", 4, WRITE | DENYOOM, (1, 1, 1), WRITE_SLOW,
        "Set the value and expiration of a key", "2.0.0", set::setex),
    spec!("psetex", 4, WRITE | DENYOOM, (1, 1, 1), WRITE_SLOW,
        "Set the value and expiration in milliseconds of a key", "2.6.0", set::psetex),
    spec!("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Set the string value of a key and return its old value", "1.0.0", set::getset),
    spec!("getex", -2, WRITE | FAST, (1, 1, 1), WRITE_FAST,
        "Get the value of a key and optionally set its expiration", "6.2.0", set::getex),
    spec!("mset", -3, WRITE | DENYOOM, (1, -1, 2), WRITE_SLOW,
        "Set multiple keys to multiple values", "1.0.1", set::mset),
    spec!("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), WRITE_SLOW,
        "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1",
        set::msetnx),
    spec!("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Append a value to a key", "2.0.0", update::append),
    spec!("setrange", 4, WRITE | DENYOOM, (1, 1, 1), WRITE_SLOW,
        "Overwrite part of a string at key starting at the specified offset", "2.2.0",
        update::setrange),
    spec!("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Increment the integer value of a key by one", "1.0.0", counter::incr),
    spec!("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Decrement the integer value of a key by one", "1.0.0", counter::decr),
    spec!("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Increment the integer value of a key by the given amount", "1.0.0", counter::incrby),
    spec!("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Decrement the integer value of a key by the given number", "1.0.0", counter::decrby),
    spec!("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), WRITE_FAST,
        "Increment the float value of a key by the given amount", "2.6.0",
        counter::incrbyfloat),
];

/// Counts a lookup the way Redis's `lookupKeyRead` does (INFO
/// keyspace_hits / keyspace_misses).
fn count_lookup(ctx: &Ctx<'_>, hit: bool) {
    let stats = &ctx.server.stats;
    let counter = if hit { &stats.hits } else { &stats.misses };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The key's expiry, to write it back unchanged with a new value.
fn ttl_of(loc: &Location) -> Option<u64> {
    (loc.expires_at != 0).then_some(loc.expires_at)
}

/// The largest string APPEND and SETRANGE may build (`proto-max-bulk-len`).
fn max_string_len(ctx: &Ctx<'_>) -> u64 {
    ctx.server
        .config
        .read()
        .map(|c| c.proto_max_bulk_len as u64)
        .unwrap_or(512 * 1024 * 1024)
}

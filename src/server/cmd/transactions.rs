//! MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queued commands run inside one
//! engine transaction, so no other client's write interleaves with them and
//! readers see all or none of their writes. WATCH marks are checked inside
//! that same transaction (under the engine's write lock), so a change that
//! commits before EXEC always aborts it.

use bytes::Bytes;

use super::flags::*;
use super::{lookup, CommandSpec, Ctx};
use crate::server::db::TxnView;
use crate::server::durability::hold_until_durable;
use crate::server::error::CommandError;
use crate::server::reply::Reply;
use crate::server::state::MultiState;

const TX: &[&str] = &["@fast", "@transaction"];

/// The transaction commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "multi",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: TX,
        summary: "Starts a transaction.",
        since: "1.2.0",
        group: "transactions",
        subcommands: &[],
        handler: multi,
    },
    CommandSpec {
        name: "exec",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | NO_MULTI,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow", "@transaction"],
        summary: "Executes all commands in a transaction.",
        since: "1.2.0",
        group: "transactions",
        subcommands: &[],
        handler: exec,
    },
    CommandSpec {
        name: "discard",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: TX,
        summary: "Discards a transaction.",
        since: "2.0.0",
        group: "transactions",
        subcommands: &[],
        handler: discard,
    },
    CommandSpec {
        name: "watch",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY,
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: TX,
        summary: "Monitors changes to keys to determine the execution of a transaction.",
        since: "2.2.0",
        group: "transactions",
        subcommands: &[],
        handler: watch,
    },
    CommandSpec {
        name: "unwatch",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: TX,
        summary: "Forgets about watched keys of a transaction.",
        since: "2.2.0",
        group: "transactions",
        subcommands: &[],
        handler: unwatch,
    },
];

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    if ctx.conn.in_multi() {
        return Err(CommandError::text("ERR MULTI calls can not be nested"));
    }
    ctx.conn.multi = Some(MultiState::default());
    ctx.conn.info.update(|d| d.multi = 0);
    Ok(Reply::Ok)
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    if ctx.conn.multi.take().is_none() {
        return Err(CommandError::text("ERR DISCARD without MULTI"));
    }
    ctx.conn.info.update(|d| d.multi = -1);
    unwatch(ctx, &[])
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    if ctx.conn.in_multi() {
        return Err(CommandError::text("ERR WATCH inside MULTI is not allowed"));
    }
    for key in &args[1..] {
        if !ctx.conn.watched.iter().any(|(k, _)| k == key) {
            let mut mark = ctx.server.db.watch_mark(key);
            mark.existed = ctx.ks.meta(key).is_some();
            ctx.conn.watched.push((key.clone(), mark));
        }
    }
    let n = ctx.conn.watched.len();
    ctx.conn.info.update(|d| d.watch = n);
    Ok(Reply::Ok)
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    ctx.conn.watched.clear();
    ctx.conn.info.update(|d| d.watch = 0);
    Ok(Reply::Ok)
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    let Some(state) = ctx.conn.multi.take() else {
        return Err(CommandError::text("ERR EXEC without MULTI"));
    };
    ctx.conn.info.update(|d| d.multi = -1);
    let watched = std::mem::take(&mut ctx.conn.watched);
    ctx.conn.info.update(|d| d.watch = 0);
    if state.aborted {
        return Err(CommandError::text(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let server = ctx.server;
    let conn = &mut *ctx.conn;
    let (reply, ticket) = server.db.write(|txn: &mut TxnView<'_, '_>| {
        let changed = |(key, mark): &(Bytes, crate::server::db::WatchMark)| {
            server.db.watch_broken(mark) || (mark.existed && txn.txn.meta(key).is_none())
        };
        if watched.iter().any(changed) {
            return Reply::NullArray;
        }
        let start_proto = conn.proto;
        let mut replies = Vec::with_capacity(state.queue.len());
        for argv in &state.queue {
            let Some(spec) = argv.first().and_then(|n| lookup(n)) else {
                continue; // unreachable: only known commands are queued
            };
            let mut inner = Ctx {
                server,
                conn: &mut *conn,
                ks: txn,
            };
            let reply = (spec.handler)(&mut inner, argv).unwrap_or_else(Reply::from);
            replies.push((reply, conn.proto));
        }
        // A queued HELLO switches the protocol mid-EXEC: Redis has already
        // written the earlier replies in the old one, the later in the new.
        if replies.iter().all(|(_, p)| *p == start_proto) {
            Reply::Array(replies.into_iter().map(|(r, _)| r).collect())
        } else {
            Reply::Array(
                replies
                    .into_iter()
                    .map(|(r, p)| Reply::Proto(p, Box::new(r)))
                    .collect(),
            )
        }
    })?;
    conn.pending_sync = conn.pending_sync.merge(ticket);
    hold_until_durable(&server.db.engine, &mut conn.pending_sync);
    Ok(reply)
}

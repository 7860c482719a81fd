//! The server commands' table: INFO (text built in `info.rs`), COMMAND
//! (`command.rs`), CONFIG (`config.rs`), and here TIME, LASTSAVE, SAVE,
//! BGSAVE, BGREWRITEAOF, SHUTDOWN and SWAPDB.
//!
//! Data is always on disk, so SAVE and BGSAVE only force an fsync;
//! BGREWRITEAOF asks the engine to compact its data files. SHUTDOWN asks
//! the listener to stop and closes this connection without a reply, as
//! Redis does; the listener syncs the engine before the process exits.
//! There is one database, so SWAPDB succeeds only for 0 and 0.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::args::{is, parse_i64};
use super::command;
use super::flags::*;
use super::{config, info, CommandSpec, Ctx};
use crate::server::error::CommandError;
use crate::server::reply::Reply;
use crate::server::state::ServerState;

const ADMIN_SLOW: &[&str] = &["@admin", "@slow", "@dangerous"];

/// The server commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "info",
        arity: -1,
        flags: LOADING | STALE,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow", "@dangerous"],
        summary: "Get information and statistics about the server",
        since: "1.0.0",
        group: "server",
        subcommands: &[],
        handler: info::info,
    },
    CommandSpec {
        name: "time",
        arity: 1,
        flags: LOADING | STALE | FAST,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast"],
        summary: "Return the current server time",
        since: "2.6.0",
        group: "server",
        subcommands: &[],
        handler: time,
    },
    CommandSpec {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow", "@connection"],
        summary: "Get array of Redis command details",
        since: "2.8.13",
        group: "server",
        subcommands: &[
            "command|count",
            "command|info",
            "command|docs",
            "command|list",
            "command|getkeys",
            "command|help",
        ],
        handler: command::command,
    },
    CommandSpec {
        name: "config",
        arity: -2,
        flags: 0,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow"],
        summary: "A container for server configuration commands",
        since: "2.0.0",
        group: "server",
        subcommands: &[
            "config|get",
            "config|set",
            "config|resetstat",
            "config|rewrite",
            "config|help",
        ],
        handler: config::config,
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        // NO_MULTI: not queued, so the handler can refuse it inside MULTI.
        flags: ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: ADMIN_SLOW,
        summary: "Synchronously save the dataset to disk and then shut down the server",
        since: "1.0.0",
        group: "server",
        subcommands: &[],
        handler: shutdown,
    },
    CommandSpec {
        name: "lastsave",
        arity: 1,
        flags: LOADING | STALE | FAST,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@admin", "@fast", "@dangerous"],
        summary: "Get the UNIX time stamp of the last successful save to disk",
        since: "1.0.0",
        group: "server",
        subcommands: &[],
        handler: lastsave,
    },
    CommandSpec {
        name: "save",
        arity: 1,
        flags: ADMIN | NOSCRIPT | NO_MULTI,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: ADMIN_SLOW,
        summary: "Synchronously save the dataset to disk",
        since: "1.0.0",
        group: "server",
        subcommands: &[],
        handler: save,
    },
    CommandSpec {
        name: "bgsave",
        arity: -1,
        flags: ADMIN | NOSCRIPT,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: ADMIN_SLOW,
        summary: "Asynchronously save the dataset to disk",
        since: "1.0.0",
        group: "server",
        subcommands: &[],
        handler: bgsave,
    },
    CommandSpec {
        name: "bgrewriteaof",
        arity: 1,
        flags: ADMIN | NOSCRIPT,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: ADMIN_SLOW,
        summary: "Asynchronously rewrite the append-only file",
        since: "1.0.0",
        group: "server",
        subcommands: &[],
        handler: bgrewriteaof,
    },
    CommandSpec {
        name: "swapdb",
        arity: 3,
        flags: WRITE | FAST,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@write", "@fast", "@dangerous"],
        summary: "Swaps two Redis databases",
        since: "4.0.0",
        group: "server",
        subcommands: &[],
        handler: swapdb,
    },
];

/// Unix seconds of the last SAVE/BGSAVE (0: none yet, report the start).
static LAST_SAVE: AtomicU64 = AtomicU64::new(0);
/// A BGSAVE sync is running.
static BGSAVE_RUNNING: AtomicBool = AtomicBool::new(false);

/// LASTSAVE's answer: the last save, or when the server started (its data
/// was on disk then).
pub fn last_save_secs(server: &ServerState, now_ms: u64) -> u64 {
    match LAST_SAVE.load(Ordering::Relaxed) {
        0 => (now_ms / 1000).saturating_sub(server.started.elapsed().as_secs()),
        t => t,
    }
}

fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    let ms = ctx.ks.now_ms();
    Ok(Reply::bulks([
        (ms / 1000).to_string(),
        ((ms % 1000) * 1000).to_string(),
    ]))
}

fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(Reply::Int(
        last_save_secs(ctx.server, ctx.ks.now_ms()) as i64
    ))
}

/// Redis refuses these inside MULTI and discards the transaction.
fn refuse_in_multi(ctx: &mut Ctx<'_>) -> Result<(), CommandError> {
    if ctx.conn.in_multi() {
        ctx.conn.flag_multi_error();
        return Err(CommandError::text(
            "ERR Command not allowed inside a transaction",
        ));
    }
    Ok(())
}

fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    refuse_in_multi(ctx)?;
    // Like Redis's SAVE this blocks the caller; it is one fsync here.
    ctx.ks.engine().sync()?;
    LAST_SAVE.store(ctx.ks.now_ms() / 1000, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    match &args[1..] {
        [] => {}
        [s] if is(s, "schedule") => {}
        _ => return Err(CommandError::Syntax),
    }
    if BGSAVE_RUNNING.swap(true, Ordering::AcqRel) {
        return Err(CommandError::text(
            "ERR Background save already in progress",
        ));
    }
    let server = Arc::clone(ctx.server);
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            match server.db.engine.sync() {
                Ok(()) => {
                    let now = server.db.engine.now_ms() / 1000;
                    LAST_SAVE.store(now, Ordering::Relaxed);
                }
                Err(e) => tracing::error!(error = %e, "BGSAVE sync failed"),
            }
            BGSAVE_RUNNING.store(false, Ordering::Release);
        });
    if let Err(e) = spawned {
        BGSAVE_RUNNING.store(false, Ordering::Release);
        return Err(CommandError::text(format!(
            "ERR Background saving failed: {e}"
        )));
    }
    // Inside EXEC Redis defers the save and says so; here it runs now.
    Ok(Reply::simple(if in_exec(ctx) {
        "Background saving scheduled"
    } else {
        "Background saving started"
    }))
}

/// True while EXEC runs the queued commands (they see a transaction view).
fn in_exec(ctx: &Ctx<'_>) -> bool {
    ctx.ks.pending_writes().is_some()
}

/// BGREWRITEAOF: the data files are the log, so rewriting it is
/// compaction, which the engine's background thread runs.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    if ctx.ks.engine().request_compaction() {
        // Inside EXEC Redis defers the rewrite and says so.
        Ok(Reply::simple(if in_exec(ctx) {
            "Background append only file rewriting scheduled"
        } else {
            "Background append only file rewriting started"
        }))
    } else {
        Err(CommandError::text(
            "ERR Background append only file rewriting already in progress",
        ))
    }
}

fn swapdb(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let db = |arg: &[u8], which: &str| {
        parse_i64(arg)
            .ok()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| CommandError::text(format!("ERR invalid {which} DB index")))
    };
    let a = db(&args[1], "first")?;
    let b = db(&args[2], "second")?;
    if a != 0 || b != 0 {
        return Err(CommandError::DbIndexOutOfRange);
    }
    Ok(Reply::Ok)
}

fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    refuse_in_multi(ctx)?;
    let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "now") || is(a, "force") {
            other = true;
        } else if is(a, "abort") {
            abort = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CommandError::Syntax);
    }
    if abort {
        // Shutdown starts at once here; there is never one to abort.
        return Err(CommandError::text("ERR No shutdown in progress."));
    }
    // Every acknowledged write is already in the data files; the listener
    // syncs them on its way out whatever the option.
    ctx.server.request_shutdown();
    ctx.conn.close_after_reply = true;
    Ok(Reply::Nothing)
}

//! The command table and dispatch. Each family module exports a static
//! `COMMANDS` slice of `CommandSpec`s; this module merges them, checks
//! existence, arity, authentication and MULTI queueing once for every
//! command, and routes write commands through one engine transaction so
//! each command is atomic. COMMAND, COMMAND INFO and COMMAND DOCS read the
//! same table. To add a command: one handler, one table line.

pub mod args;
pub mod command;
pub mod config;
pub mod connection;
pub mod info;
pub mod keys;
pub mod scan;
pub mod server;
pub mod strings;
pub mod transactions;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::server::db::{Keyspace, ReadView};
use crate::server::durability::hold_until_durable;
use crate::server::error::CommandError;
use crate::server::reply::Reply;
use crate::server::state::{ConnState, ServerState};

/// Command flags, as Redis names them in COMMAND output.
pub mod flags {
    /// May modify the keyspace (runs inside an engine transaction).
    pub const WRITE: u32 = 1;
    /// Only reads.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory/disk use.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 4;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 5;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 6;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 7;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 8;
    /// Executed at once even inside MULTI (MULTI, EXEC, DISCARD, WATCH...).
    pub const NO_MULTI: u32 = 1 << 9;
    /// Touches the whole keyspace or the disk heavily.
    pub const ALLOW_BUSY: u32 = 1 << 10;

    /// Names in COMMAND output order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// What a handler sees: the server, its own connection, and the keys
/// (a plain read view, or the engine transaction of a write or EXEC).
pub struct Ctx<'a> {
    /// Shared server state (db, config, stats, clients).
    pub server: &'a Arc<ServerState>,
    /// This connection's state.
    pub conn: &'a mut ConnState,
    /// The keyspace.
    pub ks: &'a mut dyn Keyspace,
}

/// A command handler: `args[0]` is the command name as sent.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> Result<Reply, CommandError>;

/// One command's table entry.
pub struct CommandSpec {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: N = exactly N args including the name, -N = at least N.
    pub arity: i32,
    /// `flags::*` bits.
    pub flags: u32,
    /// First key argument (0 = none).
    pub first_key: i32,
    /// Last key argument (-1 = last arg).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// ACL categories, e.g. `["@string", "@fast"]`.
    pub acl: &'static [&'static str],
    /// One-line summary (COMMAND DOCS).
    pub summary: &'static str,
    /// Redis version it appeared in (COMMAND DOCS).
    pub since: &'static str,
    /// Group (COMMAND DOCS): string, generic, connection, server, transactions.
    pub group: &'static str,
    /// Subcommand names, for COMMAND output (CLIENT, CONFIG, COMMAND).
    pub subcommands: &'static [&'static str],
    /// The handler.
    pub handler: Handler,
}

impl CommandSpec {
    /// True when `argc` arguments (including the name) fit the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    /// True when the command has flag `f`.
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// Every command, in table order.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    [
        connection::COMMANDS,
        strings::COMMANDS,
        keys::COMMANDS,
        scan::COMMANDS,
        server::COMMANDS,
        transactions::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static TABLE: OnceLock<HashMap<&'static str, &'static CommandSpec>> = OnceLock::new();
    let table = TABLE.get_or_init(|| all().map(|c| (c.name, c)).collect());
    if name.len() > 32 {
        return None;
    }
    let mut lower = [0u8; 32];
    let lower = &mut lower[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower)
        .ok()
        .and_then(|n| table.get(n).copied())
}

/// Executes one command line and returns its reply. Handles unknown
/// commands, arity, NOAUTH and MULTI queueing; writes run in one engine
/// transaction and add their fsync ticket to `conn.pending_sync`.
pub fn execute(server: &Arc<ServerState>, conn: &mut ConnState, argv: &[Bytes]) -> Reply {
    let Some(name) = argv.first() else {
        return Reply::Null;
    };
    server
        .stats
        .commands
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let Some(spec) = lookup(name) else {
        let err = CommandError::UnknownCommand(
            name.to_vec(),
            // Each shown argument takes 3 bytes or more of the 128-byte budget.
            argv[1..]
                .iter()
                .take(43)
                .map(|a| a[..a.len().min(128)].to_vec())
                .collect(),
        );
        conn.flag_multi_error();
        return err.into();
    };
    if !spec.arity_ok(argv.len()) {
        return reject(conn, spec, CommandError::WrongArity(spec.name.to_string()));
    }
    // As Redis, an unknown subcommand or a subcommand's wrong arity is
    // refused here, so MULTI does not queue it (a container alone, such as
    // COMMAND, is the container's own call).
    if let (Some(subs), true) = (command::subcommands_of(spec.name), argv.len() > 1) {
        if let Err(e) = command::find_sub(argv, spec.name, subs) {
            return reject(conn, spec, e);
        }
    }
    if !conn.authed && !spec.has(flags::NO_AUTH) && server.auth_required() {
        return reject(conn, spec, CommandError::NoAuth);
    }
    conn.info.touch(spec.name);
    if conn.in_multi() && !spec.has(flags::NO_MULTI) {
        conn.queue(argv.to_vec());
        return Reply::simple("QUEUED");
    }
    run(server, conn, spec, argv)
}

/// Most commands one group of pipelined writes may hold.
const GROUP_MAX_COMMANDS: usize = 256;
/// Most argument bytes one group of pipelined writes may hold.
const GROUP_MAX_BYTES: usize = 8 << 20;

/// Writes whose replies are small (status, integer or short error), the
/// only ones grouped: a group's replies are buffered until it commits, so
/// a write that returns a value (GETSET, GETDEL, SET ... GET) runs alone.
const GROUPED_WRITES: &[&str] = &[
    "set",
    "setex",
    "psetex",
    "setnx",
    "mset",
    "msetnx",
    "del",
    "unlink",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "append",
    "setrange",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
];

/// True when `argv` is a write that may share an engine transaction with
/// its pipelined neighbours: a known small-reply write with a valid arity,
/// from an authenticated client, outside MULTI.
pub fn groupable(
    server: &Arc<ServerState>,
    conn: &ConnState,
    argv: &[Bytes],
) -> Option<&'static CommandSpec> {
    let spec = lookup(argv.first()?)?;
    let returns_value =
        spec.name == "set" && argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
    let ok = GROUPED_WRITES.contains(&spec.name)
        && !returns_value
        && spec.arity_ok(argv.len())
        && !conn.in_multi()
        && (conn.authed || !server.auth_required());
    ok.then_some(spec)
}

/// Executes pipelined commands in order and returns their replies; stops
/// after a command that closes the connection (QUIT). Consecutive plain
/// writes share one engine transaction: one append, one index update and
/// one fsync wait for the group. Their results are those of running them
/// one by one, since no other client's write can come between them and
/// none of their replies is sent before the group is committed.
pub fn execute_pipeline(
    server: &Arc<ServerState>,
    conn: &mut ConnState,
    cmds: &[Vec<Bytes>],
) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(cmds.len());
    let mut i = 0;
    while i < cmds.len() {
        let mut end = i;
        let mut bytes = 0;
        let mut group = Vec::new();
        while end < cmds.len() && group.len() < GROUP_MAX_COMMANDS && bytes < GROUP_MAX_BYTES {
            let Some(spec) = groupable(server, conn, &cmds[end]) else {
                break;
            };
            bytes += cmds[end].iter().map(Bytes::len).sum::<usize>();
            group.push(spec);
            end += 1;
        }
        if group.len() < 2 {
            replies.push(execute(server, conn, &cmds[i]));
            i += 1;
            if conn.close_after_reply {
                break;
            }
            continue;
        }
        server
            .stats
            .commands
            .fetch_add(group.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(last) = group.last() {
            conn.info.touch(last.name);
        }
        let argvs = &cmds[i..end];
        let result = server.db.write(|txn| {
            group
                .iter()
                .zip(argvs)
                .map(|(spec, argv)| {
                    let mut ctx = Ctx {
                        server,
                        conn: &mut *conn,
                        ks: &mut *txn,
                    };
                    (spec.handler)(&mut ctx, argv).unwrap_or_else(Reply::from)
                })
                .collect::<Vec<Reply>>()
        });
        match result {
            Ok((group_replies, ticket)) => {
                conn.pending_sync = conn.pending_sync.merge(ticket);
                // INCR, APPEND... reveal what other clients wrote before.
                hold_until_durable(&server.db.engine, &mut conn.pending_sync);
                replies.extend(group_replies);
            }
            Err(e) => {
                tracing::error!(error = %e, "engine error");
                let text = CommandError::Engine(e).to_string();
                replies.extend((i..end).map(|_| Reply::Error(text.clone().into())));
            }
        }
        i = end;
    }
    replies
}

/// Refuses a command before it runs. As in Redis, a refused EXEC also
/// discards the transaction (`EXECABORT ... because of: <reason>`); any
/// other refusal inside MULTI makes the coming EXEC fail.
fn reject(conn: &mut ConnState, spec: &CommandSpec, err: CommandError) -> Reply {
    if spec.name == "exec" {
        conn.multi = None;
        conn.watched.clear();
        conn.info.update(|d| {
            d.multi = -1;
            d.watch = 0;
        });
        let text = err.to_string();
        let reason = text.strip_prefix("ERR ").unwrap_or(&text);
        return Reply::Error(
            format!("EXECABORT Transaction discarded because of: {reason}").into(),
        );
    }
    conn.flag_multi_error();
    err.into()
}

/// Runs a command that has passed the checks (also used by EXEC). The
/// reply of a command that reads or writes keys waits (under `always`)
/// until every write it could reveal is durable; INFO, PING, CONFIG and
/// the like do not, so they keep answering after a failed fsync.
pub fn run(
    server: &Arc<ServerState>,
    conn: &mut ConnState,
    spec: &CommandSpec,
    argv: &[Bytes],
) -> Reply {
    let result = if spec.has(flags::WRITE) {
        match server.db.write(|txn| {
            let mut ctx = Ctx {
                server,
                conn: &mut *conn,
                ks: txn,
            };
            (spec.handler)(&mut ctx, argv)
        }) {
            Ok((r, ticket)) => {
                conn.pending_sync = conn.pending_sync.merge(ticket);
                r
            }
            Err(e) => Err(e.into()),
        }
    } else {
        let mut view = ReadView(&server.db.engine);
        let mut ctx = Ctx {
            server,
            conn: &mut *conn,
            ks: &mut view,
        };
        (spec.handler)(&mut ctx, argv)
    };
    if spec.has(flags::READONLY | flags::WRITE) {
        hold_until_durable(&server.db.engine, &mut conn.pending_sync);
    }
    match result {
        Ok(reply) => reply,
        Err(e) => {
            if let CommandError::Engine(err) = &e {
                tracing::error!(command = spec.name, error = %err, "engine error");
            }
            e.into()
        }
    }
}

//! The connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET
//! and CLIENT with its subcommands. They change only this connection's
//! state (`ConnState`: protocol, authentication, MULTI, name); the
//! dispatcher has already checked arity and authentication, and marks AUTH,
//! HELLO, QUIT and RESET `NO_AUTH` as Redis does. There is one database:
//! SELECT 0 is the only valid choice. Passwords are compared in constant
//! time; the only user is `default`.

use std::sync::Arc;

use bytes::Bytes;

use super::args::{is, parse_i64, text};
use super::command::{dispatch, help_reply, SubSpec};
use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::server::error::{c_text, CommandError};
use crate::server::reply::Reply;
use crate::server::state::ClientInfo;

/// The `redis_version` slowpoke reports (clients gate features on it).
pub const REDIS_VERSION: &str = "7.0.15";

const CONN_FAST: &[&str] = &["@fast", "@connection"];
const CONN_SLOW: &[&str] = &["@slow", "@connection"];
const CONN_ADMIN: &[&str] = &["@admin", "@slow", "@dangerous", "@connection"];
const GREETING: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;

/// The connection commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: FAST,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Ping the server",
        since: "1.0.0",
        group: "connection",
        subcommands: &[],
        handler: ping,
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: LOADING | STALE | FAST,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Echo the given string",
        since: "1.0.0",
        group: "connection",
        subcommands: &[],
        handler: echo,
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: GREETING,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Handshake with Redis",
        since: "6.0.0",
        group: "connection",
        subcommands: &[],
        handler: hello,
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: GREETING,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Authenticate to the server",
        since: "1.0.0",
        group: "connection",
        subcommands: &[],
        handler: auth,
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: LOADING | STALE | FAST,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Change the selected database for the current connection",
        since: "1.0.0",
        group: "connection",
        subcommands: &[],
        handler: select,
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        // NO_MULTI: Redis runs QUIT at once inside MULTI, never queues it.
        flags: GREETING | NO_MULTI,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Close the connection",
        since: "1.0.0",
        group: "connection",
        subcommands: &[],
        handler: quit,
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        // NO_MULTI: RESET leaves MULTI, so it must not be queued.
        flags: GREETING | NO_MULTI,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: CONN_FAST,
        summary: "Reset the connection",
        since: "6.2.0",
        group: "connection",
        subcommands: &[],
        handler: reset,
    },
    CommandSpec {
        name: "client",
        arity: -2,
        flags: 0,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow"],
        summary: "A container for client connection commands",
        since: "2.4.0",
        group: "connection",
        subcommands: &[
            "client|id",
            "client|info",
            "client|list",
            "client|getname",
            "client|setname",
            "client|setinfo",
            "client|no-evict",
            "client|no-touch",
            "client|help",
        ],
        handler: client,
    },
];

/// CLIENT's subcommands.
pub const CLIENT_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "client|id",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Returns the client ID for the current connection",
        since: "5.0.0",
        handler: client_id,
    },
    SubSpec {
        name: "client|info",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN_SLOW,
        tips: &["nondeterministic_output"],
        summary: "Returns information about the current client connection.",
        since: "6.2.0",
        handler: client_info,
    },
    SubSpec {
        name: "client|list",
        arity: -2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: CONN_ADMIN,
        tips: &["nondeterministic_output"],
        summary: "Get the list of client connections",
        since: "2.4.0",
        handler: client_list,
    },
    SubSpec {
        name: "client|getname",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Get the current connection name",
        since: "2.6.9",
        handler: client_getname,
    },
    SubSpec {
        name: "client|setname",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Set the current connection name",
        since: "2.6.9",
        handler: client_setname,
    },
    SubSpec {
        name: "client|setinfo",
        arity: 4,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Set client or connection specific info",
        since: "7.2.0",
        handler: client_setinfo,
    },
    SubSpec {
        name: "client|no-evict",
        arity: 3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: CONN_ADMIN,
        tips: &[],
        summary: "Set client eviction mode for the current connection",
        since: "7.0.0",
        handler: client_on_off,
    },
    SubSpec {
        name: "client|no-touch",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
        since: "7.2.0",
        handler: client_on_off,
    },
    SubSpec {
        name: "client|help",
        arity: 2,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Show helpful text about the different subcommands",
        since: "5.0.0",
        handler: client_help,
    },
];

const CLIENT_HELP: &[&str] = &[
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients of specified IDs.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Prints this help.",
];

fn ping(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    match args {
        [_] => Ok(Reply::simple("PONG")),
        [_, msg] => Ok(Reply::Bulk(msg.clone())),
        _ => Err(CommandError::WrongArity("ping".into())),
    }
}

fn echo(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(Reply::Bulk(args[1].clone()))
}

/// Compares two byte strings in time that depends only on their lengths,
/// never on where they first differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    // Keep the comparison from being turned into an early-exit loop.
    std::hint::black_box(diff) == 0
}

/// Checks `user`/`pass` against the default user. With no password set the
/// default user takes any password (as Redis's `nopass` default user).
fn check_user(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> Result<(), CommandError> {
    let required = ctx
        .server
        .config
        .read()
        .map(|c| c.requirepass.clone())
        .map_err(|_| CommandError::WrongPass)?;
    let user_ok = user == b"default";
    let pass_ok = match &required {
        Some(p) => constant_time_eq(p.as_bytes(), pass),
        None => true,
    };
    if user_ok && pass_ok {
        Ok(())
    } else {
        Err(CommandError::WrongPass)
    }
}

fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    match args {
        [_, pass] => {
            if !ctx.server.auth_required() {
                return Err(CommandError::text(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            check_user(ctx, b"default", pass)?;
        }
        [_, user, pass] => check_user(ctx, user, pass)?,
        _ => return Err(CommandError::Syntax),
    }
    ctx.conn.authed = true;
    Ok(Reply::Ok)
}

/// True for a name CLIENT LIST can show: printable ASCII without spaces.
fn valid_attr(name: &[u8]) -> bool {
    name.iter().all(|c| (b'!'..=b'~').contains(c))
}

/// `ERR Client names cannot contain ...` unless `name` is valid.
fn check_name(name: &[u8]) -> Result<(), CommandError> {
    if valid_attr(name) {
        Ok(())
    } else {
        Err(CommandError::text(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) -> Result<(), CommandError> {
    check_name(name)?;
    let name = text(name);
    ctx.conn.info.update(|d| d.name = name);
    Ok(())
}

fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut proto = None;
    let mut next = 1;
    if let Some(v) = args.get(1) {
        let v = parse_i64(v).map_err(|_| {
            CommandError::text("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(CommandError::text("NOPROTO unsupported protocol version"));
        }
        proto = Some(v as u8);
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    let mut j = next;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "auth") && more >= 2 {
            credentials = Some((&args[j + 1], &args[j + 2]));
            j += 3;
        } else if is(&args[j], "setname") && more >= 1 {
            // Redis checks the name as it meets it, before later options.
            check_name(&args[j + 1])?;
            name = Some(&args[j + 1]);
            j += 2;
        } else {
            return Err(CommandError::text(format!(
                "ERR Syntax error in HELLO option '{}'",
                c_text(&args[j])
            )));
        }
    }
    if let Some((user, pass)) = credentials {
        check_user(ctx, user, pass)?;
        ctx.conn.authed = true;
    }
    if !ctx.conn.authed && ctx.server.auth_required() {
        return Err(CommandError::text(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        set_name(ctx, name)?;
    }
    if let Some(p) = proto {
        ctx.conn.proto = p;
        ctx.conn.info.update(|d| d.resp = p);
    }
    let field = |k: &'static str, v: Reply| (Reply::bulk(k), v);
    Ok(Reply::Map(vec![
        field("server", Reply::bulk("redis")),
        field("version", Reply::bulk(REDIS_VERSION)),
        field("proto", Reply::Int(ctx.conn.proto.into())),
        field("id", Reply::Int(ctx.conn.info.id as i64)),
        field("mode", Reply::bulk("standalone")),
        field("role", Reply::bulk("master")),
        field("modules", Reply::Array(Vec::new())),
    ]))
}

fn select(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let db = parse_i64(&args[1])?;
    if i32::try_from(db).is_err() {
        return Err(CommandError::NotInt32);
    }
    if db != 0 {
        return Err(CommandError::DbIndexOutOfRange);
    }
    Ok(Reply::Ok)
}

fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    ctx.conn.close_after_reply = true;
    Ok(Reply::Ok)
}

fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    ctx.conn.multi = None;
    ctx.conn.watched.clear();
    ctx.conn.proto = 2;
    ctx.conn.authed = !ctx.server.auth_required();
    ctx.conn.info.update(|d| {
        d.multi = -1;
        d.watch = 0;
        d.resp = 2;
        d.name.clear();
    });
    Ok(Reply::simple("RESET"))
}

fn client(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    dispatch(ctx, args, "client", CLIENT_SUBCOMMANDS)
}

fn client_id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(Reply::Int(ctx.conn.info.id as i64))
}

fn client_info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(Reply::Verbatim(format!("{}\n", ctx.conn.info.line())))
}

fn client_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut ids: Option<Vec<u64>> = None;
    let mut none = false;
    let opts = &args[2..];
    if let Some(first) = opts.first() {
        if is(first, "type") && opts.len() == 2 {
            let kind = &opts[1];
            if is(kind, "normal") {
            } else if is(kind, "master") || is(kind, "replica") || is(kind, "pubsub") {
                none = true;
            } else {
                return Err(CommandError::text(format!(
                    "ERR Unknown client type '{}'",
                    c_text(kind)
                )));
            }
        } else if is(first, "id") && opts.len() >= 2 {
            let mut list = Vec::with_capacity(opts.len() - 1);
            for id in &opts[1..] {
                match parse_i64(id) {
                    Ok(n) if n > 0 => list.push(n as u64),
                    _ => return Err(CommandError::text("ERR Invalid client ID")),
                }
            }
            ids = Some(list);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let mut clients: Vec<Arc<ClientInfo>> = if none {
        Vec::new()
    } else {
        ctx.server
            .clients
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    };
    if let Some(ids) = &ids {
        clients.retain(|c| ids.contains(&c.id));
    }
    clients.sort_by_key(|c| c.id);
    let mut out = String::new();
    for c in clients {
        out.push_str(&c.line());
        out.push('\n');
    }
    Ok(Reply::Verbatim(out))
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    let name = ctx.conn.info.details().name;
    Ok(if name.is_empty() {
        Reply::Null
    } else {
        Reply::bulk(name)
    })
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    set_name(ctx, &args[2])?;
    Ok(Reply::Ok)
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value, validated as Redis 7.2 does.
fn client_setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let (attr, value) = (&args[2], &args[3]);
    let lib_name = if is(attr, "lib-name") {
        true
    } else if is(attr, "lib-ver") {
        false
    } else {
        return Err(CommandError::text(format!(
            "ERR Unrecognized option '{}'",
            c_text(attr)
        )));
    };
    if !valid_attr(value) {
        return Err(CommandError::text(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            text(attr)
        )));
    }
    let value = text(value);
    ctx.conn.info.update(|d| {
        if lib_name {
            d.lib_name = value;
        } else {
            d.lib_ver = value;
        }
    });
    Ok(Reply::Ok)
}

/// CLIENT NO-EVICT / NO-TOUCH ON|OFF: accepted; slowpoke evicts nothing
/// and keeps no LRU clock.
fn client_on_off(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    if is(&args[2], "on") || is(&args[2], "off") {
        Ok(Reply::Ok)
    } else {
        Err(CommandError::Syntax)
    }
}

fn client_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(help_reply("CLIENT", CLIENT_HELP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret\0"));
        assert!(!constant_time_eq(b"", b"\0"));
    }

    #[test]
    fn attribute_charset_as_redis() {
        assert!(valid_attr(b"redis-py"));
        assert!(valid_attr(b""));
        assert!(!valid_attr(b"a b"));
        assert!(!valid_attr(b"a\nb"));
        assert!(!valid_attr("é".as_bytes()));
    }
}

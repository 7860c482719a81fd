//! COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, HELP),
//! rendered from the command table in Redis 7's shapes, plus what every
//! container command (CLIENT, CONFIG, COMMAND) shares: `SubSpec`, the table
//! entry of one subcommand, and `dispatch`, which finds a subcommand and
//! checks its arity with Redis's error texts. A container's
//! `CommandSpec::subcommands` lists the full names (`client|id`) of its
//! `SubSpec` table; a unit test keeps the two in step.
//!
//! Two deliberate departures from reading the table verbatim: slowpoke's
//! `NO_MULTI` flag means "runs at once inside MULTI", not Redis's "refused
//! inside MULTI", so COMMAND prints `no_multi` only for the commands Redis
//! prints it for; and key specs are derived from first/last/step (`RW
//! update` for write commands, `RO access` otherwise).

use bytes::Bytes;

use super::args::{is, text};
use super::flags::{self, *};
use super::{all, lookup, CommandSpec, Ctx, Handler};
use crate::server::error::CommandError;
use crate::server::glob;
use crate::server::reply::Reply;

/// One subcommand's table entry.
pub struct SubSpec {
    /// Full lowercase name, `container|sub`.
    pub name: &'static str,
    /// Redis arity, counted from the container's name.
    pub arity: i32,
    /// `flags::*` bits (for COMMAND output).
    pub flags: u32,
    /// ACL categories.
    pub acl: &'static [&'static str],
    /// Command tips (COMMAND output).
    pub tips: &'static [&'static str],
    /// One-line summary (COMMAND DOCS).
    pub summary: &'static str,
    /// Redis version it appeared in.
    pub since: &'static str,
    /// The handler; `args[0]` is the container, `args[1]` the subcommand.
    pub handler: Handler,
}

impl SubSpec {
    /// The part after `|`.
    pub fn short(&self) -> &'static str {
        self.name.split_once('|').map_or(self.name, |(_, s)| s)
    }

    /// True when `argc` (including container and subcommand) fits.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }
}

/// Finds subcommand `args[1]` of `container` in `subs` and checks its
/// arity. Unknown: `ERR unknown subcommand 'x'. Try CLIENT HELP.`
pub fn find_sub(
    args: &[Bytes],
    container: &str,
    subs: &'static [SubSpec],
) -> Result<&'static SubSpec, CommandError> {
    let Some(sub) = args.get(1) else {
        return Err(CommandError::WrongArity(container.to_string()));
    };
    let Some(spec) = subs.iter().find(|s| is(sub, s.short())) else {
        return Err(CommandError::UnknownSubcommand(
            text(sub),
            container.to_string(),
        ));
    };
    if !spec.arity_ok(args.len()) {
        return Err(CommandError::WrongArity(spec.name.to_string()));
    }
    Ok(spec)
}

/// Finds subcommand `args[1]` of `container` in `subs` (`find_sub`) and
/// runs it.
pub fn dispatch(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    container: &str,
    subs: &'static [SubSpec],
) -> Result<Reply, CommandError> {
    let spec = find_sub(args, container, subs)?;
    ctx.conn.info.touch(spec.name);
    (spec.handler)(ctx, args)
}

/// A HELP reply: Redis's first line, then the given lines, as status replies.
pub fn help_reply(container: &str, lines: &[&str]) -> Reply {
    let mut out = Vec::with_capacity(lines.len() + 1);
    out.push(Reply::simple(format!(
        "{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )));
    out.extend(lines.iter().map(|l| Reply::simple(l.to_string())));
    Reply::Array(out)
}

/// The subcommand table of a container command, if it has one.
pub fn subcommands_of(container: &str) -> Option<&'static [SubSpec]> {
    match container {
        "client" => Some(super::connection::CLIENT_SUBCOMMANDS),
        "config" => Some(super::config::CONFIG_SUBCOMMANDS),
        "command" => Some(COMMAND_SUBCOMMANDS),
        _ => None,
    }
}

const CONN_SLOW: &[&str] = &["@slow", "@connection"];

/// COMMAND's subcommands.
pub const COMMAND_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "command|count",
        arity: 2,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Get total number of Redis commands",
        since: "2.8.13",
        handler: count,
    },
    SubSpec {
        name: "command|info",
        arity: -2,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &["nondeterministic_output_order"],
        summary: "Get array of specific Redis command details, or all when no argument is given.",
        since: "2.8.13",
        handler: info,
    },
    SubSpec {
        name: "command|docs",
        arity: -2,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &["nondeterministic_output_order"],
        summary: "Get array of specific Redis command documentation",
        since: "7.0.0",
        handler: docs,
    },
    SubSpec {
        name: "command|list",
        arity: -2,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &["nondeterministic_output_order"],
        summary: "Get an array of Redis command names",
        since: "7.0.0",
        handler: list,
    },
    SubSpec {
        name: "command|getkeys",
        arity: -4,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Extract keys given a full Redis command",
        since: "2.8.13",
        handler: getkeys,
    },
    SubSpec {
        name: "command|help",
        arity: 2,
        flags: LOADING | STALE,
        acl: CONN_SLOW,
        tips: &[],
        summary: "Show helpful text about the different subcommands",
        since: "5.0.0",
        handler: help,
    },
];

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// COMMAND [subcommand ...].
pub fn command(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    if args.len() == 1 {
        return Ok(Reply::Array(all().map(entry).collect()));
    }
    dispatch(ctx, args, "command", COMMAND_SUBCOMMANDS)
}

fn count(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(Reply::Int(all().count() as i64))
}

fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(help_reply("COMMAND", HELP))
}

/// A command or a `container|sub` name, resolved.
enum Found {
    Top(&'static CommandSpec),
    Sub(&'static CommandSpec, &'static SubSpec),
}

fn find(name: &[u8]) -> Option<Found> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name).map(Found::Top),
        Some(at) => {
            let parent = lookup(&name[..at])?;
            let sub = subcommands_of(parent.name)?
                .iter()
                .find(|s| is(&name[at + 1..], s.short()))?;
            Some(Found::Sub(parent, sub))
        }
    }
}

fn info(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    if args.len() == 2 {
        return Ok(Reply::Array(all().map(entry).collect()));
    }
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|n| match find(n) {
                Some(Found::Top(c)) => entry(c),
                Some(Found::Sub(_, s)) => sub_entry(s),
                None => Reply::Null,
            })
            .collect(),
    ))
}

fn docs(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut out = Vec::new();
    if args.len() == 2 {
        for c in all() {
            out.push((Reply::bulk(c.name), doc(c)));
        }
    } else {
        for n in &args[2..] {
            match find(n) {
                Some(Found::Top(c)) => out.push((Reply::bulk(c.name), doc(c))),
                Some(Found::Sub(p, s)) => out.push((Reply::bulk(s.name), sub_doc(p, s))),
                None => {}
            }
        }
    }
    Ok(Reply::Map(out))
}

fn list(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    enum Filter<'a> {
        All,
        None,
        Acl(String),
        Pattern(&'a [u8]),
    }
    let filter = match &args[2..] {
        [] => Filter::All,
        [by, kind, arg] if is(by, "filterby") => {
            if is(kind, "module") {
                Filter::None
            } else if is(kind, "aclcat") {
                Filter::Acl(format!("@{}", text(arg)))
            } else if is(kind, "pattern") {
                Filter::Pattern(arg)
            } else {
                return Err(CommandError::Syntax);
            }
        }
        _ => return Err(CommandError::Syntax),
    };
    let keep = |name: &str, acl: &[&str]| match &filter {
        Filter::All => true,
        Filter::None => false,
        Filter::Acl(cat) => acl.iter().any(|a| a.eq_ignore_ascii_case(cat)),
        Filter::Pattern(p) => glob::matches(p, name.as_bytes(), true),
    };
    let mut names = Vec::new();
    for c in all() {
        if keep(c.name, c.acl) {
            names.push(c.name.to_string());
        }
        match subcommands_of(c.name) {
            Some(subs) => {
                for s in subs {
                    if keep(s.name, s.acl) {
                        names.push(s.name.to_string());
                    }
                }
            }
            None => {
                for n in c.subcommands {
                    let name = full_name(c, n);
                    if keep(&name, c.acl) {
                        names.push(name);
                    }
                }
            }
        }
    }
    Ok(Reply::bulks(names))
}

fn getkeys(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let argv = &args[2..];
    let Some(spec) = lookup(&argv[0]) else {
        return Err(CommandError::text("ERR Invalid command specified"));
    };
    // A container's unknown subcommand is an unknown command too.
    if let (Some(subs), Some(sub)) = (subcommands_of(spec.name), argv.get(1)) {
        if !subs.iter().any(|s| is(sub, s.short())) {
            return Err(CommandError::text("ERR Invalid command specified"));
        }
    }
    // Redis checks for key arguments before the arity.
    if spec.first_key <= 0 {
        return Err(CommandError::text("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(argv.len()) {
        return Err(CommandError::text(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let first = spec.first_key as usize;
    let last = if spec.last_key < 0 {
        argv.len() as i64 + spec.last_key as i64
    } else {
        spec.last_key as i64
    };
    let step = spec.step.max(1) as usize;
    let mut keys = Vec::new();
    let mut i = first;
    while (i as i64) <= last && i < argv.len() {
        keys.push(Reply::Bulk(argv[i].clone()));
        i += step;
    }
    Ok(Reply::Array(keys))
}

/// `container|sub` for a subcommand name given either way.
fn full_name(c: &CommandSpec, sub: &str) -> String {
    if sub.contains('|') {
        sub.to_string()
    } else {
        format!("{}|{}", c.name, sub)
    }
}

/// Commands Redis itself flags `no_multi` (refused inside MULTI).
const REDIS_NO_MULTI: &[&str] = &["save", "shutdown"];

fn flag_set(name: &str, bits: u32) -> Reply {
    Reply::Set(
        flags::NAMES
            .iter()
            .filter(|(f, _)| bits & f != 0 && (*f != NO_MULTI || REDIS_NO_MULTI.contains(&name)))
            .map(|(_, n)| Reply::simple(*n))
            .collect(),
    )
}

fn simple_set(items: &[&'static str]) -> Reply {
    Reply::Set(items.iter().map(|s| Reply::simple(*s)).collect())
}

fn bulk_set(items: &[&'static str]) -> Reply {
    Reply::Set(items.iter().map(|s| Reply::bulk(*s)).collect())
}

fn key_specs(c: &CommandSpec) -> Reply {
    if c.first_key <= 0 {
        return Reply::Set(Vec::new());
    }
    let access: &[&'static str] = if c.has(WRITE) {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    let lastkey = if c.last_key < 0 {
        c.last_key
    } else {
        c.last_key - c.first_key
    };
    let spec = Reply::Map(vec![
        (Reply::bulk("flags"), simple_set(access)),
        (
            Reply::bulk("begin_search"),
            Reply::Map(vec![
                (Reply::bulk("type"), Reply::bulk("index")),
                (
                    Reply::bulk("spec"),
                    Reply::Map(vec![(Reply::bulk("index"), Reply::Int(c.first_key.into()))]),
                ),
            ]),
        ),
        (
            Reply::bulk("find_keys"),
            Reply::Map(vec![
                (Reply::bulk("type"), Reply::bulk("range")),
                (
                    Reply::bulk("spec"),
                    Reply::Map(vec![
                        (Reply::bulk("lastkey"), Reply::Int(lastkey.into())),
                        (Reply::bulk("keystep"), Reply::Int(c.step.into())),
                        (Reply::bulk("limit"), Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ]);
    Reply::Set(vec![spec])
}

/// One command's 10-field COMMAND entry.
fn entry(c: &'static CommandSpec) -> Reply {
    let subs = match subcommands_of(c.name) {
        Some(subs) => Reply::Array(subs.iter().map(sub_entry).collect()),
        // Another family's container without a `SubSpec` table: its names
        // with the container's own figures.
        None if !c.subcommands.is_empty() => Reply::Array(
            c.subcommands
                .iter()
                .map(|n| {
                    Reply::Array(vec![
                        Reply::bulk(full_name(c, n)),
                        Reply::Int(-2),
                        flag_set(c.name, c.flags),
                        Reply::Int(0),
                        Reply::Int(0),
                        Reply::Int(0),
                        simple_set(c.acl),
                        Reply::Set(Vec::new()),
                        Reply::Set(Vec::new()),
                        Reply::Set(Vec::new()),
                    ])
                })
                .collect(),
        ),
        None => Reply::Set(Vec::new()),
    };
    Reply::Array(vec![
        Reply::bulk(c.name),
        Reply::Int(c.arity.into()),
        flag_set(c.name, c.flags),
        Reply::Int(c.first_key.into()),
        Reply::Int(c.last_key.into()),
        Reply::Int(c.step.into()),
        simple_set(c.acl),
        Reply::Set(Vec::new()),
        key_specs(c),
        subs,
    ])
}

fn sub_entry(s: &'static SubSpec) -> Reply {
    Reply::Array(vec![
        Reply::bulk(s.name),
        Reply::Int(s.arity.into()),
        flag_set(s.name, s.flags),
        Reply::Int(0),
        Reply::Int(0),
        Reply::Int(0),
        simple_set(s.acl),
        bulk_set(s.tips),
        Reply::Set(Vec::new()),
        Reply::Set(Vec::new()),
    ])
}

fn doc_fields(
    summary: &'static str,
    since: &'static str,
    group: &'static str,
) -> Vec<(Reply, Reply)> {
    vec![
        (Reply::bulk("summary"), Reply::bulk(summary)),
        (Reply::bulk("since"), Reply::bulk(since)),
        (Reply::bulk("group"), Reply::bulk(group)),
    ]
}

/// One command's COMMAND DOCS map (what redis-cli reads for its help).
fn doc(c: &'static CommandSpec) -> Reply {
    let mut fields = doc_fields(c.summary, c.since, c.group);
    if let Some(subs) = subcommands_of(c.name) {
        let docs = subs
            .iter()
            .map(|s| (Reply::bulk(s.name), sub_doc(c, s)))
            .collect();
        fields.push((Reply::bulk("subcommands"), Reply::Map(docs)));
    }
    Reply::Map(fields)
}

fn sub_doc(parent: &'static CommandSpec, s: &'static SubSpec) -> Reply {
    Reply::Map(doc_fields(s.summary, s.since, parent.group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_subcommand_lists_match_their_tables() {
        for c in all() {
            if let Some(subs) = subcommands_of(c.name) {
                let names: Vec<&str> = subs.iter().map(|s| s.name).collect();
                assert_eq!(c.subcommands, names.as_slice(), "{}", c.name);
                for s in subs {
                    assert!(s.name.starts_with(&format!("{}|", c.name)), "{}", s.name);
                }
            }
        }
        for container in ["client", "config", "command"] {
            assert!(all().any(|c| c.name == container), "{container}");
        }
    }
}

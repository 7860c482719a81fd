//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP. CONFIG SET validates every pair
//! before applying any, with Redis's texts, and changes the runtime
//! `Config` that the listener and connections read on each accept and each
//! read (plus the engine's fsync policy for `appendfsync`); `loglevel` is
//! recorded but the log filter is fixed at start. CONFIG GET matches
//! globs case-insensitively and echoes an exact name as it was given, as
//! Redis does. CONFIG REWRITE edits the config file the server started
//! with, keeping comments.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::{is, parse_i64};
use super::command::{dispatch, help_reply, SubSpec};
use super::flags::*;
use super::{info, Ctx};
use crate::engine::FsyncPolicy;
use crate::server::config::{parse_memory, Config};
use crate::server::error::{c_text, CommandError};
use crate::server::glob;
use crate::server::reply::Reply;
use crate::server::state::ServerState;

const ADMIN_SLOW: &[&str] = &["@admin", "@slow", "@dangerous"];

/// CONFIG's subcommands.
pub const CONFIG_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "config|get",
        arity: -3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: ADMIN_SLOW,
        tips: &[],
        summary: "Get the values of configuration parameters",
        since: "2.0.0",
        handler: config_get,
    },
    SubSpec {
        name: "config|set",
        arity: -4,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: ADMIN_SLOW,
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        summary: "Set configuration parameters to the given values",
        since: "2.0.0",
        handler: config_set,
    },
    SubSpec {
        name: "config|resetstat",
        arity: 2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: ADMIN_SLOW,
        tips: &[],
        summary: "Reset the stats returned by INFO",
        since: "2.0.0",
        handler: config_resetstat,
    },
    SubSpec {
        name: "config|rewrite",
        arity: 2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: ADMIN_SLOW,
        tips: &[],
        summary: "Rewrite the configuration file with the in memory configuration",
        since: "2.8.0",
        handler: config_rewrite,
    },
    SubSpec {
        name: "config|help",
        arity: 2,
        flags: LOADING | STALE,
        acl: &["@slow"],
        tips: &[],
        summary: "Show helpful text about the different subcommands",
        since: "5.0.0",
        handler: config_help,
    },
];

const CONFIG_HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

/// CONFIG <subcommand> ...
pub fn config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    dispatch(ctx, args, "config", CONFIG_SUBCOMMANDS)
}

fn config_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    Ok(help_reply("CONFIG", CONFIG_HELP))
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Reads one parameter's current value.
type ParamValue = fn(&Config, &ServerState) -> String;

/// The parameters CONFIG GET reports, in reply order.
const PARAMS: &[(&str, ParamValue)] = &[
    ("port", |_, s| s.port.to_string()),
    ("bind", |c, _| c.bind.join(" ")),
    ("dir", |c, _| {
        std::fs::canonicalize(&c.dir)
            .unwrap_or_else(|_| c.dir.clone())
            .display()
            .to_string()
    }),
    ("requirepass", |c, _| {
        c.requirepass.clone().unwrap_or_default()
    }),
    ("maxclients", |c, _| c.maxclients.to_string()),
    ("appendonly", |_, _| "yes".into()),
    ("appendfsync", |c, _| c.appendfsync.name().into()),
    ("timeout", |c, _| c.timeout.to_string()),
    ("proto-max-bulk-len", |c, _| {
        c.proto_max_bulk_len.to_string()
    }),
    ("loglevel", |c, _| c.loglevel.clone()),
    ("protected-mode", |c, _| yes_no(c.protected_mode)),
    ("save", |_, _| String::new()),
    // One database: only SELECT 0 works.
    ("databases", |_, _| "1".into()),
    ("maxmemory", |_, _| "0".into()),
    ("maxmemory-policy", |_, _| "noeviction".into()),
];

fn config_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let cfg = ctx.server.config();
    let mut seen = vec![false; PARAMS.len()];
    let mut out = Vec::new();
    for pattern in &args[2..] {
        let glob = pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        for (i, (name, get)) in PARAMS.iter().enumerate() {
            if seen[i] {
                continue;
            }
            if glob && glob::matches(pattern, name.as_bytes(), true) {
                seen[i] = true;
                out.push((Reply::bulk(*name), Reply::bulk(get(&cfg, ctx.server))));
            } else if !glob && pattern.eq_ignore_ascii_case(name.as_bytes()) {
                // Redis echoes an exact name as it was given.
                seen[i] = true;
                out.push((
                    Reply::Bulk(pattern.clone()),
                    Reply::bulk(get(&cfg, ctx.server)),
                ));
            }
        }
    }
    Ok(Reply::Map(out))
}

/// One validated CONFIG SET change.
enum Change {
    Fsync(FsyncPolicy),
    Password(Option<String>),
    MaxClients(usize),
    Timeout(u64),
    BulkLen(usize),
    LogLevel(&'static str),
    Protected(bool),
}

const SETTABLE: &[&str] = &[
    "appendfsync",
    "requirepass",
    "maxclients",
    "timeout",
    "proto-max-bulk-len",
    "loglevel",
    "protected-mode",
];

fn int_in(value: &[u8], lo: i64, hi: i64) -> Result<i64, String> {
    let n =
        parse_i64(value).map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if n < lo || n > hi {
        return Err(format!("argument must be between {lo} and {hi} inclusive"));
    }
    Ok(n)
}

/// Validates one value; `Err` is Redis's reason text.
fn validate(name: &str, value: &[u8]) -> Result<Change, String> {
    let as_str = || std::str::from_utf8(value).ok();
    Ok(match name {
        "appendfsync" => Change::Fsync(as_str().and_then(FsyncPolicy::parse).ok_or_else(|| {
            "argument(s) must be one of the following: everysec, always, no".to_string()
        })?),
        "requirepass" => {
            let p = as_str().ok_or_else(|| "argument must be UTF-8 text".to_string())?;
            Change::Password((!p.is_empty()).then(|| p.to_string()))
        }
        "maxclients" => Change::MaxClients(int_in(value, 1, u32::MAX.into())? as usize),
        "timeout" => Change::Timeout(int_in(value, 0, i32::MAX.into())? as u64),
        "proto-max-bulk-len" => {
            let n = as_str()
                .and_then(parse_memory)
                .ok_or_else(|| "argument must be a memory value".to_string())?;
            if !(1024 * 1024..=i64::MAX as u64).contains(&n) {
                return Err(format!(
                    "argument must be between 1048576 and {} inclusive",
                    i64::MAX
                ));
            }
            Change::BulkLen(usize::try_from(n).map_err(|_| "argument must be a memory value")?)
        }
        "loglevel" => {
            let level = ["debug", "verbose", "notice", "warning"]
                .into_iter()
                .find(|l| is(value, l))
                .ok_or_else(|| {
                    "argument(s) must be one of the following: debug, verbose, notice, warning"
                        .to_string()
                })?;
            Change::LogLevel(level)
        }
        "protected-mode" => Change::Protected(if is(value, "yes") {
            true
        } else if is(value, "no") {
            false
        } else {
            return Err("argument must be 'yes' or 'no'".into());
        }),
        _ => return Err("unsupported".into()),
    })
}

fn config_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let pairs = &args[2..];
    if !pairs.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    // Redis checks every name (unknown first, then duplicates) before it
    // looks at any value.
    let mut unknown = None;
    let mut failure: Option<(String, String)> = None;
    let mut names: Vec<&'static str> = Vec::new();
    for pair in pairs.chunks(2) {
        let Some(name) = SETTABLE.iter().find(|n| is(&pair[0], n)) else {
            unknown.get_or_insert_with(|| c_text(&pair[0]));
            continue;
        };
        if failure.is_none() && names.contains(name) {
            failure = Some((c_text(&pair[0]), "duplicate parameter".into()));
        }
        names.push(name);
    }
    let mut changes = Vec::new();
    if unknown.is_none() && failure.is_none() {
        for (pair, name) in pairs.chunks(2).zip(&names) {
            match validate(name, &pair[1]) {
                Ok(c) => changes.push(c),
                Err(why) => {
                    failure = Some((c_text(&pair[0]), why));
                    break;
                }
            }
        }
    }
    if let Some(name) = unknown {
        return Err(CommandError::text(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
        )));
    }
    if let Some((name, why)) = failure {
        return Err(CommandError::text(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        )));
    }
    let mut cfg =
        ctx.server.config.write().map_err(|_| {
            CommandError::text("ERR CONFIG SET failed: configuration is unavailable")
        })?;
    for change in changes {
        match change {
            Change::Fsync(p) => {
                cfg.appendfsync = p;
                ctx.ks.engine().set_fsync_policy(p);
            }
            Change::Password(p) => cfg.requirepass = p,
            Change::MaxClients(n) => cfg.maxclients = n,
            Change::Timeout(n) => cfg.timeout = n,
            Change::BulkLen(n) => cfg.proto_max_bulk_len = n,
            Change::LogLevel(l) => cfg.loglevel = l.to_string(),
            Change::Protected(b) => cfg.protected_mode = b,
        }
    }
    Ok(Reply::Ok)
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    let s = &ctx.server.stats;
    for counter in [
        &s.connections,
        &s.rejected,
        &s.commands,
        &s.net_in,
        &s.net_out,
        &s.hits,
        &s.misses,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    info::reset_ops_sample();
    Ok(Reply::Ok)
}

fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CommandError> {
    let cfg = ctx.server.config();
    let Some(path) = cfg.config_file.clone() else {
        return Err(CommandError::text(
            "ERR The server is running without a config file",
        ));
    };
    rewrite_file(&path, &cfg)
        .map_err(|e| CommandError::text(format!("ERR Rewriting config file: {e}")))?;
    Ok(Reply::Ok)
}

/// A value as a config-file word (quoted when it has spaces or is empty).
fn conf_word(v: &str) -> String {
    if v.is_empty() || v.contains(char::is_whitespace) {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

/// The settings CONFIG REWRITE writes: (name, value, differs from default).
fn rewritten(cfg: &Config) -> Vec<(&'static str, Option<String>, bool)> {
    let d = Config::default();
    vec![
        ("port", Some(cfg.port.to_string()), cfg.port != d.port),
        ("bind", Some(cfg.bind.join(" ")), cfg.bind != d.bind),
        ("dir", Some(cfg.dir.display().to_string()), cfg.dir != d.dir),
        (
            "requirepass",
            cfg.requirepass.clone(),
            cfg.requirepass.is_some(),
        ),
        (
            "maxclients",
            Some(cfg.maxclients.to_string()),
            cfg.maxclients != d.maxclients,
        ),
        (
            "appendfsync",
            Some(cfg.appendfsync.name().to_string()),
            cfg.appendfsync != d.appendfsync,
        ),
        (
            "timeout",
            Some(cfg.timeout.to_string()),
            cfg.timeout != d.timeout,
        ),
        (
            "proto-max-bulk-len",
            Some(cfg.proto_max_bulk_len.to_string()),
            cfg.proto_max_bulk_len != d.proto_max_bulk_len,
        ),
        (
            "loglevel",
            Some(cfg.loglevel.clone()),
            cfg.loglevel != d.loglevel,
        ),
        (
            "protected-mode",
            Some(yes_no(cfg.protected_mode)),
            cfg.protected_mode != d.protected_mode,
        ),
        (
            "data-file-size",
            Some(cfg.data_file_size.to_string()),
            cfg.data_file_size != d.data_file_size,
        ),
    ]
}

/// Rewrites the config file in place (through a temporary file and a
/// rename): each known setting's first line gets the running value, later
/// duplicates go, comments and unknown lines stay, and settings that differ
/// from the defaults but are missing are appended.
fn rewrite_file(path: &std::path::Path, cfg: &Config) -> std::io::Result<()> {
    use std::io::Write;
    let old = std::fs::read_to_string(path)?;
    let settings = rewritten(cfg);
    let mut written = vec![false; settings.len()];
    let mut out = String::with_capacity(old.len() + 256);
    for line in old.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        let known = (!line.trim_start().starts_with('#'))
            .then(|| {
                settings
                    .iter()
                    .position(|(n, _, _)| n.eq_ignore_ascii_case(first))
            })
            .flatten();
        match known {
            Some(i) if !written[i] => {
                written[i] = true;
                if let Some(v) = &settings[i].1 {
                    out.push_str(&format!("{} {}\n", settings[i].0, conf_word(v)));
                }
            }
            Some(_) => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (i, (name, value, differs)) in settings.iter().enumerate() {
        if let (false, Some(v), true) = (written[i], value, differs) {
            out.push_str(&format!("{name} {}\n", conf_word(v)));
        }
    }
    let tmp = path.with_extension("rewrite.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(out.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_set_texts_match_redis() {
        let err = |n: &str, v: &[u8]| validate(n, v).err().unwrap_or_default();
        assert_eq!(
            err("maxclients", b"0"),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            err("timeout", b"x"),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            err("proto-max-bulk-len", b"1"),
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            err("proto-max-bulk-len", b"x"),
            "argument must be a memory value"
        );
        assert!(matches!(
            validate("appendfsync", b"ALWAYS"),
            Ok(Change::Fsync(FsyncPolicy::Always))
        ));
        assert!(matches!(
            validate("loglevel", b"NOTICE"),
            Ok(Change::LogLevel("notice"))
        ));
    }

    #[test]
    fn rewrite_keeps_comments_and_replaces_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("slowpoke.conf");
        std::fs::write(
            &path,
            "# my settings\nport 7000\n\nmaxclients 5\nmaxclients 6\n",
        )
        .expect("write");
        let cfg = Config {
            port: 7000,
            maxclients: 9,
            requirepass: Some("a b".into()),
            ..Config::default()
        };
        rewrite_file(&path, &cfg).expect("rewrite");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "# my settings\nport 7000\n\nmaxclients 9\nrequirepass \"a b\"\n"
        );
        let mut again = Config::default();
        again.load_file(&path).expect("reload");
        assert_eq!(again.requirepass.as_deref(), Some("a b"));
        assert_eq!(again.maxclients, 9);
    }
}

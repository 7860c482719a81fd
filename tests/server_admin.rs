//! Server administration as tools and clients use it: INFO's layout and
//! fields, CONFIG GET/SET (globs, RESP3 maps, Redis's error texts, effects
//! on the running server), COMMAND and its subcommands read from the
//! command table, TIME/LASTSAVE/SAVE/BGSAVE, SHUTDOWN (process exits 0, the
//! data survives) and the maxclients limit.

mod common;

use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::files::wait_until;
use common::Server;
use redis::Value;

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

fn info_text(c: &mut redis::Connection, section: Option<&str>) -> String {
    let mut cmd = redis::cmd("INFO");
    if let Some(s) = section {
        cmd.arg(s);
    }
    cmd.query(c).expect("info")
}

#[test]
fn info_layout_parses_and_has_the_fields_tools_read() {
    let s = Server::start();
    let mut c = s.conn();
    let info = info_text(&mut c, None);
    let mut sections = Vec::new();
    for line in info.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("# ") {
            sections.push(name.to_string());
            continue;
        }
        let (k, _) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("not a field line: {line:?}"));
        assert!(!k.is_empty() && !k.contains(' '), "{line:?}");
    }
    assert_eq!(
        sections,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Cluster",
            "Keyspace"
        ]
    );
    assert!(!info.contains("\n\n"), "bare \\n line ends: {info:?}");
    let field = |name: &str| {
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in INFO"))
            .to_string()
    };
    assert_eq!(field("redis_version"), "7.0.15");
    assert_eq!(field("redis_mode"), "standalone");
    assert_eq!(field("tcp_port"), s.port.to_string());
    assert_eq!(field("process_id"), s.pid().to_string());
    assert_eq!(field("run_id").len(), 40);
    assert_eq!(field("loading"), "0");
    assert_eq!(field("aof_enabled"), "1");
    assert_eq!(field("appendfsync"), "everysec");
    assert_eq!(field("role"), "master");
    assert_eq!(field("connected_slaves"), "0");
    assert_eq!(field("connected_clients"), "1");
    assert_eq!(field("maxmemory_policy"), "noeviction");
    assert!(field("used_memory").parse::<u64>().expect("number") > 0);
    assert!(
        field("total_commands_processed")
            .parse::<u64>()
            .expect("number")
            >= 1
    );
    assert!(field("uptime_in_seconds").parse::<u64>().is_ok());
    // An empty keyspace has a header and no db line.
    assert!(info.ends_with("# Keyspace\r\n"), "{info:?}");
}

/// The reply with its length prefix and the `avg_ttl` estimate (which the
/// expiry cycle updates in the background) replaced by placeholders.
fn normalize_keyspace(reply: Vec<u8>) -> String {
    let t = text(reply);
    let (_, body) = t.split_once("\r\n").expect("length line");
    let kind = &t[..1];
    let mut out = format!("{kind}LEN\r\n");
    let mut rest = body;
    while let Some(at) = rest.find("avg_ttl=") {
        out.push_str(&rest[..at + 8]);
        rest = rest[at + 8..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

#[test]
fn info_keyspace_line_is_exact() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"INFO", b"keyspace"]), b"$12\r\n# Keyspace\r\n\r\n");
    r.cmd(&[b"SET", b"a", b"1"]);
    r.cmd(&[b"SET", b"b", b"2", b"EX", b"1000"]);
    r.cmd(&[b"SET", b"c", b"3"]);
    assert_eq!(
        normalize_keyspace(r.cmd(&[b"INFO", b"KEYSPACE"])),
        "$LEN\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=N\r\n\r\n"
    );
    // Several sections come in Redis's order, one blank line apart.
    let two = normalize_keyspace(r.cmd(&[b"INFO", b"keyspace", b"cluster"]));
    assert!(
        two.ends_with("\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=N\r\n\r\n"),
        "{two:?}"
    );
    assert_eq!(r.cmd(&[b"INFO", b"nosuchsection"]), b"$0\r\n\r\n");
    r.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        normalize_keyspace(r.cmd(&[b"INFO", b"keyspace"])),
        "=LEN\r\ntxt:# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=N\r\n\r\n"
    );
}

#[test]
fn info_avg_ttl_estimates_the_remaining_ttl_and_resets_without_expiries() {
    let s = Server::start();
    let mut c = s.conn();
    let avg_ttl = |c: &mut redis::Connection| -> u64 {
        let info = info_text(c, Some("keyspace"));
        let at = info.find("avg_ttl=").expect("avg_ttl") + 8;
        info[at..]
            .split(|ch: char| !ch.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("number")
    };
    for i in 0..20 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg("v")
            .arg("EX")
            .arg(1000)
            .query(&mut c)
            .expect("set");
    }
    let _: () = redis::cmd("SET")
        .arg("plain")
        .arg("v")
        .query(&mut c)
        .expect("set");
    assert!(
        wait_until(Duration::from_secs(10), || avg_ttl(&mut c) > 0),
        "avg_ttl stayed 0"
    );
    let avg = avg_ttl(&mut c);
    // Every key has 1000 s left, minus the time the test has taken.
    assert!((900_000..=1_000_000).contains(&avg), "avg_ttl={avg}");
    for i in 0..20 {
        let _: i64 = redis::cmd("PERSIST")
            .arg(format!("k{i}"))
            .query(&mut c)
            .expect("persist");
    }
    assert!(
        wait_until(Duration::from_secs(10), || avg_ttl(&mut c) == 0),
        "avg_ttl did not return to 0 with no expiries"
    );
}

#[test]
fn info_counts_commands_and_connections() {
    let s = Server::start();
    let mut c = s.conn();
    let _: Option<String> = redis::cmd("GET").arg("x").query(&mut c).expect("get");
    let stats = info_text(&mut c, Some("stats"));
    let get = |name: &str| -> u64 {
        stats
            .split("\r\n")
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}: {stats}"))
    };
    assert!(get("total_connections_received") >= 1);
    assert!(get("total_commands_processed") >= 2);
    assert!(get("total_net_input_bytes") > 0);
    assert_eq!(get("rejected_connections"), 0);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut c)
        .expect("resetstat");
    let after = info_text(&mut c, Some("stats"));
    assert!(
        after.contains("\r\ntotal_commands_processed:1\r\n"),
        "{after}"
    );
}

#[test]
fn config_get_globs_and_resp3_map() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"maxmemory*"]),
        b"*4\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n"
    );
    let port = s.port.to_string();
    assert_eq!(
        text(r.cmd(&[b"CONFIG", b"GET", b"p?rt"])),
        format!("*2\r\n$4\r\nport\r\n${}\r\n{port}\r\n", port.len())
    );
    // An exact name is echoed as given, case and all.
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"APPENDONLY"]),
        b"*2\r\n$10\r\nAPPENDONLY\r\n$3\r\nyes\r\n"
    );
    assert_eq!(r.cmd(&[b"CONFIG", b"GET", b"nosuch"]), b"*0\r\n");
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"save", b"databases", b"save"]),
        b"*4\r\n$4\r\nsave\r\n$0\r\n\r\n$9\r\ndatabases\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET"]),
        b"-ERR wrong number of arguments for 'config|get' command\r\n"
    );
    r.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"appendfsync", b"timeout"]),
        b"%2\r\n$11\r\nappendfsync\r\n$8\r\neverysec\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );

    let mut c = s.conn();
    let all: Vec<(String, String)> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("*")
        .query(&mut c)
        .expect("config get *");
    let names: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    for want in [
        "port",
        "bind",
        "dir",
        "requirepass",
        "maxclients",
        "appendfsync",
        "appendonly",
        "timeout",
        "proto-max-bulk-len",
        "loglevel",
        "protected-mode",
        "save",
        "databases",
        "maxmemory",
        "maxmemory-policy",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[test]
fn config_set_changes_the_running_server() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(
        r.cmd(&[b"CONFIG", b"SET", b"appendfsync", b"ALWAYS"]),
        b"+OK\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"appendfsync"]),
        b"*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n"
    );
    let info = text(r.cmd(&[b"INFO", b"persistence"]));
    assert!(info.contains("\r\nappendfsync:always\r\n"), "{info}");
    assert_eq!(r.cmd(&[b"SET", b"k", b"v"]), b"+OK\r\n");

    assert_eq!(
        r.cmd(&[
            b"CONFIG",
            b"SET",
            b"timeout",
            b"100",
            b"loglevel",
            b"warning"
        ]),
        b"+OK\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"timeout"]),
        b"*2\r\n$7\r\ntimeout\r\n$3\r\n100\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"2mb"]),
        b"+OK\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"proto-max-bulk-len"]),
        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n2097152\r\n"
    );

    // Errors, with Redis's texts; a failed CONFIG SET changes nothing.
    let cases: &[(&[&[u8]], &str)] = &[
        (
            &[b"appendfsync", b"sometimes"],
            "-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no\r\n",
        ),
        (
            &[b"maxclients", b"0"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n",
        ),
        (
            &[b"timeout", b"x"],
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer\r\n",
        ),
        (
            &[b"protected-mode", b"maybe"],
            "-ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'\r\n",
        ),
        (
            &[b"timeout", b"0", b"TIMEOUT", b"1"],
            "-ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter\r\n",
        ),
        (
            &[b"timeout", b"0", b"foo", b"1"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n",
        ),
        (
            &[b"port", b"1"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'port'\r\n",
        ),
        (&[b"timeout", b"0", b"loglevel"], "-ERR syntax error\r\n"),
    ];
    for (args, want) in cases {
        let mut cmd: Vec<&[u8]> = vec![b"CONFIG", b"SET"];
        cmd.extend_from_slice(args);
        assert_eq!(text(r.cmd(&cmd)), *want, "{args:?}");
    }
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"timeout"]),
        b"*2\r\n$7\r\ntimeout\r\n$3\r\n100\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"SET", b"timeout"]),
        b"-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"REWRITE"]),
        b"-ERR The server is running without a config file\r\n"
    );
    assert_eq!(
        r.cmd(&[b"CONFIG", b"FOO"]),
        b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );

    // A password set at runtime applies to new connections.
    assert_eq!(
        r.cmd(&[b"CONFIG", b"SET", b"requirepass", b"pw"]),
        b"+OK\r\n"
    );
    let mut fresh = s.raw();
    assert_eq!(
        fresh.cmd(&[b"GET", b"k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(fresh.cmd(&[b"AUTH", b"pw"]), b"+OK\r\n");
    assert_eq!(fresh.cmd(&[b"GET", b"k"]), b"$1\r\nv\r\n");
}

#[test]
fn config_rewrite_updates_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("slowpoke.conf");
    std::fs::write(&conf, "# kept\ntimeout 5\n").expect("write conf");
    let data = dir.path().join("data");
    let s = Server::start_in(&data, &[conf.to_str().expect("path")]);
    let mut r = s.raw();
    assert_eq!(
        r.cmd(&[b"CONFIG", b"GET", b"timeout"]),
        b"*2\r\n$7\r\ntimeout\r\n$1\r\n5\r\n"
    );
    r.cmd(&[b"CONFIG", b"SET", b"timeout", b"7", b"maxclients", b"50"]);
    assert_eq!(r.cmd(&[b"CONFIG", b"REWRITE"]), b"+OK\r\n");
    let written = std::fs::read_to_string(&conf).expect("read conf");
    assert!(written.starts_with("# kept\ntimeout 7\n"), "{written}");
    assert!(written.contains("\nmaxclients 50\n"), "{written}");
}

#[test]
fn command_count_info_docs_list() {
    let s = Server::start();
    let mut c = s.conn();
    let all: Vec<Value> = redis::cmd("COMMAND").query(&mut c).expect("command");
    let count: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut c)
        .expect("count");
    assert_eq!(count as usize, all.len());
    for entry in &all {
        match entry {
            Value::Array(fields) => assert_eq!(fields.len(), 10, "{entry:?}"),
            other => panic!("not an array: {other:?}"),
        }
    }

    let mut r = s.raw();
    let get = text(r.cmd(&[b"COMMAND", b"INFO", b"get"]));
    assert!(
        get.starts_with(
            "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n"
        ),
        "{get}"
    );
    assert_eq!(r.cmd(&[b"COMMAND", b"INFO", b"nosuch"]), b"*1\r\n$-1\r\n");
    let ping = text(r.cmd(&[b"COMMAND", b"INFO", b"ping", b"CLIENT|LIST"]));
    assert!(
        ping.starts_with("*2\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n"),
        "{ping}"
    );
    assert!(
        ping.contains("*10\r\n$11\r\nclient|list\r\n:-2\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"),
        "{ping}"
    );
    // Flags as Redis prints them: no_multi only where Redis has it.
    let exec = text(r.cmd(&[b"COMMAND", b"INFO", b"exec", b"shutdown"]));
    assert!(
        exec.contains("$4\r\nexec\r\n:1\r\n*3\r\n+noscript\r\n+loading\r\n+stale\r\n"),
        "{exec}"
    );
    assert!(
        exec.contains("+stale\r\n+no_multi\r\n+allow_busy\r\n"),
        "{exec}"
    );

    assert_eq!(
        text(r.cmd(&[b"COMMAND", b"DOCS", b"echo"])),
        "*2\r\n$4\r\necho\r\n*6\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
    );
    assert_eq!(r.cmd(&[b"COMMAND", b"DOCS", b"nosuch"]), b"*0\r\n");
    // What redis-cli reads on start: a map of maps, every entry with a
    // summary, since and group, subcommands nested.
    let docs: Vec<Value> = redis::cmd("COMMAND")
        .arg("DOCS")
        .query(&mut c)
        .expect("docs");
    assert_eq!(docs.len(), 2 * all.len());
    for pair in docs.chunks(2) {
        let (Value::BulkString(_), Value::Array(fields)) = (&pair[0], &pair[1]) else {
            panic!("not a name and a map: {pair:?}");
        };
        let keys: Vec<String> = fields
            .iter()
            .step_by(2)
            .map(|k| redis::from_redis_value(k).expect("field name"))
            .collect();
        assert_eq!(keys[..3], ["summary", "since", "group"], "{pair:?}");
    }
    let client = docs
        .chunks(2)
        .find(|p| p[0] == Value::BulkString(b"client".to_vec()))
        .expect("client docs");
    let client = format!("{client:?}");
    assert!(client.contains("subcommands"), "{client}");
    let list: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut c)
        .expect("list");
    for name in ["get", "set", "ping", "client", "client|list", "config|get"] {
        assert!(list.iter().any(|n| n == name), "{name} not listed");
    }
    let filtered: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("ech*")
        .query(&mut c)
        .expect("filtered");
    assert_eq!(filtered, ["echo"]);
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS", b"get", b"k1"]),
        b"*1\r\n$2\r\nk1\r\n"
    );
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS", b"ping", b"x", b"y"]),
        b"-ERR The command has no key arguments\r\n"
    );
    // As Redis, keyless before arity.
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS", b"dbsize", b"x"]),
        b"-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS", b"get", b"a", b"b"]),
        b"-ERR Invalid number of arguments specified for command\r\n"
    );
    // An unknown subcommand is an unknown command.
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS", b"client", b"foo"]),
        b"-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS", b"client", b"setname"]),
        b"-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        r.cmd(&[b"COMMAND", b"nosuch"]),
        b"-ERR unknown subcommand 'nosuch'. Try COMMAND HELP.\r\n"
    );
}

#[test]
fn time_lastsave_save_bgsave() {
    let s = Server::start();
    let mut r = s.raw();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let time = text(r.cmd(&[b"TIME"]));
    let parts: Vec<&str> = time.split("\r\n").collect();
    assert_eq!(parts[0], "*2", "{time}");
    let secs: u64 = parts[2].parse().expect("seconds");
    let micros: u64 = parts[4].parse().expect("micros");
    assert!(secs.abs_diff(now) <= 5, "{secs} vs {now}");
    assert!(micros < 1_000_000);

    let last = text(r.cmd(&[b"LASTSAVE"]));
    let last: u64 = last
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("lastsave");
    assert!(last <= now + 5 && last + 120 >= now, "{last} vs {now}");
    assert_eq!(r.cmd(&[b"SAVE"]), b"+OK\r\n");
    let bg = r.cmd(&[b"BGSAVE"]);
    assert!(
        bg == b"+Background saving started\r\n"
            || bg == b"-ERR Background save already in progress\r\n",
        "{}",
        text(bg)
    );
    assert_eq!(r.cmd(&[b"BGSAVE", b"x"]), b"-ERR syntax error\r\n");
    assert_eq!(
        r.cmd(&[b"BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    assert_eq!(r.cmd(&[b"SWAPDB", b"0", b"0"]), b"+OK\r\n");
    assert_eq!(
        r.cmd(&[b"SWAPDB", b"0", b"1"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        r.cmd(&[b"SWAPDB", b"x", b"1"]),
        b"-ERR invalid first DB index\r\n"
    );
    // SAVE and SHUTDOWN are refused inside MULTI, which then aborts.
    r.cmd(&[b"MULTI"]);
    assert_eq!(
        r.cmd(&[b"SAVE"]),
        b"-ERR Command not allowed inside a transaction\r\n"
    );
    assert_eq!(
        r.cmd(&[b"SHUTDOWN"]),
        b"-ERR Command not allowed inside a transaction\r\n"
    );
    assert_eq!(
        r.cmd(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"SHUTDOWN", b"ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"SHUTDOWN", b"NOSAVE", b"SAVE"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(r.cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn shutdown_exits_cleanly_and_data_survives() {
    let mut s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"SET", b"durable", b"yes"]), b"+OK\r\n");
    r.send(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    // No reply: the server closes the connection as Redis does.
    let mut rest = Vec::new();
    r.stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = r.stream.read_to_end(&mut rest);
    assert!(rest.is_empty(), "unexpected reply {}", text(rest));
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0));
    s.start_again();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"GET", b"durable"]), b"$3\r\nyes\r\n");
}

#[test]
fn maxclients_refuses_the_extra_connection() {
    let s = Server::start_with(&["--maxclients", "2"]);
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(b.cmd(&[b"PING"]), b"+PONG\r\n");
    let mut c = s.raw();
    assert_eq!(c.reply(), b"-ERR max number of clients reached\r\n");
    assert!(c.closed());
    let info = text(a.cmd(&[b"INFO", b"stats"]));
    assert!(info.contains("\r\nrejected_connections:1\r\n"), "{info}");
    // Raising the limit at runtime lets the next one in.
    assert_eq!(a.cmd(&[b"CONFIG", b"SET", b"maxclients", b"3"]), b"+OK\r\n");
    let mut d = s.raw();
    assert_eq!(d.cmd(&[b"PING"]), b"+PONG\r\n");
}

/// Every field of redis-server 7.0.15's `INFO persistence` (AOF on), in
/// its order; Slowpoke's own `slowpoke_*` and `appendfsync` may sit between.
const REDIS_PERSISTENCE_FIELDS: &[&str] = &[
    "loading",
    "async_loading",
    "current_cow_peak",
    "current_cow_size",
    "current_cow_size_age",
    "current_fork_perc",
    "current_save_keys_processed",
    "current_save_keys_total",
    "rdb_changes_since_last_save",
    "rdb_bgsave_in_progress",
    "rdb_last_save_time",
    "rdb_last_bgsave_status",
    "rdb_last_bgsave_time_sec",
    "rdb_current_bgsave_time_sec",
    "rdb_saves",
    "rdb_last_cow_size",
    "rdb_last_load_keys_expired",
    "rdb_last_load_keys_loaded",
    "aof_enabled",
    "aof_rewrite_in_progress",
    "aof_rewrite_scheduled",
    "aof_last_rewrite_time_sec",
    "aof_current_rewrite_time_sec",
    "aof_last_bgrewrite_status",
    "aof_rewrites",
    "aof_rewrites_consecutive_failures",
    "aof_last_write_status",
    "aof_last_cow_size",
    "module_fork_in_progress",
    "module_fork_last_cow_size",
    "aof_current_size",
    "aof_base_size",
    "aof_pending_rewrite",
    "aof_buffer_length",
    "aof_pending_bio_fsync",
    "aof_delayed_fsync",
];

#[test]
fn info_persistence_has_every_redis_field_in_redis_order() {
    let s = Server::start();
    let mut r = s.raw();
    let info = r.cmd_str("INFO persistence");
    let names: Vec<&str> = info
        .split("\r\n")
        .filter_map(|l| l.split_once(':').map(|(name, _)| name))
        .filter(|n| REDIS_PERSISTENCE_FIELDS.contains(n))
        .collect();
    assert_eq!(names, REDIS_PERSISTENCE_FIELDS, "{info}");
    assert!(info.contains("\r\naof_last_write_status:ok\r\n"), "{info}");
}

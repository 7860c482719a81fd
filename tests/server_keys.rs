//! The keyspace commands against the real server: DEL, UNLINK, EXISTS,
//! TYPE, RENAME, RENAMENX, COPY, TOUCH, DBSIZE, FLUSHDB, FLUSHALL, the
//! EXPIRE family, TTL, PTTL, PERSIST, EXPIRETIME, PEXPIRETIME. Every
//! expected reply was first taken from Redis 7.0 with the same bytes.
//! Also: expiry and PERSIST survive a restart, a short expiry lapses, a
//! time in the past deletes, FLUSHALL gives the disk space back at once
//! (also inside MULTI/EXEC, atomically), and keys are binary safe.

mod common;

use common::files::dir_bytes;
use std::time::{Duration, Instant};

use common::{Raw, Server};

/// Sends space-separated words, returns the raw reply as text.
fn q(r: &mut Raw, line: &str) -> String {
    r.cmd_str(line)
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";

/// Parses an integer reply.
fn int_of(reply: &str) -> i64 {
    reply
        .strip_prefix(':')
        .and_then(|s| s.strip_suffix("\r\n"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

#[test]
fn del_and_unlink_count_each_removed_key_once() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET a 1");
    q(&mut r, "SET b 2");
    assert_eq!(q(&mut r, "DEL a a nokey"), int(1));
    assert_eq!(q(&mut r, "GET a"), NIL);
    assert_eq!(q(&mut r, "UNLINK b b"), int(1));
    assert_eq!(q(&mut r, "UNLINK b"), int(0));
    assert_eq!(q(&mut r, "DEL nokey"), int(0));
    assert_eq!(
        q(&mut r, "DEL"),
        err("ERR wrong number of arguments for 'del' command")
    );
    assert_eq!(
        q(&mut r, "UNLINK"),
        err("ERR wrong number of arguments for 'unlink' command")
    );
}

#[test]
fn exists_and_touch_count_repeated_keys() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET a 1");
    assert_eq!(q(&mut r, "EXISTS a a b a"), int(3));
    assert_eq!(q(&mut r, "EXISTS b"), int(0));
    assert_eq!(q(&mut r, "TOUCH a a b"), int(2));
    assert_eq!(
        q(&mut r, "EXISTS"),
        err("ERR wrong number of arguments for 'exists' command")
    );
    assert_eq!(
        q(&mut r, "TOUCH"),
        err("ERR wrong number of arguments for 'touch' command")
    );
}

#[test]
fn type_is_string_or_none_in_resp2_and_resp3() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET a 1");
    assert_eq!(q(&mut r, "TYPE a"), "+string\r\n");
    assert_eq!(q(&mut r, "TYPE nokey"), "+none\r\n");
    assert_eq!(
        q(&mut r, "TYPE a b"),
        err("ERR wrong number of arguments for 'type' command")
    );
    q(&mut r, "HELLO 3");
    assert_eq!(q(&mut r, "TYPE a"), "+string\r\n");
    assert_eq!(q(&mut r, "TYPE nokey"), "+none\r\n");
    assert_eq!(q(&mut r, "TTL a"), int(-1));
    assert_eq!(q(&mut r, "EXPIRE a 100"), int(1));
    assert_eq!(q(&mut r, "TTL a"), int(100));
    assert_eq!(
        q(&mut r, "EXPIRE a 10 nx xx"),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
}

#[test]
fn rename_moves_value_and_ttl() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "RENAME nokey x"), err("ERR no such key"));
    assert_eq!(q(&mut r, "RENAME nokey nokey"), err("ERR no such key"));
    assert_eq!(q(&mut r, "RENAMENX nokey x"), err("ERR no such key"));

    q(&mut r, "SET k v");
    assert_eq!(q(&mut r, "EXPIRE k 1000"), int(1));
    assert_eq!(q(&mut r, "RENAME k k"), OK);
    assert_eq!(q(&mut r, "RENAMENX k k"), int(0));
    assert_eq!(q(&mut r, "GET k"), "$1\r\nv\r\n");

    // The destination is overwritten, TTL included.
    q(&mut r, "SET dst old");
    assert_eq!(q(&mut r, "RENAME k dst"), OK);
    assert_eq!(q(&mut r, "EXISTS k"), int(0));
    assert_eq!(q(&mut r, "GET dst"), "$1\r\nv\r\n");
    assert_eq!(q(&mut r, "TTL dst"), int(1000));

    // A source without TTL clears the destination's.
    q(&mut r, "SET plain p");
    assert_eq!(q(&mut r, "RENAME plain dst"), OK);
    assert_eq!(q(&mut r, "TTL dst"), int(-1));
    assert_eq!(q(&mut r, "GET dst"), "$1\r\np\r\n");

    q(&mut r, "SET a 1");
    assert_eq!(q(&mut r, "RENAMENX a dst"), int(0));
    assert_eq!(q(&mut r, "GET a"), "$1\r\n1\r\n");
    assert_eq!(q(&mut r, "EXPIRE a 500"), int(1));
    assert_eq!(q(&mut r, "RENAMENX a fresh"), int(1));
    assert_eq!(q(&mut r, "EXISTS a"), int(0));
    assert_eq!(q(&mut r, "GET fresh"), "$1\r\n1\r\n");
    assert_eq!(q(&mut r, "TTL fresh"), int(500));
    assert_eq!(
        q(&mut r, "RENAME a"),
        err("ERR wrong number of arguments for 'rename' command")
    );
    assert_eq!(
        q(&mut r, "RENAMENX a b c"),
        err("ERR wrong number of arguments for 'renamenx' command")
    );
}

#[test]
fn rename_keeps_ttl_across_restart() {
    let mut s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET k v");
    q(&mut r, "EXPIRE k 1000");
    assert_eq!(q(&mut r, "RENAME k n"), OK);
    s.restart();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "EXISTS k"), int(0));
    let ttl = int_of(&q(&mut r, "TTL n"));
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    assert_eq!(q(&mut r, "GET n"), "$1\r\nv\r\n");
}

#[test]
fn copy_options_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET k v");
    q(&mut r, "SET k2 v2");
    assert_eq!(
        q(&mut r, "COPY k k"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        q(&mut r, "COPY nokey nokey"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(q(&mut r, "COPY k k2"), int(0));
    assert_eq!(q(&mut r, "GET k2"), "$2\r\nv2\r\n");
    assert_eq!(q(&mut r, "COPY k k3 db"), err("ERR syntax error"));
    assert_eq!(q(&mut r, "COPY k k3 foo"), err("ERR syntax error"));
    assert_eq!(q(&mut r, "COPY nokey k3 foo"), err("ERR syntax error"));
    assert_eq!(
        q(&mut r, "COPY k k4 db abc"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        q(&mut r, "COPY k k4 db 99999999999"),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(
        q(&mut r, "COPY k k4 db -1"),
        err("ERR DB index is out of range")
    );
    // Redis has 16 databases; Slowpoke has only database 0.
    assert_eq!(
        q(&mut r, "COPY k k4 DB 1"),
        err("ERR DB index is out of range")
    );
    assert_eq!(q(&mut r, "EXISTS k3 k4"), int(0));
    assert_eq!(q(&mut r, "COPY nokey k4"), int(0));
    assert_eq!(q(&mut r, "COPY k k3 db 0"), int(1));
    assert_eq!(q(&mut r, "GET k3"), "$1\r\nv\r\n");
    assert_eq!(q(&mut r, "GET k"), "$1\r\nv\r\n");
    assert_eq!(q(&mut r, "COPY k k2 replace REPLACE db 0"), int(1));
    assert_eq!(q(&mut r, "GET k2"), "$1\r\nv\r\n");
    assert_eq!(
        q(&mut r, "COPY k"),
        err("ERR wrong number of arguments for 'copy' command")
    );
}

#[test]
fn copy_copies_the_ttl() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET k v");
    q(&mut r, "PEXPIREAT k 1999999999600");
    q(&mut r, "SET other x");
    q(&mut r, "EXPIRE other 50");
    assert_eq!(q(&mut r, "COPY k other REPLACE"), int(1));
    assert_eq!(q(&mut r, "PEXPIRETIME other"), int(1_999_999_999_600));
    assert_eq!(q(&mut r, "PEXPIRETIME k"), int(1_999_999_999_600));
    q(&mut r, "SET p x");
    assert_eq!(q(&mut r, "COPY p other REPLACE"), int(1));
    assert_eq!(q(&mut r, "TTL other"), int(-1));
}

#[test]
fn dbsize_and_flush_arguments() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "DBSIZE"), int(0));
    q(&mut r, "SET a 1");
    q(&mut r, "SET b 2");
    q(&mut r, "SET a 3");
    assert_eq!(q(&mut r, "DBSIZE"), int(2));
    assert_eq!(
        q(&mut r, "DBSIZE x"),
        err("ERR wrong number of arguments for 'dbsize' command")
    );
    assert_eq!(q(&mut r, "FLUSHALL foo"), err("ERR syntax error"));
    assert_eq!(q(&mut r, "FLUSHALL async sync"), err("ERR syntax error"));
    assert_eq!(q(&mut r, "FLUSHDB a b"), err("ERR syntax error"));
    assert_eq!(q(&mut r, "DBSIZE"), int(2));
    assert_eq!(q(&mut r, "FLUSHDB Async"), OK);
    assert_eq!(q(&mut r, "DBSIZE"), int(0));
    q(&mut r, "SET a 1");
    assert_eq!(q(&mut r, "FLUSHALL SYNC"), OK);
    assert_eq!(q(&mut r, "GET a"), NIL);
    q(&mut r, "SET a 1");
    assert_eq!(q(&mut r, "flushall"), OK);
    assert_eq!(q(&mut r, "DBSIZE"), int(0));
    assert_eq!(q(&mut r, "FLUSHDB"), OK);
}

#[test]
fn flushall_frees_disk_at_once_and_stays_empty_after_restart() {
    let mut s = Server::start();
    let mut r = s.raw();
    let value = vec![b'x'; 100 * 1024];
    for i in 0..100 {
        assert_eq!(
            r.cmd(&[b"SET", format!("k{i}").as_bytes(), &value]),
            OK.as_bytes()
        );
    }
    let before = dir_bytes(&s.dir);
    assert!(before >= 100 * 100 * 1024, "data dir holds {before} bytes");
    assert_eq!(q(&mut r, "FLUSHALL"), OK);
    let after = dir_bytes(&s.dir);
    assert!(after < 1024 * 1024, "data dir still holds {after} bytes");
    assert_eq!(q(&mut r, "DBSIZE"), int(0));
    // A key written after the flush must survive; the old ones must not.
    q(&mut r, "SET fresh 1");
    s.restart();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "DBSIZE"), int(1));
    assert_eq!(q(&mut r, "GET k0"), NIL);
    assert_eq!(q(&mut r, "GET fresh"), "$1\r\n1\r\n");
    assert_eq!(q(&mut r, "FLUSHDB"), OK);
    s.restart();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "DBSIZE"), int(0));
}

#[test]
fn flushall_inside_exec_is_atomic_and_durable() {
    let mut s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET old 1");
    q(&mut r, "SET x 1");
    assert_eq!(q(&mut r, "MULTI"), OK);
    for cmd in [
        "SET a 1",
        "SET b 2",
        "DEL a",
        "DBSIZE",
        "FLUSHALL",
        "DBSIZE",
        "SET c 3",
        "DBSIZE",
        "EXISTS old c",
    ] {
        assert_eq!(q(&mut r, cmd), "+QUEUED\r\n", "{cmd}");
    }
    assert_eq!(
        q(&mut r, "EXEC"),
        "*9\r\n+OK\r\n+OK\r\n:1\r\n:3\r\n+OK\r\n:0\r\n+OK\r\n:1\r\n:1\r\n"
    );
    assert_eq!(q(&mut r, "DBSIZE"), int(1));
    s.restart();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "DBSIZE"), int(1));
    assert_eq!(q(&mut r, "EXISTS old x a b"), int(0));
    assert_eq!(q(&mut r, "GET c"), "$1\r\n3\r\n");
}

#[test]
fn flushall_aborts_exec_of_a_watcher() {
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    q(&mut a, "SET w 1");
    assert_eq!(q(&mut a, "WATCH w"), OK);
    assert_eq!(q(&mut b, "FLUSHALL"), OK);
    q(&mut a, "MULTI");
    q(&mut a, "SET w 2");
    assert_eq!(q(&mut a, "EXEC"), "*-1\r\n");
    assert_eq!(q(&mut a, "GET w"), NIL);
}

#[test]
fn expire_option_errors_match_redis() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET k v");
    let nx_xx = err("ERR NX and XX, GT or LT options at the same time are not compatible");
    let gt_lt = err("ERR GT and LT options at the same time are not compatible");
    let cases = [
        ("EXPIRE k 10 foo", err("ERR Unsupported option foo")),
        // Options are checked before the time.
        ("EXPIRE k abc foo", err("ERR Unsupported option foo")),
        (
            "EXPIRE k abc",
            err("ERR value is not an integer or out of range"),
        ),
        (
            "PEXPIRE k 1.5",
            err("ERR value is not an integer or out of range"),
        ),
        ("EXPIRE k 10 nx xx", nx_xx.clone()),
        ("EXPIRE k 10 NX GT", nx_xx.clone()),
        ("PEXPIRE k 10 lt nx", nx_xx.clone()),
        ("EXPIRE nokey 10 nx xx", nx_xx.clone()),
        ("EXPIRE k 10 gt lt", gt_lt.clone()),
        ("EXPIREAT k 10 xx gt LT", gt_lt.clone()),
        (
            "EXPIRE k 9223372036854775",
            err("ERR invalid expire time in 'expire' command"),
        ),
        (
            "EXPIRE k 9223372036854776",
            err("ERR invalid expire time in 'expire' command"),
        ),
        (
            "EXPIRE k -9223372036854776",
            err("ERR invalid expire time in 'expire' command"),
        ),
        (
            "EXPIRE nokey 9223372036854775",
            err("ERR invalid expire time in 'expire' command"),
        ),
        (
            "PEXPIRE k 9223372036854775807",
            err("ERR invalid expire time in 'pexpire' command"),
        ),
        (
            "EXPIREAT k 9223372036854775807",
            err("ERR invalid expire time in 'expireat' command"),
        ),
        (
            "EXPIREAT k -9223372036854775807",
            err("ERR invalid expire time in 'expireat' command"),
        ),
        (
            "EXPIRE k",
            err("ERR wrong number of arguments for 'expire' command"),
        ),
        (
            "PEXPIREAT k",
            err("ERR wrong number of arguments for 'pexpireat' command"),
        ),
        (
            "TTL",
            err("ERR wrong number of arguments for 'ttl' command"),
        ),
        (
            "PTTL a b",
            err("ERR wrong number of arguments for 'pttl' command"),
        ),
        (
            "PERSIST",
            err("ERR wrong number of arguments for 'persist' command"),
        ),
        (
            "EXPIRETIME a b",
            err("ERR wrong number of arguments for 'expiretime' command"),
        ),
        (
            "PEXPIRETIME",
            err("ERR wrong number of arguments for 'pexpiretime' command"),
        ),
        ("EXPIRE nokey 10", int(0)),
    ];
    for (cmd, want) in &cases {
        assert_eq!(&q(&mut r, cmd), want, "{cmd}");
    }
    // None of the failures touched the key.
    assert_eq!(q(&mut r, "TTL k"), int(-1));
    // PEXPIREAT has no base time to add, so i64::MAX fits.
    assert_eq!(q(&mut r, "PEXPIREAT k 9223372036854775807"), int(1));
    assert_eq!(q(&mut r, "PEXPIRETIME k"), int(i64::MAX));
}

#[test]
fn expire_nx_xx_gt_lt_follow_redis() {
    let s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET k v");
    let steps = [
        ("EXPIRE k 100 xx", 0),
        ("EXPIRE k 100 gt", 0), // no TTL counts as infinite
        ("EXPIRE k 100 lt", 1),
        ("TTL k", 100),
        ("EXPIRE k 200 nx", 0),
        ("EXPIRE k 50 gt", 0),
        ("EXPIRE k 200 gt", 1),
        ("TTL k", 200),
        ("EXPIRE k 300 lt", 0),
        ("EXPIRE k 50 lt", 1),
        ("TTL k", 50),
        ("EXPIRE k 60 XX", 1),
        ("TTL k", 60),
        ("EXPIRE k 59 xx gt", 0),
        ("PEXPIRE k 70000 xx gt", 1),
        ("TTL k", 70),
        ("PERSIST k", 1),
        ("EXPIRE k 30 nx", 1),
        ("TTL k", 30),
        ("PERSIST k", 1),
        ("EXPIRE k -1 gt", 0),
        ("EXISTS k", 1),
        ("EXPIRE k -1 lt", 1),
        ("EXISTS k", 0),
        ("EXPIRE k 10 lt", 0),
    ];
    for (cmd, want) in steps {
        assert_eq!(q(&mut r, cmd), int(want), "{cmd}");
    }
}

#[test]
fn expire_in_the_past_deletes_the_key() {
    let mut s = Server::start();
    let mut r = s.raw();
    for (i, cmd) in [
        "EXPIRE k -1",
        "EXPIRE k 0",
        "PEXPIRE k -5000",
        "EXPIREAT k 1",
        "PEXPIREAT k 0",
        "EXPIREAT k -100",
        "EXPIRE k 0 nx",
    ]
    .iter()
    .enumerate()
    {
        q(&mut r, &format!("SET k v{i}"));
        assert_eq!(q(&mut r, cmd), int(1), "{cmd}");
        assert_eq!(q(&mut r, "GET k"), NIL, "{cmd}");
        assert_eq!(q(&mut r, "EXISTS k"), int(0), "{cmd}");
        assert_eq!(q(&mut r, "TTL k"), int(-2), "{cmd}");
    }
    // A missing key is not created.
    assert_eq!(q(&mut r, "EXPIRE k -1"), int(0));
    // The deletion is durable: the old value does not come back.
    s.restart();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "GET k"), NIL);
}

#[test]
fn ttl_and_pttl_round_as_redis() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "TTL nokey"), int(-2));
    assert_eq!(q(&mut r, "PTTL nokey"), int(-2));
    q(&mut r, "SET k v");
    assert_eq!(q(&mut r, "TTL k"), int(-1));
    assert_eq!(q(&mut r, "PTTL k"), int(-1));
    // Redis replies (ms + 500) / 1000: 1999 ms left is 2 s (not 1, as
    // truncating would give) for the next 499 ms, and 1400 ms left is 1 s
    // (not 2, as rounding up would give) for the next 900 ms.
    assert_eq!(q(&mut r, "PEXPIRE k 1999"), int(1));
    assert_eq!(q(&mut r, "TTL k"), int(2));
    assert_eq!(q(&mut r, "PEXPIRE k 1400"), int(1));
    assert_eq!(q(&mut r, "TTL k"), int(1));
    assert_eq!(q(&mut r, "PEXPIRE k 100000"), int(1));
    let pttl = int_of(&q(&mut r, "PTTL k"));
    assert!((99_000..=100_000).contains(&pttl), "pttl {pttl}");
}

#[test]
fn expiretime_reports_absolute_times() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "EXPIRETIME nokey"), int(-2));
    assert_eq!(q(&mut r, "PEXPIRETIME nokey"), int(-2));
    q(&mut r, "SET k v");
    assert_eq!(q(&mut r, "EXPIRETIME k"), int(-1));
    assert_eq!(q(&mut r, "PEXPIRETIME k"), int(-1));
    assert_eq!(q(&mut r, "PEXPIREAT k 1999999999600"), int(1));
    assert_eq!(q(&mut r, "EXPIRETIME k"), int(2_000_000_000));
    assert_eq!(q(&mut r, "PEXPIRETIME k"), int(1_999_999_999_600));
    assert_eq!(q(&mut r, "PEXPIREAT k 1999999999400"), int(1));
    assert_eq!(q(&mut r, "EXPIRETIME k"), int(1_999_999_999));
    assert_eq!(q(&mut r, "EXPIREAT k 2100000000"), int(1));
    assert_eq!(q(&mut r, "PEXPIRETIME k"), int(2_100_000_000_000));
    let ttl = int_of(&q(&mut r, "TTL k"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((ttl - (2_100_000_000 - now)).abs() <= 2, "ttl {ttl}");
}

#[test]
fn expiry_survives_restart_and_short_expiry_lapses() {
    let mut s = Server::start();
    let mut r = s.raw();
    q(&mut r, "SET long v");
    assert_eq!(q(&mut r, "EXPIRE long 1000"), int(1));
    q(&mut r, "SET short v");
    assert_eq!(q(&mut r, "PEXPIRE short 300"), int(1));
    q(&mut r, "SET soon v");
    assert_eq!(q(&mut r, "PEXPIRE soon 300"), int(1));
    assert_eq!(q(&mut r, "GET short"), "$1\r\nv\r\n");
    // Bounded wait for the short expiry to lapse.
    let deadline = Instant::now() + Duration::from_secs(10);
    while q(&mut r, "GET short") != NIL {
        assert!(Instant::now() < deadline, "short key never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(q(&mut r, "EXISTS short"), int(0));
    assert_eq!(q(&mut r, "TTL short"), int(-2));
    assert_eq!(q(&mut r, "PTTL soon"), int(-2));
    s.restart();
    let mut r = s.raw();
    let ttl = int_of(&q(&mut r, "TTL long"));
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    assert_eq!(q(&mut r, "GET long"), "$1\r\nv\r\n");
    assert_eq!(q(&mut r, "GET short"), NIL);
    assert_eq!(q(&mut r, "GET soon"), NIL);
}

#[test]
fn persist_removes_ttl_durably() {
    let mut s = Server::start();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "PERSIST nokey"), int(0));
    q(&mut r, "SET k v");
    assert_eq!(q(&mut r, "PERSIST k"), int(0));
    assert_eq!(q(&mut r, "PEXPIRE k 1500"), int(1));
    assert_eq!(q(&mut r, "PERSIST k"), int(1));
    assert_eq!(q(&mut r, "PERSIST k"), int(0));
    assert_eq!(q(&mut r, "TTL k"), int(-1));
    assert_eq!(q(&mut r, "EXPIRETIME k"), int(-1));
    s.restart();
    let mut r = s.raw();
    assert_eq!(q(&mut r, "TTL k"), int(-1));
    assert_eq!(q(&mut r, "GET k"), "$1\r\nv\r\n");
}

#[test]
fn binary_keys_work_everywhere() {
    let s = Server::start();
    let mut r = s.raw();
    let k1: &[u8] = b"a\0b\r\n\xff";
    let k2: &[u8] = b"\x00\x01\x02 key \xfe";
    let k3: &[u8] = b"";
    assert_eq!(r.cmd(&[b"SET", k1, b"v\0"]), OK.as_bytes());
    assert_eq!(r.cmd(&[b"EXISTS", k1, k2, k1]), b":2\r\n");
    assert_eq!(r.cmd(&[b"TYPE", k1]), b"+string\r\n");
    assert_eq!(r.cmd(&[b"EXPIRE", k1, b"100"]), b":1\r\n");
    assert_eq!(r.cmd(&[b"RENAME", k1, k2]), OK.as_bytes());
    assert_eq!(r.cmd(&[b"TTL", k2]), b":100\r\n");
    assert_eq!(r.cmd(&[b"COPY", k2, k3]), b":1\r\n");
    assert_eq!(r.cmd(&[b"PERSIST", k3]), b":1\r\n");
    assert_eq!(r.cmd(&[b"GET", k3]), b"$2\r\nv\0\r\n");
    assert_eq!(r.cmd(&[b"RENAMENX", k3, k1]), b":1\r\n");
    assert_eq!(r.cmd(&[b"TOUCH", k1, k2, k3]), b":2\r\n");
    assert_eq!(r.cmd(&[b"DBSIZE"]), b":2\r\n");
    assert_eq!(r.cmd(&[b"DEL", k1, k2, k3]), b":2\r\n");
    assert_eq!(r.cmd(&[b"DBSIZE"]), b":0\r\n");
    // An echoed option cannot break the reply line.
    assert_eq!(
        r.cmd(&[b"EXPIRE", k1, b"1", b"b\r\nad"]),
        b"-ERR Unsupported option b  ad\r\n"
    );
    // As Redis's printf: the option ends at a NUL, a trailing line break is
    // trimmed.
    assert_eq!(
        r.cmd(&[b"EXPIRE", k1, b"1", b"a\0b"]),
        b"-ERR Unsupported option a\r\n"
    );
    assert_eq!(
        r.cmd(&[b"EXPIRE", k1, b"1", b"FOO\r\n"]),
        b"-ERR Unsupported option FOO\r\n"
    );
}

#[test]
fn redis_crate_sees_the_same_answers() {
    let s = Server::start();
    let mut c = s.conn();
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg("1")
        .query(&mut c)
        .expect("set");
    let n: i64 = redis::cmd("EXISTS")
        .arg(&["a", "b"])
        .query(&mut c)
        .expect("exists");
    assert_eq!(n, 1);
    let set: bool = redis::cmd("EXPIRE")
        .arg("a")
        .arg(100)
        .query(&mut c)
        .expect("expire");
    assert!(set);
    let ttl: i64 = redis::cmd("TTL").arg("a").query(&mut c).expect("ttl");
    assert_eq!(ttl, 100);
    let e = redis::cmd("RENAME")
        .arg("nokey")
        .arg("x")
        .query::<()>(&mut c)
        .expect_err("rename of a missing key");
    assert_eq!(e.detail(), Some("no such key"));
    let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("flushall");
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0);
}

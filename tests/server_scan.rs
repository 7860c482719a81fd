//! SCAN, KEYS, RANDOMKEY and KEYRANGE against the real server. Reply and
//! error bytes were first taken from redis-server 7.0.15 with the same
//! commands (KEYRANGE's from ZRANGEBYLEX, whose notation and LIMIT it
//! shares). Promises checked: a SCAN iteration returns every key present
//! throughout exactly once and in byte order while other clients write and
//! delete; cursors are decimal integers and unknown ones get an error;
//! MATCH/COUNT/TYPE behave as in Redis; KEYS follows Redis's glob corner
//! cases; KEYRANGE bounds, REV, LIMIT and WITHVALUES; expired keys never
//! appear; RANDOMKEY is uniform across a skewed keyspace.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Server;

type Key = Vec<u8>;

/// Loads `keys` (value = the key) in one pipeline.
fn load(c: &mut redis::Connection, keys: &[Key]) {
    let mut p = redis::pipe();
    for k in keys {
        p.cmd("SET").arg(k.as_slice()).arg(k.as_slice()).ignore();
    }
    p.query::<()>(c).expect("load");
}

/// One SCAN call.
fn scan(c: &mut redis::Connection, cursor: u64, extra: &[&str]) -> (u64, Vec<Key>) {
    redis::cmd("SCAN")
        .arg(cursor)
        .arg(extra)
        .query(c)
        .expect("scan")
}

/// A whole SCAN iteration the way redis-py's `scan_iter` runs it: until
/// the cursor comes back as 0. Returns the keys and the number of calls.
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> (Vec<Key>, usize) {
    let (mut cursor, mut out, mut calls) = (0u64, Vec::new(), 0usize);
    loop {
        let (next, keys) = scan(c, cursor, extra);
        calls += 1;
        out.extend(keys);
        if next == 0 {
            return (out, calls);
        }
        assert!(calls < 1_000_000, "SCAN never finished");
        cursor = next;
    }
}

fn keyrange(c: &mut redis::Connection, args: &[&[u8]]) -> Vec<Key> {
    redis::cmd("KEYRANGE").arg(args).query(c).expect("keyrange")
}

fn k(s: &str) -> Key {
    s.as_bytes().to_vec()
}

fn is_strictly_ascending(keys: &[Key]) -> bool {
    keys.windows(2).all(|w| w[0] < w[1])
}

fn err(text: &str) -> Vec<u8> {
    format!("-{text}\r\n").into_bytes()
}

#[test]
fn scan_returns_every_key_once_in_byte_order() {
    let s = Server::start();
    let mut c = s.conn();
    let mut keys: Vec<Key> = (0..1500).map(|i| k(&format!("key:{i}"))).collect();
    keys.extend([vec![0u8], vec![0xff, 0], b"a\x00b".to_vec(), Vec::new()]);
    load(&mut c, &keys);
    for count in ["1", "7", "100", "100000"] {
        let (got, calls) = scan_all(&mut c, &["COUNT", count]);
        let want: BTreeSet<Key> = keys.iter().cloned().collect();
        assert_eq!(got.len(), want.len(), "COUNT {count}: duplicates or misses");
        assert!(
            is_strictly_ascending(&got),
            "COUNT {count}: not in byte order"
        );
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
        if count == "7" {
            // COUNT bounds the entries visited per call.
            assert!(calls >= keys.len() / 7, "{calls} calls");
        }
    }
}

/// Keys present for the whole iteration all appear, exactly once, while
/// another client creates and deletes keys interleaved with them.
#[test]
fn scan_sees_every_stable_key_while_others_write_and_delete() {
    let s = Server::start();
    let mut c = s.conn();
    let stable: Vec<Key> = (0..3000).map(|i| k(&format!("k:{i:05}:stable"))).collect();
    load(&mut c, &stable);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = Arc::clone(&done);
        let mut w = s.conn();
        std::thread::spawn(move || {
            let mut rounds = 0u64;
            while !done.load(Ordering::Relaxed) && rounds < 200_000 {
                let i = rounds % 3000;
                let mut p = redis::pipe();
                p.cmd("SET")
                    .arg(format!("k:{i:05}:churn"))
                    .arg("x")
                    .ignore();
                p.cmd("SET").arg(format!("k:{i:05}")).arg("x").ignore();
                p.cmd("DEL")
                    .arg(format!("k:{:05}:churn", (i + 1500) % 3000))
                    .ignore();
                p.cmd("DEL")
                    .arg(format!("k:{:05}", (i + 7) % 3000))
                    .ignore();
                p.query::<()>(&mut w).expect("writer");
                rounds += 1;
            }
            rounds
        })
    };
    let (got, _) = scan_all(&mut c, &["COUNT", "5"]);
    done.store(true, Ordering::Relaxed);
    let rounds = writer.join().expect("writer thread");
    assert!(rounds > 0);
    assert!(is_strictly_ascending(&got), "keys repeated or out of order");
    let got: BTreeSet<Key> = got.into_iter().collect();
    for key in &stable {
        assert!(got.contains(key), "missed {}", String::from_utf8_lossy(key));
    }
}

#[test]
fn scan_match_count_and_type() {
    let s = Server::start();
    let mut c = s.conn();
    let mut keys = Vec::new();
    for u in 0..200 {
        for f in ["name", "mail", "age"] {
            keys.push(k(&format!("user:{u}:{f}")));
        }
        keys.push(k(&format!("session:{u}")));
    }
    load(&mut c, &keys);

    // A literal prefix: only keys under it, in order.
    let (got, _) = scan_all(&mut c, &["MATCH", "user:42:*", "COUNT", "2"]);
    assert_eq!(
        got,
        vec![k("user:42:age"), k("user:42:mail"), k("user:42:name")]
    );
    // No literal prefix: still every match.
    let (got, _) = scan_all(&mut c, &["MATCH", "*:4?:mail"]);
    let want: Vec<Key> = (40..50).map(|u| k(&format!("user:{u}:mail"))).collect();
    assert_eq!(got, want);
    // COUNT 1 with a sparse MATCH: calls return at most one key each and
    // the iteration still ends.
    let (got, calls) = scan_all(&mut c, &["MATCH", "session:19?", "COUNT", "1"]);
    assert_eq!(got.len(), 10);
    assert!(calls >= 10);
    // `*` matches everything, the empty key included; `**` does not match
    // the empty key (Redis's matcher).
    load(&mut c, &[Vec::new()]);
    let (got, _) = scan_all(&mut c, &["MATCH", "*", "COUNT", "1000"]);
    assert_eq!(got.len(), keys.len() + 1);
    let (got, _) = scan_all(&mut c, &["MATCH", "**", "COUNT", "1000"]);
    assert_eq!(got.len(), keys.len());

    // TYPE: every key is a string.
    let (got, _) = scan_all(&mut c, &["TYPE", "STRING", "COUNT", "1000"]);
    assert_eq!(got.len(), keys.len() + 1);
    for other in ["list", "hash", "set", "zset", "stream", "nosuchtype"] {
        assert_eq!(scan(&mut c, 0, &["TYPE", other]), (0, vec![]), "{other}");
    }
    // Options combine, in any order, the last one winning.
    let (got, _) = scan_all(
        &mut c,
        &[
            "COUNT",
            "3",
            "MATCH",
            "nope*",
            "TYPE",
            "string",
            "MATCH",
            "session:1?",
        ],
    );
    assert_eq!(got.len(), 10);
}

#[test]
fn scan_errors_match_redis() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"SET", b"a", b"1"]);
    for bad in [
        &b"x"[..],
        b" 1",
        b"1 ",
        b"+",
        b"0x1",
        b"18446744073709551616",
    ] {
        assert_eq!(r.cmd(&[b"SCAN", bad]), err("ERR invalid cursor"), "{bad:?}");
    }
    // The cursor is checked before the options, as in Redis.
    assert_eq!(r.cmd(&[b"SCAN", b"x", b"FOO"]), err("ERR invalid cursor"));
    assert_eq!(r.cmd(&[b"SCAN", b"0", b"FOO"]), err("ERR syntax error"));
    assert_eq!(r.cmd(&[b"SCAN", b"0", b"MATCH"]), err("ERR syntax error"));
    assert_eq!(
        r.cmd(&[b"SCAN", b"0", b"COUNT", b"0"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r.cmd(&[b"SCAN", b"0", b"COUNT", b"-1"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r.cmd(&[b"SCAN", b"0", b"COUNT", b"x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        r.cmd(&[b"SCAN"]),
        err("ERR wrong number of arguments for 'scan' command")
    );
    // A cursor this server never issued (Redis would start somewhere in
    // its table; Slowpoke cannot know where to resume, so it says so).
    assert_eq!(r.cmd(&[b"SCAN", b"12345"]), err("ERR invalid cursor"));
    assert_eq!(r.cmd(&[b"SCAN", b"-1"]), err("ERR invalid cursor"));
    // Strings strtoul reads as 0 start an iteration, as in Redis.
    let start = b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n".to_vec();
    // strtoul sees a C string, which ends at a NUL.
    for zero in [&b"0"[..], b"", b"-0", b"+0", b"000", b"\0", b"\0x", b"0\0x"] {
        assert_eq!(r.cmd(&[b"SCAN", zero]), start, "{zero:?}");
    }
    assert_eq!(r.cmd(&[b"SCAN", b"-\0"]), err("ERR invalid cursor"));
}

#[test]
fn scan_cursor_is_a_decimal_bulk_string_and_can_be_retried() {
    let s = Server::start();
    let mut c = s.conn();
    let keys: Vec<Key> = (0..100).map(|i| k(&format!("k{i:03}"))).collect();
    load(&mut c, &keys);
    let mut r = s.raw();
    let reply = r.cmd(&[b"SCAN", b"0", b"COUNT", b"10"]);
    let text = String::from_utf8(reply).expect("utf8");
    let mut lines = text.split("\r\n");
    assert_eq!(lines.next(), Some("*2"));
    let len: usize = lines
        .next()
        .and_then(|l| l[1..].parse().ok())
        .expect("bulk");
    let cursor = lines.next().expect("cursor");
    assert_eq!(cursor.len(), len);
    let id: u64 = cursor.parse().expect("decimal");
    assert!(
        id > 0 && id < 1 << 53,
        "cursor {id} is not exact in a double"
    );
    assert_eq!(lines.next(), Some("*10"));
    // Retrying a call (a client's retry after a timeout) gives the same page.
    let first = scan(&mut c, id, &["COUNT", "10"]);
    let again = scan(&mut c, id, &["COUNT", "10"]);
    assert_eq!(first.1, again.1);
    assert_eq!(first.1, keys[10..20].to_vec());
    assert_ne!(first.0, again.0, "ids are never reused");
    // Every cursor of an iteration is different.
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let (next, _) = scan(&mut c, cursor, &["COUNT", "3"]);
        if next == 0 {
            break;
        }
        assert!(seen.insert(next), "cursor {next} repeated");
        cursor = next;
    }
}

#[test]
fn scan_reply_has_the_same_shape_in_resp3() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"SET", b"a", b"1"]);
    r.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        r.cmd(&[b"SCAN", b"0"]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n".to_vec()
    );
    assert_eq!(r.cmd(&[b"KEYS", b"*"]), b"*1\r\n$1\r\na\r\n".to_vec());
    assert_eq!(r.cmd(&[b"KEYS", b"zz*"]), b"*0\r\n".to_vec());
}

#[test]
fn redis_crate_scan_iterator_walks_to_the_end() {
    use redis::Commands;
    let s = Server::start();
    let mut c = s.conn();
    let keys: Vec<Key> = (0..777).map(|i| k(&format!("it:{i}"))).collect();
    load(&mut c, &keys);
    load(&mut c, &[k("other")]);
    let got: Vec<String> = c
        .scan_match::<_, String>("it:*")
        .expect("scan_match")
        .collect();
    assert_eq!(got.len(), 777);
    let got: Vec<String> = c.scan::<String>().expect("scan").collect();
    assert_eq!(got.len(), 778);
}

/// Expected sets from redis-server 7.0.15 (`KEYS pattern` over these keys).
#[test]
fn keys_follows_redis_glob_corner_cases() {
    let s = Server::start();
    let mut c = s.conn();
    let keys: Vec<Key> = [
        &b""[..],
        b"a",
        b"b",
        b"z",
        b"A",
        b"-",
        b"]",
        b"[",
        b"^",
        b"\\",
        b"*",
        b"?",
        b"ab",
        b"a]",
        b"[a]",
        b"hello",
        b"hallo",
        b"hllo",
        b"heello",
        b"h\\llo",
        b"\x00",
        b"\x7f",
        b"\x80",
        b"\xff",
        b"a\xff",
        b"\xffa",
        b"a\x00b",
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    load(&mut c, &keys);
    let cases: &[(&[u8], &[&[u8]])] = &[
        (b"h?llo", &[b"hallo", b"hello", b"h\\llo"]),
        (
            b"h*llo",
            &[b"hallo", b"heello", b"hello", b"hllo", b"h\\llo"],
        ),
        (b"h[^e]llo", &[b"hallo", b"h\\llo"]),
        (b"[z-a]", &[b"a", b"b", b"z"]),
        (b"[", &[]),
        (b"[]", &[]),
        (b"[^]]", &[b"a]"]),
        (b"[ab", &[b"a", b"b"]),
        (b"[a-]", &[b"]", b"^", b"a"]),
        (b"[\\", &[b"\\"]),
        (b"\\", &[b"\\"]),
        (b"a\\", &[]),
        (b"\\*", &[b"*"]),
        (b"\\[a]", &[b"[a]"]),
        (
            b"[a-\xff]",
            &[
                b"\x00", b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"^", b"a", b"\xff",
            ],
        ),
        (
            b"[\x7f-\x80]",
            &[
                b"\x00", b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"^", b"a", b"b", b"z",
                b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"a\x00b", &[b"a\x00b"]),
        (b"*\xff", &[b"\xff", b"a\xff"]),
        (b"a*", &[b"a", b"a\x00b", b"a]", b"ab", b"a\xff"]),
    ];
    for (pattern, want) in cases {
        let got: Vec<Key> = redis::cmd("KEYS")
            .arg(*pattern)
            .query(&mut c)
            .expect("keys");
        let mut want: Vec<Key> = want.iter().map(|k| k.to_vec()).collect();
        want.sort();
        assert_eq!(got, want, "KEYS {}", pattern.escape_ascii());
    }
    let all: Vec<Key> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    assert_eq!(all.len(), keys.len());
    assert!(is_strictly_ascending(&all));
    let starstar: Vec<Key> = redis::cmd("KEYS").arg("**").query(&mut c).expect("keys");
    assert_eq!(
        starstar.len(),
        keys.len() - 1,
        "** does not match the empty key"
    );
}

#[test]
fn keys_with_a_prefix_returns_only_that_prefix() {
    let s = Server::start();
    let mut c = s.conn();
    let keys: Vec<Key> = (0..2000)
        .map(|i| k(&format!("p:{}:{}", i % 50, i)))
        .collect();
    load(&mut c, &keys);
    let got: Vec<Key> = redis::cmd("KEYS").arg("p:7:*").query(&mut c).expect("keys");
    let mut want: Vec<Key> = keys
        .iter()
        .filter(|k| k.starts_with(b"p:7:"))
        .cloned()
        .collect();
    want.sort();
    assert_eq!(got, want);
    let none: Vec<Key> = redis::cmd("KEYS").arg("p:7").query(&mut c).expect("keys");
    assert!(none.is_empty());
    // A prefix of 0xFF bytes has no end key: the walk runs to the end.
    load(&mut c, &[vec![0xff, 0xff, 1], vec![0xff, 0xff]]);
    let ff: Vec<Key> = redis::cmd("KEYS")
        .arg(&b"\xff\xff*"[..])
        .query(&mut c)
        .expect("keys");
    assert_eq!(ff, vec![vec![0xff, 0xff], vec![0xff, 0xff, 1]]);
}

fn binary_keys() -> Vec<Key> {
    vec![
        vec![],
        vec![0],
        vec![0, 0],
        vec![0, 0xff],
        k("a"),
        k("b"),
        k("ba"),
        k("c"),
        vec![b'c', 0],
        vec![0xff],
        vec![0xff, 0],
        vec![0xff, 0xff],
    ]
}

#[test]
fn keyrange_bounds_follow_zrangebylex() {
    let s = Server::start();
    let mut c = s.conn();
    let keys = binary_keys();
    load(&mut c, &keys);
    let all = keys.clone();
    let range = |c: &mut redis::Connection, lo: &[u8], hi: &[u8]| keyrange(c, &[lo, hi]);
    assert_eq!(range(&mut c, b"-", b"+"), all);
    assert_eq!(range(&mut c, b"[b", b"[c"), vec![k("b"), k("ba"), k("c")]);
    assert_eq!(range(&mut c, b"(b", b"[c"), vec![k("ba"), k("c")]);
    assert_eq!(range(&mut c, b"[b", b"(c"), vec![k("b"), k("ba")]);
    assert_eq!(range(&mut c, b"(b", b"(c"), vec![k("ba")]);
    assert_eq!(range(&mut c, b"[b", b"[b"), vec![k("b")]);
    assert!(range(&mut c, b"(b", b"[b").is_empty());
    assert!(range(&mut c, b"[b", b"(b").is_empty());
    assert!(range(&mut c, b"[c", b"[a").is_empty(), "min > max");
    assert!(range(&mut c, b"+", b"-").is_empty());
    assert!(range(&mut c, b"+", b"+").is_empty());
    assert!(range(&mut c, b"-", b"-").is_empty());
    assert!(range(&mut c, b"[x", b"[y").is_empty());
    // `[` alone is the empty key, included.
    assert_eq!(range(&mut c, b"[", b"[\x00"), vec![vec![], vec![0]]);
    assert_eq!(range(&mut c, b"(", b"[\x00"), vec![vec![0]]);
    // Binary ends: 0x00 and 0xFF bytes.
    assert_eq!(
        range(&mut c, b"[\x00", b"(\x00\xff\x00"),
        vec![vec![0], vec![0, 0], vec![0, 0xff]]
    );
    assert_eq!(
        range(&mut c, b"(\xff", b"+"),
        vec![vec![0xff, 0], vec![0xff, 0xff]]
    );
    assert_eq!(range(&mut c, b"[c\x00", b"[c\x00"), vec![vec![b'c', 0]]);
    assert_eq!(range(&mut c, b"[\xff\xff\xff", b"+"), Vec::<Key>::new());
}

#[test]
fn keyrange_rev_limit_and_withvalues() {
    let s = Server::start();
    let mut c = s.conn();
    let keys: Vec<Key> = (0..50).map(|i| k(&format!("r:{i:02}"))).collect();
    load(&mut c, &keys);
    load(&mut c, &[k("q"), k("s")]);
    let mut rev = keys.clone();
    rev.reverse();
    let r = |c: &mut redis::Connection, extra: &[&str]| {
        let mut args: Vec<&[u8]> = vec![b"[r:", b"(r;"];
        args.extend(extra.iter().map(|s| s.as_bytes()));
        keyrange(c, &args)
    };
    assert_eq!(r(&mut c, &[]), keys);
    // REV reverses the reply; min still comes first.
    assert_eq!(r(&mut c, &["REV"]), rev);
    assert_eq!(r(&mut c, &["LIMIT", "0", "3"]), keys[..3].to_vec());
    assert_eq!(r(&mut c, &["LIMIT", "10", "5"]), keys[10..15].to_vec());
    assert_eq!(
        r(&mut c, &["rev", "limit", "10", "5"]),
        rev[10..15].to_vec()
    );
    assert_eq!(r(&mut c, &["LIMIT", "45", "10"]), keys[45..].to_vec());
    assert_eq!(r(&mut c, &["LIMIT", "50", "10"]), Vec::<Key>::new());
    assert_eq!(r(&mut c, &["LIMIT", "5000", "-1"]), Vec::<Key>::new());
    assert_eq!(r(&mut c, &["LIMIT", "48", "-1"]), keys[48..].to_vec());
    assert_eq!(r(&mut c, &["LIMIT", "0", "-5"]), keys);
    assert_eq!(r(&mut c, &["LIMIT", "-1", "5"]), Vec::<Key>::new());
    assert_eq!(r(&mut c, &["LIMIT", "3", "0"]), Vec::<Key>::new());
    // The last LIMIT wins, as in ZRANGEBYLEX.
    assert_eq!(
        r(&mut c, &["LIMIT", "0", "1", "LIMIT", "1", "1"]),
        keys[1..2].to_vec()
    );
    // A page boundary far from the start (the walk resumes in slices).
    let many: Vec<Key> = (0..3000).map(|i| k(&format!("m:{i:05}"))).collect();
    load(&mut c, &many);
    let got = keyrange(&mut c, &[b"[m:", b"(m;", b"LIMIT", b"2500", b"600"]);
    assert_eq!(got, many[2500..].to_vec());
    let got = keyrange(&mut c, &[b"[m:", b"(m;", b"REV", b"LIMIT", b"1100", b"2"]);
    assert_eq!(got, vec![many[1899].clone(), many[1898].clone()]);

    // WITHVALUES: a flat key, value array (values here differ from keys).
    let mut p = redis::pipe();
    p.cmd("SET").arg("w:1").arg("one").ignore();
    p.cmd("SET").arg("w:2").arg(&b"t\x00wo"[..]).ignore();
    p.cmd("SET").arg("w:3").arg("").ignore();
    p.query::<()>(&mut c).expect("set");
    let got = keyrange(&mut c, &[b"[w:", b"+", b"WITHVALUES"]);
    assert_eq!(
        got,
        vec![
            k("w:1"),
            k("one"),
            k("w:2"),
            b"t\x00wo".to_vec(),
            k("w:3"),
            vec![]
        ]
    );
    let got = keyrange(
        &mut c,
        &[b"[w:", b"+", b"WITHVALUES", b"REV", b"LIMIT", b"1", b"1"],
    );
    assert_eq!(got, vec![k("w:2"), b"t\x00wo".to_vec()]);
    let mut raw = s.raw();
    raw.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        raw.cmd(&[b"KEYRANGE", b"[w:1", b"[w:1", b"WITHVALUES"]),
        b"*2\r\n$3\r\nw:1\r\n$3\r\none\r\n".to_vec(),
        "flat in RESP3 too"
    );
}

#[test]
fn keyrange_errors_match_zrangebylex() {
    let s = Server::start();
    let mut r = s.raw();
    let bad_range = err("ERR min or max not valid string range item");
    assert_eq!(r.cmd(&[b"KEYRANGE", b"a", b"+"]), bad_range);
    assert_eq!(r.cmd(&[b"KEYRANGE", b"-", b"b"]), bad_range);
    assert_eq!(r.cmd(&[b"KEYRANGE", b"+a", b"+"]), bad_range);
    assert_eq!(r.cmd(&[b"KEYRANGE", b"", b"+"]), bad_range);
    assert_eq!(
        r.cmd(&[b"KEYRANGE", b"-", b"+", b"LIMIT", b"1"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r.cmd(&[b"KEYRANGE", b"-", b"+", b"FOO"]),
        err("ERR syntax error")
    );
    // Options are checked before the range, as in ZRANGEBYLEX.
    assert_eq!(
        r.cmd(&[b"KEYRANGE", b"x", b"+", b"FOO"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r.cmd(&[b"KEYRANGE", b"-", b"+", b"LIMIT", b"x", b"1"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        r.cmd(&[b"KEYRANGE", b"-"]),
        err("ERR wrong number of arguments for 'keyrange' command")
    );
    assert_eq!(r.cmd(&[b"KEYRANGE", b"-", b"+"]), b"*0\r\n".to_vec());
}

#[test]
fn command_info_lists_keyrange_as_readonly() {
    let s = Server::start();
    let mut c = s.conn();
    let info: redis::Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("keyrange")
        .arg("scan")
        .arg("keys")
        .arg("randomkey")
        .query(&mut c)
        .expect("command info");
    let text = format!("{info:?}");
    let redis::Value::Array(entries) = info else {
        panic!("not an array: {text}")
    };
    let arity: Vec<i64> = entries
        .iter()
        .map(|e| match e {
            redis::Value::Array(fields) => match fields.get(1) {
                Some(redis::Value::Int(n)) => *n,
                other => panic!("arity: {other:?}"),
            },
            other => panic!("entry: {other:?}"),
        })
        .collect();
    assert_eq!(arity, vec![-3, -2, 2, 1]);
    assert!(text.contains("readonly"), "{text}");
}

/// Keys that expired but are still in the index (the expiry cycle has not
/// removed them yet) are never returned. With a 100 ms cycle some may
/// already be gone; none may show up either way.
#[test]
fn expired_keys_never_appear() {
    let s = Server::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..300 {
        p.cmd("SET")
            .arg(format!("e:{i:03}"))
            .arg("v")
            .arg("PX")
            .arg(30)
            .ignore();
        p.cmd("SET").arg(format!("e:{i:03}:live")).arg("v").ignore();
    }
    p.query::<()>(&mut c).expect("load");
    std::thread::sleep(Duration::from_millis(60));
    let live: Vec<Key> = (0..300).map(|i| k(&format!("e:{i:03}:live"))).collect();
    let (got, _) = scan_all(&mut c, &["COUNT", "50"]);
    assert_eq!(got, live);
    let got: Vec<Key> = redis::cmd("KEYS").arg("e:*").query(&mut c).expect("keys");
    assert_eq!(got, live);
    assert_eq!(keyrange(&mut c, &[b"-", b"+"]), live);
    let got = keyrange(&mut c, &[b"-", b"+", b"WITHVALUES", b"LIMIT", b"0", b"2"]);
    assert_eq!(got, vec![live[0].clone(), k("v"), live[1].clone(), k("v")]);
    for _ in 0..50 {
        let key: Key = redis::cmd("RANDOMKEY").query(&mut c).expect("randomkey");
        assert!(key.ends_with(b":live"), "{}", key.escape_ascii());
    }
}

#[test]
fn walks_inside_multi_see_the_transactions_own_writes() {
    let s = Server::start();
    let mut r = s.raw();
    for key in ["a", "b", "c"] {
        r.cmd(&[b"SET", key.as_bytes(), b"1"]);
    }
    for line in [
        "MULTI",
        "SET bb 2",
        "DEL c",
        "KEYS *",
        "SCAN 0",
        "KEYRANGE [b + WITHVALUES",
    ] {
        r.cmd_str(line);
    }
    let reply = r.cmd_str("EXEC");
    assert_eq!(
        reply,
        "*5\r\n+OK\r\n:1\r\n\
         *3\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nbb\r\n\
         *2\r\n$1\r\n0\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nbb\r\n\
         *4\r\n$1\r\nb\r\n$1\r\n1\r\n$2\r\nbb\r\n$1\r\n2\r\n"
    );
    // After FLUSHALL inside the same transaction only new keys exist.
    for line in ["MULTI", "FLUSHALL", "SET z 1", "KEYS *", "RANDOMKEY"] {
        r.cmd_str(line);
    }
    assert_eq!(
        r.cmd_str("EXEC"),
        "*4\r\n+OK\r\n+OK\r\n*1\r\n$1\r\nz\r\n$1\r\nz\r\n"
    );
}

#[test]
fn randomkey_is_nil_on_an_empty_db_and_never_returns_a_deleted_key() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"RANDOMKEY"]), b"$-1\r\n".to_vec());
    r.cmd(&[b"HELLO", b"3"]);
    assert_eq!(r.cmd(&[b"RANDOMKEY"]), b"_\r\n".to_vec());
    r.cmd(&[b"SET", b"only", b"1"]);
    assert_eq!(r.cmd(&[b"RANDOMKEY"]), b"$4\r\nonly\r\n".to_vec());

    let mut c = s.conn();
    let keys: Vec<Key> = (0..5000).map(|i| k(&format!("d:{i:05}"))).collect();
    load(&mut c, &keys);
    let mut p = redis::pipe();
    for key in keys.iter().step_by(2) {
        p.cmd("DEL").arg(key.as_slice()).ignore();
    }
    p.cmd("DEL").arg("only").ignore();
    p.query::<()>(&mut c).expect("del");
    let mut p = redis::pipe();
    for _ in 0..2000 {
        p.cmd("RANDOMKEY");
    }
    let picks: Vec<Key> = p.query(&mut c).expect("randomkey");
    for key in &picks {
        let n: usize = std::str::from_utf8(&key[2..])
            .ok()
            .and_then(|s| s.parse().ok())
            .expect("d:N");
        assert!(n % 2 == 1, "returned deleted key {n}");
    }
    redis::cmd("FLUSHALL")
        .query::<()>(&mut c)
        .expect("flushall");
    let none: Option<Key> = redis::cmd("RANDOMKEY").query(&mut c).expect("randomkey");
    assert_eq!(none, None);
}

/// A keyspace where a "random byte string, next key" pick would be very
/// skewed: 3 groups of 2000 keys each, one dense under a short prefix, one
/// of long keys spread over the byte space, one of keys sharing a long
/// prefix. Each group must get about a third of the picks (the bound is
/// ~10 standard deviations wide, so this does not flake, yet a gap-biased
/// pick fails it by far).
#[test]
fn randomkey_is_uniform_across_a_skewed_keyspace() {
    let s = Server::start();
    let mut c = s.conn();
    let mut keys = Vec::new();
    for i in 0..2000u32 {
        keys.push(k(&format!("a:{i}")));
        let spread = i.wrapping_mul(2_654_435_761).to_be_bytes();
        keys.push([&b"b"[..], &spread, &i.to_be_bytes()].concat());
        keys.push(k(&format!("zzzzzzzzzzzzzzzzzzzz:{i:04}")));
    }
    load(&mut c, &keys);
    let picks_total = 9000;
    let mut counts: HashMap<u8, usize> = HashMap::new();
    let mut distinct = BTreeSet::new();
    let mut p = redis::pipe();
    for _ in 0..picks_total {
        p.cmd("RANDOMKEY");
    }
    let picks: Vec<Key> = p.query(&mut c).expect("randomkey");
    for key in picks {
        *counts.entry(key[0]).or_default() += 1;
        distinct.insert(key);
    }
    for group in [b'a', b'b', b'z'] {
        let n = counts.get(&group).copied().unwrap_or(0);
        assert!(
            (2550..=3450).contains(&n),
            "group {} got {n} of {picks_total} picks: {counts:?}",
            group as char
        );
    }
    // 9000 uniform picks out of 6000 keys hit ~4660 distinct keys.
    assert!(
        distinct.len() > 4000,
        "only {} distinct keys",
        distinct.len()
    );
}

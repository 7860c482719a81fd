//! The string commands against the real server. The reply tables were
//! produced by sending the same commands, in the same order from an empty
//! keyspace, to redis-server 7.0.15, and are compared byte for byte. The
//! other tests cover what a table cannot: binary safety, empty and 100 MB
//! values, which writes keep or clear a TTL, INFO keyspace counters, INCR
//! atomicity under 50 clients, MSET seen whole by concurrent MGETs, and
//! RESP3 reply shapes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Server;
use redis::Commands;

/// Runs `table` in order on a fresh server over one raw connection and
/// compares every reply with what Redis answered.
fn check_table(table: &[(&[&str], &str)]) {
    let s = Server::start();
    let mut r = s.raw();
    for (cmd, want) in table {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let got = r.cmd(&args);
        assert_eq!(String::from_utf8_lossy(&got), *want, "reply to {cmd:?}");
    }
}

const SET_FAMILY: &[(&[&str], &str)] = &[
    (&["set", "k", "v", "NX", "XX"], "-ERR syntax error\r\n"),
    (&["set", "k", "v", "XX", "NX"], "-ERR syntax error\r\n"),
    (
        &["set", "k", "v", "EX", "10", "PX", "100"],
        "-ERR syntax error\r\n",
    ),
    (&["set", "k", "v", "EX", "10", "EX", "20"], "+OK\r\n"),
    (&["set", "k", "v", "EX"], "-ERR syntax error\r\n"),
    (
        &["set", "k", "v", "KEEPTTL", "EX", "10"],
        "-ERR syntax error\r\n",
    ),
    (
        &["set", "k", "v", "EX", "10", "KEEPTTL"],
        "-ERR syntax error\r\n",
    ),
    (&["set", "k", "v", "PERSIST"], "-ERR syntax error\r\n"),
    (&["set", "k", "v", "BOGUS"], "-ERR syntax error\r\n"),
    (&["set", "k", "v", "GET", "GET"], "$1\r\nv\r\n"),
    (
        &["set", "k", "v", "EX", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["set", "k", "v", "EX", "0"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (
        &["set", "k", "v", "EX", "-1"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (
        &["set", "k", "v", "EX", "9223372036854775807"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (
        &["set", "k", "v", "EX", "9223372036854775"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (&["set", "k", "v", "EX", "9223372036853"], "+OK\r\n"),
    (
        &["set", "k", "v", "PX", "9223372036854775807"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (
        &["set", "k", "v", "PX", "9223372036854000000"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (&["set", "k", "v", "EXAT", "9223372036854775"], "+OK\r\n"),
    (&["set", "k", "v", "PXAT", "9223372036854775807"], "+OK\r\n"),
    (&["get", "k"], "$1\r\nv\r\n"),
    (&["set", "k", "v", "PXAT", "1"], "+OK\r\n"),
    (&["exists", "k"], ":0\r\n"),
    (&["get", "k"], "$-1\r\n"),
    (
        &["set", "k", "v", "EX", "abc", "NX", "XX"],
        "-ERR syntax error\r\n",
    ),
    (&["set", "k", "v", "NX", "GET"], "$-1\r\n"),
    (&["set", "k", "v", "NX", "GET"], "$1\r\nv\r\n"),
    (&["set", "k", "v2", "XX", "GET"], "$1\r\nv\r\n"),
    (&["get", "k"], "$2\r\nv2\r\n"),
    (&["set", "k", "v3", "NX"], "$-1\r\n"),
    (&["get", "k"], "$2\r\nv2\r\n"),
    (&["set", "k2", "v3", "XX"], "$-1\r\n"),
    (&["set", "k2", "v3", "XX", "GET"], "$-1\r\n"),
    (&["exists", "k2"], ":0\r\n"),
    (&["set", "k", "v", "nx", "nx"], "$-1\r\n"),
    (&["set", "k", "v", "xx", "xx"], "+OK\r\n"),
    (&["set", "k", "v", "keepttl", "keepttl"], "+OK\r\n"),
    (&["set", "k", "v", "ex", "10", "get"], "$1\r\nv\r\n"),
    (&["set", "k", "v", "get", "keepttl"], "$1\r\nv\r\n"),
    (
        &["set", "k", "v", "exat", "0"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (
        &["set", "k", "v", "pxat", "-5"],
        "-ERR invalid expire time in 'set' command\r\n",
    ),
    (
        &["set", "k", "v", "ex", "1.5"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["set", "k", "v", "ex", "01"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["set", "k", "v", "ex", "+1"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["set", "k", "v", "ex", " 1"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["set", "k", "v", "px", "10", "exat", "100"],
        "-ERR syntax error\r\n",
    ),
    (
        &["set", "k", "v", "EX", "NX"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "k", "v"], "+OK\r\n"),
    (
        &["set", "k"],
        "-ERR wrong number of arguments for 'set' command\r\n",
    ),
    (
        &["set"],
        "-ERR wrong number of arguments for 'set' command\r\n",
    ),
    (
        &["setex", "k", "0", "v"],
        "-ERR invalid expire time in 'setex' command\r\n",
    ),
    (
        &["setex", "k", "-1", "v"],
        "-ERR invalid expire time in 'setex' command\r\n",
    ),
    (
        &["setex", "k", "abc", "v"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["setex", "k", "9223372036854775807", "v"],
        "-ERR invalid expire time in 'setex' command\r\n",
    ),
    (&["setex", "k", "100", "v"], "+OK\r\n"),
    (&["get", "k"], "$1\r\nv\r\n"),
    (
        &["setex", "k", "100"],
        "-ERR wrong number of arguments for 'setex' command\r\n",
    ),
    (
        &["psetex", "k", "0", "v"],
        "-ERR invalid expire time in 'psetex' command\r\n",
    ),
    (
        &["psetex", "k", "9223372036854775807", "v"],
        "-ERR invalid expire time in 'psetex' command\r\n",
    ),
    (&["psetex", "k", "100000", "v2"], "+OK\r\n"),
    (&["get", "k"], "$2\r\nv2\r\n"),
    (&["setnx", "k", "v"], ":0\r\n"),
    (&["setnx", "nn", "v"], ":1\r\n"),
    (&["setnx", "nn", "v2"], ":0\r\n"),
    (&["get", "nn"], "$1\r\nv\r\n"),
    (
        &["setnx", "nn"],
        "-ERR wrong number of arguments for 'setnx' command\r\n",
    ),
    (&["getset", "k", "newv"], "$2\r\nv2\r\n"),
    (&["getset", "nokey", "x"], "$-1\r\n"),
    (&["get", "nokey"], "$1\r\nx\r\n"),
    (
        &["getset", "k"],
        "-ERR wrong number of arguments for 'getset' command\r\n",
    ),
    (&["getdel", "k"], "$4\r\nnewv\r\n"),
    (&["getdel", "k"], "$-1\r\n"),
    (&["exists", "k"], ":0\r\n"),
    (
        &["getdel"],
        "-ERR wrong number of arguments for 'getdel' command\r\n",
    ),
    (
        &["getdel", "a", "b"],
        "-ERR wrong number of arguments for 'getdel' command\r\n",
    ),
    (
        &["get"],
        "-ERR wrong number of arguments for 'get' command\r\n",
    ),
    (
        &["get", "a", "b"],
        "-ERR wrong number of arguments for 'get' command\r\n",
    ),
];

const GETEX: &[(&[&str], &str)] = &[
    (&["getex", "nokey", "EX", "0"], "$-1\r\n"),
    (&["getex", "nokey", "EX", "abc"], "$-1\r\n"),
    (&["getex", "nokey", "NX"], "-ERR syntax error\r\n"),
    (&["getex", "nokey", "EX"], "-ERR syntax error\r\n"),
    (
        &["getex"],
        "-ERR wrong number of arguments for 'getex' command\r\n",
    ),
    (&["set", "k", "v"], "+OK\r\n"),
    (&["getex", "k"], "$1\r\nv\r\n"),
    (
        &["getex", "k", "EX", "0"],
        "-ERR invalid expire time in 'getex' command\r\n",
    ),
    (
        &["getex", "k", "EX", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["getex", "k", "EX", "-1"],
        "-ERR invalid expire time in 'getex' command\r\n",
    ),
    (
        &["getex", "k", "PX", "9223372036854775807"],
        "-ERR invalid expire time in 'getex' command\r\n",
    ),
    (
        &["getex", "k", "EX", "9223372036854775807"],
        "-ERR invalid expire time in 'getex' command\r\n",
    ),
    (&["getex", "k", "EX", "100"], "$1\r\nv\r\n"),
    (&["getex", "k", "PERSIST"], "$1\r\nv\r\n"),
    (
        &["getex", "k", "PX", "5000", "EX", "10"],
        "-ERR syntax error\r\n",
    ),
    (&["getex", "k", "EX", "10", "EX", "20"], "$1\r\nv\r\n"),
    (
        &["getex", "k", "PERSIST", "EX", "10"],
        "-ERR syntax error\r\n",
    ),
    (
        &["getex", "k", "EX", "10", "PERSIST"],
        "-ERR syntax error\r\n",
    ),
    (&["getex", "k", "KEEPTTL"], "-ERR syntax error\r\n"),
    (&["getex", "k", "GET"], "-ERR syntax error\r\n"),
    (&["getex", "k", "XX"], "-ERR syntax error\r\n"),
    (&["getex", "k", "NX"], "-ERR syntax error\r\n"),
    (&["getex", "k", "persist", "persist"], "$1\r\nv\r\n"),
    (
        &["getex", "k", "pxat", "9223372036854775807"],
        "$1\r\nv\r\n",
    ),
    (&["getex", "k", "EXAT", "1"], "$1\r\nv\r\n"),
    (&["exists", "k"], ":0\r\n"),
    (&["set", "k", "v"], "+OK\r\n"),
    (&["getex", "k", "PXAT", "1"], "$1\r\nv\r\n"),
    (&["exists", "k"], ":0\r\n"),
    (&["set", "k", "v"], "+OK\r\n"),
    (&["getex", "k", "exat", "9999999999"], "$1\r\nv\r\n"),
    (&["getex", "k", "px", "100000"], "$1\r\nv\r\n"),
];

const MSET_MGET: &[(&[&str], &str)] = &[
    (
        &["mset", "a", "1", "b"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    ),
    (&["mset", "a", "1", "b", "2"], "+OK\r\n"),
    (
        &["mset"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    ),
    (
        &["mset", "a"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    ),
    (
        &["msetnx", "a", "1", "b"],
        "-ERR wrong number of arguments for 'msetnx' command\r\n",
    ),
    (&["msetnx", "a", "1", "c", "3"], ":0\r\n"),
    (&["exists", "c"], ":0\r\n"),
    (&["msetnx", "c", "3", "d", "4"], ":1\r\n"),
    (&["msetnx", "e", "1", "e", "2"], ":1\r\n"),
    (&["get", "e"], "$1\r\n2\r\n"),
    (
        &["msetnx"],
        "-ERR wrong number of arguments for 'msetnx' command\r\n",
    ),
    (
        &["mget", "a", "b", "c", "d", "nokey"],
        "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$-1\r\n",
    ),
    (&["mget", "nokey"], "*1\r\n$-1\r\n"),
    (
        &["mget", "a", "a", "a"],
        "*3\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n1\r\n",
    ),
    (
        &["mget"],
        "-ERR wrong number of arguments for 'mget' command\r\n",
    ),
    (&["mset", "a", "x", "a", "y"], "+OK\r\n"),
    (&["get", "a"], "$1\r\ny\r\n"),
];

const APPEND_STRLEN_RANGES: &[(&[&str], &str)] = &[
    (&["append", "nokey", ""], ":0\r\n"),
    (&["exists", "nokey"], ":1\r\n"),
    (&["strlen", "nokey"], ":0\r\n"),
    (&["append", "ap", "hello"], ":5\r\n"),
    (&["append", "ap", " world"], ":11\r\n"),
    (&["get", "ap"], "$11\r\nhello world\r\n"),
    (&["strlen", "ap"], ":11\r\n"),
    (
        &["append", "ap"],
        "-ERR wrong number of arguments for 'append' command\r\n",
    ),
    (
        &["append"],
        "-ERR wrong number of arguments for 'append' command\r\n",
    ),
    (&["strlen", "nothing"], ":0\r\n"),
    (
        &["strlen"],
        "-ERR wrong number of arguments for 'strlen' command\r\n",
    ),
    (
        &["strlen", "a", "b"],
        "-ERR wrong number of arguments for 'strlen' command\r\n",
    ),
    (&["getrange", "ap", "0", "-1"], "$11\r\nhello world\r\n"),
    (&["getrange", "ap", "0", "4"], "$5\r\nhello\r\n"),
    (&["getrange", "ap", "-5", "-1"], "$5\r\nworld\r\n"),
    (&["getrange", "ap", "-1", "-5"], "$0\r\n\r\n"),
    (&["getrange", "ap", "5", "3"], "$0\r\n\r\n"),
    (&["getrange", "ap", "100", "200"], "$0\r\n\r\n"),
    (&["getrange", "ap", "-100", "2"], "$3\r\nhel\r\n"),
    (&["getrange", "ap", "3", "100"], "$8\r\nlo world\r\n"),
    (
        &["getrange", "ap", "0", "9223372036854775807"],
        "$11\r\nhello world\r\n",
    ),
    (
        &["getrange", "ap", "-9223372036854775808", "-1"],
        "$11\r\nhello world\r\n",
    ),
    (&["getrange", "ap", "-1", "-1"], "$1\r\nd\r\n"),
    (&["getrange", "ap", "0", "-100"], "$1\r\nh\r\n"),
    (&["getrange", "missing", "0", "-1"], "$0\r\n\r\n"),
    (
        &["getrange", "ap", "a", "1"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["getrange", "ap", "0", "b"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["getrange", "missing", "a", "1"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["getrange", "ap", "0", "1.5"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["getrange", "ap", "0"],
        "-ERR wrong number of arguments for 'getrange' command\r\n",
    ),
    (&["substr", "ap", "0", "3"], "$4\r\nhell\r\n"),
    (&["substr", "ap", "-3", "-1"], "$3\r\nrld\r\n"),
    (
        &["substr", "ap", "0"],
        "-ERR wrong number of arguments for 'substr' command\r\n",
    ),
    (&["set", "empty", ""], "+OK\r\n"),
    (&["get", "empty"], "$0\r\n\r\n"),
    (&["strlen", "empty"], ":0\r\n"),
    (&["getrange", "empty", "0", "-1"], "$0\r\n\r\n"),
    (&["getrange", "empty", "0", "0"], "$0\r\n\r\n"),
    (&["getrange", "empty", "-1", "-1"], "$0\r\n\r\n"),
    (&["append", "empty", ""], ":0\r\n"),
    (
        &["setrange", "k", "-1", "x"],
        "-ERR offset is out of range\r\n",
    ),
    (
        &["setrange", "k", "abc", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["setrange", "k", "0", ""], ":0\r\n"),
    (&["exists", "k"], ":0\r\n"),
    (
        &["setrange", "k", "536870912", "x"],
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    ),
    (&["setrange", "k", "536870911", ""], ":0\r\n"),
    (
        &["setrange", "k", "536870911", "xy"],
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    ),
    (
        &["setrange", "k", "9223372036854775807", "x"],
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    ),
    (&["setrange", "k", "5", "hi"], ":7\r\n"),
    (&["get", "k"], "$7\r\n\0\0\0\0\0hi\r\n"),
    (&["setrange", "k", "0", "ab"], ":7\r\n"),
    (&["get", "k"], "$7\r\nab\0\0\0hi\r\n"),
    (&["setrange", "k", "0", ""], ":7\r\n"),
    (&["setrange", "k", "10", ""], ":7\r\n"),
    (&["setrange", "k", "1", "ZZZZZZZZZZ"], ":11\r\n"),
    (&["get", "k"], "$11\r\naZZZZZZZZZZ\r\n"),
    (
        &["setrange", "k", "-1", ""],
        "-ERR offset is out of range\r\n",
    ),
    (
        &["setrange", "nokey2", "-1", ""],
        "-ERR offset is out of range\r\n",
    ),
    (
        &["setrange", "k", "0"],
        "-ERR wrong number of arguments for 'setrange' command\r\n",
    ),
    (
        &["setrange", "k", "1.5", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
];

const INTEGER_COUNTERS: &[(&[&str], &str)] = &[
    (&["incr", "n"], ":1\r\n"),
    (&["incr", "n"], ":2\r\n"),
    (&["decr", "n"], ":1\r\n"),
    (&["incrby", "n", "10"], ":11\r\n"),
    (&["decrby", "n", "3"], ":8\r\n"),
    (&["incrby", "n", "-20"], ":-12\r\n"),
    (&["decrby", "n", "-20"], ":8\r\n"),
    (
        &["incrby", "n", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["incrby", "n", "1.5"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["incrby", "n", ""],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["incrby", "n", "9223372036854775808"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["incrby", "n", "9223372036854775807"],
        "-ERR increment or decrement would overflow\r\n",
    ),
    (
        &["decrby", "n", "9223372036854775807"],
        ":-9223372036854775799\r\n",
    ),
    (&["set", "n", "9223372036854775807"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR increment or decrement would overflow\r\n",
    ),
    (&["incrby", "n", "0"], ":9223372036854775807\r\n"),
    (&["decr", "n"], ":9223372036854775806\r\n"),
    (&["set", "n", "-9223372036854775808"], "+OK\r\n"),
    (
        &["decr", "n"],
        "-ERR increment or decrement would overflow\r\n",
    ),
    (
        &["decrby", "n", "1"],
        "-ERR increment or decrement would overflow\r\n",
    ),
    (
        &["decrby", "n", "-9223372036854775808"],
        "-ERR decrement would overflow\r\n",
    ),
    (
        &["decrby", "n", "9223372036854775807"],
        "-ERR increment or decrement would overflow\r\n",
    ),
    (&["set", "n", "0"], "+OK\r\n"),
    (
        &["decrby", "n", "-9223372036854775808"],
        "-ERR decrement would overflow\r\n",
    ),
    (
        &["incrby", "n", "-9223372036854775808"],
        ":-9223372036854775808\r\n",
    ),
    (
        &["decr", "n"],
        "-ERR increment or decrement would overflow\r\n",
    ),
    (&["set", "n", "abc"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", " 1"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "1 "], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "01"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "-0"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "+1"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "1.0"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "12345678901234567890"], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", ""], "+OK\r\n"),
    (
        &["incr", "n"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["set", "n", "0"], "+OK\r\n"),
    (&["incr", "n"], ":1\r\n"),
    (&["set", "n", "-1"], "+OK\r\n"),
    (&["incr", "n"], ":0\r\n"),
    (&["incr", "n"], ":1\r\n"),
    (&["decr", "missing"], ":-1\r\n"),
    (&["incrby", "missing2", "-5"], ":-5\r\n"),
    (&["decrby", "missing3", "-5"], ":5\r\n"),
    (
        &["incr"],
        "-ERR wrong number of arguments for 'incr' command\r\n",
    ),
    (
        &["incr", "a", "b"],
        "-ERR wrong number of arguments for 'incr' command\r\n",
    ),
    (
        &["incrby", "a"],
        "-ERR wrong number of arguments for 'incrby' command\r\n",
    ),
    (
        &["decrby", "a"],
        "-ERR wrong number of arguments for 'decrby' command\r\n",
    ),
    (
        &["decr"],
        "-ERR wrong number of arguments for 'decr' command\r\n",
    ),
];

const INCRBYFLOAT: &[(&[&str], &str)] = &[
    (&["incrbyfloat", "f", "0.1"], "$3\r\n0.1\r\n"),
    (&["incrbyfloat", "f", "0.2"], "$3\r\n0.3\r\n"),
    (&["incrbyfloat", "f", "0.1"], "$3\r\n0.4\r\n"),
    (&["get", "f"], "$3\r\n0.4\r\n"),
    (&["incrbyfloat", "g", "10.5"], "$4\r\n10.5\r\n"),
    (&["incrbyfloat", "g", "0.1"], "$4\r\n10.6\r\n"),
    (&["incrbyfloat", "g", "-5.6"], "$1\r\n5\r\n"),
    (&["incrbyfloat", "g", "-5"], "$1\r\n0\r\n"),
    (&["incrbyfloat", "i", "1e-300"], "$1\r\n0\r\n"),
    (&["incrbyfloat", "j", "3.0e3"], "$4\r\n3000\r\n"),
    (&["incrbyfloat", "j", "2.0e2"], "$4\r\n3200\r\n"),
    (&["incrbyfloat", "k", "0.000003814697265625"], "$19\r\n0.00000381469726562\r\n"),
    (&["incrbyfloat", "k2", "0.000011444091796875"], "$19\r\n0.00001144409179688\r\n"),
    (&["incrbyfloat", "l", "1.5e-17"], "$19\r\n0.00000000000000002\r\n"),
    (&["incrbyfloat", "m", "-0.0"], "$1\r\n0\r\n"),
    (&["incrbyfloat", "m2", "-1e-20"], "$1\r\n0\r\n"),
    (&["incrbyfloat", "n", "0x10"], "$2\r\n16\r\n"),
    (&["incrbyfloat", "n", "0x1.8p1"], "$2\r\n19\r\n"),
    (&["incrbyfloat", "o", "inf"], "-ERR increment would produce NaN or Infinity\r\n"),
    (&["incrbyfloat", "o", "-inf"], "-ERR increment would produce NaN or Infinity\r\n"),
    (&["incrbyfloat", "o", "nan"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "o", "abc"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "o", " 1"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "o", "1 "], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "o", ""], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "o", "1e5000"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "o", "1e-5000"], "-ERR value is not a valid float\r\n"),
    (&["exists", "o"], ":0\r\n"),
    (&["incrbyfloat", "q", "1.7976931348623157e308"], "$309\r\n179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384\r\n"),
    (&["incrbyfloat", "r", "123456789012345678901234567890"], "$30\r\n123456789012345678899921813504\r\n"),
    (&["incrbyfloat", "s", "0.1234567890123456789"], "$19\r\n0.12345678901234568\r\n"),
    (&["incrbyfloat", "t", "9007199254740993"], "$16\r\n9007199254740993\r\n"),
    (&["incrbyfloat", "t2", "18446744073709551617"], "$20\r\n18446744073709551616\r\n"),
    (&["incrbyfloat", "u", "3.14159265358979323846264338327950288"], "$19\r\n3.14159265358979324\r\n"),
    (&["incrbyfloat", "v", "1e-17"], "$19\r\n0.00000000000000001\r\n"),
    (&["incrbyfloat", "v2", "5e-18"], "$1\r\n0\r\n"),
    (&["incrbyfloat", "w", "+5"], "$1\r\n5\r\n"),
    (&["incrbyfloat", "w", ".5"], "$3\r\n5.5\r\n"),
    (&["incrbyfloat", "w", "5."], "$4\r\n10.5\r\n"),
    (&["incrbyfloat", "w", "1_0"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "w", "1e"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "w", "infinity"], "-ERR increment would produce NaN or Infinity\r\n"),
    (&["incrbyfloat", "w", "0X1P-2"], "$5\r\n10.75\r\n"),
    (&["incrbyfloat", "w", "1E2"], "$6\r\n110.75\r\n"),
    (&["incrbyfloat", "w", "00012"], "$6\r\n122.75\r\n"),
    (&["set", "x", "abc"], "+OK\r\n"),
    (&["incrbyfloat", "x", "1"], "-ERR value is not a valid float\r\n"),
    (&["set", "y", "5"], "+OK\r\n"),
    (&["incrbyfloat", "y", "abc"], "-ERR value is not a valid float\r\n"),
    (&["set", "z", "inf"], "+OK\r\n"),
    (&["incrbyfloat", "z", "1"], "-ERR increment would produce NaN or Infinity\r\n"),
    (&["set", "z3", "1.5 "], "+OK\r\n"),
    (&["incrbyfloat", "z3", "1"], "-ERR value is not a valid float\r\n"),
    (&["incrbyfloat", "aa", "1.1"], "$3\r\n1.1\r\n"),
    (&["incrbyfloat", "aa", "2.2"], "$3\r\n3.3\r\n"),
    (&["incrbyfloat", "bb", "100"], "$3\r\n100\r\n"),
    (&["incrbyfloat", "bb", "0.00000000000000001"], "$21\r\n100.00000000000000001\r\n"),
    (&["incrbyfloat", "cc", "1e17"], "$18\r\n100000000000000000\r\n"),
    (&["incrbyfloat", "cc", "0.5"], "$20\r\n100000000000000000.5\r\n"),
    (&["incrbyfloat", "ee", "1e20"], "$21\r\n100000000000000000000\r\n"),
    (&["incrbyfloat", "ee", "1"], "$21\r\n100000000000000000000\r\n"),
    (&["incrbyfloat", "ff", "-1.5"], "$4\r\n-1.5\r\n"),
    (&["incrbyfloat", "ff", "1.5"], "$1\r\n0\r\n"),
    (&["incrbyfloat", "gg", "0.3"], "$3\r\n0.3\r\n"),
    (&["incrbyfloat", "gg", "-0.1"], "$3\r\n0.2\r\n"),
    (&["incrbyfloat", "gg", "-0.2"], "$1\r\n0\r\n"),
    (&["set", "hh", "10"], "+OK\r\n"),
    (&["incrbyfloat", "hh", "1"], "$2\r\n11\r\n"),
    (&["incr", "hh"], ":12\r\n"),
    (&["set", "mx", "1.18973149535723176502e+4932"], "+OK\r\n"),
    (&["incrbyfloat", "mx", "1.18973149535723176502e+4932"], "-ERR increment would produce NaN or Infinity\r\n"),
    (&["incrbyfloat", "mx", "-1.18973149535723176502e+4932"], "$1\r\n0\r\n"),
    (&["incrbyfloat"], "-ERR wrong number of arguments for 'incrbyfloat' command\r\n"),
    (&["incrbyfloat", "a"], "-ERR wrong number of arguments for 'incrbyfloat' command\r\n"),
];

const MULTI_EXEC: &[(&[&str], &str)] = &[
    (&["multi"], "+OK\r\n"),
    (&["set", "a", "1"], "+QUEUED\r\n"),
    (&["incr", "a"], "+QUEUED\r\n"),
    (&["mget", "a", "b"], "+QUEUED\r\n"),
    (&["set", "b", "x", "get"], "+QUEUED\r\n"),
    (&["mset", "a", "5", "b", "6"], "+QUEUED\r\n"),
    (&["mget", "a", "b"], "+QUEUED\r\n"),
    (&["getex", "a", "PERSIST"], "+QUEUED\r\n"),
    (&["incrbyfloat", "a", "0.5"], "+QUEUED\r\n"),
    (&["set", "c", "v", "nx", "get"], "+QUEUED\r\n"),
    (&["getdel", "b"], "+QUEUED\r\n"),
    (&["append", "c", "w"], "+QUEUED\r\n"),
    (&["strlen", "c"], "+QUEUED\r\n"),
    (&["incrby", "a", "1"], "+QUEUED\r\n"),
    (&["exec"], "*13\r\n+OK\r\n:2\r\n*2\r\n$1\r\n2\r\n$-1\r\n$-1\r\n+OK\r\n*2\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n5\r\n$3\r\n5.5\r\n$-1\r\n$1\r\n6\r\n:2\r\n:2\r\n-ERR value is not an integer or out of range\r\n"),
];

/// (command, keyspace_hits added, keyspace_misses added), as Redis counts.
const LOOKUP_COUNTS: &[(&[&str], u64, u64)] = &[
    (&["set", "a", "1"], 0, 0),
    (&["get", "a"], 1, 0),
    (&["get", "zz"], 0, 1),
    (&["set", "a", "2", "get"], 1, 0),
    (&["set", "zz", "2", "get"], 0, 1),
    (&["set", "a", "3", "ex", "0", "get"], 0, 0),
    (&["strlen", "a"], 1, 0),
    (&["strlen", "nokey"], 0, 1),
    (&["append", "a", "x"], 0, 0),
    (&["incr", "c"], 0, 0),
    (&["mget", "a", "b", "c"], 2, 1),
    (&["getrange", "a", "0", "1"], 1, 0),
    (&["getrange", "nokey", "0", "1"], 0, 1),
    (&["getrange", "a", "x", "1"], 0, 0),
    (&["getex", "a"], 1, 0),
    (&["getex", "nokey"], 0, 1),
    (&["getex", "nokey", "EX", "0"], 0, 1),
    (&["getex", "a", "EX", "0"], 1, 0),
    (&["getset", "a", "1"], 1, 0),
    (&["getset", "new", "1"], 0, 1),
    (&["getdel", "a"], 1, 0),
    (&["getdel", "a"], 0, 1),
    (&["setnx", "a", "1"], 0, 0),
    (&["setrange", "a", "1", "x"], 0, 0),
    (&["msetnx", "a", "1"], 0, 0),
    (&["incrbyfloat", "a", "1"], 0, 0),
    (&["substr", "a", "0", "1"], 1, 0),
];

#[test]
fn set_family_replies_match_redis() {
    check_table(SET_FAMILY);
}

#[test]
fn getex_replies_match_redis() {
    check_table(GETEX);
}

#[test]
fn mset_mget_replies_match_redis() {
    check_table(MSET_MGET);
}

#[test]
fn append_strlen_getrange_setrange_replies_match_redis() {
    check_table(APPEND_STRLEN_RANGES);
}

#[test]
fn integer_counter_replies_match_redis() {
    check_table(INTEGER_COUNTERS);
}

#[test]
fn incrbyfloat_replies_match_redis() {
    check_table(INCRBYFLOAT);
}

#[test]
fn string_commands_inside_multi_exec_match_redis() {
    check_table(MULTI_EXEC);
}

fn ttl(c: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query(c).expect("TTL")
}

fn run(c: &mut redis::Connection, cmd: &[&str]) -> redis::Value {
    let mut q = redis::cmd(cmd[0]);
    for a in &cmd[1..] {
        q.arg(*a);
    }
    q.query(c).unwrap_or_else(|e| panic!("{cmd:?} failed: {e}"))
}

#[test]
fn edits_keep_the_ttl_and_overwrites_clear_it() {
    let s = Server::start();
    let mut c = s.conn();
    let keeps: &[&[&str]] = &[
        &["APPEND", "k", "1"],
        &["SETRANGE", "k", "0", "2"],
        &["SETRANGE", "k", "0", ""],
        &["INCR", "k"],
        &["DECR", "k"],
        &["INCRBY", "k", "5"],
        &["DECRBY", "k", "5"],
        &["INCRBYFLOAT", "k", "1.5"],
        &["SET", "k", "v", "KEEPTTL"],
        &["SET", "k", "v", "XX", "KEEPTTL", "GET"],
        &["GETEX", "k"],
        &["GET", "k"],
    ];
    for op in keeps {
        run(&mut c, &["SETEX", "k", "1000", "10"]);
        run(&mut c, op);
        let t = ttl(&mut c, "k");
        assert!((990..=1000).contains(&t), "{op:?} left TTL {t}");
    }
    let clears: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["SET", "k", "v", "XX"],
        &["SET", "k", "v", "GET"],
        &["GETSET", "k", "v"],
        &["MSET", "k", "v", "other", "v"],
        &["GETEX", "k", "PERSIST"],
    ];
    for op in clears {
        run(&mut c, &["SETEX", "k", "1000", "10"]);
        run(&mut c, op);
        assert_eq!(ttl(&mut c, "k"), -1, "{op:?} kept the TTL");
    }
    // SETNX and MSETNX do nothing to an existing key.
    run(&mut c, &["SETEX", "k", "1000", "10"]);
    run(&mut c, &["SETNX", "k", "v"]);
    run(&mut c, &["MSETNX", "k", "v"]);
    assert!(ttl(&mut c, "k") > 990);

    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let sets: &[(&[&str], std::ops::RangeInclusive<i64>)] = &[
        (&["SET", "k", "v", "EX", "500"], 490..=500),
        (&["SET", "k", "v", "PX", "500000"], 490..=500),
        (&["SETEX", "k", "500", "v"], 490..=500),
        (&["PSETEX", "k", "500000", "v"], 490..=500),
        (&["GETEX", "k", "EX", "700"], 690..=700),
        (&["GETEX", "k", "PX", "700000"], 690..=700),
    ];
    for (op, range) in sets {
        run(&mut c, &["SET", "k", "v"]);
        run(&mut c, op);
        let t = ttl(&mut c, "k");
        assert!(range.contains(&t), "{op:?} gave TTL {t}");
    }
    let at = (now_s + 800).to_string();
    let at_ms = ((now_s + 800) * 1000).to_string();
    let absolute: [&[&str]; 4] = [
        &["SET", "k", "v", "EXAT", &at],
        &["SET", "k", "v", "PXAT", &at_ms],
        &["GETEX", "k", "EXAT", &at],
        &["GETEX", "k", "PXAT", &at_ms],
    ];
    for op in absolute {
        run(&mut c, &["SET", "k", "v"]);
        run(&mut c, op);
        let t = ttl(&mut c, "k");
        assert!((790..=801).contains(&t), "{op:?} gave TTL {t}");
    }
}

#[test]
fn px_expiry_takes_effect() {
    let s = Server::start();
    let mut c = s.conn();
    let start = Instant::now();
    run(&mut c, &["SET", "k", "v", "PX", "200"]);
    let v: Option<String> = c.get("k").expect("GET");
    assert_eq!(v.as_deref(), Some("v"));
    // Polled, bounded: the key must disappear, and not before its time.
    loop {
        let v: Option<String> = c.get("k").expect("GET");
        if v.is_none() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(start.elapsed() >= Duration::from_millis(190));
    assert_eq!(c.strlen::<_, i64>("k").expect("STRLEN"), 0);
}

#[test]
fn keys_and_values_are_binary_safe() {
    let s = Server::start();
    let mut c = s.conn();
    let key: &[u8] = b"k\r\n\0ey\xff";
    let other: &[u8] = b"\0";
    let mut value: Vec<u8> = (0..=255u8).collect();
    value.extend_from_slice(b"\r\n$-1\r\n\0");
    let _: () = c.set(key, &value).expect("SET");
    let got: Vec<u8> = c.get(key).expect("GET");
    assert_eq!(got, value);
    assert_eq!(c.strlen::<_, usize>(key).expect("STRLEN"), value.len());

    let len: usize = c.append(key, b"\r\n\0").expect("APPEND");
    value.extend_from_slice(b"\r\n\0");
    assert_eq!(len, value.len());
    let len: usize = c.setrange(key, 1, b"\0\r").expect("SETRANGE");
    value[1..3].copy_from_slice(b"\0\r");
    assert_eq!(len, value.len());
    let range: Vec<u8> = c.getrange(key, 0, 20).expect("GETRANGE");
    assert_eq!(range, value[..21]);

    let _: () = c.mset(&[(other, b"\r\n".as_slice())]).expect("MSET");
    let both: Vec<Vec<u8>> = c.mget(&[key, other]).expect("MGET");
    assert_eq!(both, vec![value.clone(), b"\r\n".to_vec()]);
    let old: Vec<u8> = c.getset(other, b"\0\0").expect("GETSET");
    assert_eq!(old, b"\r\n");
    let old: Vec<u8> = redis::cmd("GETDEL").arg(key).query(&mut c).expect("GETDEL");
    assert_eq!(old, value);
    assert!(!c.exists::<_, bool>(key).expect("EXISTS"));

    // The same through raw bytes: the reply frames the value by length.
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"SET", b"a\r\nb", b"x\r\n$3\r\n"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"GET", b"a\r\nb"]), b"$7\r\nx\r\n$3\r\n\r\n");
}

#[test]
fn empty_values_are_values() {
    let s = Server::start();
    let mut r = s.raw();
    let cases: &[(&[&[u8]], &[u8])] = &[
        (&[b"SET", b"e", b""], b"+OK\r\n"),
        (&[b"GET", b"e"], b"$0\r\n\r\n"),
        (&[b"EXISTS", b"e"], b":1\r\n"),
        (&[b"STRLEN", b"e"], b":0\r\n"),
        (&[b"GETRANGE", b"e", b"0", b"-1"], b"$0\r\n\r\n"),
        (&[b"MGET", b"e", b"none"], b"*2\r\n$0\r\n\r\n$-1\r\n"),
        (&[b"APPEND", b"e", b""], b":0\r\n"),
        (&[b"SETRANGE", b"e", b"0", b""], b":0\r\n"),
        (&[b"SETNX", b"e", b"x"], b":0\r\n"),
        (
            &[b"INCR", b"e"],
            b"-ERR value is not an integer or out of range\r\n",
        ),
        (&[b"GETDEL", b"e"], b"$0\r\n\r\n"),
        (&[b"EXISTS", b"e"], b":0\r\n"),
        (&[b"APPEND", b"e", b""], b":0\r\n"),
        (&[b"EXISTS", b"e"], b":1\r\n"),
        (&[b"GETSET", b"e", b""], b"$0\r\n\r\n"),
        (&[b"SET", b"", b"empty key"], b"+OK\r\n"),
        (&[b"GET", b""], b"$9\r\nempty key\r\n"),
    ];
    for (cmd, want) in cases {
        assert_eq!(
            String::from_utf8_lossy(&r.cmd(cmd)),
            String::from_utf8_lossy(want),
            "{:?}",
            cmd.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn hundred_megabyte_value_round_trips() {
    let s = Server::start();
    let mut c = s.conn();
    let len = 100 * 1024 * 1024;
    let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let _: () = c.set("big", &value).expect("SET");
    assert_eq!(c.strlen::<_, usize>("big").expect("STRLEN"), len);
    let tail: Vec<u8> = c.getrange("big", -10, -1).expect("GETRANGE");
    assert_eq!(tail, value[len - 10..]);
    let got: Vec<u8> = c.get("big").expect("GET");
    assert!(got == value, "100 MB value came back different");
}

#[test]
fn size_limit_follows_proto_max_bulk_len() {
    let s = Server::start_with(&["--proto-max-bulk-len", "1mb"]);
    let mut r = s.raw();
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    // Replies of Redis 7.0.15 with proto-max-bulk-len 1mb.
    for (cmd, want) in [
        ("SETRANGE pm 1048576 x", too_big),
        ("SETRANGE pm 1048575 x", ":1048576\r\n"),
        ("STRLEN pm", ":1048576\r\n"),
        ("APPEND pm x", too_big),
        ("SETRANGE pm2 1048570 x", ":1048571\r\n"),
        ("APPEND pm2 12345", ":1048576\r\n"),
        ("APPEND pm2 6", too_big),
        ("STRLEN pm2", ":1048576\r\n"),
    ] {
        assert_eq!(r.cmd_str(cmd), want, "{cmd}");
    }
}

fn lookups(c: &mut redis::Connection) -> (u64, u64) {
    let info: String = redis::cmd("INFO").arg("stats").query(c).expect("INFO");
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in INFO stats"))
    };
    (field("keyspace_hits:"), field("keyspace_misses:"))
}

#[test]
fn keyspace_hits_and_misses_are_counted_like_redis() {
    let s = Server::start();
    let mut c = s.conn();
    for (cmd, hits, misses) in LOOKUP_COUNTS {
        let before = lookups(&mut c);
        let mut q = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            q.arg(*a);
        }
        // Some of these are meant to fail; only the counters matter here.
        let _: redis::RedisResult<redis::Value> = q.query(&mut c);
        let after = lookups(&mut c);
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (*hits, *misses),
            "{cmd:?}"
        );
    }
}

#[test]
fn concurrent_incr_loses_no_update() {
    let s = Server::start();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let _: i64 = c.incr("counter", 1).expect("INCR");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    let mut c = s.conn();
    let n: i64 = c.get("counter").expect("GET");
    assert_eq!(n, 10_000);
}

#[test]
fn concurrent_mget_never_sees_half_an_mset() {
    let s = Server::start();
    let keys: Vec<String> = (0..16).map(|i| format!("key:{i}")).collect();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let mut c = s.conn();
            let keys = keys.clone();
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let (mut reads, mut torn) = (0u64, Vec::new());
                while !done.load(Ordering::Acquire) {
                    let values: Vec<Option<String>> = c.mget(&keys).expect("MGET");
                    reads += 1;
                    if values.iter().any(|v| v != &values[0]) {
                        torn.push(values);
                    }
                }
                (reads, torn)
            })
        })
        .collect();
    let mut w = s.conn();
    for round in 0..3000 {
        // Values of a few KB so that one MGET spans many reads.
        let value = format!("{round:0>2000}");
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
        let _: () = w.mset(&pairs).expect("MSET");
    }
    done.store(true, Ordering::Release);
    let mut total = 0;
    for r in readers {
        let (reads, torn) = r.join().expect("reader thread");
        assert!(
            torn.is_empty(),
            "MGET saw a mix of two MSETs: {:?}",
            &torn[0]
        );
        total += reads;
    }
    assert!(total > 0, "the readers never ran");
}

#[test]
fn resp3_shapes_match_redis() {
    let s = Server::start();
    let mut r = s.raw();
    let hello = r.cmd(&[b"HELLO", b"3"]);
    assert!(hello.starts_with(b"%"), "HELLO 3 did not switch to RESP3");
    // Replies of Redis 7.0.15 after HELLO 3.
    for (cmd, want) in [
        ("GET nokey", "_\r\n"),
        ("SET a 1", "+OK\r\n"),
        ("MGET a nokey", "*2\r\n$1\r\n1\r\n_\r\n"),
        ("INCRBYFLOAT f 1.5", "$3\r\n1.5\r\n"),
        ("INCRBYFLOAT f 0.1", "$3\r\n1.6\r\n"),
        ("SET a 2 NX", "_\r\n"),
        ("SET a 2 NX GET", "$1\r\n1\r\n"),
        ("SET b 2 XX GET", "_\r\n"),
        ("GETDEL nokey", "_\r\n"),
        ("GETEX nokey", "_\r\n"),
        ("GETSET nokey 1", "_\r\n"),
        ("INCR i", ":1\r\n"),
        ("STRLEN a", ":1\r\n"),
    ] {
        assert_eq!(r.cmd_str(cmd), want, "{cmd}");
    }
}

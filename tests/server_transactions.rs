//! MULTI/EXEC/DISCARD/WATCH as redis-py's pipeline() and transaction()
//! use them: queued replies, EXEC's array, EXECABORT after a queueing
//! error, a null EXEC when a watched key changed, and atomicity of one EXEC
//! with respect to other clients.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::Server;

#[test]
fn queued_commands_run_at_exec_with_their_replies() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"MULTI"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"a", b"1"]), b"+QUEUED\r\n");
    assert_eq!(r.cmd(&[b"INCR", b"a"]), b"+QUEUED\r\n");
    assert_eq!(r.cmd(&[b"GET", b"a"]), b"+QUEUED\r\n");
    assert_eq!(r.cmd(&[b"EXEC"]), b"*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
}

#[test]
fn runtime_errors_inside_exec_do_not_stop_the_rest() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"SET", b"s", b"abc"]);
    r.cmd(&[b"MULTI"]);
    r.cmd(&[b"INCR", b"s"]);
    r.cmd(&[b"SET", b"t", b"1"]);
    assert_eq!(
        r.cmd(&[b"EXEC"]),
        b"*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
    );
}

#[test]
fn queueing_error_aborts_exec() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"MULTI"]);
    assert_eq!(r.cmd(&[b"SET", b"a", b"1"]), b"+QUEUED\r\n");
    assert_eq!(
        r.cmd(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        r.cmd(&[b"NOSUCHCMD"]),
        b"-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n"
    );
    assert_eq!(
        r.cmd(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(r.cmd(&[b"EXISTS", b"a"]), b":0\r\n");
}

#[test]
fn hello_inside_multi_switches_the_protocol_mid_exec() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"MULTI"]);
    r.cmd(&[b"GET", b"missing"]);
    r.cmd(&[b"HELLO", b"3"]);
    r.cmd(&[b"GET", b"missing"]);
    let reply = r.cmd(&[b"EXEC"]);
    // Each reply in the protocol current when its command ran, as Redis.
    assert!(reply.starts_with(b"*3\r\n$-1\r\n%7\r\n"), "{reply:?}");
    assert!(reply.ends_with(b"*0\r\n_\r\n"), "{reply:?}");
    r.cmd(&[b"MULTI"]);
    r.cmd(&[b"GET", b"missing"]);
    r.cmd(&[b"HELLO", b"2"]);
    r.cmd(&[b"GET", b"missing"]);
    let reply = r.cmd(&[b"EXEC"]);
    assert!(reply.starts_with(b"*3\r\n_\r\n*14\r\n"), "{reply:?}");
    assert!(reply.ends_with(b"*0\r\n$-1\r\n"), "{reply:?}");
}

#[test]
fn misuse_errors_match_redis() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd(&[b"EXEC"]), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(r.cmd(&[b"DISCARD"]), b"-ERR DISCARD without MULTI\r\n");
    r.cmd(&[b"MULTI"]);
    assert_eq!(
        r.cmd(&[b"MULTI"]),
        b"-ERR MULTI calls can not be nested\r\n"
    );
    assert_eq!(
        r.cmd(&[b"WATCH", b"x"]),
        b"-ERR WATCH inside MULTI is not allowed\r\n"
    );
    r.cmd(&[b"SET", b"a", b"1"]);
    assert_eq!(r.cmd(&[b"DISCARD"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"GET", b"a"]), b"$-1\r\n");
}

#[test]
fn bad_subcommands_are_refused_at_queueing() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&[b"MULTI"]);
    // As Redis: checked before queueing, so EXEC aborts.
    assert_eq!(
        r.cmd(&[b"CLIENT", b"FOO"]),
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"COMMAND", b"GETKEYS"]),
        b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"
    );
    assert_eq!(r.cmd(&[b"CLIENT", b"GETNAME"]), b"+QUEUED\r\n");
    assert_eq!(
        r.cmd(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
}

#[test]
fn watched_key_changed_by_another_client_aborts_exec() {
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmd(&[b"SET", b"w", b"1"]);
    assert_eq!(a.cmd(&[b"WATCH", b"w"]), b"+OK\r\n");
    b.cmd(&[b"SET", b"w", b"2"]);
    a.cmd(&[b"MULTI"]);
    a.cmd(&[b"SET", b"w", b"3"]);
    assert_eq!(a.cmd(&[b"EXEC"]), b"*-1\r\n");
    assert_eq!(a.cmd(&[b"GET", b"w"]), b"$1\r\n2\r\n");
    // The watch is gone after EXEC: the next transaction goes through.
    a.cmd(&[b"MULTI"]);
    a.cmd(&[b"SET", b"w", b"4"]);
    assert_eq!(a.cmd(&[b"EXEC"]), b"*1\r\n+OK\r\n");
}

#[test]
fn watch_of_untouched_key_and_unwatch_let_exec_through() {
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmd(&[b"WATCH", b"x"]);
    b.cmd(&[b"SET", b"other", b"1"]);
    a.cmd(&[b"MULTI"]);
    a.cmd(&[b"SET", b"x", b"1"]);
    assert_eq!(a.cmd(&[b"EXEC"]), b"*1\r\n+OK\r\n");
    a.cmd(&[b"WATCH", b"x"]);
    b.cmd(&[b"SET", b"x", b"2"]);
    a.cmd(&[b"UNWATCH"]);
    a.cmd(&[b"MULTI"]);
    a.cmd(&[b"SET", b"x", b"3"]);
    assert_eq!(a.cmd(&[b"EXEC"]), b"*1\r\n+OK\r\n");
}

#[test]
fn redis_crate_transaction_helper_retries_on_conflict() {
    let s = Server::start();
    let mut c = s.conn();
    let mut other = s.conn();
    let _: () = redis::cmd("SET")
        .arg("counter")
        .arg(10)
        .query(&mut c)
        .expect("set");
    let mut attempts = 0;
    let (v,): (i64,) = redis::transaction(&mut c, &["counter"], |con, pipe| {
        attempts += 1;
        let cur: i64 = redis::cmd("GET").arg("counter").query(con)?;
        if attempts == 1 {
            // Another client changes the key between WATCH and EXEC.
            let _: () = redis::cmd("INCR").arg("counter").query(&mut other)?;
        }
        pipe.set("counter", cur + 5)
            .ignore()
            .get("counter")
            .query(con)
    })
    .expect("transaction");
    assert_eq!(attempts, 2, "the first EXEC must abort");
    assert_eq!(v, 16);
}

/// Readers must never see half of an EXEC: two keys always move together.
#[test]
fn exec_is_atomic_for_concurrent_readers() {
    let s = Server::start();
    let mut w = s.conn();
    let _: () = redis::cmd("MSET")
        .arg("x")
        .arg(0)
        .arg("y")
        .arg(0)
        .query(&mut w)
        .expect("mset");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let client = s.client();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut c = client.get_connection().expect("connect");
            let mut checks = 0;
            while !stop.load(Ordering::Relaxed) {
                let (x, y): (i64, i64) = redis::cmd("MGET")
                    .arg("x")
                    .arg("y")
                    .query(&mut c)
                    .expect("mget");
                assert_eq!(x, y, "saw half of a transaction");
                checks += 1;
            }
            checks
        })
    };
    for i in 1..=300 {
        let _: () = redis::pipe()
            .atomic()
            .set("x", i)
            .ignore()
            .set("y", i)
            .ignore()
            .query(&mut w)
            .expect("exec");
    }
    stop.store(true, Ordering::Relaxed);
    let checks = reader.join().expect("reader");
    assert!(checks > 0);
}

/// Every command the server lists, queued inside MULTI and run by EXEC,
/// must answer and leave the server serving. EXEC holds the engine's
/// writer lock while the queued commands run, and INFO once waited for
/// that same lock: `MULTI; INFO; EXEC` hung the whole server.
#[test]
fn every_command_inside_exec_answers_and_the_server_keeps_serving() {
    // A plausible invocation per top-level command ("quit", "reset",
    // "shutdown" and the transaction commands themselves end or change
    // the transaction, so they are tried separately in other tests).
    const INVOCATIONS: &[&str] = &[
        "append k v",
        "auth nopass",
        "bgrewriteaof",
        "bgsave",
        "client id",
        "command count",
        "config get maxclients",
        "copy k k2",
        "dbsize",
        "decr n",
        "decrby n 2",
        "del k2",
        "echo hi",
        "exists k",
        "expire k 100",
        "expireat k 4000000000",
        "expiretime k",
        "flushall",
        "flushdb",
        "get k",
        "getdel k",
        "getex k persist",
        "getrange k 0 -1",
        "getset k v",
        "hello 2",
        "incr n",
        "incrby n 3",
        "incrbyfloat f 1.5",
        "info",
        "keyrange - + 0 10",
        "keys *",
        "lastsave",
        "mget k n",
        "mset a 1 b 2",
        "msetnx c 1 d 2",
        "persist k",
        "pexpire k 100000",
        "pexpireat k 4000000000000",
        "pexpiretime k",
        "ping",
        "psetex p 100000 v",
        "pttl k",
        "randomkey",
        "rename a a2",
        "renamenx b b2",
        "save",
        "scan 0",
        "select 0",
        "set k v",
        "setex s 100 v",
        "setnx k v",
        "setrange k 2 xyz",
        "strlen k",
        "substr k 0 1",
        "swapdb 0 0",
        "time",
        "touch k",
        "ttl k",
        "type k",
        "unlink k",
    ];
    const SEPARATE: &[&str] = &[
        "quit", "reset", "shutdown", "multi", "exec", "discard", "watch", "unwatch",
    ];
    let s = Server::start();
    let mut c = s.conn();
    let listed: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut c)
        .expect("command list");
    for name in listed.iter().filter(|n| !n.contains('|')) {
        assert!(
            SEPARATE.contains(&name.as_str())
                || INVOCATIONS
                    .iter()
                    .any(|i| i.split(' ').next() == Some(name.as_str())),
            "no invocation for '{name}': add one so EXEC is tried with it"
        );
    }
    let mut r = s.raw();
    r.stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    for line in INVOCATIONS {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        r.cmd(&[b"SET", b"k", b"value"]);
        r.cmd(&[b"SET", b"n", b"10"]);
        assert_eq!(r.cmd(&[b"MULTI"]), b"+OK\r\n", "{line}");
        assert_eq!(r.cmd(&[b"SET", b"before", b"1"]), b"+QUEUED\r\n", "{line}");
        let queued = r.cmd(&words);
        let exec = String::from_utf8_lossy(&r.cmd(&[b"EXEC"])).into_owned();
        if queued == b"+QUEUED\r\n" {
            assert!(exec.starts_with("*2\r\n+OK\r\n"), "{line}: {exec:?}");
        } else {
            assert!(exec.starts_with("-EXECABORT"), "{line}: {exec:?}");
        }
        // Another client is still served.
        let pong: String = redis::cmd("PING").query(&mut c).expect("ping");
        assert_eq!(pong, "PONG", "after EXEC with {line}");
    }
}

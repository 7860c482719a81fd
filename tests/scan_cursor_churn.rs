//! Fault: other clients churn SCAN cursors (one client pipelining 120,000
//! `SCAN 0 COUNT 1`, which used to push every other client's cursor out of
//! a shared table of 100,000), and pooled clients continue an iteration on
//! another connection, including after the first one closed.
//!
//! Promise: no client's churn invalidates another client's cursors; a
//! cursor issued on one connection works on any other, also once its
//! connection has closed; a walk beside the churn returns every key
//! exactly once and never `ERR invalid cursor`; a connection keeps at most
//! `PER_CONN` (128, docs/SCAN.md) cursors, losing its own oldest first and
//! never another connection's.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::Server;

type Key = Vec<u8>;

/// Cursors one open connection keeps (docs/SCAN.md, `Limits::DEFAULT`).
const PER_CONN: usize = 128;
/// SCAN calls the churning client sends.
const CHURN: usize = 120_000;
/// Calls per pipeline (bounds the client's buffers).
const BATCH: usize = 10_000;

fn keys(n: usize) -> Vec<Key> {
    (0..n).map(|i| format!("key:{i:05}").into_bytes()).collect()
}

fn load(c: &mut redis::Connection, keys: &[Key]) {
    let mut p = redis::pipe();
    for k in keys {
        p.cmd("SET").arg(k.as_slice()).arg(1).ignore();
    }
    p.query::<()>(c).expect("load");
}

/// One SCAN call; a server error is returned, not panicked on.
fn scan(
    c: &mut redis::Connection,
    cursor: u64,
    count: usize,
) -> redis::RedisResult<(u64, Vec<Key>)> {
    redis::cmd("SCAN")
        .arg(cursor)
        .arg("COUNT")
        .arg(count)
        .query(c)
}

/// `n` pipelined `SCAN 0 COUNT 1`; returns the cursors, each checked to be
/// a fresh one (nonzero).
fn churn(c: &mut redis::Connection, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let batch = left.min(BATCH);
        let mut p = redis::pipe();
        for _ in 0..batch {
            p.cmd("SCAN").arg(0).arg("COUNT").arg(1);
        }
        let replies: Vec<(u64, Vec<Key>)> = p.query(c).expect("churn");
        assert_eq!(replies.len(), batch);
        out.extend(replies.into_iter().map(|(cursor, _)| cursor));
        left -= batch;
    }
    assert!(out.iter().all(|&c| c != 0));
    out
}

/// Walks on from `cursor` to the end; panics with the step on an error.
fn walk_from(c: &mut redis::Connection, mut cursor: u64, count: usize, out: &mut Vec<Key>) {
    for step in 0..1_000_000 {
        let (next, page) = scan(c, cursor, count)
            .unwrap_or_else(|e| panic!("step {step}: SCAN {cursor} failed: {e}"));
        out.extend(page);
        if next == 0 {
            return;
        }
        cursor = next;
    }
    panic!("SCAN never finished");
}

fn assert_exactly_once(got: &[Key], want: &[Key]) {
    let unique: BTreeSet<&Key> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "a key came back twice");
    assert_eq!(got.len(), want.len(), "keys missing");
    assert!(want.iter().all(|k| unique.contains(k)), "keys missing");
}

/// A cursor is valid when a call that runs to the end (so issues no new
/// cursor) succeeds with it.
fn is_valid(c: &mut redis::Connection, cursor: u64) -> bool {
    match scan(c, cursor, 1_000_000) {
        Ok((0, _)) => true,
        Ok((next, _)) => panic!("a huge COUNT did not finish: {next}"),
        Err(e) => {
            assert_eq!(e.code(), Some("ERR"), "{e}");
            assert!(e.to_string().contains("invalid cursor"), "{e}");
            false
        }
    }
}

fn info_field(c: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(c).expect("info");
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

/// Waits (bounded) until the server no longer lists client `id`.
fn wait_closed(c: &mut redis::Connection, id: u64) {
    let needle = format!("id={id} ");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(c)
            .expect("client list");
        if !list.lines().any(|l| l.starts_with(&needle)) {
            return;
        }
        assert!(Instant::now() < deadline, "client {id} never went away");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn another_clients_churn_never_breaks_a_walk() {
    let s = Server::start();
    let mut walker = s.conn();
    let want = keys(2000);
    load(&mut walker, &want);
    let mut got = Vec::new();
    let (first, page) = scan(&mut walker, 0, 10).expect("first page");
    got.extend(page);
    // All 120,000 calls land between two steps of the walk.
    let mut churner = s.conn();
    churn(&mut churner, CHURN);
    let (second, page) = scan(&mut walker, first, 10).expect("cursor survived the churn");
    got.extend(page);
    // And again while the walk goes on, from another thread.
    let url = s.url();
    let noisy = std::thread::spawn(move || {
        let mut c = redis::Client::open(url)
            .expect("client")
            .get_connection()
            .expect("connect");
        churn(&mut c, CHURN).len()
    });
    walk_from(&mut walker, second, 10, &mut got);
    assert_eq!(noisy.join().expect("churn thread"), CHURN);
    assert_exactly_once(&got, &want);
    // Memory stayed bounded: the churners hold at most their quotas.
    let held = info_field(&mut walker, "slowpoke_scan_cursors");
    assert!(held <= 3 * PER_CONN as u64, "{held} cursors kept");
}

#[test]
fn a_cursor_continues_on_another_connection_even_after_the_first_closes() {
    let s = Server::start();
    let mut admin = s.conn();
    let want = keys(2000);
    load(&mut admin, &want);
    let mut a = s.conn();
    let a_id: u64 = redis::cmd("CLIENT").arg("ID").query(&mut a).expect("id");
    let (c1, page1) = scan(&mut a, 0, 500).expect("page 1");
    // Pooled: the next call runs on another connection while `a` is open.
    let mut b = s.conn();
    let (c2, page2) = scan(&mut b, c1, 500).expect("page 2 on b");
    drop(a);
    wait_closed(&mut admin, a_id);
    // A live client's churn does not push out the closed client's cursors.
    churn(&mut admin, CHURN);
    let mut e = s.conn();
    let (again, retry) = scan(&mut e, c1, 500).expect("c1 after its connection closed");
    assert_eq!(retry, page2, "a retry returns the same page");
    assert_ne!(again, c2, "ids are never reused");
    let mut got = [page1, page2].concat();
    walk_from(&mut e, c2, 500, &mut got);
    assert_exactly_once(&got, &want);
}

#[test]
fn a_connection_over_its_quota_forgets_only_its_own_oldest() {
    let s = Server::start();
    let mut checker = s.conn();
    load(&mut checker, &keys(100));
    let mut a = s.conn();
    let mut b = s.conn();
    let b0 = churn(&mut b, 1)[0];
    let a_cursors = churn(&mut a, PER_CONN + 1);
    // `a` holds its newest PER_CONN; its first is gone, `b`'s is not.
    assert!(!is_valid(&mut checker, a_cursors[0]), "over quota, kept");
    assert!(is_valid(&mut checker, a_cursors[1]));
    assert!(is_valid(&mut checker, a_cursors[PER_CONN]));
    assert!(
        is_valid(&mut checker, b0),
        "another connection's cursor lost"
    );
    // One more drops exactly the next oldest.
    churn(&mut a, 1);
    assert!(!is_valid(&mut checker, a_cursors[1]));
    assert!(is_valid(&mut checker, a_cursors[2]));
    assert!(is_valid(&mut checker, b0));
    assert_eq!(
        info_field(&mut checker, "slowpoke_scan_cursors"),
        PER_CONN as u64 + 1
    );
}

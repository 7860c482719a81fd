//! Prefix seek for SCAN's MATCH: loads N keys (default 1,000,000) shaped
//! `user:<id>:f<field>` (100,000 users x 10 fields) into a store in a
//! temporary directory, then runs whole SCAN iterations with COUNT 1000
//! through the server's own SCAN step (`scan::scan_page`, the code the
//! SCAN command runs) and prints, per pattern: calls until the cursor
//! comes back to 0, index entries visited, keys returned, and time.
//! `user:42:*` has a literal prefix and should visit only its 10 keys;
//! `*:42:*` has none and must visit all N.
//!
//! With `--port P` it also loads the same keys into a running server on
//! 127.0.0.1:P (FLUSHALL first!) and times the real `SCAN 0 MATCH ...
//! COUNT 1000` loop over the network.
//!
//! Usage: `cargo run --release --example prefix_seek -- [N] [--port P]`

use std::time::{Duration, Instant};

use slowpoke::engine::{Engine, FsyncPolicy, Options};
use slowpoke::server::cmd::scan::scan_page;
use slowpoke::server::db::ReadView;

const FIELDS: u64 = 10;
const COUNT: usize = 1000;
const PATTERNS: &[&str] = &["user:42:*", "user:4242:f?", "*:42:*", "*"];

fn key(i: u64) -> String {
    format!("user:{}:f{}", i / FIELDS, i % FIELDS)
}

fn usage() -> ! {
    eprintln!("usage: prefix_seek [N] [--port P]");
    std::process::exit(2);
}

/// Best of three whole iterations: (calls, visited, keys, time).
fn engine_scan(view: &ReadView<'_>, pattern: &str) -> (usize, usize, usize, Duration) {
    let mut best: Option<(usize, usize, usize, Duration)> = None;
    for _ in 0..3 {
        let started = Instant::now();
        let (mut calls, mut visited, mut keys) = (0, 0, 0);
        let mut after: Option<Vec<u8>> = None;
        let glob = (pattern != "*").then_some(pattern.as_bytes());
        loop {
            let page = scan_page(view, after.as_deref(), glob, COUNT);
            calls += 1;
            visited += page.visited;
            keys += page.keys.len();
            match page.resume {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        let took = started.elapsed();
        if best.is_none_or(|b| took < b.3) {
            best = Some((calls, visited, keys, took));
        }
    }
    best.unwrap_or_default()
}

fn server_scan(port: u16, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut c = client.get_connection()?;
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET").arg(key(i)).arg("v").ignore();
        }
        p.query::<()>(&mut c)?;
    }
    println!("server: loaded {n} keys in {:.2?}", started.elapsed());
    for pattern in PATTERNS {
        let started = Instant::now();
        let (mut cursor, mut calls, mut keys) = (0u64, 0usize, 0usize);
        loop {
            let (next, page): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(*pattern)
                .arg("COUNT")
                .arg(COUNT)
                .query(&mut c)?;
            calls += 1;
            keys += page.len();
            if next == 0 {
                break;
            }
            cursor = next;
        }
        println!(
            "server: SCAN 0 MATCH {pattern:<14} COUNT {COUNT}: {calls:>5} calls, {keys:>8} keys, {:>10.2?}",
            started.elapsed()
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n: u64 = 1_000_000;
    let mut port: Option<u16> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = Some(
                    args.next()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            _ => n = a.replace('_', "").parse().unwrap_or_else(|_| usage()),
        }
    }
    let tmp = tempfile::tempdir()?;
    let engine = Engine::open(
        tmp.path(),
        Options {
            fsync: FsyncPolicy::No,
            ..Options::default()
        },
    )?;
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let end = (i + 10_000).min(n);
        engine.transaction(|t| {
            for j in i..end {
                t.put(key(j).as_bytes(), b"v", None)?;
            }
            Ok(())
        })?;
        i = end;
    }
    println!("engine: loaded {n} keys in {:.2?}", started.elapsed());
    let view = ReadView(&engine);
    for pattern in PATTERNS {
        let (calls, visited, keys, took) = engine_scan(&view, pattern);
        println!(
            "engine: SCAN 0 MATCH {pattern:<14} COUNT {COUNT}: {calls:>5} calls, {visited:>8} entries visited, {keys:>8} keys, {took:>10.2?}"
        );
    }
    if let Some(port) = port {
        server_scan(port, n)?;
    }
    Ok(())
}

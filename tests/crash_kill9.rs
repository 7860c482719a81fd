//! Kill -9 in the middle of writes: the real server runs with
//! `appendfsync always` (and small data files so rotation and compaction
//! happen), writer threads do SET, DEL, INCR and EXPIRE and record every
//! reply they got; the server is SIGKILLed at a random moment, restarted,
//! and every acknowledged write must be there, with no key holding a value
//! it was never set to. Rounds: `CRASH_ROUNDS` (default 10; `make
//! crash-long` runs 200). The seed is printed and can be replayed with
//! `CRASH_SEED`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Server;
use rand::{Rng, SeedableRng};

/// What a key may hold after the crash.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Absent,
    Value(String),
}

/// Per key: the last acknowledged state, and the state an unacknowledged
/// (in-flight) command would have left.
#[derive(Debug, Default)]
struct KeyLog {
    acked: Option<State>,
    in_flight: Option<State>,
}

fn writer(
    port: u16,
    thread: usize,
    seed: u64,
    stop: Arc<AtomicBool>,
    known: HashMap<String, State>,
) -> HashMap<String, KeyLog> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ thread as u64);
    let mut log: HashMap<String, KeyLog> = HashMap::new();
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let Ok(mut con) = client.get_connection() else {
        return log;
    };
    // Counters continue from what the server holds after the last restart.
    let mut counters: HashMap<String, i64> = HashMap::new();
    for i in 0..4 {
        let key = format!("t{thread}:counter{i}");
        let Ok(v) = redis::cmd("GET").arg(&key).query::<Option<i64>>(&mut con) else {
            return log;
        };
        counters.insert(key, v.unwrap_or(0));
    }
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let k = rng.gen_range(0..40);
        let op = rng.gen_range(0..10);
        let (key, cmd, after) = if op < 2 {
            let key = format!("t{thread}:counter{}", k % 4);
            let next = counters.get(&key).copied().unwrap_or(0) + 1;
            let mut c = redis::cmd("INCR");
            c.arg(&key);
            (key, c, State::Value(next.to_string()))
        } else if op < 3 {
            let key = format!("t{thread}:k{k}");
            let mut c = redis::cmd("DEL");
            c.arg(&key);
            (key, c, State::Absent)
        } else if op < 4 {
            // A long TTL: the key must keep its value across the restart.
            let key = format!("t{thread}:k{k}");
            let cur = log
                .get(&key)
                .and_then(|l| l.acked.clone())
                .or_else(|| known.get(&key).cloned())
                .unwrap_or(State::Absent);
            let mut c = redis::cmd("EXPIRE");
            c.arg(&key).arg(100_000);
            (key, c, cur)
        } else {
            let key = format!("t{thread}:k{k}");
            let value = format!("v{thread}-{seq}-{}", "x".repeat(rng.gen_range(0..300)));
            let mut c = redis::cmd("SET");
            c.arg(&key).arg(&value);
            (key, c, State::Value(value))
        };
        log.entry(key.clone()).or_default().in_flight = Some(after.clone());
        let result: redis::RedisResult<redis::Value> = cmd.query(&mut con);
        match result {
            Ok(_) => {
                let entry = log.entry(key.clone()).or_default();
                entry.acked = Some(after.clone());
                entry.in_flight = None;
                if let State::Value(v) = &after {
                    if key.contains(":counter") {
                        counters.insert(key, v.parse().expect("counter"));
                    }
                }
            }
            // The server died mid-command: this one may or may not have landed.
            Err(_) => break,
        }
    }
    log
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let rounds: usize = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test seed {seed} (CRASH_SEED={seed} to replay), {rounds} rounds");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut s = Server::start_with(&["--appendfsync", "always", "--data-file-size", "64kb"]);
    let mut model: HashMap<String, State> = HashMap::new();
    let mut total_acked = 0usize;
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let stop = Arc::clone(&stop);
                let port = s.port;
                let seed = seed.wrapping_add(round as u64 * 1000);
                let known = model.clone();
                std::thread::spawn(move || writer(port, t, seed, stop, known))
            })
            .collect();
        if round % 3 == 1 {
            // Compaction running while we kill.
            let mut c = s.conn();
            let _: redis::RedisResult<redis::Value> = redis::cmd("BGREWRITEAOF").query(&mut c);
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        let logs: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("writer"))
            .collect();
        s.start_again();
        let mut c = s.conn();
        for log in logs {
            for (key, kl) in log {
                let got: Option<String> = redis::cmd("GET").arg(&key).query(&mut c).expect("get");
                let got = got.map_or(State::Absent, State::Value);
                let before = model.get(&key).cloned().unwrap_or(State::Absent);
                let acked = kl.acked.clone().unwrap_or(before);
                let ok = got == acked || kl.in_flight.as_ref() == Some(&got);
                assert!(
                    ok,
                    "round {round} seed {seed}: key {key} holds {got:?}; acknowledged {acked:?}, in flight {:?}",
                    kl.in_flight
                );
                if kl.acked.is_some() {
                    total_acked += 1;
                }
                model.insert(key, got);
            }
        }
        // Keys never touched this round still hold what they held.
        for (key, state) in &model {
            let got: Option<String> = redis::cmd("GET").arg(key).query(&mut c).expect("get");
            assert_eq!(
                &got.map_or(State::Absent, State::Value),
                state,
                "round {round}: {key} changed"
            );
        }
    }
    assert!(
        total_acked > rounds,
        "too few acknowledged writes to mean anything: {total_acked}"
    );
    println!("{total_acked} key states checked over {rounds} rounds");
}

//! Kill -9 in the middle of multi-record writes: a client loops MSET and
//! MULTI/SET.../EXEC (alternating) over 16 keys with 1 MiB values, each
//! round writing one round number into every value; the server is
//! SIGKILLed at a random moment and restarted. Promise (issue 12, docs/
//! FORMAT.md "Batches"): the 16 keys hold one round's values, never a mix
//! (no torn batch), and that round is the last acknowledged one or the one
//! in flight (nothing acknowledged lost). Rounds: `BATCH_CRASH_ROUNDS`
//! (default 6; `make crash-long` runs 20). The seed is printed and can be
//! replayed with `CRASH_SEED`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Server;
use rand::{Rng, SeedableRng};

const KEYS: usize = 16;
const VALUE_LEN: usize = 1 << 20;

fn key(i: usize) -> String {
    format!("batch:{i:02}")
}

/// The value of key `i` in round `round`: the round and key in front,
/// filler after, so a value from another round or key is told apart.
fn value(round: u64, i: usize) -> Vec<u8> {
    let mut v = format!("round={round:010} key={i:02};").into_bytes();
    v.resize(VALUE_LEN, b'a' + (round % 26) as u8);
    v
}

/// Parses a value back into its round, checking every byte of it.
fn round_of(v: &[u8], i: usize) -> u64 {
    let head = std::str::from_utf8(&v[..26]).expect("ascii head");
    let round: u64 = head[6..16].parse().expect("round number");
    assert_eq!(
        v,
        value(round, i).as_slice(),
        "key {i} holds a damaged value"
    );
    round
}

/// Writes rounds from `first` on until the connection breaks; `sent` is
/// the round in flight, `acked` the last one the server acknowledged.
fn write_rounds(port: u16, first: u64, sent: &AtomicU64, acked: &AtomicU64, stop: &AtomicBool) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let Ok(mut con) = client.get_connection() else {
        return;
    };
    let mut round = first;
    while !stop.load(Ordering::Relaxed) {
        sent.store(round, Ordering::SeqCst);
        let ok = if round.is_multiple_of(2) {
            let mut c = redis::cmd("MSET");
            for i in 0..KEYS {
                c.arg(key(i)).arg(value(round, i));
            }
            c.query::<()>(&mut con).is_ok()
        } else {
            let mut p = redis::pipe();
            p.atomic();
            for i in 0..KEYS {
                p.cmd("SET").arg(key(i)).arg(value(round, i)).ignore();
            }
            p.query::<()>(&mut con).is_ok()
        };
        if !ok {
            return;
        }
        acked.store(round, Ordering::SeqCst);
        round += 1;
    }
}

#[test]
fn no_torn_batch_after_sigkill() {
    let rounds: usize = std::env::var("BATCH_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut s = Server::start_with(&["--appendfsync", "everysec", "--data-file-size", "64mb"]);
    // The highest round number used so far, and what the keys hold.
    let mut last_round = 0u64;
    let mut recovered = 0u64;
    let mut mid_batch_kills = 0;
    for r in 0..rounds {
        let sent = Arc::new(AtomicU64::new(0));
        let acked = Arc::new(AtomicU64::new(recovered));
        let stop = Arc::new(AtomicBool::new(false));
        let port = s.port;
        let first = last_round + 1;
        let writer = {
            let (sent, acked, stop) = (sent.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || write_rounds(port, first, &sent, &acked, &stop))
        };
        std::thread::sleep(Duration::from_millis(rng.gen_range(150..900)));
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer thread");
        let (sent, acked) = (sent.load(Ordering::SeqCst), acked.load(Ordering::SeqCst));
        s.start_again();
        let mut con = s.conn();
        let mut found = Vec::new();
        for i in 0..KEYS {
            let v: Option<Vec<u8>> = redis::cmd("GET").arg(key(i)).query(&mut con).expect("GET");
            found.push(v.map(|v| round_of(&v, i)));
        }
        let first_found = found[0];
        assert!(
            found.iter().all(|f| *f == first_found),
            "round {r} (seed {seed}): torn batch, keys hold rounds {found:?} (acked {acked}, sent {sent})"
        );
        let now = first_found.unwrap_or(0);
        assert!(
            now == acked || (now == sent && sent == acked + 1),
            "round {r} (seed {seed}): keys hold round {now}, acknowledged {acked}, in flight {sent}"
        );
        mid_batch_kills += usize::from(sent != acked);
        recovered = now;
        last_round = last_round.max(sent);
        println!("round {r}: acked {acked}, sent {sent}, recovered {now}");
    }
    println!("{mid_batch_kills} of {rounds} kills hit a batch in flight");
    s.stop();
}

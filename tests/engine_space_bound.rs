//! Space bound under sustained overwrites: keys rewritten many times, with
//! expiries and deletes mixed in, while background compaction runs at its
//! default threshold. Promise: disk use settles at no more than 1.5x the
//! live data (record bytes of the live versions), and the key count stays
//! exact. `SPACE_KEYS` / `SPACE_ROUNDS` scale it up (the figure is
//! 100,000 keys x 20 rewrites).

mod common;

use common::files::dir_bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slowpoke::engine::{Clock, Engine, FsyncPolicy, ManualClock, Options};

#[test]
fn disk_use_settles_within_one_and_a_half_times_live_data() {
    let keys: u32 = std::env::var("SPACE_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rounds: u32 = std::env::var("SPACE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(
        dir.path(),
        Options {
            fsync: FsyncPolicy::No,
            max_file_size: 1 << 20,
            compaction_interval: Some(Duration::from_millis(50)),
            compaction_rate: 0,
            clock: clock.clone(),
            ..Options::default()
        },
    )
    .expect("open");
    let value = vec![b'v'; 100];
    let mut live = std::collections::HashMap::new();
    for r in 0..rounds {
        for k in 0..keys {
            let key = format!("key:{k:08}");
            match (k + r) % 10 {
                0 => {
                    e.delete(key.as_bytes()).expect("delete");
                    live.remove(&key);
                }
                1 => {
                    // Expires before the end of the run.
                    e.put(key.as_bytes(), &value, Some(clock.now_ms() + 10))
                        .expect("put");
                    live.remove(&key);
                }
                _ => {
                    e.put(key.as_bytes(), &value, None).expect("put");
                    live.insert(key, ());
                }
            }
        }
        clock.advance(20);
    }
    e.expire_now();
    assert_eq!(e.len(), live.len(), "key count not exact");
    // Live data: the records of the live versions.
    let live_bytes: u64 = live
        .keys()
        .map(|k| (21 + k.len() + value.len()) as u64)
        .sum();
    // Let background compaction settle (bounded).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut used = dir_bytes(dir.path());
    while used as f64 > 1.5 * live_bytes as f64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        used = dir_bytes(dir.path());
    }
    let ratio = used as f64 / live_bytes as f64;
    println!(
        "{keys} keys x {rounds} rounds: live {live_bytes} B, disk {used} B, ratio {ratio:.2}, compactions {}",
        e.stats().compactions
    );
    assert!(
        ratio <= 1.5,
        "disk use {used} B is {ratio:.2}x the live data {live_bytes} B"
    );
    for k in live.keys().take(100) {
        assert_eq!(
            e.get(k.as_bytes()).expect("get").as_deref(),
            Some(&value[..])
        );
    }
}

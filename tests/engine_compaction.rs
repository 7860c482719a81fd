//! Compaction and hint files: dead space is reclaimed, nothing live is
//! lost or resurrected (also when writes race the compaction), tombstones
//! keep masking older files, a failure at any step of a compaction leaves a
//! directory that reopens with every acknowledged write, and opening from
//! hints gives the same index as opening from data files.

mod common;

use common::files::dir_bytes;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use slowpoke::engine::{CompactionStep, Engine, FsyncPolicy, ManualClock, Options};

fn opts(clock: &Arc<ManualClock>) -> Options {
    Options {
        max_file_size: 4096,
        fsync: FsyncPolicy::No,
        compaction_interval: None,
        compaction_rate: 0,
        clock: clock.clone(),
        ..Options::default()
    }
}

fn all(e: &Engine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    e.range(Bound::Unbounded, Bound::Unbounded, false, usize::MAX)
        .into_iter()
        .map(|(k, _)| {
            let v = e.get(&k).expect("get").expect("present").to_vec();
            (k, v)
        })
        .collect()
}

/// Writes a history with overwrites, deletes and expiries; returns the model.
fn churn(e: &Engine, clock: &ManualClock, rounds: usize) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut model = BTreeMap::new();
    for r in 0..rounds {
        for k in 0..50u32 {
            let key = format!("key{k:03}").into_bytes();
            let value = format!("value-{r}-{k}-{}", "x".repeat((k % 7) as usize * 10)).into_bytes();
            match (r + k as usize) % 9 {
                0 => {
                    e.delete(&key).expect("delete");
                    model.remove(&key);
                }
                1 => {
                    // Expires at once when the clock moves.
                    e.put(&key, &value, Some(clock.now_ms() + 5)).expect("put");
                    model.remove(&key);
                }
                _ => {
                    e.put(&key, &value, None).expect("put");
                    model.insert(key, value);
                }
            }
        }
    }
    clock.advance(10);
    model
}

use slowpoke::engine::Clock;

#[test]
fn compaction_reclaims_space_and_keeps_every_live_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(dir.path(), opts(&clock)).expect("open");
    let model = churn(&e, &clock, 40);
    e.expire_now();
    let before = dir_bytes(dir.path());
    let reclaimed = e.compact().expect("compact");
    assert!(reclaimed > 0, "nothing reclaimed");
    assert_eq!(all(&e), model);
    let after = dir_bytes(dir.path());
    assert!(after < before, "disk use {before} -> {after}");
    e.close().expect("close");
    drop(e);
    let e = Engine::open(dir.path(), opts(&clock)).expect("reopen");
    assert!(e.recovery_report().from_hints > 0, "no hint was used");
    assert_eq!(all(&e), model, "reopen after compaction differs");
}

#[test]
fn accounting_matches_a_recount_after_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(dir.path(), opts(&clock)).expect("open");
    churn(&e, &clock, 20);
    let live_usage = e.file_usage();
    e.close().expect("close");
    drop(e);
    let e = Engine::open(dir.path(), opts(&clock)).expect("reopen");
    let reopened = e.file_usage();
    // Same files, same totals; dead bytes agree (expired records count as
    // dead on reopen, and were dead in the live engine once reaped).
    assert_eq!(live_usage.len(), reopened.len());
    for ((o1, u1), (o2, u2)) in live_usage.iter().zip(&reopened) {
        assert_eq!(o1, o2);
        assert_eq!(u1.total, u2.total, "file {o1}");
        assert!(
            u1.dead <= u2.dead,
            "file {o1}: live {} reopened {}",
            u1.dead,
            u2.dead
        );
    }
}

#[test]
fn tombstones_keep_masking_older_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(dir.path(), opts(&clock)).expect("open");
    e.put(b"old", b"must stay deleted", None).expect("put");
    // Fill a few files so "old" sits in an older file than its tombstone.
    for i in 0..200u32 {
        e.put(format!("filler{i}").as_bytes(), &[b'f'; 64], None)
            .expect("put");
    }
    e.delete(b"old").expect("delete");
    for i in 0..200u32 {
        e.put(format!("filler{i}").as_bytes(), &[b'g'; 64], None)
            .expect("put");
    }
    e.compact().expect("compact");
    e.close().expect("close");
    drop(e);
    let e = Engine::open(dir.path(), opts(&clock)).expect("reopen");
    assert_eq!(e.get(b"old").expect("get"), None, "deleted key came back");
    assert_eq!(
        e.get(b"filler7").expect("get").as_deref(),
        Some(&[b'g'; 64][..])
    );
}

#[test]
fn writes_racing_compaction_are_never_lost_or_revived() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Arc::new(Engine::open(dir.path(), opts(&clock)).expect("open"));
    churn(&e, &clock, 10);
    let writer = {
        let e = Arc::clone(&e);
        std::thread::spawn(move || {
            let mut model = BTreeMap::new();
            for r in 0..300u32 {
                let key = format!("key{:03}", r % 50).into_bytes();
                if r % 11 == 0 {
                    e.delete(&key).expect("delete");
                    model.insert(key, None);
                } else {
                    let v = format!("race-{r}").into_bytes();
                    e.put(&key, &v, None).expect("put");
                    model.insert(key, Some(v));
                }
            }
            model
        })
    };
    for _ in 0..5 {
        e.compact().expect("compact");
    }
    let raced = writer.join().expect("writer");
    for (k, v) in &raced {
        assert_eq!(
            e.get(k).expect("get").map(|b| b.to_vec()),
            *v,
            "key {:?}",
            String::from_utf8_lossy(k)
        );
    }
    let snapshot = all(&e);
    drop(e);
    let e = Engine::open(dir.path(), opts(&clock)).expect("reopen");
    assert_eq!(all(&e), snapshot);
}

#[test]
fn failure_at_every_compaction_step_reopens_with_all_data() {
    for step in [
        CompactionStep::DataSync,
        CompactionStep::HintSync,
        CompactionStep::Open,
        CompactionStep::Rename,
        CompactionStep::HintRename,
        CompactionStep::Remove,
        CompactionStep::DirSync,
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let clock = Arc::new(ManualClock::new(1_000_000));
        let model = {
            let e = Engine::open(dir.path(), opts(&clock)).expect("open");
            let m = churn(&e, &clock, 30);
            e.close().expect("close");
            m
        };
        {
            let failing = Options {
                compaction_failpoint: Some(step),
                ..opts(&clock)
            };
            let e = Engine::open(dir.path(), failing).expect("open");
            // Some failures are handled and the compaction goes on; either
            // way the directory must reopen whole.
            let _ = e.compact();
            assert_eq!(
                e.compaction_failpoint(),
                None,
                "{step:?}: the injected failure did not fire"
            );
            // The process "dies" here: no close.
            std::mem::forget(e);
        }
        // forget() leaked the lock's descriptor; a fresh process would not
        // hold it. Simulate by opening a copy of the directory.
        let copy = tempfile::tempdir().expect("tmp");
        for entry in std::fs::read_dir(dir.path()).expect("ls") {
            let entry = entry.expect("entry");
            if entry.file_name() != "LOCK" {
                std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy");
            }
        }
        let e = Engine::open(copy.path(), opts(&clock)).expect("reopen");
        assert_eq!(
            all(&e),
            model,
            "{step:?}: data differs after the failed compaction"
        );
        assert!(
            std::fs::read_dir(copy.path()).expect("ls").all(|f| !f
                .expect("f")
                .file_name()
                .to_string_lossy()
                .ends_with(".compact")),
            "leftovers not removed"
        );
        // And a full compaction now succeeds and keeps everything.
        e.compact().expect("compact");
        assert_eq!(all(&e), model);
    }
}

#[test]
fn hint_open_and_data_open_give_identical_indexes() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(dir.path(), opts(&clock)).expect("open");
    churn(&e, &clock, 25);
    e.compact().expect("compact"); // writes hints for every sealed file
    e.close().expect("close");
    drop(e);
    let with_hints = {
        let e = Engine::open(dir.path(), opts(&clock)).expect("open");
        assert!(e.recovery_report().from_hints > 0);
        let v: Vec<_> = e.range(Bound::Unbounded, Bound::Unbounded, false, usize::MAX);
        let u = e.file_usage();
        (v, u)
    };
    for f in std::fs::read_dir(dir.path()).expect("ls") {
        let p = f.expect("f").path();
        if p.extension().is_some_and(|x| x == "hint") {
            std::fs::remove_file(p).expect("rm hint");
        }
    }
    let e = Engine::open(dir.path(), opts(&clock)).expect("open");
    assert_eq!(e.recovery_report().from_hints, 0);
    let without: Vec<_> = e.range(Bound::Unbounded, Bound::Unbounded, false, usize::MAX);
    // Locations name process-local file handles; compare keys, offsets and
    // lengths by file order instead.
    assert_eq!(with_hints.0.len(), without.len());
    for ((k1, l1), (k2, l2)) in with_hints.0.iter().zip(&without) {
        assert_eq!(k1, k2);
        assert_eq!(
            (l1.offset, l1.value_len, l1.expires_at),
            (l2.offset, l2.value_len, l2.expires_at)
        );
    }
    assert_eq!(with_hints.1, e.file_usage());
}

#[test]
fn clear_frees_disk_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(dir.path(), opts(&clock)).expect("open");
    for i in 0..500u32 {
        e.put(format!("k{i}").as_bytes(), &[7u8; 200], None)
            .expect("put");
    }
    let before = dir_bytes(dir.path());
    e.clear().expect("clear");
    let after = dir_bytes(dir.path());
    assert!(after < before / 10, "{before} -> {after}");
    assert_eq!(e.len(), 0);
    drop(e);
    let e = Engine::open(dir.path(), opts(&clock)).expect("reopen");
    assert_eq!(e.len(), 0);
}

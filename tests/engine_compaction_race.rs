//! Fault: two compactions run at once (a foreground `Engine::compact`
//! while another `compact`, or the background cycle, is compacting the
//! same files). Promise (docs/FORMAT.md, "Compaction": a file is rewritten
//! in place and a crash at any step leaves a complete file): both calls
//! succeed, and every live key survives a reopen. A compaction that picked
//! a file before the other one replaced it must not compact the
//! replacement as if it were the old file.

use std::sync::Barrier;

use slowpoke::engine::{Engine, FsyncPolicy, Options};

fn options() -> Options {
    Options {
        max_file_size: 4096,
        fsync: FsyncPolicy::No,
        compaction_interval: None,
        ..Options::default()
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:04}").into_bytes()
}

fn value(i: usize, version: usize) -> Vec<u8> {
    let mut v = format!("value {i} version {version} ").into_bytes();
    v.resize(100, b'.');
    v
}

#[test]
fn concurrent_compactions_keep_every_live_key_across_reopen() {
    for attempt in 0..10 {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = Engine::open(dir.path(), options()).expect("open");
        // 300 keys over ~9 files; then every other key is overwritten, so
        // each sealed file is half dead and still holds live records.
        for i in 0..300 {
            e.put(&key(i), &value(i, 0), None).expect("put");
        }
        for i in (0..300).step_by(2) {
            e.put(&key(i), &value(i, 1), None).expect("put");
        }
        let want = |i: usize| value(i, usize::from(i.is_multiple_of(2)));

        let barrier = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        e.compact()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        for r in &results {
            assert!(
                r.is_ok(),
                "attempt {attempt}: a compaction failed: {results:?}"
            );
        }
        for i in 0..300 {
            assert_eq!(
                e.get(&key(i)).expect("get").as_deref(),
                Some(&want(i)[..]),
                "attempt {attempt}: key {i} before reopen"
            );
        }
        e.close().expect("close");
        drop(e);

        let e = Engine::open(dir.path(), options()).expect("reopen");
        let lost: Vec<usize> = (0..300)
            .filter(|&i| e.get(&key(i)).ok().flatten().as_deref() != Some(&want(i)[..]))
            .collect();
        assert!(
            lost.is_empty(),
            "attempt {attempt}: {} keys lost or wrong after reopen, e.g. {:?}; files: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)],
            std::fs::read_dir(dir.path())
                .expect("read_dir")
                .map(|d| d.expect("entry").file_name())
                .collect::<Vec<_>>()
        );
    }
}

/// INFO's figures (`Engine::stats`) read while writers rotate files. The
/// stats call once held the file table while taking the writer lock, the
/// reverse of a rotation's order, and the two deadlocked (seen as a hung
/// `cargo test`). Both sides must finish well within the deadline.
#[test]
fn stats_while_files_rotate_never_deadlocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = std::sync::Arc::new(Engine::open(dir.path(), options()).expect("open"));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for role in 0..3 {
        let e = std::sync::Arc::clone(&e);
        let done = done_tx.clone();
        std::thread::spawn(move || {
            for i in 0..3000 {
                match role {
                    // ~40 records per 4 KiB file: a rotation every 40 puts.
                    0 => e.put(&key(i % 500), &value(i, 0), None).expect("put"),
                    // The background compaction's rotation path.
                    1 if i % 100 == 0 => {
                        e.compact().expect("compact");
                    }
                    _ => {
                        let st = e.stats();
                        assert!(st.data_files >= 1);
                    }
                }
            }
            let _ = done.send(role);
        });
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for _ in 0..3 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        done_rx
            .recv_timeout(left)
            .expect("a thread is stuck: put, compact and stats deadlocked");
    }
    let n = (0..500)
        .filter(|&i| e.get(&key(i)).expect("get").is_some())
        .count();
    assert_eq!(n, 500);
}

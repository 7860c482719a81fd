//! A full disk and failing I/O. Promise: a write that cannot be stored
//! gets an error (and is not applied), reads keep working, nothing already
//! acknowledged is lost, writes work again once space returns; a failed
//! fsync is never ignored: the store refuses writes until it is reopened,
//! and reopening keeps every record written before the failure.
//! Faults are injected with `slowpoke::engine::fault` (process-wide, so
//! this file holds one test that runs the cases in order).

use std::sync::Arc;

use slowpoke::engine::{fault, Engine, Error, FsyncPolicy, ManualClock, Options};

fn opts(policy: FsyncPolicy) -> Options {
    Options {
        fsync: policy,
        clock: Arc::new(ManualClock::new(1_000_000)),
        compaction_interval: None,
        ..Options::default()
    }
}

#[test]
fn full_disk_then_failed_fsync() {
    // 1. ENOSPC on append: error, not applied, reads fine, then recovers.
    let dir = tempfile::tempdir().expect("tmp");
    let e = Engine::open(dir.path(), opts(FsyncPolicy::Always)).expect("open");
    for i in 0..100u32 {
        e.put(format!("k{i}").as_bytes(), format!("v{i}").as_bytes(), None)
            .expect("put");
    }
    fault::fail_next_writes(3);
    for i in 0..3u32 {
        let err = e
            .put(format!("k{i}").as_bytes(), b"lost", None)
            .expect_err("write must fail");
        assert!(err.is_disk_full(), "{err}");
    }
    assert_eq!(
        e.get(b"k1").expect("get").as_deref(),
        Some(&b"v1"[..]),
        "failed write applied"
    );
    e.put(b"after", b"space came back", None)
        .expect("put after space returns");
    drop(e);
    let e = Engine::open(dir.path(), opts(FsyncPolicy::Always)).expect("reopen");
    assert!(
        e.recovery_report().damage.is_empty(),
        "{:?}",
        e.recovery_report().damage
    );
    for i in 0..100u32 {
        assert_eq!(
            e.get(format!("k{i}").as_bytes())
                .expect("get")
                .map(|b| b.to_vec()),
            Some(format!("v{i}").into_bytes())
        );
    }
    assert_eq!(
        e.get(b"after").expect("get").as_deref(),
        Some(&b"space came back"[..])
    );
    drop(e);

    // 2. A failed fsync under `always`: the write is not acknowledged, and
    // the store refuses writes (reads go on) until reopened.
    let dir = tempfile::tempdir().expect("tmp");
    let e = Engine::open(dir.path(), opts(FsyncPolicy::Always)).expect("open");
    e.put(b"before", b"1", None).expect("put");
    fault::fail_next_syncs(1);
    let err = e
        .put(b"during", b"2", None)
        .expect_err("fsync failure must surface");
    assert!(matches!(err, Error::Poisoned(_)), "{err}");
    let err = e
        .put(b"later", b"3", None)
        .expect_err("writes must stay refused");
    assert!(matches!(err, Error::Poisoned(_)), "{err}");
    assert_eq!(
        e.get(b"before").expect("reads work").as_deref(),
        Some(&b"1"[..])
    );
    assert!(e.stats().write_failure.is_some());
    drop(e);
    let e = Engine::open(dir.path(), opts(FsyncPolicy::Always)).expect("reopen");
    assert_eq!(e.get(b"before").expect("get").as_deref(), Some(&b"1"[..]));
    assert_eq!(
        e.get(b"later").expect("get"),
        None,
        "a refused write appeared"
    );
    e.put(b"later", b"3", None)
        .expect("writes work after reopen");
    drop(e);

    // 3. A read error is reported, not turned into a wrong value or a miss.
    let dir = tempfile::tempdir().expect("tmp");
    let e = Engine::open(dir.path(), opts(FsyncPolicy::No)).expect("open");
    e.put(b"k", b"v", None).expect("put");
    fault::fail_next_reads(1);
    assert!(e.get(b"k").is_err(), "read error swallowed");
    assert_eq!(
        e.get(b"k").expect("next read works").as_deref(),
        Some(&b"v"[..])
    );
}

//! Fault: a read path that does more I/O than it should (a second read for
//! the value, a read on a miss, a read for an expired key). Promise (the
//! engine's design, src/engine/mod.rs): a GET hit is exactly one
//! positioned read, whatever the value's size; a miss, a deleted key and
//! an expired key are none. Counted twice: with the engine's own `READS`
//! counter and with the kernel's `syscr` for this process
//! (/proc/self/io), so a read that bypasses `READS` is caught too.
//!
//! This file holds a single test so that no other test thread reads while
//! it measures; every measurement is repeated and each one must be exact.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use slowpoke::engine::data_file::READS;
use slowpoke::engine::{Engine, FsyncPolicy, ManualClock, Options};

const REPEATS: usize = 200;

/// Reads `syscr` from /proc/self/io with exactly one read(2) per sample.
struct SysCr {
    file: Option<File>,
    buf: Vec<u8>,
}

impl SysCr {
    fn open() -> SysCr {
        SysCr {
            file: File::open("/proc/self/io").ok(),
            buf: vec![0; 4096],
        }
    }

    fn sample(&mut self) -> Option<u64> {
        let file = self.file.as_ref()?;
        let n = file.read_at(&mut self.buf, 0).ok()?;
        let text = std::str::from_utf8(&self.buf[..n]).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("syscr:"))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// The exact number of reads `f` makes by each counter, the same over
/// `REPEATS` runs. `baseline` is the syscr delta of an empty closure (the
/// sampling read itself).
fn reads_of(
    what: &str,
    sys: &mut SysCr,
    baseline: Option<u64>,
    mut f: impl FnMut(),
) -> (u64, Option<u64>) {
    let mut seen: Option<(u64, Option<u64>)> = None;
    for _ in 0..REPEATS {
        let s0 = sys.sample();
        let r0 = READS.load(Ordering::SeqCst);
        f();
        let r1 = READS.load(Ordering::SeqCst);
        let s1 = sys.sample();
        let sys_delta = match (s0, s1, baseline) {
            (Some(a), Some(b), Some(base)) => Some(b - a - base),
            (Some(a), Some(b), None) => Some(b - a),
            _ => None,
        };
        let now = (r1 - r0, sys_delta);
        match seen {
            None => seen = Some(now),
            Some(prev) => assert_eq!(prev, now, "{what}: read counts differ between runs"),
        }
    }
    seen.expect("at least one run")
}

#[test]
fn get_hit_is_one_positioned_read_and_miss_or_expired_is_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let engine = Engine::open(
        dir.path(),
        Options {
            fsync: FsyncPolicy::No,
            // The cycle may still remove the expired key from the index;
            // either way its GET must not read.
            expiry_interval: Duration::from_secs(3600),
            clock: clock.clone(),
            // Compaction and hint writing read files: keep them off.
            compaction_interval: None,
            ..Options::default()
        },
    )
    .expect("open");
    engine.put(b"small", b"v", None).expect("put");
    let big = vec![0xab; 1 << 20];
    engine.put(b"big", &big, None).expect("put");
    engine.put(b"empty", b"", None).expect("put");
    engine.put(b"deleted", b"x", None).expect("put");
    engine.delete(b"deleted").expect("delete");
    engine.put(b"expired", b"x", Some(1_000_010)).expect("put");
    engine.put(b"ttl-live", b"y", Some(9_000_000)).expect("put");
    clock.advance(10);

    let mut sys = SysCr::open();
    let (_, baseline) = reads_of("nothing", &mut sys, None, || {});
    match baseline {
        Some(b) => println!("syscr per sample of /proc/self/io: {b}"),
        None => println!("/proc/self/io is unavailable: checking READS only"),
    }
    let one = (1, baseline.map(|_| 1));
    let none = (0, baseline.map(|_| 0));

    let get = |k: &'static [u8]| {
        let e = &engine;
        move || {
            std::hint::black_box(e.get(k).expect("get"));
        }
    };
    assert_eq!(reads_of("hit", &mut sys, baseline, get(b"small")), one);
    assert_eq!(reads_of("1 MiB hit", &mut sys, baseline, get(b"big")), one);
    assert_eq!(
        reads_of("empty value hit", &mut sys, baseline, get(b"empty")),
        one
    );
    assert_eq!(
        reads_of("hit with a TTL", &mut sys, baseline, get(b"ttl-live")),
        one
    );
    assert_eq!(
        reads_of("get_with_meta hit", &mut sys, baseline, || {
            std::hint::black_box(engine.get_with_meta(b"small").expect("get"));
        }),
        one
    );
    assert_eq!(
        reads_of("miss", &mut sys, baseline, get(b"never written")),
        none
    );
    assert_eq!(
        reads_of("deleted key", &mut sys, baseline, get(b"deleted")),
        none
    );
    assert_eq!(
        reads_of("expired key", &mut sys, baseline, get(b"expired")),
        none
    );
    assert_eq!(
        reads_of("contains and meta", &mut sys, baseline, || {
            std::hint::black_box(engine.contains(b"small"));
            std::hint::black_box(engine.meta(b"big"));
        }),
        none
    );

    // The values read are the values written (the count is not bought by
    // returning something short).
    assert_eq!(engine.get(b"big").expect("get").as_deref(), Some(&big[..]));
    assert_eq!(
        engine.get(b"small").expect("get").as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        engine.get(b"empty").expect("get").as_deref(),
        Some(&b""[..])
    );
}

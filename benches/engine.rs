//! Engine benchmarks: put under each fsync policy with 1 and 16 writer
//! threads (the 16-thread `always` figure against the 1-thread one is the
//! group-commit gain), get hit, get miss, and a 100-key range. Throughput
//! is reported in operations (`Throughput::Elements`). Data directories are
//! temporary directories on the default temp filesystem, so `always`
//! measures that disk's fsync. Run: `cargo bench --bench engine`.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use slowpoke::engine::{Engine, FsyncPolicy, Options};

const VALUE_LEN: usize = 128;
const LOADED_KEYS: u64 = 100_000;

fn open(dir: &std::path::Path, fsync: FsyncPolicy) -> Engine {
    Engine::open(
        dir,
        Options {
            fsync,
            ..Options::default()
        },
    )
    .expect("open")
}

/// `key:%012d` without `format!`, so the benches time the engine.
fn key(mut i: u64) -> [u8; 16] {
    let mut k = *b"key:000000000000";
    for d in k[4..].iter_mut().rev() {
        *d = b'0' + (i % 10) as u8;
        i /= 10;
    }
    k
}

fn bench_put(c: &mut Criterion) {
    let mut group = c.benchmark_group("put");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(10)
        .throughput(Throughput::Elements(1));
    let value = vec![0x5a; VALUE_LEN];
    for fsync in [FsyncPolicy::No, FsyncPolicy::EverySec, FsyncPolicy::Always] {
        for threads in [1usize, 16] {
            let dir = tempfile::tempdir().expect("tempdir");
            let engine = open(dir.path(), fsync);
            let next = AtomicU64::new(0);
            let id = BenchmarkId::new(fsync.name(), format!("{threads}_threads"));
            group.bench_function(id, |b| {
                // `iters` puts in total, spread over the threads; each key
                // is new, as in a load.
                b.iter_custom(|iters| {
                    let per_thread = iters.div_ceil(threads as u64);
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for _ in 0..threads {
                            s.spawn(|| {
                                for _ in 0..per_thread {
                                    let i = next.fetch_add(1, Ordering::Relaxed);
                                    engine.put(&key(i), &value, None).expect("put");
                                }
                            });
                        }
                    });
                    // Report the time per op as if exactly `iters` ran.
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
                });
            });
            engine.close().expect("close");
        }
    }
    group.finish();
}

fn bench_reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = open(dir.path(), FsyncPolicy::No);
    let value = vec![0x5a; VALUE_LEN];
    engine
        .transaction(|t| {
            for i in 0..LOADED_KEYS {
                t.put(&key(i), &value, None)?;
            }
            Ok(())
        })
        .expect("load");

    let mut group = c.benchmark_group("read");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            // A stride that walks all loaded keys in a scattered order.
            i = (i + 7919) % LOADED_KEYS;
            black_box(engine.get(&key(i)).expect("get"))
        })
    });
    group.bench_function("get_miss", |b| {
        b.iter(|| {
            i = (i + 7919) % LOADED_KEYS;
            black_box(engine.get(&key(LOADED_KEYS + i)).expect("get"))
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("range_100_keys", |b| {
        b.iter(|| {
            i = (i + 7919) % (LOADED_KEYS - 100);
            let start = key(i);
            let page = engine.range(Bound::Included(&start), Bound::Unbounded, false, 100);
            assert_eq!(page.len(), 100);
            black_box(page)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_put, bench_reads);
criterion_main!(benches);

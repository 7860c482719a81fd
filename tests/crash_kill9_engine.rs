//! Fault: the process using the engine is killed with SIGKILL at a random
//! moment while four threads write (puts with growing version numbers,
//! overwrites, deletes, some values large enough that a write can be cut
//! short), under `appendfsync always` and under `everysec`. Promise
//! (docs/FORMAT.md, "What we assume about the disk": every acknowledged
//! write has been handed to the OS): after a restart every acknowledged
//! op's effect is there — each key holds its latest acknowledged version,
//! or the one op on it that was still in flight — and the only damage is a
//! torn tail of the newest file, cut away so the next run appends cleanly.
//! Background compaction runs in the child too, so some kills interrupt it.
//!
//! The child is this test binary re-executed with `CHILD_DIR_VAR` set; it
//! prints "I key seq op len" before each op and "A key seq" after it
//! returns. The parent prints the seed; rerun one with
//! SLOWPOKE_CRASH_SEED=<seed>; SLOWPOKE_CRASH_ROUNDS sets rounds per mode.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slowpoke::engine::format::FILE_GENERATION_AT;
use slowpoke::engine::{Engine, FsyncPolicy, Options};

const TEST_NAME: &str = "acknowledged_writes_survive_sigkill_under_always_and_everysec";
const CHILD_DIR_VAR: &str = "SLOWPOKE_KILL9_CHILD_DIR";
const CHILD_MODE_VAR: &str = "SLOWPOKE_KILL9_CHILD_MODE";
const CHILD_SEED_VAR: &str = "SLOWPOKE_KILL9_CHILD_SEED";
const CHILD_FIRST_SEQ_VAR: &str = "SLOWPOKE_KILL9_CHILD_FIRST_SEQ";
const THREADS: usize = 4;
const KEYS_PER_THREAD: usize = 16;
const DEFAULT_ROUNDS: usize = 20;

fn options(fsync: FsyncPolicy) -> Options {
    Options {
        // Small files and frequent compaction checks, so kills also land
        // around rotations, hint writes and compactions.
        max_file_size: 256 * 1024,
        fsync,
        compaction_interval: Some(Duration::from_millis(50)),
        ..Options::default()
    }
}

fn key(thread: usize, j: usize) -> String {
    format!("key{:03}", thread + THREADS * j)
}

/// The value written by op `seq`: its version, then filler of `len` bytes
/// that depends on the version, so a value from a torn or mixed-up record
/// cannot pass for the right one.
fn value(seq: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{seq}:").into_bytes();
    v.extend(std::iter::repeat_n(b'a' + (seq % 26) as u8, len));
    v
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("child needs {name}"))
}

/// The child: writes until killed.
fn child(dir: &Path) -> ! {
    let fsync = FsyncPolicy::parse(&env(CHILD_MODE_VAR)).expect("mode");
    let seed: u64 = env(CHILD_SEED_VAR).parse().expect("seed");
    let first_seq: u64 = env(CHILD_FIRST_SEQ_VAR).parse().expect("first seq");
    let engine = Arc::new(Engine::open(dir, options(fsync)).expect("child open"));
    let seq = Arc::new(AtomicU64::new(first_seq));
    // A line of its own: libtest has printed the test name without a newline.
    println!("\nREADY");
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = Arc::clone(&engine);
            let seq = Arc::clone(&seq);
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed ^ (t as u64) << 32);
                let stdout = std::io::stdout();
                loop {
                    let k = key(t, rng.gen_range(0..KEYS_PER_THREAD));
                    let s = seq.fetch_add(1, Ordering::SeqCst);
                    let delete = rng.gen_bool(0.2);
                    // Some values span many pages, so a kill can cut the
                    // write short.
                    let len = if rng.gen_bool(0.04) {
                        rng.gen_range(4 * 1024..64 * 1024)
                    } else {
                        rng.gen_range(0..100)
                    };
                    let op = if delete { "D" } else { "P" };
                    // Announced before the op starts, so everything that
                    // can land has been announced.
                    writeln!(stdout.lock(), "I {k} {s} {op} {len}").expect("stdout");
                    if delete {
                        engine.delete(k.as_bytes()).expect("delete");
                    } else {
                        engine.put(k.as_bytes(), &value(s, len), None).expect("put");
                    }
                    writeln!(stdout.lock(), "A {k} {s}").expect("stdout");
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    std::process::exit(1);
}

/// One announced op on a key.
#[derive(Debug, Clone, Copy)]
struct Announced {
    seq: u64,
    delete: bool,
    len: usize,
    acked: bool,
}

impl Announced {
    fn effect(&self) -> Option<Vec<u8>> {
        (!self.delete).then(|| value(self.seq, self.len))
    }
}

/// Complete lines printed by the child, grouped per key.
fn parse(lines: &[String]) -> (BTreeMap<String, Vec<Announced>>, usize) {
    let mut per_key: BTreeMap<String, Vec<Announced>> = BTreeMap::new();
    let mut acks = 0;
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["I", k, s, op, len] => per_key.entry(k.to_string()).or_default().push(Announced {
                seq: s.parse().expect("seq"),
                delete: *op == "D",
                len: len.parse().expect("len"),
                acked: false,
            }),
            ["A", k, s] => {
                let s: u64 = s.parse().expect("seq");
                let ops = per_key.get_mut(*k).expect("ack of an announced key");
                let op = ops
                    .iter_mut()
                    .find(|o| o.seq == s)
                    .expect("ack of an announced op");
                op.acked = true;
                acks += 1;
            }
            _ => {}
        }
    }
    (per_key, acks)
}

struct Round {
    lines: Vec<String>,
    ran_for: Duration,
}

/// Starts a child on `dir`, kills it `delay` after it is ready, and
/// returns the complete lines it printed.
fn run_child(dir: &Path, mode: FsyncPolicy, seed: u64, first_seq: u64, delay: Duration) -> Round {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_VAR, dir)
        .env(CHILD_MODE_VAR, mode.name())
        .env(CHILD_SEED_VAR, seed.to_string())
        .env(CHILD_FIRST_SEQ_VAR, first_seq.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                // A line cut by the kill has no newline: it never happened.
                Ok(_) if buf.last() == Some(&b'\n') => {
                    if tx
                        .send(String::from_utf8_lossy(&buf).trim().to_string())
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(_) => return,
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l == "READY" => break,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                panic!("child never became ready: {e:?}");
            }
        }
    }
    let started = Instant::now();
    std::thread::sleep(delay);
    // SAFETY: kill(2) on the pid of our own child, which has not been
    // reaped yet (we wait for it below), so the pid is still ours.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill failed: {}", std::io::Error::last_os_error());
    let ran_for = started.elapsed();
    let status = child.wait().expect("wait for child");
    assert!(
        !status.success(),
        "the child must die by the signal: {status:?}"
    );
    reader.join().expect("reader thread");
    lines.extend(rx.try_iter());
    Round { lines, ran_for }
}

/// Checks the reopened store against the announced ops; returns the state
/// found (the next round's baseline) and the number of acknowledged ops.
fn verify(
    engine: &Engine,
    baseline: &BTreeMap<String, Option<Vec<u8>>>,
    lines: &[String],
    ctx: &str,
) -> (BTreeMap<String, Option<Vec<u8>>>, usize) {
    let report = engine.recovery_report();
    for d in &report.damage {
        assert!(
            d.truncated,
            "{ctx}: a kill can only tear the newest file's tail, found {d:?}"
        );
    }
    let (per_key, acks) = parse(lines);
    let mut found = BTreeMap::new();
    for t in 0..THREADS {
        for j in 0..KEYS_PER_THREAD {
            let k = key(t, j);
            let got = engine.get(k.as_bytes()).expect("get").map(|b| b.to_vec());
            let ops = per_key.get(&k).map(Vec::as_slice).unwrap_or_default();
            // A thread announces its next op only after the previous one
            // returned, so only the last announced op can be unacknowledged.
            if let Some(pos) = ops.iter().position(|o| !o.acked) {
                assert_eq!(pos + 1, ops.len(), "{ctx}: {k}: {ops:?}");
            }
            let last_acked = ops.iter().rev().find(|o| o.acked);
            let acked_state = match last_acked {
                Some(op) => op.effect(),
                None => baseline.get(&k).cloned().flatten(),
            };
            let in_flight = ops.last().filter(|o| !o.acked).map(Announced::effect);
            let ok = got == acked_state || in_flight.as_ref() == Some(&got);
            assert!(
                ok,
                "{ctx}: {k} holds {:?}; the latest acknowledged op {:?} left {:?}, \
                 in flight: {:?}",
                got.as_ref()
                    .map(|v| String::from_utf8_lossy(&v[..v.len().min(24)]).into_owned()),
                last_acked,
                acked_state
                    .as_ref()
                    .map(|v| String::from_utf8_lossy(&v[..v.len().min(24)]).into_owned()),
                ops.last().filter(|o| !o.acked),
            );
            found.insert(k, got);
        }
    }
    let live = found.values().filter(|v| v.is_some()).count();
    assert_eq!(
        engine.len(),
        live,
        "{ctx}: no keys besides the written ones"
    );
    (found, acks)
}

/// (data files, of which rewritten by compaction: header generation > 0).
fn data_files(dir: &Path) -> (usize, usize) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| {
            let p = e.expect("entry").path();
            (p.extension()? == "data").then_some(p)
        })
        .collect();
    let compacted = files
        .iter()
        .filter(|p| {
            let h = std::fs::read(p).unwrap_or_default();
            h.get(FILE_GENERATION_AT..FILE_GENERATION_AT + 4)
                .is_some_and(|g| g != [0, 0, 0, 0])
        })
        .count();
    (files.len(), compacted)
}

fn run_mode(mode: FsyncPolicy, rng: &mut StdRng, rounds: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut baseline: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut next_seq = 1u64;
    let mut total_acks = 0;
    let mut torn = 0;
    for round in 0..rounds {
        let delay = Duration::from_millis(rng.gen_range(20..=300));
        let child_seed = rng.gen();
        let r = run_child(dir.path(), mode, child_seed, next_seq, delay);
        let ctx = format!(
            "{} round {round} (child seed {child_seed}, killed after {:?})",
            mode.name(),
            r.ran_for
        );
        let engine = Engine::open(dir.path(), options(mode)).expect("reopen after SIGKILL");
        torn += engine.recovery_report().damage.len();
        let (found, acks) = verify(&engine, &baseline, &r.lines, &ctx);
        // Versions keep growing across rounds.
        next_seq += r.lines.len() as u64 + 1;
        if let Some(max) = parse(&r.lines).0.values().flatten().map(|o| o.seq).max() {
            next_seq = next_seq.max(max + 1);
        }
        baseline = found;
        total_acks += acks;
        engine.close().expect("close");
    }
    let (files, compacted) = data_files(dir.path());
    println!(
        "{}: {rounds} rounds, {total_acks} acknowledged ops checked, {torn} torn tails \
         repaired; {files} data files left, {compacted} of them rewritten by compaction",
        mode.name(),
    );
    assert!(
        total_acks >= rounds,
        "{}: the children acknowledged almost nothing ({total_acks} ops)",
        mode.name()
    );
}

#[test]
fn acknowledged_writes_survive_sigkill_under_always_and_everysec() {
    if let Some(dir) = std::env::var_os(CHILD_DIR_VAR) {
        child(Path::new(&dir));
    }
    let seed: u64 = std::env::var("SLOWPOKE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let rounds = std::env::var("SLOWPOKE_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    println!("crash_kill9_engine seed: {seed} (SLOWPOKE_CRASH_SEED={seed} to rerun)");
    eprintln!("crash_kill9_engine seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    run_mode(FsyncPolicy::Always, &mut rng, rounds);
    run_mode(FsyncPolicy::EverySec, &mut rng, rounds);
}

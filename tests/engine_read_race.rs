//! Fault: reads race the writes that remove or move what they are reading:
//! `clear` (FLUSHALL deletes the old files), deletes, and compaction
//! (which replaces files and closes the old ones). Promise: a `get`, or a
//! `range` followed by a `get` of each key (KEYRANGE WITHVALUES), answers
//! nothing or a value that was written for that key, never an error.
//!
//! A read looks a key up in the index, then finds its file: the window in
//! between is where the race lies. The engine asks its clock for "now"
//! right there (to check expiry), so the tests' clock widens the window
//! for reader threads: it yields the CPU in the loop test, and in the
//! step-by-step test it stops the reader until the writer has finished.

use std::cell::{Cell, RefCell};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use slowpoke::engine::{Clock, Engine, FsyncPolicy, ManualClock, Options};

thread_local! {
    /// Set on reader threads: every reading of the clock yields the CPU.
    static YIELD: Cell<bool> = const { Cell::new(false) };
    /// Armed on a reader thread: the next reading of the clock says so on
    /// the first channel and waits for the second.
    static PAUSE: RefCell<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>> =
        const { RefCell::new(None) };
}

/// A fixed clock that lets a reader thread be held between its index
/// lookup and its file read.
#[derive(Debug)]
struct ReaderClock(ManualClock);

impl Clock for ReaderClock {
    fn now_ms(&self) -> u64 {
        if YIELD.with(Cell::get) {
            std::thread::yield_now();
        }
        if let Some((inside, go)) = PAUSE.with(|p| p.borrow_mut().take()) {
            inside.send(()).expect("writer gone");
            go.recv().expect("writer gone");
        }
        self.0.now_ms()
    }
}

fn options() -> Options {
    Options {
        max_file_size: 4096,
        fsync: FsyncPolicy::No,
        compaction_interval: None,
        compaction_rate: 0,
        clock: Arc::new(ReaderClock(ManualClock::new(1_000_000))),
        ..Options::default()
    }
}

const KEYS: usize = 64;
const ROUNDS: u64 = 600;

fn key(i: usize) -> Vec<u8> {
    format!("key{i:02}").into_bytes()
}

fn value(i: usize, version: u64) -> Vec<u8> {
    let mut v = format!("key{i:02}@{version};").into_bytes();
    v.resize(80, b'.');
    v
}

/// Checks that `v`, read for key `i`, is one of its written versions
/// (`latest` is raised before each write, so no later version exists).
fn written(i: usize, v: &[u8], latest: &[AtomicU64]) -> Result<(), String> {
    let text = String::from_utf8_lossy(v);
    let version = text
        .strip_prefix(&format!("key{i:02}@"))
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| format!("key {i} holds {text:?}"))?;
    if value(i, version) != v || version > latest[i].load(Ordering::SeqCst) {
        return Err(format!("key {i} holds a value never written: {text:?}"));
    }
    Ok(())
}

/// What a reader saw.
#[derive(Default)]
struct Seen {
    values: u64,
    misses: u64,
    errors: Vec<String>,
}

impl Seen {
    fn record(
        &mut self,
        i: usize,
        got: slowpoke::engine::Result<Option<bytes::Bytes>>,
        latest: &[AtomicU64],
    ) {
        match got {
            Ok(Some(v)) => {
                self.values += 1;
                if let Err(e) = written(i, &v, latest) {
                    self.errors.push(e);
                }
            }
            Ok(None) => self.misses += 1,
            Err(e) => self.errors.push(format!("key {i}: {e}")),
        }
    }
}

#[test]
fn reads_racing_clear_delete_and_compaction_answer_a_value_or_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let e = Engine::open(dir.path(), options()).expect("open");
    let latest: Vec<AtomicU64> = (0..KEYS).map(|_| AtomicU64::new(0)).collect();
    let done = AtomicBool::new(false);
    let (gets, ranges) = std::thread::scope(|s| {
        let getter = s.spawn(|| {
            YIELD.with(|y| y.set(true));
            let mut seen = Seen::default();
            while !done.load(Ordering::SeqCst) {
                for i in 0..KEYS {
                    seen.record(i, e.get(&key(i)), &latest);
                }
            }
            seen
        });
        let ranger = s.spawn(|| {
            YIELD.with(|y| y.set(true));
            let mut seen = Seen::default();
            while !done.load(Ordering::SeqCst) {
                let page = e.range(Bound::Unbounded, Bound::Unbounded, false, usize::MAX);
                for (k, _) in page {
                    let i = String::from_utf8_lossy(&k)[3..]
                        .parse::<usize>()
                        .expect("key");
                    seen.record(i, e.get(&k), &latest);
                }
            }
            seen
        });
        for round in 1..=ROUNDS {
            for (i, latest) in latest.iter().enumerate() {
                latest.store(round, Ordering::SeqCst);
                e.put(&key(i), &value(i, round), None).expect("put");
            }
            match round % 3 {
                0 => e.clear().expect("clear"),
                1 => {
                    for i in (0..KEYS).step_by(2) {
                        e.delete(&key(i)).expect("delete");
                    }
                }
                _ => {
                    e.compact().expect("compact");
                }
            }
        }
        done.store(true, Ordering::SeqCst);
        (
            getter.join().expect("getter"),
            ranger.join().expect("ranger"),
        )
    });
    for (what, seen) in [("get", &gets), ("range + get", &ranges)] {
        println!(
            "{what}: {} values, {} misses, {} errors",
            seen.values,
            seen.misses,
            seen.errors.len()
        );
        assert!(seen.values > 0, "{what}: no read saw a value");
        assert!(
            seen.errors.is_empty(),
            "{what}: {} bad answers, first {:?}",
            seen.errors.len(),
            seen.errors.first()
        );
    }
}

/// Holds one `get` of `key` between its index lookup and its file read
/// while `write` runs, and returns what the `get` answered (an error as
/// its message).
fn get_across(e: &Engine, key: &[u8], write: impl FnOnce()) -> Result<Option<Vec<u8>>, String> {
    let (inside_tx, inside) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            PAUSE.with(|p| *p.borrow_mut() = Some((inside_tx, go_rx)));
            e.get(key)
                .map(|v| v.map(|b| b.to_vec()))
                .map_err(|err| err.to_string())
        });
        inside.recv().expect("the reader never reached its clock");
        // Dropped (releasing the reader) even if `write` panics.
        let go = go;
        write();
        go.send(()).expect("reader gone");
        reader.join().expect("reader")
    })
}

#[test]
fn a_read_held_across_clear_delete_or_compaction_answers_nothing_or_the_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let e = Engine::open(dir.path(), options()).expect("open");
    // Every case runs; the wrong answers are listed at the end.
    let mut wrong = Vec::new();
    let mut expect = |case: &str, got: Result<Option<Vec<u8>>, String>, want: Option<Vec<u8>>| {
        if got != Ok(want.clone()) {
            wrong.push(format!("{case}: got {got:?}, want {want:?}"));
        }
    };
    let fill = |from: usize| {
        for i in from..from + 40 {
            e.put(&key(i), &value(i, 1), None).expect("put");
        }
    };

    // FLUSHALL deletes the file the reader looked the key up in.
    fill(0);
    let got = get_across(&e, &key(0), || e.clear().expect("clear"));
    expect("GET across FLUSHALL", got, None);

    // DEL, then a compaction that replaces and closes that file (most of
    // it is deleted, so it is worth rewriting).
    fill(0);
    let got = get_across(&e, &key(1), || {
        for i in 0..36 {
            e.delete(&key(i)).expect("delete");
        }
        assert!(e.compact().expect("compact") > 0, "nothing compacted");
    });
    expect("GET across DEL and compaction", got, None);

    // A compaction that moves the key: read from its new place.
    fill(100);
    for i in 104..136 {
        e.delete(&key(i)).expect("delete");
    }
    let got = get_across(&e, &key(102), || {
        assert!(e.compact().expect("compact") > 0, "nothing compacted");
    });
    expect(
        "GET across a compaction that moved the key",
        got,
        Some(value(102, 1)),
    );

    // FLUSHALL, then the key written again: the new value.
    let got = get_across(&e, &key(103), || {
        e.clear().expect("clear");
        e.put(&key(103), &value(103, 2), None).expect("put");
    });
    expect(
        "GET across FLUSHALL and a new SET",
        got,
        Some(value(103, 2)),
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

//! Fault: one step of a compaction fails (an injected I/O error at each
//! fallible operation: syncing the new files, opening the new file as when
//! out of descriptors, either rename, removing an emptied file, the
//! directory fsync) and the process goes on. Promise (docs/FORMAT.md,
//! "Compaction"): in the same process, every later compaction succeeds,
//! every live key reads back its value, no deleted or expired key comes
//! back, and so after a reopen. A failed directory fsync refuses writes
//! until the store is reopened (docs/RELIABILITY.md); nothing else does.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use slowpoke::engine::{Clock, CompactionStep, Engine, Error, FsyncPolicy, ManualClock, Options};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn opts(clock: &Arc<ManualClock>, failpoint: Option<CompactionStep>) -> Options {
    Options {
        max_file_size: 4096,
        fsync: FsyncPolicy::No,
        compaction_interval: None,
        compaction_rate: 0,
        clock: clock.clone(),
        compaction_failpoint: failpoint,
        ..Options::default()
    }
}

fn value(key: &[u8], version: usize) -> Vec<u8> {
    let mut v = format!("{}={version};", String::from_utf8_lossy(key)).into_bytes();
    v.resize(60, b'.');
    v
}

/// Writes a history of overwrites, deletes and expiries in which every
/// sealed file keeps some live record (a "pin" every 8 writes), so each is
/// rewritten by compaction. With `dead_first`, file 1 holds only records
/// that are all deleted later: compaction removes it, first.
fn history(e: &Engine, clock: &ManualClock, dead_first: bool) -> Model {
    let mut model = Model::new();
    if dead_first {
        let gone: Vec<Vec<u8>> = (0..40)
            .map(|i| format!("gone{i:02}").into_bytes())
            .collect();
        for k in &gone {
            e.put(k, &value(k, 0), None).expect("put");
        }
        for k in &gone {
            e.delete(k).expect("delete");
        }
    }
    let mut n = 0;
    for r in 0..12 {
        for k in 0..30 {
            n += 1;
            if n % 8 == 0 {
                let pin = format!("pin{n:04}").into_bytes();
                e.put(&pin, &value(&pin, 0), None).expect("put");
                model.insert(pin.clone(), value(&pin, 0));
            }
            let key = format!("key{k:02}").into_bytes();
            match (r + k) % 7 {
                0 => {
                    e.delete(&key).expect("delete");
                    model.remove(&key);
                }
                1 => {
                    // Expires once the clock moves, below.
                    e.put(&key, &value(&key, r), Some(clock.now_ms() + 5))
                        .expect("put");
                    model.remove(&key);
                }
                _ => {
                    e.put(&key, &value(&key, r), None).expect("put");
                    let v = value(&key, r);
                    model.insert(key, v);
                }
            }
        }
    }
    clock.advance(10);
    model
}

/// Reads every key the index holds and every key of the model; panics
/// with `what` on a read error, a missing, changed or revived key.
fn check(e: &Engine, model: &Model, what: &str) {
    let mut found = Model::new();
    let listed = e.range(Bound::Unbounded, Bound::Unbounded, false, usize::MAX);
    for (k, _) in listed.iter().map(|(k, l)| (k.as_slice(), l)) {
        match e.get(k) {
            Ok(Some(v)) => {
                found.insert(k.to_vec(), v.to_vec());
            }
            Ok(None) => {}
            Err(err) => panic!("{what}: GET {} failed: {err}", String::from_utf8_lossy(k)),
        }
    }
    for k in model.keys() {
        if let Err(err) = e.get(k) {
            panic!("{what}: GET {} failed: {err}", String::from_utf8_lossy(k));
        }
    }
    let lost: Vec<_> = model
        .iter()
        .filter(|(k, v)| found.get(*k) != Some(v))
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect();
    let revived: Vec<_> = found
        .keys()
        .filter(|k| !model.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert!(
        lost.is_empty() && revived.is_empty(),
        "{what}: {} keys lost or changed {lost:?}, {} revived {revived:?}",
        lost.len(),
        revived.len()
    );
}

/// Overwrites some keys, deletes others, adds new ones.
fn more_writes(e: &Engine, model: &mut Model, round: usize) -> Result<(), Error> {
    for k in 0..30 {
        let key = format!("key{k:02}").into_bytes();
        if k % 5 == 0 {
            e.delete(&key)?;
            model.remove(&key);
        } else {
            e.put(&key, &value(&key, 100 + round), None)?;
            model.insert(key.clone(), value(&key, 100 + round));
        }
        let new = format!("after{round}-{k:02}").into_bytes();
        e.put(&new, &value(&new, round), None)?;
        model.insert(new.clone(), value(&new, round));
    }
    Ok(())
}

fn one_failure(step: CompactionStep, dead_first: bool) {
    let case = format!("{step:?} (dead_first {dead_first})");
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let e = Engine::open(dir.path(), opts(&clock, Some(step))).expect("open");
    let mut model = history(&e, &clock, dead_first);
    let first = e.compact();
    assert_eq!(
        e.compaction_failpoint(),
        None,
        "{case}: the injected failure did not fire"
    );
    // Only a failed directory fsync poisons the store.
    let poisoned = step == CompactionStep::DirSync;
    assert_eq!(
        e.stats().write_failure.is_some(),
        poisoned,
        "{case}: write_failure {:?} after {first:?}",
        e.stats().write_failure
    );
    check(&e, &model, &format!("{case}: after the failed compaction"));

    let again = e.compact();
    if poisoned {
        assert!(
            matches!(again, Err(Error::Poisoned(_))),
            "{case}: a compaction on a poisoned store gave {again:?}"
        );
    } else if let Err(err) = again {
        panic!("{case}: the next compaction failed: {err}");
    }
    check(&e, &model, &format!("{case}: after compacting again"));

    let wrote = more_writes(&e, &mut model, 1);
    if poisoned {
        assert!(
            matches!(wrote, Err(Error::Poisoned(_))),
            "{case}: a write on a poisoned store gave {wrote:?}"
        );
    } else {
        wrote.expect("writes after the failed compaction");
        e.compact().expect("compact after the writes");
    }
    check(&e, &model, &format!("{case}: after writing"));
    let closed = e.close();
    assert_eq!(
        matches!(closed, Err(Error::Poisoned(_))),
        poisoned,
        "{case}: close gave {closed:?}"
    );
    drop(e);

    let e = Engine::open(dir.path(), opts(&clock, None)).expect("reopen");
    check(&e, &model, &format!("{case}: after reopen"));
    more_writes(&e, &mut model, 2).expect("writes after reopen");
    e.compact().expect("compact after reopen");
    check(
        &e,
        &model,
        &format!("{case}: after reopen, writes and compaction"),
    );
    drop(e);
    let e = Engine::open(dir.path(), opts(&clock, None)).expect("second reopen");
    check(&e, &model, &format!("{case}: after the second reopen"));
}

#[test]
fn failure_at_every_compaction_step_loses_nothing_in_the_same_process() {
    let mut cases: Vec<(CompactionStep, bool)> = Vec::new();
    for dead_first in [false, true] {
        for step in [
            CompactionStep::DataSync,
            CompactionStep::HintSync,
            CompactionStep::Open,
            CompactionStep::Rename,
            CompactionStep::HintRename,
            CompactionStep::DirSync,
        ] {
            cases.push((step, dead_first));
        }
    }
    // Only a file with nothing to keep is removed.
    cases.push((CompactionStep::Remove, true));
    // Every case runs (each failure prints its own message), then the
    // failed ones are listed.
    let failed: Vec<String> = cases
        .into_iter()
        .filter(|&(step, dead_first)| {
            std::panic::catch_unwind(|| one_failure(step, dead_first)).is_err()
        })
        .map(|(step, dead_first)| format!("{step:?} (dead_first {dead_first})"))
        .collect();
    assert!(
        failed.is_empty(),
        "cases that lost data or failed: {failed:?}"
    );
}

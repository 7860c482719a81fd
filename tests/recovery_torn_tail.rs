//! Fault: a crash tears the last append, leaving the newest data file cut
//! at any byte of its final record (or inside its 16-byte header), or the
//! process ends without `close`. Promise (docs/FORMAT.md, "Recovery"):
//! open never fails because of it; every earlier record is intact; the
//! torn record is absent (present only when the cut falls exactly at its
//! end); the torn bytes are reported once as truncated damage naming the
//! file and the record's offset, and the file is cut back there, so the
//! next append starts at that offset and a later reopen is clean.

mod common;

use common::files::{copy_dir, data_file_ids};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use slowpoke::engine::format::{data_file_name, FILE_HEADER_LEN, REC_HEADER_LEN};
use slowpoke::engine::{Engine, FsyncPolicy, Options};

/// Three 64-byte records per file, so eleven records fill three files
/// and leave two in the newest.
const MAX_FILE_SIZE: u64 = FILE_HEADER_LEN as u64 + 3 * 64;
const RECORDS: usize = 11;
/// Length of the record `put(b"after", b"written after recovery")`.
const AFTER_RECORD_LEN: u64 = (REC_HEADER_LEN + 5 + 22) as u64;

fn options() -> Options {
    Options {
        max_file_size: MAX_FILE_SIZE,
        fsync: FsyncPolicy::No,
        // No background compaction or hint writing: the test decides
        // which files have hints.
        compaction_interval: None,
        ..Options::default()
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("k{i:02}").into_bytes()
}

/// 40 bytes, distinct per record, so each record is 21 + 3 + 40 = 64 bytes.
fn value(i: usize) -> Vec<u8> {
    let mut v = format!("value of record {i:02} ").into_bytes();
    v.resize(40, b'.');
    v
}

fn open(dir: &Path) -> Engine {
    Engine::open(dir, options()).expect("open never fails on a torn tail")
}

/// Writes the records, closes, and returns (newest file number, offset,
/// length) of the final record.
fn write_records(dir: &Path) -> (u32, u64, u64) {
    let e = open(dir);
    for i in 0..RECORDS {
        e.put(&key(i), &value(i), None).expect("put");
    }
    let last = e.meta(&key(RECORDS - 1)).expect("last record present");
    e.close().expect("close");
    let files = data_file_ids(dir);
    assert!(
        files.len() > 2,
        "the records should span several files: {files:?}"
    );
    let newest = *files.last().expect("a data file");
    let len = (REC_HEADER_LEN + key(RECORDS - 1).len() + value(RECORDS - 1).len()) as u64;
    let file_len = fs::metadata(data_path(dir, newest)).expect("stat").len();
    assert_eq!(
        u64::from(last.offset),
        file_len - len,
        "the final record ends the newest file"
    );
    (newest, file_len - len, len)
}

fn assert_all_present(e: &Engine, n: usize) {
    for i in 0..n {
        let got = e.get(&key(i)).expect("get");
        assert_eq!(
            got.as_deref(),
            Some(&value(i)[..]),
            "record {i} must survive"
        );
    }
}

fn data_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(data_file_name(id))
}

#[test]
fn every_cut_of_the_final_record_loses_only_that_record() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let (id, start, len) = write_records(pristine.path());
    let newest = fs::read(data_path(pristine.path(), id)).expect("read newest file");
    assert_eq!(
        newest.len() as u64,
        start + len,
        "the final record ends the file"
    );

    let check_cut = |cut: u64| {
        let work = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), work.path());
        let path = data_path(work.path(), id);
        fs::write(&path, &newest[..cut as usize]).expect("cut the newest file");

        let e = open(work.path());
        assert_all_present(&e, RECORDS - 1);
        let whole = cut == start + len;
        let last = e.get(&key(RECORDS - 1)).expect("get");
        assert_eq!(
            last.is_some(),
            whole,
            "cut at {cut}: the final record (bytes {start}..{}) is present only when whole",
            start + len
        );
        let damage = &e.recovery_report().damage;
        if cut == start || whole {
            assert!(
                damage.is_empty(),
                "cut at {cut}: no damage expected, got {damage:?}"
            );
        } else {
            assert_eq!(
                damage.len(),
                1,
                "cut at {cut}: one damaged stretch, got {damage:?}"
            );
            let d = &damage[0];
            assert_eq!(
                (d.file, d.offset, d.len),
                (id, start, cut - start),
                "cut at {cut}: {d:?}"
            );
            assert!(d.truncated, "cut at {cut}: a torn tail is truncated: {d:?}");
            assert_eq!(
                fs::metadata(&path).expect("stat").len(),
                start,
                "cut at {cut}: the file is cut back to the torn record"
            );
        }

        // Appends continue where the good data ends, in the same file.
        e.put(b"after", b"written after recovery", None)
            .expect("put after recovery");
        let after = e.meta(b"after").expect("new key present");
        let expected_offset = if whole { start + len } else { start };
        assert_eq!(
            u64::from(after.offset),
            expected_offset,
            "cut at {cut}: the next append goes right after the last good record"
        );
        e.close().expect("close");
        drop(e);
        assert_eq!(
            (
                *data_file_ids(work.path()).last().expect("a data file"),
                fs::metadata(&path).expect("stat").len()
            ),
            (id, expected_offset + AFTER_RECORD_LEN),
            "cut at {cut}: the append went to the repaired file"
        );

        let e = open(work.path());
        assert!(
            e.recovery_report().damage.is_empty(),
            "cut at {cut}: the reopen after the repair is clean: {:?}",
            e.recovery_report().damage
        );
        assert_all_present(&e, RECORDS - 1);
        assert_eq!(e.get(&key(RECORDS - 1)).expect("get").is_some(), whole);
        assert_eq!(
            e.get(b"after").expect("get").as_deref(),
            Some(&b"written after recovery"[..])
        );
    };
    // Each cut opens and closes twice, and a close waits for the engine's
    // background threads: run the cuts on a few threads.
    let cuts: Vec<u64> = (start..=start + len).collect();
    std::thread::scope(|s| {
        for chunk in cuts.chunks(cuts.len().div_ceil(8)) {
            let check_cut = &check_cut;
            s.spawn(move || chunk.iter().for_each(|&cut| check_cut(cut)));
        }
    });
}

#[test]
fn newest_file_cut_inside_its_header_is_recreated_and_older_files_kept() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let e = open(pristine.path());
    for i in 0..9 {
        e.put(&key(i), &value(i), None).expect("put");
    }
    // Three full files; this write starts a fourth with one record.
    e.put(b"alone", &value(99), None).expect("put");
    e.close().expect("close");
    drop(e);
    let files = data_file_ids(pristine.path());
    assert_eq!(files.len(), 4, "{files:?}");
    let id = files[3];

    let check_cut = |cut: usize| {
        let work = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), work.path());
        let path = data_path(work.path(), id);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..cut]).expect("cut");

        let e = open(work.path());
        assert_all_present(&e, 9);
        assert_eq!(e.get(b"alone").expect("get"), None, "cut at {cut}");
        e.put(b"next", b"n", None).expect("put after recovery");
        e.close().expect("close");
        drop(e);

        let e = open(work.path());
        assert_all_present(&e, 9);
        assert_eq!(e.get(b"next").expect("get").as_deref(), Some(&b"n"[..]));
        assert!(e.recovery_report().damage.is_empty(), "cut at {cut}");
    };
    std::thread::scope(|s| {
        for start in 0..4 {
            let check_cut = &check_cut;
            s.spawn(move || (start..FILE_HEADER_LEN).step_by(4).for_each(check_cut));
        }
    });
}

/// The writes a test makes before ending the engine one way or another.
fn write_mixed(e: &Engine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut want = BTreeMap::new();
    for i in 0..50 {
        e.put(&key(i % 20), &value(i), None).expect("put");
        want.insert(key(i % 20), value(i));
        if i % 7 == 0 {
            e.delete(&key((i + 3) % 20)).expect("delete");
            want.remove(&key((i + 3) % 20));
        }
    }
    want
}

fn assert_matches(e: &Engine, want: &BTreeMap<Vec<u8>, Vec<u8>>) {
    assert!(
        e.recovery_report().damage.is_empty(),
        "{:?}",
        e.recovery_report().damage
    );
    for i in 0..20 {
        let got = e.get(&key(i)).expect("get");
        assert_eq!(
            got.as_deref(),
            want.get(&key(i)).map(Vec::as_slice),
            "key {i}"
        );
    }
    assert_eq!(e.len(), want.len());
}

#[test]
fn drop_without_close_reopens_with_all_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let want = write_mixed(&e);
    std::mem::drop(e);
    assert_matches(&open(dir.path()), &want);
}

#[test]
fn clean_close_reopens_with_all_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let want = write_mixed(&e);
    e.close().expect("close");
    drop(e);
    assert_matches(&open(dir.path()), &want);
}

//! Fault: a damaged record (a torn tail, or a flipped byte) whose *value*
//! happens to contain the bytes of a valid record, e.g. a client that
//! stores a copy of a Slowpoke data file, or a crafted value. Promise
//! (docs/FORMAT.md, "Recovery": a bad record is skipped and reported; a
//! torn tail is cut away): the damaged write is lost, nothing else is;
//! bytes inside a value are never applied as records of their own.

use std::fs;
use std::path::{Path, PathBuf};

use slowpoke::engine::format::{FLAG_CLEAR_ALL, REC_HEADER_LEN};
use slowpoke::engine::record::encode_into;
use slowpoke::engine::{Engine, FsyncPolicy, Options};

fn options() -> Options {
    Options {
        fsync: FsyncPolicy::No,
        ..Options::default()
    }
}

fn newest_data_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    files.pop().expect("a data file")
}

/// A value with a valid record embedded at byte 10.
fn value_with_embedded(record: &[u8]) -> Vec<u8> {
    let mut v = vec![b'-'; 10];
    v.extend_from_slice(record);
    v.extend_from_slice(&[b'-'; 100]);
    v
}

#[test]
fn torn_write_of_a_value_holding_a_clear_all_record_keeps_older_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(dir.path(), options()).expect("open");
    for i in 0..10 {
        e.put(format!("key{i}").as_bytes(), b"precious", None)
            .expect("put");
    }
    let mut clear_all = Vec::new();
    encode_into(&mut clear_all, FLAG_CLEAR_ALL, 0, b"", b"");
    let value = value_with_embedded(&clear_all);
    e.put(b"blob", &value, None).expect("put");
    e.close().expect("close");
    drop(e);

    // The crash tears the last write after the embedded bytes.
    let path = newest_data_file(dir.path());
    let len = fs::metadata(&path).expect("stat").len();
    let record_len = (REC_HEADER_LEN + 4 + value.len()) as u64;
    let cut = len - record_len + (REC_HEADER_LEN + 4 + 10 + clear_all.len() + 50) as u64;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open file")
        .set_len(cut)
        .expect("truncate");

    let e = Engine::open(dir.path(), options()).expect("open");
    assert_eq!(e.get(b"blob").expect("get"), None, "the torn write is lost");
    for i in 0..10 {
        assert_eq!(
            e.get(format!("key{i}").as_bytes()).expect("get").as_deref(),
            Some(&b"precious"[..]),
            "key{i} was acknowledged long before the torn write; damage: {:?}",
            e.recovery_report().damage
        );
    }
}

#[test]
fn flipped_byte_in_a_record_holding_a_record_adds_no_phantom_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(dir.path(), options()).expect("open");
    e.put(b"before", b"1", None).expect("put");
    let mut inner = Vec::new();
    encode_into(&mut inner, 0, 0, b"phantom", b"never written by any client");
    let value = value_with_embedded(&inner);
    e.put(b"blob", &value, None).expect("put");
    let blob_offset = u64::from(e.meta(b"blob").expect("present").offset);
    e.put(b"after", b"2", None).expect("put");
    e.close().expect("close");
    drop(e);

    let path = newest_data_file(dir.path());
    let mut bytes = fs::read(&path).expect("read");
    bytes[blob_offset as usize] ^= 0x01; // the outer record's CRC
    fs::write(&path, &bytes).expect("write");

    let e = Engine::open(dir.path(), options()).expect("open");
    assert_eq!(e.get(b"blob").expect("get"), None);
    assert_eq!(e.get(b"before").expect("get").as_deref(), Some(&b"1"[..]));
    assert_eq!(e.get(b"after").expect("get").as_deref(), Some(&b"2"[..]));
    assert_eq!(
        e.get(b"phantom").expect("get"),
        None,
        "bytes inside a value were applied as a record; damage: {:?}",
        e.recovery_report().damage
    );
}

//! Filesystem and process helpers shared by the test files: the size of
//! a data directory that compaction may be changing underneath, copies
//! of a directory to damage, data file ids, a process's RSS, and a
//! bounded wait.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

use slowpoke::engine::format::parse_data_file_name;

/// Total bytes of the regular files in `dir`. A file that disappears
/// between listing and `stat` (compaction renames and removes files
/// while the server runs) counts as zero; any other error panics.
pub fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|entry| match entry.and_then(|e| e.metadata()) {
            Ok(meta) => meta.is_file().then_some(meta.len()),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => panic!("stat in {}: {e}", dir.display()),
        })
        .sum()
}

/// Copies every file of `from` into `to` (created if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// The ids of the data files in `dir`, ascending.
pub fn data_file_ids(dir: &Path) -> Vec<u32> {
    let mut ids: Vec<u32> = fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| {
            e.expect("entry")
                .file_name()
                .to_str()
                .and_then(parse_data_file_name)
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Resident set size of process `pid`, in KiB.
pub fn rss_kb(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().expect("kB"))
        })
        .expect("VmRSS")
}

/// Polls `f` every 20 ms until it is true (returns true) or `limit`
/// passes (returns false).
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

//! Peak memory of recovery and compaction over one full data file: fills a
//! 128 MiB data file (the default rotation size) with overwrites of a set
//! of keys (`--live` percent of the bytes stay live), then measures the
//! peak RSS (VmHWM, reset through /proc/self/clear_refs before each phase)
//! of
//!
//! 1. reopening the store, which walks the whole file (it is the newest
//!    file, so it has no hint), and
//! 2. `compact`, which seals that file and rewrites it,
//!
//! each as growth over the RSS at the start of the phase. The temporary
//! directory is removed at the end. Background compaction is off, the
//! compaction rate unlimited.
//!
//! Usage: `cargo run --release --example compaction_rss -- [--live PERCENT]
//! [--value-len BYTES] [--dir PARENT]`

use std::time::{Duration, Instant};

use slowpoke::engine::{Engine, FsyncPolicy, Options};

/// A field (in kB) of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets VmHWM to the current RSS (Linux 4.0+).
fn reset_peak() -> std::io::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn usage() -> ! {
    eprintln!("usage: compaction_rss [--live PERCENT] [--value-len BYTES] [--dir PARENT]");
    std::process::exit(2);
}

/// Runs `f` and prints the peak RSS growth it caused.
fn phase<T>(
    name: &str,
    f: impl FnOnce() -> slowpoke::engine::Result<T>,
) -> Result<T, Box<dyn std::error::Error>> {
    // Give freed memory back first so the baseline is what is in use.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
    reset_peak()?;
    let before = status_bytes("VmRSS:").ok_or("no VmRSS in /proc/self/status")?;
    let started = Instant::now();
    let out = f()?;
    let took = started.elapsed();
    let peak = status_bytes("VmHWM:").ok_or("no VmHWM in /proc/self/status")?;
    println!(
        "{name:<10} VmRSS before {:7.1} MiB, peak VmHWM {:7.1} MiB, growth {:7.1} MiB ({took:.1?})",
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before)),
    );
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut live_pct = 60u64;
    let mut value_len = 4096usize;
    let mut parent: Option<String> = None;
    while let Some(a) = args.next() {
        let mut num = || {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--live" => live_pct = num(),
            "--value-len" => value_len = num() as usize,
            "--dir" => parent = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    if !(1..=100).contains(&live_pct) || value_len == 0 {
        usage();
    }
    let dir = match &parent {
        Some(p) => tempfile::tempdir_in(p)?,
        None => tempfile::tempdir()?,
    };
    let options = || Options {
        fsync: FsyncPolicy::No,
        compaction_interval: None,
        compaction_rate: 0,
        expiry_interval: Duration::from_secs(3600),
        ..Options::default()
    };
    let file_size = Options::default().max_file_size;
    // Records are 21 header bytes + 16 key bytes + the value.
    let record = (21 + 16 + value_len) as u64;
    // Stay just under one rotation so everything is in one file.
    let puts = (file_size - 4096) / record;
    let keys = (puts * live_pct / 100).max(1);
    let value = vec![0x5a; value_len];
    {
        let e = Engine::open(dir.path(), options())?;
        for i in 0..puts {
            let key = format!("key:{:012}", i % keys);
            e.put(key.as_bytes(), &value, None)?;
        }
        let s = e.stats();
        println!(
            "filled:    {puts} puts of {keys} keys, {value_len}-byte values, {:.1} MiB in {} file(s)",
            mib(s.bytes_written),
            s.data_files
        );
        e.close()?;
    }
    let e = phase("recovery", || Engine::open(dir.path(), options()))?;
    let reclaimed = phase("compaction", || e.compact())?;
    println!("reclaimed: {:.1} MiB", mib(reclaimed));
    assert_eq!(e.len() as u64, keys, "every key survives");
    e.close()?;
    Ok(())
}

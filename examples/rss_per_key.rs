//! Memory per key: loads N keys of 16 bytes (`key:%012d`) with values of
//! 1 KiB (or `--value-len`) into a store in a temporary directory
//! (`appendfsync no`), and prints VmRSS from /proc/self/status before and
//! after, and the RSS bytes per key. Values live on disk, so the growth is
//! the index. The temporary directory is removed at the end.
//!
//! Background compaction and hint writing are off unless
//! `--background-compaction` is given: their buffers (a read window and
//! write buffers) would make the figure depend on whether one is under way.
//!
//! Usage: `cargo run --release --example rss_per_key -- N [--value-len BYTES]
//! [--dir PARENT] [--background-compaction]`

use std::time::{Duration, Instant};

use slowpoke::engine::{Engine, FsyncPolicy, Options};

/// A field (in kB) of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn usage() -> ! {
    eprintln!("usage: rss_per_key N [--value-len BYTES] [--dir PARENT] [--background-compaction]");
    std::process::exit(2);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut n: Option<u64> = None;
    let mut value_len = 1024usize;
    let mut parent: Option<String> = None;
    let mut background = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--value-len" => {
                value_len = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--dir" => parent = Some(args.next().unwrap_or_else(|| usage())),
            "--background-compaction" => background = true,
            _ => n = Some(a.replace('_', "").parse().unwrap_or_else(|_| usage())),
        }
    }
    let n = n.unwrap_or_else(|| usage());

    let dir = match &parent {
        Some(p) => tempfile::tempdir_in(p)?,
        None => tempfile::tempdir()?,
    };
    let engine = Engine::open(
        dir.path(),
        Options {
            fsync: FsyncPolicy::No,
            // Hint writing and compaction hold buffers while they run; with
            // them on, the figure depends on whether one is under way.
            compaction_interval: background.then(|| Duration::from_secs(1)),
            ..Options::default()
        },
    )?;
    let value = vec![0x5a; value_len];
    let before = status_bytes("VmRSS:").ok_or("no VmRSS in /proc/self/status")?;
    let started = Instant::now();
    let mut key = String::with_capacity(16);
    for i in 0..n {
        key.clear();
        use std::fmt::Write;
        write!(key, "key:{i:012}")?;
        engine.put(key.as_bytes(), &value, None)?;
        if i > 0 && i % 1_000_000 == 0 {
            eprintln!("{i} keys loaded, {:.0?}", started.elapsed());
        }
    }
    let load_time = started.elapsed();
    let after = status_bytes("VmRSS:").ok_or("no VmRSS in /proc/self/status")?;
    let hwm = status_bytes("VmHWM:").unwrap_or(0);
    let stats = engine.stats();

    println!(
        "keys:            {n} (16-byte keys, {value_len}-byte values, appendfsync no, \
         background compaction {})",
        if background { "on" } else { "off" }
    );
    println!("load time:       {load_time:.1?}");
    println!(
        "data on disk:    {:.0} MiB in {} files",
        mib(stats.bytes_written),
        stats.data_files
    );
    println!("VmRSS before:    {:.1} MiB", mib(before));
    println!(
        "VmRSS after:     {:.1} MiB (peak VmHWM {:.1} MiB)",
        mib(after),
        mib(hwm)
    );
    println!(
        "RSS per key:     {:.1} bytes",
        after.saturating_sub(before) as f64 / n.max(1) as f64
    );
    println!(
        "index keys:      {} (chunk count is not exposed by the engine API)",
        stats.keys
    );
    // Memory the allocator holds but no longer uses (freed temporaries,
    // holes left by growing chunks) counts in RSS until it is trimmed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only returns free heap pages to the OS.
        unsafe { libc::malloc_trim(0) };
        let trimmed = status_bytes("VmRSS:").unwrap_or(0);
        println!(
            "after malloc_trim: VmRSS {:.1} MiB, {:.1} bytes per key",
            mib(trimmed),
            trimmed.saturating_sub(before) as f64 / n.max(1) as f64
        );
    }
    assert_eq!(stats.keys as u64, n, "every key is in the index");
    engine.close()?;
    Ok(())
}

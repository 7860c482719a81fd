//! INFO: the server's figures in Redis's text layout (`# Section` headers,
//! `field:value` lines, `\r\n` line ends, a blank line between sections),
//! with Redis's field names so monitoring tools and client libraries parse
//! it (ioredis waits for `loading:0`). Sections always come in Redis's
//! order whatever order they were asked in. Figures come from the shared
//! counters (`Stats`), the engine's `stats()`, and /proc for memory.
//! Memory is the process's resident size: keys live in RAM, values in the
//! page cache, so that is the honest figure.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;

use super::connection::REDIS_VERSION;
use super::server::last_save_secs;
use super::Ctx;
use crate::server::error::CommandError;
use crate::server::reply::Reply;
use crate::server::state::ServerState;

/// Sections in output order.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "cluster",
    "keyspace",
];

/// INFO [section ...].
pub fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut wanted = [false; SECTIONS.len()];
    if args.len() == 1 {
        wanted = [true; SECTIONS.len()];
    }
    for a in &args[1..] {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "all" | "everything" | "default" => wanted = [true; SECTIONS.len()],
            name => {
                if let Some(i) = SECTIONS.iter().position(|s| *s == name) {
                    wanted[i] = true;
                }
            }
        }
    }
    let now_ms = ctx.ks.now_ms();
    let mut out = String::with_capacity(4096);
    for (i, name) in SECTIONS.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(&mut out, name, ctx, now_ms);
    }
    Ok(Reply::Verbatim(out))
}

/// Appends `field:value\r\n`.
fn field(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn section(out: &mut String, name: &str, ctx: &Ctx<'_>, now_ms: u64) {
    let server: &ServerState = ctx.server;
    let cfg = server.config();
    match name {
        "server" => {
            out.push_str("# Server\r\n");
            field(out, "redis_version", REDIS_VERSION);
            field(out, "slowpoke_version", env!("CARGO_PKG_VERSION"));
            field(out, "redis_git_sha1", "00000000");
            field(out, "redis_git_dirty", 0);
            field(out, "redis_mode", "standalone");
            field(out, "os", os_name());
            field(out, "arch_bits", usize::BITS);
            field(out, "multiplexing_api", "epoll");
            field(out, "process_id", std::process::id());
            field(out, "process_supervised", "no");
            field(out, "run_id", &server.run_id);
            field(out, "tcp_port", server.port);
            field(out, "server_time_usec", now_ms * 1000);
            let up = server.started.elapsed().as_secs();
            field(out, "uptime_in_seconds", up);
            field(out, "uptime_in_days", up / 86400);
            field(out, "hz", 10);
            field(out, "configured_hz", 10);
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            field(out, "executable", one_line(&exe));
            let conf = cfg
                .config_file
                .as_ref()
                .map(|p| {
                    std::fs::canonicalize(p)
                        .unwrap_or_else(|_| p.clone())
                        .display()
                        .to_string()
                })
                .unwrap_or_default();
            field(out, "config_file", one_line(&conf));
            field(out, "io_threads_active", 0);
        }
        "clients" => {
            out.push_str("# Clients\r\n");
            field(
                out,
                "connected_clients",
                server.connected.load(Ordering::Relaxed),
            );
            field(out, "cluster_connections", 0);
            field(out, "maxclients", cfg.maxclients);
            field(out, "blocked_clients", 0);
            field(out, "tracking_clients", 0);
            field(out, "clients_in_timeout_table", 0);
        }
        "memory" => {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let rss = proc_kb(&status, "VmRSS:");
            let peak = proc_kb(&status, "VmHWM:").max(rss);
            let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
            let total = proc_kb(&meminfo, "MemTotal:");
            out.push_str("# Memory\r\n");
            field(out, "used_memory", rss);
            field(out, "used_memory_human", human(rss));
            field(out, "used_memory_rss", rss);
            field(out, "used_memory_rss_human", human(rss));
            field(out, "used_memory_peak", peak);
            field(out, "used_memory_peak_human", human(peak));
            field(out, "total_system_memory", total);
            field(out, "total_system_memory_human", human(total));
            field(out, "maxmemory", 0);
            field(out, "maxmemory_human", "0B");
            field(out, "maxmemory_policy", "noeviction");
            field(out, "mem_allocator", "libc");
        }
        "persistence" => {
            let st = ctx.ks.engine().stats();
            out.push_str("# Persistence\r\n");
            // The engine is fully open before the server accepts anyone.
            field(out, "loading", 0);
            field(out, "async_loading", 0);
            // Slowpoke never forks: the fork figures stay 0.
            field(out, "current_cow_peak", 0);
            field(out, "current_cow_size", 0);
            field(out, "current_cow_size_age", 0);
            field(out, "current_fork_perc", "0.00");
            field(out, "current_save_keys_processed", 0);
            field(out, "current_save_keys_total", 0);
            field(out, "rdb_changes_since_last_save", 0);
            field(out, "rdb_bgsave_in_progress", 0);
            field(out, "rdb_last_save_time", last_save_secs(server, now_ms));
            field(out, "rdb_last_bgsave_status", "ok");
            field(out, "rdb_last_bgsave_time_sec", -1);
            field(out, "rdb_current_bgsave_time_sec", -1);
            field(out, "rdb_saves", 0);
            field(out, "rdb_last_cow_size", 0);
            field(out, "rdb_last_load_keys_expired", 0);
            field(out, "rdb_last_load_keys_loaded", 0);
            field(out, "aof_enabled", 1);
            field(out, "aof_rewrite_in_progress", st.compaction_running as u8);
            field(out, "aof_rewrite_scheduled", 0);
            field(out, "aof_last_rewrite_time_sec", -1);
            field(out, "aof_current_rewrite_time_sec", -1);
            field(out, "aof_last_bgrewrite_status", "ok");
            field(out, "aof_rewrites", st.compactions);
            field(out, "aof_rewrites_consecutive_failures", 0);
            let ok = if st.write_failure.is_some() {
                "err"
            } else {
                "ok"
            };
            field(out, "aof_last_write_status", ok);
            field(out, "aof_last_cow_size", 0);
            field(out, "module_fork_in_progress", 0);
            field(out, "module_fork_last_cow_size", 0);
            field(out, "aof_current_size", st.disk_bytes);
            field(out, "aof_base_size", 0);
            field(out, "aof_pending_rewrite", 0);
            field(out, "aof_buffer_length", 0);
            field(out, "aof_pending_bio_fsync", 0);
            field(out, "aof_delayed_fsync", 0);
            field(out, "appendfsync", ctx.ks.engine().fsync_policy().name());
            field(out, "slowpoke_data_files", st.data_files);
            field(out, "slowpoke_active_file", st.active_file);
            field(out, "slowpoke_bytes_written", st.bytes_written);
            field(out, "slowpoke_fsyncs", st.fsyncs);
            field(out, "slowpoke_disk_bytes", st.disk_bytes);
            field(out, "slowpoke_dead_bytes", st.dead_bytes);
            field(out, "slowpoke_reclaimed_bytes", st.reclaimed_bytes);
            if let Some(why) = &st.write_failure {
                field(out, "slowpoke_write_failure", one_line(why));
            }
        }
        "stats" => {
            let s = &server.stats;
            let commands = s.commands.load(Ordering::Relaxed);
            let st = ctx.ks.engine().stats();
            out.push_str("# Stats\r\n");
            field(
                out,
                "total_connections_received",
                s.connections.load(Ordering::Relaxed),
            );
            field(out, "total_commands_processed", commands);
            field(out, "instantaneous_ops_per_sec", ops_per_sec(commands));
            field(
                out,
                "total_net_input_bytes",
                s.net_in.load(Ordering::Relaxed),
            );
            field(
                out,
                "total_net_output_bytes",
                s.net_out.load(Ordering::Relaxed),
            );
            field(
                out,
                "rejected_connections",
                s.rejected.load(Ordering::Relaxed),
            );
            field(out, "expired_keys", st.expired_keys);
            field(out, "evicted_keys", 0);
            field(out, "keyspace_hits", s.hits.load(Ordering::Relaxed));
            field(out, "keyspace_misses", s.misses.load(Ordering::Relaxed));
            field(out, "pubsub_channels", 0);
            field(out, "pubsub_patterns", 0);
            let (cursors, cursor_bytes) = server.cursors.usage();
            field(out, "slowpoke_scan_cursors", cursors);
            field(out, "slowpoke_scan_cursor_bytes", cursor_bytes);
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            field(out, "role", "master");
            field(out, "connected_slaves", 0);
            field(out, "master_failover_state", "no-failover");
            field(out, "master_replid", &server.run_id);
            field(out, "master_replid2", "0".repeat(40));
            field(out, "master_repl_offset", 0);
            field(out, "second_repl_offset", -1);
            field(out, "repl_backlog_active", 0);
            field(out, "repl_backlog_size", 1048576);
            field(out, "repl_backlog_first_byte_offset", 0);
            field(out, "repl_backlog_histlen", 0);
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            out.push_str("# CPU\r\n");
            field(out, "used_cpu_sys", format!("{sys:.6}"));
            field(out, "used_cpu_user", format!("{user:.6}"));
            field(out, "used_cpu_sys_children", "0.000000");
            field(out, "used_cpu_user_children", "0.000000");
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            field(out, "cluster_enabled", 0);
        }
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            let st = ctx.ks.engine().stats();
            // Inside EXEC, the keys the transaction has written so far count.
            let keys = ctx.ks.key_count();
            if keys > 0 {
                let _ = write!(
                    out,
                    "db0:keys={},expires={},avg_ttl={}\r\n",
                    keys, st.keys_with_expiry, st.avg_ttl_ms
                );
            }
        }
        _ => {}
    }
}

/// A value that cannot break the `field:value\r\n` layout.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `Linux 6.1.0 x86_64`, as Redis prints `uname -s -r -m`.
fn os_name() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let kernel = read("/proc/sys/kernel/ostype");
    let release = read("/proc/sys/kernel/osrelease");
    let kernel = if kernel.is_empty() {
        std::env::consts::OS.to_string()
    } else {
        kernel
    };
    one_line(&format!("{kernel} {release} {}", std::env::consts::ARCH))
}

/// A `Name:   123 kB` line of a /proc file, in bytes (0 if absent).
fn proc_kb(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Redis's `bytesToHuman`: `512B`, `1.27M`, `23.54G`.
fn human(n: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= *size {
            return format!("{:.2}{unit}", n as f64 / *size as f64);
        }
    }
    format!("{n}B")
}

/// User and system CPU seconds of this process, from /proc/self/stat.
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0) as f64
            / 100.0
    };
    (ticks(11), ticks(12))
}

/// The commands counter at an earlier INFO call, for the rate.
static OPS_SAMPLE: Mutex<Option<(Instant, u64)>> = Mutex::new(None);

/// Commands per second since the previous sample; a sample is replaced
/// once it is a second old, so the figure covers at most the last ~2 s of
/// INFO calls. The first call answers 0.
fn ops_per_sec(commands: u64) -> u64 {
    let Ok(mut sample) = OPS_SAMPLE.lock() else {
        return 0;
    };
    let now = Instant::now();
    match *sample {
        Some((at, count)) => {
            let secs = now.duration_since(at).as_secs_f64();
            let rate = if secs > 0.05 {
                (commands.saturating_sub(count) as f64 / secs) as u64
            } else {
                0
            };
            if secs >= 1.0 {
                *sample = Some((now, commands));
            }
            rate
        }
        None => {
            *sample = Some((now, commands));
            0
        }
    }
}

/// Forgets the rate sample (CONFIG RESETSTAT zeroes the counter).
pub fn reset_ops_sample() {
    if let Ok(mut sample) = OPS_SAMPLE.lock() {
        *sample = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_as_redis() {
        assert_eq!(human(512), "512B");
        assert_eq!(human(1336832), "1.27M");
        assert_eq!(human(25276063744), "23.54G");
        assert_eq!(human(0), "0B");
    }

    #[test]
    fn proc_fields_parse() {
        let status = "Name:\tslowpoke\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(proc_kb(status, "VmRSS:"), 1024 * 1024);
        assert_eq!(proc_kb(status, "VmSwap:"), 0);
    }
}

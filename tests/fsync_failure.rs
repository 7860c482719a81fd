//! A failed fsync under `appendfsync always`, with the server running in
//! this process so the test drives `engine::fault` directly: it holds an
//! fsync in flight, lets other clients act meanwhile, then makes it fail
//! or succeed. Ordering comes from the hooks (an fsync is held, a command
//! was counted), never from sleeps.
//!
//! Promise: no client, neither the writer nor a reader, ever sees a write
//! whose fsync failed. The writer gets `-MISCONF` and keeps its connection;
//! a reader that ran while the fsync was in flight gets the same error,
//! never the value; INFO shows `aof_last_write_status:err`; writes (and
//! key reads) are refused until restart. A reply never goes out before the
//! fsync of the writes it could reveal.

mod common;

use std::io::{ErrorKind, Read};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use clap::Parser;
use common::files::wait_until;
use common::Raw;
use slowpoke::engine::fault;
use slowpoke::server::config::{Args, Config};

/// The fault hooks are process-wide: one test at a time, and a test that
/// fails while holding fsyncs lets them go (else the next server could not
/// even open its directory).
struct Serial(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Serial {
    fn drop(&mut self) {
        fault::release_syncs(false);
    }
}

fn serial() -> Serial {
    static LOCK: Mutex<()> = Mutex::new(());
    Serial(LOCK.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Starts a server in this process (its own runtime on its own thread)
/// and returns its port and data directory. It runs until the test binary
/// exits.
fn start(fsync: &str) -> (u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let args = Args::parse_from([
        "slowpoke",
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--appendfsync",
        fsync,
        "--dir",
        dir.path().to_str().expect("utf-8 path"),
    ]);
    let config = Config::from_args(&args).expect("config");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let _ = rt.block_on(slowpoke::server::run(config));
    });
    assert!(
        wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "server did not start"
    );
    (port, dir)
}

fn info_field(admin: &mut Raw, section: &str, field: &str) -> String {
    let text = String::from_utf8_lossy(&admin.cmd(&[b"INFO", section.as_bytes()])).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {text}"))
        .to_string()
}

/// Sends `GET key` on `reader` and returns once the server has executed it
/// (INFO's command count, which counts the INFOs asked here too).
fn get_and_wait_executed(reader: &mut Raw, admin: &mut Raw, key: &[u8]) {
    let before: u64 = info_field(admin, "stats", "total_commands_processed")
        .parse()
        .expect("count");
    reader.send(&common::encode(&[b"GET", key]));
    let mut infos = 0;
    assert!(
        wait_until(Duration::from_secs(30), || {
            infos += 1;
            let now: u64 = info_field(admin, "stats", "total_commands_processed")
                .parse()
                .expect("count");
            now > before + infos
        }),
        "the reader's GET was never executed"
    );
}

fn holds_fsync() {
    assert!(
        wait_until(Duration::from_secs(30), || fault::held_syncs() == 1),
        "the writer's fsync never started"
    );
}

fn text(reply: Vec<u8>) -> String {
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn failed_fsync_is_never_acknowledged_nor_shown_to_readers() {
    let _g = serial();
    let (port, _dir) = start("always");
    let mut writer = Raw::connect(port);
    let mut reader = Raw::connect(port);
    let mut admin = Raw::connect(port);
    assert_eq!(writer.cmd(&[b"SET", b"k", b"old"]), b"+OK\r\n");
    assert_eq!(
        info_field(&mut admin, "persistence", "aof_last_write_status"),
        "ok"
    );

    fault::hold_syncs();
    writer.send(&common::encode(&[b"SET", b"k", b"new"]));
    holds_fsync();
    // The new value is in the index now; the reader runs before the fsync ends.
    get_and_wait_executed(&mut reader, &mut admin, b"k");
    fault::release_syncs(true);

    let w = text(writer.reply());
    assert!(
        w.starts_with("-MISCONF"),
        "writer after a failed fsync: {w}"
    );
    let r = text(reader.reply());
    assert!(r.starts_with("-MISCONF"), "concurrent reader: {r}");
    assert_eq!(r, w, "the reader gets the writer's error");
    // Both connections stay open.
    assert_eq!(writer.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(reader.cmd(&[b"PING"]), b"+PONG\r\n");

    // Later readers never see the value either, on any connection.
    let mut fresh = Raw::connect(port);
    for conn in [&mut reader, &mut fresh] {
        let r = text(conn.cmd(&[b"GET", b"k"]));
        assert!(r.starts_with("-MISCONF"), "GET after the failure: {r}");
    }
    assert_eq!(
        info_field(&mut admin, "persistence", "aof_last_write_status"),
        "err"
    );
    // Writes are refused until restart.
    let w = text(writer.cmd(&[b"SET", b"other", b"v"]));
    assert!(w.starts_with("-MISCONF"), "write after the failure: {w}");
    let w = text(fresh.cmd(&[b"INCR", b"n"]));
    assert!(w.starts_with("-MISCONF"), "write after the failure: {w}");
}

#[test]
fn reply_to_a_reader_waits_for_the_fsync_of_what_it_read() {
    let _g = serial();
    let (port, _dir) = start("always");
    let mut writer = Raw::connect(port);
    let mut reader = Raw::connect(port);
    let mut admin = Raw::connect(port);

    fault::hold_syncs();
    writer.send(&common::encode(&[b"SET", b"k", b"v"]));
    holds_fsync();
    get_and_wait_executed(&mut reader, &mut admin, b"k");
    // The GET ran, the fsync is still held: no reply may be out yet.
    reader.stream.set_nonblocking(true).expect("nonblocking");
    let mut b = [0u8; 64];
    let early = reader.stream.read(&mut b);
    reader.stream.set_nonblocking(false).expect("blocking");
    assert!(
        matches!(&early, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "a reply reached the reader before the fsync finished: {early:?} {:?}",
        early
            .as_ref()
            .map(|&n| String::from_utf8_lossy(&b[..n]).into_owned())
    );
    fault::release_syncs(false);
    assert_eq!(writer.reply(), b"+OK\r\n");
    assert_eq!(reader.reply(), b"$1\r\nv\r\n");
    assert_eq!(
        info_field(&mut admin, "persistence", "aof_last_write_status"),
        "ok"
    );
}

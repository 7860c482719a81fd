//! A real full disk under the real server: a size-limited tmpfs (needs
//! root; where mounting is not allowed the test fails, or with
//! `SLOWPOKE_ALLOW_SKIP=1` says SKIPPED and checks nothing else). Promise: writes that cannot be stored get a MISCONF
//! error, reads keep working, nothing acknowledged is lost, and writes
//! work again once space returns.

mod common;

use std::process::Command;

use common::Server;

fn mount(dir: &std::path::Path, size: &str) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn full_tmpfs_refuses_writes_and_recovers() {
    let base = tempfile::tempdir().expect("tmp");
    let mnt = base.path().join("small");
    std::fs::create_dir(&mnt).expect("mkdir");
    if !mount(&mnt, "1m") {
        common::skip_or_fail(
            "cannot mount a tmpfs here (needs root); the engine-level test disk_full.rs covers ENOSPC",
        );
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let data = mnt.join("data");
    let mut s = Server::start_in(
        &data,
        &["--appendfsync", "always", "--data-file-size", "256kb"],
    );
    let mut r = s.raw();
    let value = vec![b'x'; 10_000];
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..400 {
        let key = format!("k{i}");
        let reply = r.cmd(&[b"SET", key.as_bytes(), &value]);
        if reply == b"+OK\r\n" {
            acked.push(key);
        } else {
            refused = Some(String::from_utf8_lossy(&reply).into_owned());
            break;
        }
    }
    let refused = refused.expect("a 1 MB disk must fill up");
    assert!(refused.starts_with("-MISCONF"), "{refused}");
    assert!(refused.contains("No space left on device"), "{refused}");
    assert!(acked.len() > 10);
    // Reads still work.
    let mut expect = format!("${}\r\n", value.len()).into_bytes();
    expect.extend_from_slice(&value);
    expect.extend_from_slice(b"\r\n");
    assert_eq!(r.cmd(&[b"GET", acked[0].as_bytes()]), expect);
    // Pipelined writes share one engine transaction: when it cannot be
    // stored, every one of them gets the error, none is acknowledged.
    let mut pipeline = Vec::new();
    for i in 0..20 {
        pipeline.extend_from_slice(&common::encode(&[
            b"SET",
            format!("pipe{i}").as_bytes(),
            &value,
        ]));
    }
    r.send(&pipeline);
    for i in 0..20 {
        let reply = String::from_utf8_lossy(&r.reply()).into_owned();
        assert!(
            reply.starts_with("-MISCONF"),
            "pipelined SET {i} on a full disk: {reply}"
        );
    }
    // Space comes back: writes work again.
    assert!(Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(&mnt)
        .status()
        .is_ok_and(|st| st.success()));
    assert_eq!(r.cmd(&[b"SET", b"after", b"ok"]), b"+OK\r\n");
    r.send(&pipeline);
    for i in 0..20 {
        assert_eq!(
            r.reply(),
            b"+OK\r\n",
            "pipelined SET {i} once space returned"
        );
    }
    s.restart();
    let mut r = s.raw();
    for key in &acked {
        assert_eq!(r.cmd(&[b"GET", key.as_bytes()]), expect, "{key} lost");
    }
    assert_eq!(r.cmd(&[b"GET", b"after"]), b"$2\r\nok\r\n");
    for i in 0..20 {
        assert_eq!(
            r.cmd(&[b"GET", format!("pipe{i}").as_bytes()]),
            expect,
            "pipe{i} lost"
        );
    }
}

//! Compaction through the real server: an overwrite loop leaves dead
//! versions on disk; BGREWRITEAOF reclaims them (the data directory
//! shrinks, INFO shows it), and every value is intact after a restart.

mod common;

use common::files::dir_bytes;
use std::time::{Duration, Instant};

use common::Server;

fn info_field(c: &mut redis::Connection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(c)
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO has no {field}"))
        .trim()
        .parse()
        .expect("number")
}

#[test]
fn bgrewriteaof_reclaims_overwrites_and_keeps_values() {
    // A high threshold so that only BGREWRITEAOF compacts.
    let mut s = Server::start_with(&["--data-file-size", "256kb", "--compaction-threshold", "100"]);
    let mut c = s.conn();
    for round in 0..10 {
        let mut p = redis::pipe();
        for k in 0..2000 {
            p.set(format!("key:{k}"), format!("{round}-{}", "v".repeat(200)))
                .ignore();
        }
        let _: () = p.query(&mut c).expect("pipeline");
    }
    let before = dir_bytes(&s.dir);
    assert!(info_field(&mut c, "slowpoke_dead_bytes") > before / 2);
    let reply: String = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("bgrewriteaof");
    assert_eq!(reply, "Background append only file rewriting started");
    let deadline = Instant::now() + Duration::from_secs(30);
    while dir_bytes(&s.dir) > before / 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = dir_bytes(&s.dir);
    assert!(
        after <= before / 3,
        "disk {before} -> {after} B after BGREWRITEAOF"
    );
    assert!(info_field(&mut c, "slowpoke_reclaimed_bytes") > 0);
    s.restart();
    let mut c = s.conn();
    let expect = format!("9-{}", "v".repeat(200));
    for k in 0..2000 {
        let v: String = redis::cmd("GET")
            .arg(format!("key:{k}"))
            .query(&mut c)
            .expect("get");
        assert_eq!(v, expect, "key:{k}");
    }
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 2000);
}
